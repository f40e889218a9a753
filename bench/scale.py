"""A simulated district on real parts: ≥ 200 sites × 50 devices through Mosquitto into 1 and then 3 server
processes on PostgreSQL (`CAREWATCH_SHARDS`), side by side in one run.

    .venv/bin/python bench/scale.py [--sites 200] [--devices 50] [--backlog 60000] [--shards 6] [--servers 1,3,3,1]

For each count of servers: a fresh PostgreSQL database and a private Mosquitto; the servers start once (each
shard's MQTT session is made), stop, and a backlog of routine readings of every device is published while they
are down (a burst: an uplink back after an outage, the morning round of every home at once); then the servers
start again and drain it: sustained observations/s is the backlog over the time from the first stored row to
the last. Then, at a realistic district rate (every device every ~45 s, so sites × devices / 45 per second)
plus SOS presses at 2/s spread over the sites, p50/p99 device-to-screen latency: publish → `alert` event on a
screen (SSE) of the first server, whichever server holds the site. Peak RSS per server process (with its
receiver children). Loopback only; bounded; everything it starts it stops.
"""

import argparse
import contextlib
import copy
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from carewatch.broker import PrivateMosquitto, free_port  # noqa: E402
from devices import topics  # noqa: E402
from devices.loader import load_facility  # noqa: E402
from devices.messages import Envelope, Reading, new_id, to_json, utcnow  # noqa: E402
from devices.mqtt import connect, make_client, parse_url, stop  # noqa: E402

ADMIN = ("bench-admin", "bench-admin-password-1")
PG_ADMIN = os.environ.get("CAREWATCH_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DEVICE_PERIOD_S = 45  # a routine reading of each device every ~45 s
SOS_RATE = 2.0


def district(path: Path, sites: int, devices: int) -> Path:
    """The reference site (without its cameras) padded with thermometers to `devices`, copied `sites` times."""
    doc = yaml.safe_load((ROOT / "config" / "facility.yaml").read_text(encoding="utf-8"))
    template = doc["sites"][0]
    template["devices"] = [d for d in template["devices"] if d["kind"] != "camera"]
    spare = next(d for d in template["devices"] if d["kind"] == "temperature_sensor" and d.get("role") == "room")
    for i in range(devices - len(template["devices"])):
        template["devices"].append({**copy.deepcopy(spare), "id": f"temp-extra-{i}", "topic": f"zigbee2mqtt/extra-{i}"})
    doc["sites"] = []
    for i in range(sites):
        site = {**copy.deepcopy(template), "id": f"home{i:03d}"}
        for device in site["devices"]:
            if device.get("topic"):
                device["topic"] = f"home{i:03d}/{device['topic']}"
        doc["sites"].append(site)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def routine(site: Any, device: Any) -> Reading:
    """A reading a device sends when nothing is wrong."""
    kind = device.kind.value
    if kind == "temperature_sensor":
        limits = site.limits_of(device)
        low, high = (limits.min, limits.max) if limits else (20.0, 24.0)
        low, high = (low if low is not None else high - 4), (high if high is not None else low + 4)
        return Reading(temperature_c=round((low + high) / 2, 1), battery_pct=90)
    return {"bed_sensor": Reading(occupied=True), "power_plug": Reading(on=True, power_w=3.0),
            "presence_sensor": Reading(occupied=False), "door_contact": Reading(open=False)}.get(
        kind, Reading(battery_pct=90))


class Publisher:
    """One paho client publishing envelopes with per-device seq (QoS 1)."""

    def __init__(self, url: str) -> None:
        self.address = parse_url(url)
        self.client = make_client(f"bench-pub-{uuid.uuid4().hex[:6]}", self.address, protocol="5")
        connect(self.client, self.address)
        self.seq: dict[tuple[str, str], int] = {}

    def send(self, site: Any, device: Any, reading: Reading) -> float:
        """Publish one observation; return when (monotonic)."""
        key = (site.id, device.id)
        self.seq[key] = self.seq.get(key, 0) + 1
        env = Envelope(id=new_id(), site=site.id, device=device.id, kind=device.kind.value, at=utcnow(),
                       seq=self.seq[key], data=reading)
        self.client.publish(topics.observation(site.id, device.id), to_json(env), qos=1)
        return time.monotonic()

    def drain(self) -> None:
        """Wait until the broker has every message."""
        deadline = time.monotonic() + 120
        while self.client._out_messages and time.monotonic() < deadline:  # noqa: SLF001
            time.sleep(0.05)

    def close(self) -> None:
        """Disconnect."""
        self.drain()
        stop(self.client)


class Servers:
    """n `carewatch server` processes on one database."""

    def __init__(self, n: int, config: Path, db_url: str, broker_url: str, shards: int, tmp: Path) -> None:
        self.n, self.config, self.db_url, self.broker_url, self.shards, self.tmp = n, config, db_url, broker_url, \
            shards, tmp
        self.client_id = f"bench-{uuid.uuid4().hex[:6]}"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.ports: list[int] = []

    def start(self) -> None:
        """Start all at once (they settle before taking shards) and wait until every shard is held."""
        self.ports = [free_port() for _ in range(self.n)]
        for i, port in enumerate(self.ports):
            env = {**os.environ, "CAREWATCH_DATABASE_URL": self.db_url, "CAREWATCH_MQTT_URL": self.broker_url,
                   "CAREWATCH_MQTT_CLIENT_ID": self.client_id, "CAREWATCH_SHARDS": str(self.shards),
                   "CAREWATCH_SECRET_KEY": "bench-secret-key-of-the-scale-run", "CAREWATCH_LOG_LEVEL": "WARNING",
                   "CAREWATCH_BOOTSTRAP_ADMIN": ":".join(ADMIN)}
            with (self.tmp / f"server-{i}.log").open("ab") as log:
                command = [sys.executable, "-m", "carewatch.cli", "server", "--config", str(self.config),
                           "--port", str(port)]
                self.procs.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT))
        deadline = time.monotonic() + 180
        # Every shard connected, not only locked: a shard is locked a moment before its MQTT session exists, and
        # a backlog published in that moment would reach no session.
        while len(connected_shards(self.ports)) < self.shards:
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                logs = "\n".join((self.tmp / f"server-{i}.log").read_text()[-1500:] for i in range(self.n))
                raise SystemExit(f"servers did not start:\n{logs}")
            time.sleep(0.5)

    def stop(self) -> None:
        """SIGTERM (their sessions stay at the broker), then make sure they are gone."""
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs = []

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the servers and their receiver children so far."""
        total = 0.0
        for proc in self.procs:
            with contextlib.suppress(psutil.Error):
                p = psutil.Process(proc.pid)
                for q in [p, *p.children(recursive=True)]:
                    times = q.cpu_times()
                    total += times.user + times.system
        return total

    def rss_mb(self) -> list[float]:
        """RSS of each server with its receiver children, in MB."""
        out = []
        for proc in self.procs:
            try:
                p = psutil.Process(proc.pid)
                out.append(sum(q.memory_info().rss for q in [p, *p.children(recursive=True)]) / 2**20)
            except psutil.Error:
                out.append(0.0)
        return out


def machine_busy() -> float:
    """Seconds all cores of the machine have been busy since boot (everything but idle and I/O wait)."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def connected_shards(ports: list[int]) -> set[int]:
    """Shards that some healthy server runs with their MQTT session connected (its /healthz says which)."""
    shards: set[int] = set()
    for port in ports:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        except httpx.HTTPError:
            continue
        if response.status_code == 200:
            shards.update(response.json().get("shards", []))
    return shards


def stored(db_url: str) -> int:
    """Observations stored."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        return int(conn.execute("SELECT count(*) FROM observations").fetchone()[0])  # type: ignore[index]


def stored_span(db_url: str) -> float:
    """Seconds from the first batch stored to the last (each batch is stamped when its transaction ran)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute("SELECT extract(epoch FROM max(received_at) - min(received_at)) FROM observations")
        return max(1e-3, float(row.fetchone()[0]))  # type: ignore[index]


class Screen:
    """An SSE client of one server that notes when each alert first arrives."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        token = httpx.post(f"{self.url}/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]},
                           timeout=10).json()["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}
        self.seen: dict[tuple[str, str], float] = {}
        self.ready = threading.Event()
        self._stop = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        self.ready.wait(30)

    def _read(self) -> None:
        """Read events; an alert's (site, subject) the first time it comes."""
        with contextlib.suppress(httpx.HTTPError), \
                httpx.stream("GET", f"{self.url}/events", headers=self.headers, timeout=60) as response:
            name = ""
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("event:"):
                    name = line.split(":", 1)[1].strip()
                    self.ready.set()
                elif line.startswith("data:") and name == "alert":
                    data = json.loads(line.split(":", 1)[1])
                    self.seen.setdefault((data["site"], data["subject"]), time.monotonic())

    def close(self) -> None:
        """Stop reading."""
        self._stop.set()


def run_one(n: int, args: argparse.Namespace, config: Path, tmp: Path) -> dict[str, Any]:
    """Everything for n servers on a fresh database and broker."""
    facility = load_facility(config)
    name = f"cw_bench_scale_{n}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    db_url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    broker = PrivateMosquitto().start()
    broker_url = f"mqtt://127.0.0.1:{broker.port}"
    servers = Servers(n, config, db_url, broker_url, args.shards, tmp)
    try:
        servers.start()  # makes each shard's session at the broker
        servers.stop()
        devices = [(site, device) for site in facility.sites for device in site.devices]
        pub = Publisher(broker_url)
        for i in range(args.backlog):
            site, device = devices[i % len(devices)]
            pub.send(site, device, routine(site, device))
        pub.drain()
        started = time.monotonic()
        servers.start()
        last = None
        peak = [0.0] * n
        cpu = None  # (monotonic, machine busy s, servers' s) once the first rows are stored: start-up not counted
        while True:
            count = stored(db_url)
            now = time.monotonic()
            peak = [max(a, b) for a, b in zip(peak, servers.rss_mb(), strict=True)]
            if count and cpu is None:
                cpu = (now, machine_busy(), servers.cpu_seconds())
            if count >= args.backlog:
                last = now
                break
            if now - started > 600:
                raise SystemExit(f"drain stalled at {count} of {args.backlog}")
            time.sleep(0.2)
        rate = args.backlog / stored_span(db_url)
        assert cpu is not None
        elapsed = max(1e-3, last - cpu[0])
        machine_cores, server_cores = (machine_busy() - cpu[1]) / elapsed, (servers.cpu_seconds() - cpu[2]) / elapsed
        quiet = (time.monotonic(), servers.cpu_seconds())
        latencies = latency_phase(args, facility, devices, servers, pub)
        steady_cores = (servers.cpu_seconds() - quiet[1]) / max(1e-3, time.monotonic() - quiet[0])
        peak = [max(a, b) for a, b in zip(peak, servers.rss_mb(), strict=True)]
        pub.close()
        return {"servers": n, "rate": rate, "drain_s": last - started, "latency": latencies, "rss": peak,
                "machine_cores": machine_cores, "server_cores": server_cores, "steady_cores": steady_cores}
    finally:
        servers.stop()
        broker.stop()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def latency_phase(args: argparse.Namespace, facility: Any, devices: list[Any], servers: Servers,
                  pub: Publisher) -> list[float]:
    """Background at the district's rate plus SOS presses; publish → alert on the first server's screen."""
    screen = Screen(servers.ports[0])
    background = len(devices) / DEVICE_PERIOD_S
    sos = [(site, d) for site in facility.sites for d in site.devices if d.kind.value == "sos_button"]
    sent: dict[tuple[str, str], float] = {}
    started, i, b = time.monotonic(), 0, 0
    while i < args.presses:
        now = time.monotonic() - started
        while b < background * now:
            site, device = devices[(b * 7919) % len(devices)]
            if device.kind.value != "sos_button":
                pub.send(site, device, routine(site, device))
            b += 1
        if i < SOS_RATE * now:
            site, device = sos[(i * 104729) % len(sos)]
            sent[(site.id, device.id)] = pub.send(site, device, Reading(pressed=True, action="emergency"))
            i += 1
        time.sleep(0.002)
    deadline = time.monotonic() + 20
    while len(set(sent) & set(screen.seen)) < len(sent) and time.monotonic() < deadline:
        time.sleep(0.1)
    screen.close()
    return sorted((screen.seen[k] - t) * 1000 for k, t in sent.items() if k in screen.seen) + \
        [float("inf")] * len(set(sent) - set(screen.seen))


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values)) - 1))] if values else float("nan")


def main() -> None:
    """Run 1 server, then 3, and print the figures side by side."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--backlog", type=int, default=60000)
    parser.add_argument("--shards", type=int, default=6)
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--servers", default="1,3,3,1", help="server counts to run, in this order")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="carewatch-scale-") as tmp:
        config = district(Path(tmp) / "district.yaml", args.sites, args.devices)
        print(f"district: {args.sites} sites x {args.devices} devices = {args.sites * args.devices} devices, "
              f"{args.shards} shards, backlog {args.backlog}, "
              f"background {args.sites * args.devices / DEVICE_PERIOD_S:.0f} obs/s + SOS {SOS_RATE:g}/s during the "
              f"latency phase; cpu {os.cpu_count()}", flush=True)
        results = [run_one(int(n), args, config, Path(tmp)) for n in args.servers.split(",")]
    print(f"{'servers':>7} {'obs/s':>8} {'drain s':>8} {'p50 ms':>7} {'p99 ms':>7} {'alerts':>7} {'cores':>6} "
          f"{'servers':>7} {'CPU ms/1k obs':>13} {'steady':>6}  peak RSS MB per server")
    for r in results:
        lat = r["latency"]
        shown = sum(1 for v in lat if v != float("inf"))
        print(f"{r['servers']:>7} {r['rate']:>8.0f} {r['drain_s']:>8.1f} {pct(lat, 50):>7.1f} {pct(lat, 99):>7.1f} "
              f"{shown:>3}/{len(lat):<3} {r['machine_cores']:>6.2f} {r['server_cores']:>7.2f} "
              f"{1e6 * r['server_cores'] / r['rate']:>13.0f} {r['steady_cores']:>6.2f}  "
              f"{', '.join(f'{m:.0f}' for m in r['rss'])}")
    print("cores: the machine's cores busy while draining (servers, PostgreSQL, Mosquitto); servers: the servers' "
          "own share; CPU ms/1k obs: the servers' CPU per 1000 observations stored; steady: the servers' cores "
          "busy at the district's own rate (the latency phase)")
    rates: dict[int, list[float]] = {}
    for r in results:
        rates.setdefault(r["servers"], []).append(r["rate"])
    if len(rates) >= 2:
        low, high = min(rates), max(rates)
        median = {n: sorted(v)[len(v) // 2] for n, v in rates.items()}
        ratio = median[high] / median[low]
        print(f"scaling {high} vs {low} servers (median of {len(rates[high])} and {len(rates[low])} runs): "
              f"x{ratio:.2f} observations/s (target >= 1.8 on these 2 cores)")
        # With the same CPU per observation, n servers can at best turn the machine's idle cores into work: the
        # ratio cannot pass (all cores) / (cores busy with fewer servers), however well the servers share the load.
        busy = sorted(r["machine_cores"] for r in results if r["servers"] == low)[len(rates[low]) // 2]
        ceiling = min(high / low, (os.cpu_count() or 1) / busy)
        print(f"ceiling on this machine: {os.cpu_count()} cores / {busy:.2f} cores busy with {low} server(s) = "
              f"x{ceiling:.2f}; the servers reached {ratio / ceiling:.0%} of it")


if __name__ == "__main__":
    main()
