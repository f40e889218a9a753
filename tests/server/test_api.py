"""The HTTP API on a live server fed by a real broker: logins and roles, alerts, devices, dead letters, SSE."""

import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from devices import topics
from devices.loader import load_facility
from devices.messages import Envelope, Reading, new_id, to_json, utcnow
from server.auth.users import Role, create_user
from tests.conftest import FACILITY_FILE, Broker
from tests.helpers import ADMIN, LiveServer, live_server, publisher, server_settings, wait_until


def site_of(live: LiveServer) -> str:
    return live.ctx.facility.sites[0].id


def publish(broker: Broker, site: str, device: str, kind: str, seq: int = 1, payload: bytes | None = None,
            **fields: Any) -> None:
    """Publish one observation (or raw bytes) as an edge would, QoS 1, and wait for the PUBACK."""
    body = payload if payload is not None else to_json(Envelope(
        id=new_id(), site=site, device=device, kind=kind, at=utcnow(), seq=seq, data=Reading(**fields)))
    client = publisher(broker)
    try:
        client.publish(topics.observation(site, device), body, qos=1).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


def add_user(live: LiveServer, username: str, role: Role) -> str:
    """Create a user and return a bearer token for it."""
    with live.ctx.sessions.begin() as db:
        create_user(db, username=username, password="password-123", role=role, at=utcnow())
    response = httpx.post(f"{live.url}/api/v1/auth/token", data={"username": username, "password": "password-123"})
    return str(response.json()["access_token"])


def open_alerts(live: LiveServer) -> list[dict[str, Any]]:
    with live.client() as client:
        return list(client.get("/api/v1/alerts", params={"status": "open"}).json())


def test_login_is_required_and_a_wrong_password_is_refused(server: LiveServer) -> None:
    assert httpx.get(f"{server.url}/api/v1/alerts").status_code == 401
    bad = httpx.post(f"{server.url}/api/v1/auth/token", data={"username": ADMIN[0], "password": "nope"})
    assert bad.status_code == 401
    forged = httpx.get(f"{server.url}/api/v1/alerts", headers={"Authorization": "Bearer forged.token.value"})
    assert forged.status_code == 401
    with server.client() as client:
        assert client.get("/api/v1/auth/me").json() == {"username": "admin", "role": "admin"}


def test_vendor_observation_raises_an_alert_seen_in_the_api_within_2_s(server: LiveServer, broker: Broker) -> None:
    started = time.monotonic()
    publish(broker, site_of(server), "leak-boiler", "leak_sensor", leak=True)
    [alert] = wait_until(lambda: open_alerts(server), 2, what="leak alert in the API")
    assert time.monotonic() - started < 2
    assert (alert["rule"], alert["subject"], alert["severity"], alert["room"]) == (
        "water_leak", "leak-boiler", "critical", "kitchen")
    assert alert["title"] in ("漏水", "Water leak")


def test_alert_appears_on_events_after_the_snapshot(server: LiveServer, broker: Broker) -> None:
    events: list[tuple[str, Any]] = []
    stop = threading.Event()

    def read() -> None:
        headers = {"Authorization": f"Bearer {server.token}"}
        url = f"{server.url}/events?lang=en"
        with contextlib.suppress(httpx.HTTPError), httpx.stream("GET", url, headers=headers, timeout=10) as response:
            name = ""
            for line in response.iter_lines():
                if line.startswith("event:"):
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    events.append((name, json.loads(line.split(":", 1)[1])))
                if stop.is_set():
                    return

    threading.Thread(target=read, daemon=True).start()
    wait_until(lambda: any(name == "snapshot" for name, _ in events), 5, what="snapshot event")
    snapshot = events[0][1]
    assert len(snapshot["devices"]) == len(_device_ids()) and snapshot["alerts"] == []
    publish(broker, site_of(server), "smoke-dayroom", "smoke_detector", smoke=True)
    alert = wait_until(lambda: [d for n, d in events if n == "alert"], 2, what="alert event")[0]
    stop.set()
    assert (alert["rule"], alert["subject"], alert["title"], alert["room_name"]) == (
        "smoke", "smoke-dayroom", "Smoke detected", "Day room")
    assert any(n == "device" and d["device"] == "smoke-dayroom" and d["state"]["smoke"] for n, d in events)


def test_acknowledge_and_resolve_record_who_and_refuse_impossible_steps(server: LiveServer, broker: Broker) -> None:
    publish(broker, site_of(server), "sos-bath-s", "sos_button", pressed=True, action="emergency")
    [alert] = wait_until(lambda: open_alerts(server), 2, what="sos alert")
    with server.client() as client:
        acked = client.post(f"/api/v1/alerts/{alert['id']}/ack", json={"note": "on my way"}).json()
        assert (acked["status"], acked["acked_by"]) == ("acknowledged", "admin")
        assert client.post(f"/api/v1/alerts/{alert['id']}/ack").status_code == 409
        bad = client.post(f"/api/v1/alerts/{alert['id']}/resolve", json={"resolution": "bored"})
        assert bad.status_code == 422
        done = client.post(f"/api/v1/alerts/{alert['id']}/resolve", json={"resolution": "real_event"}).json()
        assert (done["status"], done["resolved_by"], done["resolution"]) == ("resolved", "admin", "real_event")
        assert [e["action"] for e in done["events"]] == ["raised", "acknowledged", "resolved"]
        assert client.post("/api/v1/alerts/99999/ack").status_code == 404
        assert client.post("/api/v1/alerts/not-a-number/ack").status_code == 422
    assert open_alerts(server) == []


def test_inspector_reads_but_cannot_change_alerts(server: LiveServer, broker: Broker) -> None:
    publish(broker, site_of(server), "leak-boiler", "leak_sensor", leak=True)
    [alert] = wait_until(lambda: open_alerts(server), 2, what="leak alert")
    token = add_user(server, "inspector1", Role.INSPECTOR)
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as inspector:
        assert inspector.get("/api/v1/alerts").status_code == 200
        assert inspector.post(f"/api/v1/alerts/{alert['id']}/ack").status_code == 403
    staff = add_user(server, "wang", Role.STAFF)
    response = httpx.post(f"{server.url}/api/v1/alerts/{alert['id']}/ack", headers={"Authorization": f"Bearer {staff}"})
    assert response.json()["acked_by"] == "wang"


def test_bad_input_is_visible_in_the_api_and_counted_per_device(server: LiveServer, broker: Broker) -> None:
    site = site_of(server)
    publish(broker, site, "temp-freezer", "temperature_sensor", payload=b'{"broken": ')
    publish(broker, site, "no-such-device", "leak_sensor", leak=True)
    publish(broker, site, "temp-freezer", "temperature_sensor", seq=2, temperature_c=-18.5)
    with server.client() as client:
        dead = wait_until(lambda: client.get("/api/v1/dead-letters").json() if len(
            client.get("/api/v1/dead-letters").json()) == 2 else None, 2, what="two dead letters")
        reasons = {d["device"]: d["reason"] for d in dead}
        assert reasons["no-such-device"] == f"unknown device 'no-such-device' in site '{site}'"
        assert reasons["temp-freezer"].startswith("not valid JSON")
        freezer = wait_until(lambda: [d for d in client.get("/api/v1/devices").json()
                                      if d["device"] == "temp-freezer" and d["observations"] == 1], 2)[0]
        assert (freezer["rejected"], freezer["state"]["temperature_c"], freezer["online"]) == (1, -18.5, True)
        metrics = client.get("/metrics").text
    assert f'carewatch_rejected_total{{device="temp-freezer",reason="invalid",site="{site}"}} 1.0' in metrics


def test_devices_list_every_device_of_the_facility_in_the_readers_language(server: LiveServer) -> None:
    with server.client() as client:
        devices = client.get("/api/v1/devices", params={"lang": "en"}).json()
        zh = client.get("/api/v1/devices", params={"lang": "zh-CN"}).json()
    assert sorted(d["device"] for d in devices) == sorted(_device_ids())  # cameras too: they report their health
    raw = {d["device"]: d for d in devices}
    assert (raw["temp-raw-cabinet"]["name"], raw["temp-raw-cabinet"]["room_name"]) == ("Raw food cabinet", "Kitchen")
    assert {d["device"]: d["name"] for d in zh}["temp-raw-cabinet"] == "生食冷藏柜"
    assert raw["bed-b101-1"]["bed"] == "b101-1"


def test_health_reports_database_and_broker(server: LiveServer) -> None:
    health = httpx.get(f"{server.url}/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok", "database": True, "mqtt": True})


def test_bootstrap_admin_is_created_once_across_restarts(unique_site_file: Path, sqlite_url: str,
                                                         broker: Broker) -> None:
    settings = server_settings(unique_site_file, sqlite_url, broker)
    for _ in range(2):
        with live_server(settings, ingest=False) as live, live.ctx.sessions() as db:
            from sqlalchemy import func, select

            from server.models import User
            assert db.scalar(select(func.count()).select_from(User)) == 1


def test_a_broken_facility_file_stops_the_server_before_anything_starts(tmp_path: Path, broker: Broker) -> None:
    bad = tmp_path / "facility.yaml"
    bad.write_text("version: 1\nsites:\n  - id: x\n    nmae: {en: a, zh-CN: b}\n")
    from devices.loader import FacilityError
    from server.main import create_app

    with pytest.raises(FacilityError) as error:
        create_app(server_settings(bad, f"sqlite:///{tmp_path / 'x.db'}", broker))
    assert "line 4: sites[0].nmae: unknown key" in str(error.value)
    assert not (tmp_path / "x.db").exists()


def test_reference_facility_is_unchanged_by_the_unique_site_fixture(unique_site_file: Path) -> None:
    """Guard for the fixture the other tests rely on: same devices, only ids and topics prefixed."""
    facility = load_facility(unique_site_file)
    site = facility.sites[0]
    reference = load_facility(FACILITY_FILE).sites[0]
    assert site.id != "hq" and [d.id for d in site.devices] == [d.id for d in reference.devices]
    assert all(d.topic is None or d.topic.startswith(site.id) for d in site.devices)


def _device_ids() -> list[str]:
    """Ids of the reference facility's devices."""
    return [d.id for d in load_facility(FACILITY_FILE).sites[0].devices]


def test_many_open_screens_hold_no_database_connection(server: LiveServer, broker: Broker) -> None:
    """More screens than the database pool has connections (5 + 10 overflow): every one gets its snapshot, the
    API still answers at once and an alert still reaches them (an SSE request once held a connection for its
    whole life, and 50 screens starved the ingest)."""
    screens = 25
    snapshots, alerts = threading.Semaphore(0), threading.Semaphore(0)
    stop = threading.Event()

    def screen() -> None:
        headers = {"Authorization": f"Bearer {server.token}"}
        with contextlib.suppress(httpx.HTTPError), httpx.stream("GET", f"{server.url}/events?lang=en",
                                                                headers=headers, timeout=30) as response:
            for line in response.iter_lines():
                if line.startswith("event: snapshot"):
                    snapshots.release()
                elif line.startswith("event: alert"):
                    alerts.release()
                if stop.is_set():
                    return

    threads = [threading.Thread(target=screen, daemon=True) for _ in range(screens)]
    for thread in threads:
        thread.start()
    try:
        assert all(snapshots.acquire(timeout=20) for _ in range(screens)), "a screen got no snapshot"
        started = time.monotonic()
        with server.client() as client:
            assert client.get("/api/v1/alerts").status_code == 200
        assert time.monotonic() - started < 2  # not waiting for a connection the screens hold
        publish(broker, site_of(server), "sos-bath-s", "sos_button", pressed=True, action="emergency")
        assert all(alerts.acquire(timeout=10) for _ in range(screens)), "a screen missed the alert"
    finally:
        stop.set()
