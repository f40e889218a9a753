"""Three server processes on one PostgreSQL, as a district runs them: the sites' shards split between them, a
killed server's shards and leadership taken over within 10 s, a broker restart under load; nothing lost, no
alert twice. Each fault prints messages lost, duplicate alerts and the time to recover."""

import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from carewatch.broker import PrivateMosquitto
from devices import topics
from devices.messages import Envelope, Reading, new_id, to_json, utcnow
from server.cluster import shard_of
from server.db import make_engine, make_sessions
from tests.conftest import Broker, missing
from tests.e2e.cluster_support import Cluster, alert_tally, cluster, count, multi_site_file, plan_for, stream
from tests.e2e.private_postgres import PrivatePostgres, bindir
from tests.e2e.test_chain import SseRecorder
from tests.helpers import publisher, wait_until

pytestmark = pytest.mark.e2e
SITES, SHARDS, SERVERS = 6, 6, 3
FAILOVER_S = 10


@pytest.fixture
def shipped_broker() -> Iterator[PrivateMosquitto]:
    """A Mosquitto of our own with the configuration we ship (sessions on disk, unlimited queues)."""
    if not PrivateMosquitto.available():
        missing("mosquitto binary")
    mosquitto = PrivateMosquitto().start()
    try:
        yield mosquitto
    finally:
        mosquitto.stop()


@pytest.fixture
def own_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL of our own: this test stops and restarts it."""
    if bindir() is None:
        missing("PostgreSQL server binaries (initdb, pg_ctl)")
    server = PrivatePostgres().start()
    try:
        yield server
    finally:
        server.remove()


def balanced(group: Cluster, servers: int) -> bool:
    """Every shard held, each live server holding its fair share, a leader, and every shard subscribed (a shard's
    session exists at the broker only once its first holder has connected): each server's /healthz says which of
    its shards are connected."""
    connected: list[int] = []
    for server in (s for s in group.servers if s.alive()):
        health = _health(f"{server.url}/healthz")
        if health is None:
            return False
        connected += health["shards"]
    if sorted(connected) != list(range(group.shards)):
        return False
    held = group.holders()
    per_server = Counter(held["shards"].values())
    live = {s.proc.pid for s in group.servers if s.alive()}
    return (len(held["shards"]) == group.shards and set(per_server) == live and len(live) == servers
            and max(per_server.values()) - min(per_server.values()) <= 1 and bool(held["leader"])
            and set(held["leader"].values()) <= live)


@dataclass
class Load:
    """Three servers with the plan streaming to them, some of it stored already."""

    group: Cluster
    sessions: Any
    sites: list[str]
    plan: list[Any]
    publishing: threading.Thread

    def finish(self) -> tuple[int, int]:
        """Wait until the publisher is done and everything is stored; then messages lost and duplicate alerts."""
        self.publishing.join(90)
        wait_until(lambda: _quiet(lambda: count(self.sessions) >= len(self.plan)), 60, interval=0.25,
                   what="every observation stored")
        time.sleep(0.5)  # anything redelivered late would show up now as an extra row or alert
        return check_outcome(self.sessions, self.sites, len(self.plan))


@contextmanager
def under_load(tmp_path: Path, db_url: str, broker_port: int) -> Iterator[Load]:
    """Six sites on three servers in six shards, 2400 observations streaming at 400/s, more than 800 stored."""
    config, sites = multi_site_file(tmp_path, SITES)
    broker = Broker("127.0.0.1", broker_port, kind="mosquitto")
    sessions = make_sessions(make_engine(db_url))
    plan = plan_for(sites, 400)
    with cluster(config, db_url, broker.url, SHARDS, tmp_path) as group:
        for _ in range(SERVERS):
            group.start()
        wait_until(lambda: balanced(group, SERVERS), 40, interval=0.5, what="shards split between the servers")
        publishing = stream(broker, plan, rate=400)
        wait_until(lambda: count(sessions) > 800, 30, what="some observations stored")
        yield Load(group, sessions, sites, plan, publishing)


def check_outcome(sessions: object, sites: list[str], sent: int) -> tuple[int, int]:
    """Messages lost and duplicate alerts; and each site's leak once and SOS once with its three presses."""
    tally = alert_tally(sessions)
    lost = sent - count(sessions)
    duplicates = sum(alerts - 1 for alerts, _ in tally.values())
    for site in sites:
        assert tally[(site, "water_leak", "leak-boiler")] == (1, 1), site
        assert tally[(site, "sos", "sos-r101")] == (1, 3), site
    return lost, duplicates


def test_three_servers_share_the_sites_and_a_killed_leader_is_replaced_within_10_s(
        tmp_path: Path, postgres_url: str, shipped_broker: PrivateMosquitto) -> None:
    with under_load(tmp_path, postgres_url, shipped_broker.port) as load:
        leader = load.group.server_of(next(iter(load.group.holders()["leader"].values())))
        leader.proc.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        leader.proc.wait()
        wait_until(lambda: balanced(load.group, SERVERS - 1), FAILOVER_S + 5, interval=0.2,
                   what="the killed leader's shards and leadership taken over")
        recovered = time.monotonic() - killed_at
        lost, duplicates = load.finish()
    print(f"SIGKILL of the leader (1 of {SERVERS} servers, {SITES} sites in {SHARDS} shards): messages lost {lost}, "
          f"duplicate alerts {duplicates}, shards and leadership taken over in {recovered:.1f} s")
    assert (lost, duplicates) == (0, 0)
    assert recovered <= FAILOVER_S


def test_broker_restart_under_load_with_three_servers_loses_nothing(
        tmp_path: Path, postgres_url: str, uplink_mosquitto: PrivateMosquitto) -> None:
    # The uplink fixture: sessions on disk, as we ship Mosquitto, and restartable on its port.
    with under_load(tmp_path, postgres_url, uplink_mosquitto.port) as load:
        uplink_mosquitto.stop()
        uplink_mosquitto.start()
        restarted_at = time.monotonic()
        lost, duplicates = load.finish()
        recovered = time.monotonic() - restarted_at
    print(f"broker restart under load ({SERVERS} servers, {len(load.plan)} messages): messages lost {lost}, "
          f"duplicate alerts {duplicates}, everything stored {recovered:.1f} s after the restart")
    assert (lost, duplicates) == (0, 0)


def test_a_screen_on_one_server_sees_alerts_raised_and_acknowledged_on_the_others(
        tmp_path: Path, postgres_url: str, mosquitto: Broker) -> None:
    config, sites = multi_site_file(tmp_path, 4)
    with cluster(config, postgres_url, mosquitto.url, 4, tmp_path) as group:
        first, second = group.start().login(), group.start().login()
        wait_until(lambda: balanced(group, 2), 40, interval=0.5, what="shards split between the two servers")
        held = group.holders()["shards"]
        elsewhere = [s for s in sites if held[shard_of(s, 4)] == second.proc.pid]
        assert elsewhere and len(elsewhere) < len(sites)
        screen = SseRecorder(first).start()  # type: ignore[arg-type]  # has url and token, as LiveServer
        client = publisher(mosquitto)
        sent = time.monotonic()
        for site in sites:
            env = Envelope(id=new_id(), site=site, device="sos-r101", kind="sos_button", at=utcnow(), seq=1,
                           data=Reading(pressed=True, action="emergency"))
            client.publish(topics.observation(site, "sos-r101"), to_json(env), qos=1)
        shown = wait_until(lambda: {a["site"] for a in screen.named("alert")} >= set(sites) and time.monotonic(),
                           10, interval=0.05, what="every site's SOS on the first server's screen")
        wait_until(lambda: any(d["site"] == elsewhere[0] and d["device"] == "sos-r101" and d["last_seen"]
                               for d in screen.named("device")), 5, what="the other server's device on the screen")
        alert = next(a for a in screen.named("alert") if a["site"] == elsewhere[0])
        acked = httpx.post(f"{second.url}/api/v1/alerts/{alert['id']}/ack",
                           headers={"Authorization": f"Bearer {second.token}"}, timeout=10)
        assert acked.status_code == 200, acked.text
        wait_until(lambda: any(a["id"] == alert["id"] and a["status"] == "acknowledged"
                               for a in screen.named("alert")), 5, what="the acknowledgement on the first screen")
        screen.stop()
        client.disconnect()
        client.loop_stop()
    print(f"{len(sites)} sites on 2 servers: every SOS on one screen {shown - sent:.2f} s after publishing, "
          f"{len(elsewhere)} of them raised by the other server")


def test_postgresql_restart_under_load_with_three_servers_loses_nothing(
        tmp_path: Path, own_postgres: PrivatePostgres, uplink_mosquitto: PrivateMosquitto) -> None:
    with under_load(tmp_path, own_postgres.url, uplink_mosquitto.port) as load:
        own_postgres.stop()
        time.sleep(3)  # the database away for a while: edges keep publishing, the broker queues for the shards
        own_postgres.start()
        back_at = time.monotonic()
        wait_until(lambda: _quiet(lambda: balanced(load.group, SERVERS)), 30, interval=0.2,
                   what="every shard held again after the restart")
        rebalanced = time.monotonic() - back_at
        lost, duplicates = load.finish()
        recovered = time.monotonic() - back_at
        assert all(server.alive() for server in load.group.servers)
    print(f"PostgreSQL stopped 3 s under load ({SERVERS} servers): messages lost {lost}, duplicate alerts "
          f"{duplicates}, shards held again {rebalanced:.1f} s and everything stored {recovered:.1f} s after it was "
          "back")
    assert (lost, duplicates) == (0, 0)


def _quiet(check: object) -> bool:
    """A check that may meet the database still starting up."""
    try:
        return bool(check())  # type: ignore[operator]
    except Exception:  # noqa: BLE001 - not yet
        return False


def _health(url: str) -> dict[str, Any] | None:
    """A healthy server's /healthz; None when it is not healthy or does not answer."""
    try:
        response = httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]
