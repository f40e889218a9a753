"""The whole chain on real parts: device payload → broker → edge → broker → server → alert in the API and on /events;
and the faults it must survive: a server killed mid-stream, the uplink broker down while devices publish."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from carewatch.broker import PrivateMosquitto, free_port
from devices import topics
from devices.loader import load_facility
from devices.messages import Envelope, Reading, new_id, to_json, utcnow
from devices.sim.runner import Simulator
from server.db import make_engine, make_sessions
from server.models import Alert, Observation
from tests.conftest import ROOT, Broker, missing
from tests.helpers import ADMIN, LiveServer, live_server, publisher, server_settings, wait_until

pytestmark = pytest.mark.e2e
OUTAGE_S = float(os.environ.get("CAREWATCH_E2E_OUTAGE_S", "5"))


def open_alerts(live: LiveServer) -> list[dict[str, Any]]:
    with live.client() as client:
        return list(client.get("/api/v1/alerts", params={"status": "open", "lang": "en"}).json())


def publish_like_mosquitto_pub(broker: Broker, topic: str, payload: str) -> None:
    """Publish as an installer would from a shell: mosquitto_pub when installed, else paho."""
    if shutil.which("mosquitto_pub"):
        subprocess.run(["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-q", "1", "-t", topic,
                        "-m", payload], check=True, timeout=10)
        return
    client = publisher(broker)
    client.publish(topic, payload.encode(), qos=1).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_vendor_payload_on_a_device_topic_yields_the_alert_within_2_s(
        unique_site_file: Path, sqlite_url: str, broker: Broker, make_agent: Any, tmp_path: Path) -> None:
    facility = load_facility(unique_site_file)
    site = facility.sites[0]
    with live_server(server_settings(unique_site_file, sqlite_url, broker)) as live:
        agent = make_agent(facility, site.id, device_broker_url=broker.url, protocol=broker.protocol,
                           state_dir=tmp_path / "edge")
        agent.start()
        wait_until(lambda: agent.stats()["uplink_connected"] and agent.subscribed.is_set(), 10,
                   what="edge connected and subscribed to the device topics")
        events = SseRecorder(live).start()
        started = time.monotonic()
        publish_like_mosquitto_pub(broker, site.device_by_id["leak-boiler"].topic or "",
                                   '{"battery":97,"battery_low":false,"linkquality":120,"tamper":false,'
                                   '"voltage":3000,"water_leak":true}')
        [alert] = wait_until(lambda: open_alerts(live), 2, what="leak alert in the API")
        seen = wait_until(lambda: events.named("alert"), 2, what="alert on /events")
        elapsed = time.monotonic() - started
        events.stop()
    print(f"mosquitto_pub of a zigbee2mqtt leak payload to the alert in API and /events: {elapsed * 1000:.0f} ms")
    assert elapsed < 2
    assert (alert["rule"], alert["subject"], alert["severity"], alert["room_name"]) == (
        "water_leak", "leak-boiler", "critical", "Kitchen")
    assert seen[0]["id"] == alert["id"]


def test_a_simulated_scenario_reaches_the_screen_through_the_edge(
        unique_site_file: Path, sqlite_url: str, broker: Broker, make_agent: Any, tmp_path: Path) -> None:
    facility = load_facility(unique_site_file, profile="demo")
    site = facility.sites[0]
    settings = server_settings(unique_site_file, sqlite_url, broker, profile="demo")
    with live_server(settings) as live:
        agent = make_agent(facility, site.id, device_broker_url=broker.url, protocol=broker.protocol,
                           state_dir=tmp_path / "edge")
        agent.start()
        sim = Simulator(facility, site.id, broker_url=broker.url, protocol=broker.protocol, seed=7,
                        scenarios=["stove-unattended"])
        sim.start()
        try:
            found = wait_until(lambda: [a for a in open_alerts(live) if a["rule"] == "kitchen_unattended"], 60,
                               interval=0.5, what="stove alert from the simulated scenario")
        finally:
            sim.stop()
    assert found[0]["room"] == "kitchen" and found[0]["severity"] == "high"


class SseRecorder:
    """Reads /events in a thread and keeps every event."""

    def __init__(self, live: LiveServer) -> None:
        self.live, self.events, self._stop = live, [], threading.Event()

    def start(self) -> "SseRecorder":
        threading.Thread(target=self._read, daemon=True).start()
        wait_until(lambda: self.named("snapshot"), 5, what="snapshot")
        return self

    def named(self, name: str) -> list[Any]:
        return [data for n, data in list(self.events) if n == name]

    def stop(self) -> None:
        self._stop.set()

    def _read(self) -> None:
        headers = {"Authorization": f"Bearer {self.live.token}"}
        try:
            with httpx.stream("GET", f"{self.live.url}/events", headers=headers, timeout=30) as response:
                name = ""
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith("event:"):
                        name = line.split(":", 1)[1].strip()
                    elif line.startswith("data:"):
                        self.events.append((name, json.loads(line.split(":", 1)[1])))
        except httpx.HTTPError:
            return


# --- faults ----------------------------------------------------------------------------------------

@contextmanager
def server_process(config: Path, db_url: str, broker: Broker, client_id: str, log: Path) -> Iterator[Any]:
    """`carewatch server` as its own process, as an operator runs it; killed at the end if still alive."""
    port = free_port()
    env = {**os.environ, "CAREWATCH_DATABASE_URL": db_url, "CAREWATCH_MQTT_URL": broker.url,
           "CAREWATCH_MQTT_PROTOCOL": broker.protocol, "CAREWATCH_MQTT_CLIENT_ID": client_id,
           "CAREWATCH_SECRET_KEY": "e2e-secret-key-of-the-chain-test", "CAREWATCH_BOOTSTRAP_ADMIN": ":".join(ADMIN)}
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "carewatch.cli", "server", "--config", str(config),
                                 "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        wait_until(lambda: _healthy(port) or proc.poll() is not None, 30, what="server process healthy")
        assert proc.poll() is None, log.read_text()
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def stream(broker: Broker, site: str, plan: list[tuple[str, str, dict[str, Any]]], rate: float) -> threading.Thread:
    """Publish the planned observations as an edge would (QoS 1, one envelope each) at `rate` per second."""
    def run() -> None:
        client = publisher(broker)
        seqs: dict[str, int] = {}
        for i, (device, kind, fields) in enumerate(plan):
            seqs[device] = seqs.get(device, 0) + 1
            env = Envelope(id=new_id(), site=site, device=device, kind=kind, at=utcnow(), seq=seqs[device],
                           data=Reading(**fields))
            client.publish(topics.observation(site, device), to_json(env), qos=1)
            time.sleep(max(0.0, (i + 1) / rate - (time.monotonic() - started)))
        wait_until(lambda: len(client._out_messages) == 0, 30, what="publisher drained")  # noqa: SLF001
        client.disconnect()
        client.loop_stop()

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def kill_plan(n: int) -> list[tuple[str, str, dict[str, Any]]]:
    """Mostly fridge temperatures; one leak and three SOS presses somewhere in the middle."""
    plan: list[tuple[str, str, dict[str, Any]]] = []
    cabinets = ["temp-raw-cabinet", "temp-cooked-cabinet", "temp-freezer"]
    for i in range(n):
        if i == n // 3:
            plan.append(("leak-boiler", "leak_sensor", {"leak": True}))
        elif i in (n // 4, n // 2, 3 * n // 4):
            plan.append(("sos-r101", "sos_button", {"pressed": True, "action": "emergency"}))
        else:
            cabinet = cabinets[i % 3]
            plan.append((cabinet, "temperature_sensor", {"temperature_c": -18.0 if cabinet == "temp-freezer" else 4.0}))
    return plan


@pytest.fixture
def production_broker() -> Iterator[Broker]:
    """A Mosquitto configured as we ship it: the Debian default of 1000 queued messages per client would
    drop part of what arrives while the server is down, which is the broker's loss, not ours."""
    if not PrivateMosquitto.available():
        missing("mosquitto binary")
    mosquitto = PrivateMosquitto().start()
    try:
        yield Broker("127.0.0.1", mosquitto.port, kind="mosquitto")
    finally:
        mosquitto.stop()


def test_server_killed_mid_stream_loses_nothing_and_duplicates_no_alert(
        unique_site_file: Path, db_url: str, production_broker: Broker, tmp_path: Path) -> None:
    broker = production_broker
    site = load_facility(unique_site_file).sites[0].id
    plan, client_id, log = kill_plan(3000), f"cw-e2e-{uuid.uuid4().hex[:8]}", tmp_path / "server.log"
    sessions = make_sessions(make_engine(db_url))
    with server_process(unique_site_file, db_url, broker, client_id, log) as first:
        publishing = stream(broker, site, plan, rate=600)
        wait_until(lambda: _count(sessions, Observation) > 800, 20, what="some observations stored")
        first.send_signal(signal.SIGKILL)
        first.wait()
    stored_at_kill = _count(sessions, Observation)
    with server_process(unique_site_file, db_url, broker, client_id, log):
        publishing.join(30)
        wait_until(lambda: _count(sessions, Observation) >= len(plan), 30, interval=0.2,
                   what="every observation stored after the restart")
        time.sleep(0.5)  # anything redelivered late would show up now as an extra row or alert
        with sessions() as db:
            alerts = {(a.rule, a.subject): a for a in db.scalars(select(Alert))}
            total_alerts = db.scalar(select(func.count()).select_from(Alert))
    print(f"SIGKILL with {stored_at_kill} of {len(plan)} stored; after restart {_count(sessions, Observation)} stored, "
          f"{total_alerts} alerts")
    assert 800 < stored_at_kill < len(plan), "the kill must land mid-stream"
    assert _count(sessions, Observation) == len(plan)
    assert total_alerts == 2
    assert alerts[("water_leak", "leak-boiler")].occurrences == 1
    assert alerts[("sos", "sos-r101")].occurrences == 3


def _count(sessions: Any, model: Any) -> int:
    with sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model)))


def test_uplink_broker_down_while_devices_publish_loses_nothing(
        unique_site_file: Path, sqlite_url: str, broker: Broker, uplink_mosquitto: PrivateMosquitto,
        make_agent: Any, tmp_path: Path) -> None:
    facility = load_facility(unique_site_file)
    site = facility.sites[0]
    uplink = Broker("127.0.0.1", uplink_mosquitto.port, kind="mosquitto")
    with live_server(server_settings(unique_site_file, sqlite_url, uplink)) as live:
        agent = make_agent(facility, site.id, device_broker_url=broker.url, uplink_broker_url=uplink.url,
                           protocol=broker.protocol, state_dir=tmp_path / "edge")
        agent.start()
        # Subscribed, not just connected: a reading published before the SUBACK reaches nobody.
        wait_until(lambda: agent.stats()["uplink_connected"] and agent.subscribed.is_set(), 10,
                   what="edge uplink and device subscriptions")
        devices = publisher(broker)
        topic = site.device_by_id["temp-freezer"].topic or ""
        sent = 0

        def send(n: int) -> None:
            nonlocal sent
            for _ in range(n):
                sent += 1
                payload = json.dumps({"temperature": -18 - sent / 1000, "humidity": 40, "battery": 90})
                devices.publish(topic, payload.encode(), qos=1).wait_for_publish(5)

        send(20)
        uplink_mosquitto.stop()
        deadline = time.monotonic() + OUTAGE_S
        while time.monotonic() < deadline:  # devices keep reporting through the whole outage
            send(5)
            time.sleep(0.1)
        during = sent - 20
        uplink_mosquitto.start()
        send(20)
        devices.disconnect()
        devices.loop_stop()
        try:
            freezer = wait_until(lambda: _freezer_rows(live, site.id) if len(_freezer_rows(live, site.id)) >= sent
                                 else None, 40, interval=0.25, what="every reading through the restarted uplink")
        except AssertionError as exc:
            rows = _freezer_rows(live, site.id)
            have = {round((-18 - row.data["temperature_c"]) * 1000) for row in rows}
            missing_ = sorted(set(range(1, sent + 1)) - have)
            raise AssertionError(f"{exc}: {len(rows)} of {sent} stored, missing readings {missing_[:20]} "
                                 f"(outage covered {20 + 1}..{20 + during}); edge {agent.stats()}; "
                                 f"server connected {live.ctx.consumer.connected.is_set()}") from None
    print(f"uplink down {OUTAGE_S:g} s: {during} readings published meanwhile, {sent} in all, {len(freezer)} stored")
    assert during > 0
    assert len(freezer) == sent
    assert [row.seq for row in freezer] == list(range(freezer[0].seq, freezer[0].seq + sent))  # in order, no gap


def _freezer_rows(live: LiveServer, site: str) -> list[Observation]:
    with live.ctx.sessions() as db:
        query = select(Observation).where(Observation.site == site, Observation.device == "temp-freezer")
        return list(db.scalars(query.order_by(Observation.seq)))

