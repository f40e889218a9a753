"""Several `carewatch server` processes on one PostgreSQL: start them, see who holds what, stream to many sites."""

import copy
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import yaml
from sqlalchemy import func, select

from carewatch.broker import free_port
from devices import topics
from devices.messages import Envelope, Reading, new_id, to_json, utcnow
from server.cluster import LEADER, SHARD, libpq_url
from server.models import Alert, Observation
from tests.conftest import FACILITY_FILE, ROOT
from tests.helpers import ADMIN, publisher, wait_until


def multi_site_file(tmp_path: Path, sites: int) -> tuple[Path, list[str]]:
    """The reference facility's site copied under `sites` fresh ids (unique per test: brokers are shared)."""
    doc = yaml.safe_load(FACILITY_FILE.read_text(encoding="utf-8"))
    prefix = f"c{uuid.uuid4().hex[:6]}"
    template = doc["sites"][0]
    doc["sites"] = [_copy(template, f"{prefix}s{i}") for i in range(sites)]
    path = tmp_path / "district.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path, [s["id"] for s in doc["sites"]]


def _copy(site: dict[str, Any], site_id: str) -> dict[str, Any]:
    """A site under another id; device topics must be unique across the file, so each site gets its own."""
    copied = {**copy.deepcopy(site), "id": site_id}
    for device in copied.get("devices", []):
        if device.get("topic"):
            device["topic"] = f"{site_id}/{device['topic']}"
    return copied


@dataclass
class Server:
    """One server process and where it answers."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    token: str = ""

    def alive(self) -> bool:
        """Still running."""
        return self.proc.poll() is None

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    def login(self) -> "Server":
        """Log in as the bootstrap admin (for the API and /events)."""
        response = httpx.post(f"{self.url}/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]})
        response.raise_for_status()
        self.token = response.json()["access_token"]
        return self


@dataclass
class Cluster:
    """The servers of one test, sharing a database, a broker and a client-id prefix."""

    config: Path
    db_url: str
    broker_url: str
    shards: int
    tmp: Path
    client_id: str = field(default_factory=lambda: f"cw-cl-{uuid.uuid4().hex[:6]}")
    servers: list[Server] = field(default_factory=list)

    def start(self) -> Server:
        """Start one more server process and wait until it answers."""
        port = free_port()
        log = self.tmp / f"server-{len(self.servers)}.log"
        env = {**os.environ, "CAREWATCH_DATABASE_URL": self.db_url, "CAREWATCH_MQTT_URL": self.broker_url,
               "CAREWATCH_MQTT_PROTOCOL": "5", "CAREWATCH_MQTT_CLIENT_ID": self.client_id,
               "CAREWATCH_SHARDS": str(self.shards), "CAREWATCH_SECRET_KEY": "e2e-secret-key-of-the-cluster",
               "CAREWATCH_BOOTSTRAP_ADMIN": ":".join(ADMIN)}
        with log.open("ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "carewatch.cli", "server", "--config", str(self.config),
                                     "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        server = Server(proc, port, log)
        self.servers.append(server)
        wait_until(lambda: _answers(port) or proc.poll() is not None, 40, what="server process answering")
        assert proc.poll() is None, log.read_text()
        return server

    def stop_all(self) -> None:
        """Kill whatever is still running."""
        for server in self.servers:
            if server.alive():
                server.proc.kill()
                server.proc.wait()

    def holders(self) -> dict[str, dict[int, int]]:
        """Who holds what: {"shards": {shard: server pid}, "leader": {0: server pid}}."""
        query = ("SELECT l.classid::bigint, l.objid::bigint, a.application_name FROM pg_locks l"
                 " JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
                 " AND l.objsubid = 2"
                 " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")
        with psycopg.connect(libpq_url(self.db_url), autocommit=True) as conn:
            rows = conn.execute(query).fetchall()
        out: dict[str, dict[int, int]] = {"shards": {}, "leader": {}}
        for kind, key, name in rows:
            pid = int(name.rsplit("-", 1)[1])
            if kind == SHARD:
                out["shards"][int(key)] = pid
            elif kind == LEADER:
                out["leader"][int(key)] = pid
        return out

    def server_of(self, pid: int) -> Server:
        """The server with an OS pid."""
        return next(s for s in self.servers if s.proc.pid == pid)


def _answers(port: int) -> bool:
    """The HTTP side is up (the MQTT side may wait for shards: /healthz would say 503 until then)."""
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code in (200, 503)
    except httpx.HTTPError:
        return False


@contextmanager
def cluster(config: Path, db_url: str, broker_url: str, shards: int, tmp: Path) -> Iterator[Cluster]:
    """A cluster that is killed at the end, whatever happened."""
    group = Cluster(config, db_url, broker_url, shards, tmp)
    try:
        yield group
    finally:
        group.stop_all()


def plan_for(sites: list[str], per_site: int) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Per site: fridge readings, one water leak and three SOS presses in the middle, interleaved across sites."""
    plan = []
    cabinets = ["temp-raw-cabinet", "temp-cooked-cabinet", "temp-freezer"]
    for i in range(per_site):
        for site in sites:
            if i == per_site // 3:
                plan.append((site, "leak-boiler", "leak_sensor", {"leak": True}))
            elif i in (per_site // 4, per_site // 2, 3 * per_site // 4):
                plan.append((site, "sos-r101", "sos_button", {"pressed": True, "action": "emergency"}))
            else:
                cabinet = cabinets[i % 3]
                plan.append((site, cabinet, "temperature_sensor",
                             {"temperature_c": -18.0 if cabinet == "temp-freezer" else 4.0}))
    return plan


def stream(broker: Any, plan: list[tuple[str, str, str, dict[str, Any]]], rate: float) -> threading.Thread:
    """Publish the plan as the sites' edges would (QoS 1 envelopes, per-device seq) at `rate` per second."""
    def run() -> None:
        client = publisher(broker)
        seqs: dict[tuple[str, str], int] = {}
        started = time.monotonic()
        for i, (site, device, kind, fields) in enumerate(plan):
            seqs[(site, device)] = seqs.get((site, device), 0) + 1
            env = Envelope(id=new_id(), site=site, device=device, kind=kind, at=utcnow(), seq=seqs[(site, device)],
                           data=Reading(**fields))
            client.publish(topics.observation(site, device), to_json(env), qos=1)
            time.sleep(max(0.0, (i + 1) / rate - (time.monotonic() - started)))
        wait_until(lambda: len(client._out_messages) == 0, 60, what="publisher drained")  # noqa: SLF001
        client.disconnect()
        client.loop_stop()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def count(sessions: Any, model: Any = Observation) -> int:
    """Rows of a table."""
    with sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model)))


def alert_tally(sessions: Any) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(site, rule, subject) -> (alerts, occurrences): a duplicate alert shows as alerts > 1."""
    tally: dict[tuple[str, str, str], tuple[int, int]] = {}
    with sessions() as db:
        for alert in db.scalars(select(Alert)):
            key = (alert.site, alert.rule, alert.subject)
            alerts, occurrences = tally.get(key, (0, 0))
            tally[key] = (alerts + 1, occurrences + alert.occurrences)
    return tally
