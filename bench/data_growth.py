"""Data growth: a simulated month of the reference facility written straight into the database, day by day, with
the daily retention (raw observations rolled up into hourly aggregates after 14 days) and, side by side in the same
run, the same month with retention disabled. At days 1, 7, 14 and the last it prints the database size, the raw
and aggregate row counts, and the median time of the pages the screen and the inspector open first.

    .venv/bin/python bench/data_growth.py [--db sqlite|postgresql] [--days 30]

The clock is injected (nothing sleeps); observations go in as batch inserts, as the pipeline writes them; alerts
and records (patrol rounds, daily inspections) through the server's own services, so the audit chain grows as
it would. Pages are requested through the real app (FastAPI TestClient, logged in as an admin). See
bench/README.md.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, text

from devices.facility import Device, Site
from devices.kinds import DeviceKind, PlugRole, Severity, TemperatureRole
from devices.loader import load_facility
from server.alerts.service import Resolution, acknowledge, apply_raise, resolve
from server.auth.tokens import COOKIE
from server.db import make_engine, make_sessions, upgrade
from server.main import create_app
from server.models import Alert, DeviceState, Observation, ObservationHour
from server.records import inspections, patrols
from server.retention import run as retention
from server.rules.base import Raise
from server.settings import Settings

FACILITY_FILE = Path(__file__).resolve().parent.parent / "config" / "facility.yaml"
POSTGRES = os.environ.get("CAREWATCH_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
FIRST_DAY = date(2026, 11, 1)
ADMIN = ("bench", "bench-password-123")
RUNS = 9  # timed requests per page and checkpoint, after one untimed
HAZARD = [{"item": "kitchen-off", "ok": True}, {"item": "smoking", "ok": True}, {"item": "doors", "ok": True}]


# ---------------------------------------------------------------- the facility's day, device by device

def ticks(rnd: random.Random, start: datetime, end: datetime, low: float, high: float) -> Iterator[datetime]:
    """Times from `start` to `end`, every `low`..`high` seconds (a device's own period, with its drift)."""
    at = start + timedelta(seconds=rnd.uniform(0, high))
    while at < end:
        yield at
        at += timedelta(seconds=rnd.uniform(low, high))


def spells(site: Site, day: date, spans: list[tuple[float, float]]) -> list[tuple[datetime, datetime]]:
    """(start, end) instants of spans given in local hours of `day` (an end past 24 runs into the next day)."""
    midnight = datetime.combine(day, clock_time(0), tzinfo=site.zone)
    return [(midnight + timedelta(hours=a), midnight + timedelta(hours=b)) for a, b in spans]


def inside(at: datetime, spans: list[tuple[datetime, datetime]]) -> bool:
    return any(a <= at < b for a, b in spans)


def bed(rnd: random.Random, site: Site, n: int, day: date, start: datetime, end: datetime) -> Iterator[dict]:
    """A vital-sign bed mat: every 60 s (occupancy, heart and breathing rate while occupied) and on each change."""
    night = [(-3.0, 0.5 + n * 0.1), (0.65 + n * 0.1, 4.1), (4.2, 7.0), (21.0, 27.0)]  # two exits a night
    nap = [(13.0, 14.0)] if n % 2 == 0 else []
    occupied = spells(site, day, night + nap)
    changes = [t for span in occupied for t in span if start <= t < end]
    for at in sorted([*ticks(rnd, start, end, 59, 61), *changes]):
        data: dict[str, Any] = {"occupied": inside(at, occupied)}
        if data["occupied"]:
            data |= {"heart_rate_bpm": round(rnd.gauss(68, 4), 1), "respiration_rpm": round(rnd.gauss(15, 1.5), 1)}
        yield {"at": at, "data": data}


def plug(rnd: random.Random, site: Site, device: Device, day: date, start: datetime, end: datetime) -> Iterator[dict]:
    """A metering plug every 30-60 s: a cooker at meal times, the boiler heating a third of the time."""
    role = device.appliance.role if device.appliance else PlugRole.OTHER
    meals = spells(site, day, [(6.5, 7.5), (10.5, 12.0), (16.5, 17.5)])
    energy = 0.0
    for at in ticks(rnd, start, end, 30, 60):
        heating = at.minute % 20 < 6 if role is PlugRole.BOILER else inside(at, meals)
        watts = max(0.0, rnd.gauss(2800 if role is PlugRole.BOILER else 1500, 120)) if heating else 0.0
        energy += watts / 90
        yield {"at": at, "data": {"on": True, "power_w": round(watts, 1), "voltage_v": round(rnd.gauss(221, 1.5), 1),
                                  "current_a": round(watts / 221, 2), "energy_wh": round(energy, 1)}}


def thermometer(rnd: random.Random, device: Device, start: datetime, end: datetime) -> Iterator[dict]:
    """A thermometer every 60 s (with humidity in a room), its battery with the first reading of each hour."""
    level = {TemperatureRole.FRIDGE: 4.0, TemperatureRole.FREEZER: -18.0, TemperatureRole.HOT_WATER: 55.0,
             TemperatureRole.ROOM: 22.0}.get(device.role or TemperatureRole.OTHER, 5.0)
    for at in ticks(rnd, start, end, 59, 61):
        data: dict[str, Any] = {"temperature_c": round(rnd.gauss(level, 0.6), 1)}
        if device.role is TemperatureRole.ROOM:
            data["humidity_pct"] = round(rnd.uniform(40, 60), 1)
        if at.minute == 0:
            data["battery_pct"] = 87.0
        yield {"at": at, "data": data}


def switching(rnd: random.Random, field_name: str, start: datetime, end: datetime, per_day: int, lasts: float,
              heartbeat: float) -> Iterator[dict]:
    """A contact or presence sensor: on each change (`per_day` times true for ~`lasts` s) and every `heartbeat`."""
    ons = sorted(start + timedelta(seconds=rnd.uniform(0, 86400)) for _ in range(per_day))
    changes = [(t, v) for on in ons for t, v in ((on, True), (on + timedelta(seconds=rnd.uniform(.5, 1.5) * lasts),
                                                              False)) if t < end]
    beats = [(t, None) for t in ticks(rnd, start, end, heartbeat, heartbeat)]
    state = False
    for at, value in sorted(changes + beats, key=lambda c: c[0]):
        state = state if value is None else value
        yield {"at": at, "data": {field_name: state}}


def camera(rnd: random.Random, start: datetime, end: datetime) -> Iterator[dict]:
    """A camera's health every 60 s with its counters (the edge's `stats`)."""
    for n, at in enumerate(ticks(rnd, start, end, 59, 61)):
        yield {"at": at, "data": {"camera_state": "ok", "stats": {
            "fps_in": 15.0, "fps_analysed": 5.0, "skipped": n * 600, "decode_errors": 0, "reconnects": 0,
            "published": n}}}


def day_rows(site: Site, day: date, seed: int) -> list[dict[str, Any]]:
    """Every observation of every device of the site on one local day, as the `observations` rows ingest writes."""
    start = datetime.combine(day, clock_time(0), tzinfo=site.zone).astimezone(UTC)
    end = start + timedelta(days=1)
    beds = [d for d in site.devices if d.kind is DeviceKind.BED_SENSOR]
    rows = []
    for device in site.devices:
        rnd = random.Random(f"{seed}:{device.id}:{day}")
        kind = device.kind
        made = (bed(rnd, site, beds.index(device), day, start, end) if kind is DeviceKind.BED_SENSOR
                else plug(rnd, site, device, day, start, end) if kind is DeviceKind.POWER_PLUG
                else thermometer(rnd, device, start, end) if kind is DeviceKind.TEMPERATURE_SENSOR
                else switching(rnd, "occupied", start, end, 30, 300, 300) if kind is DeviceKind.PRESENCE_SENSOR
                else switching(rnd, "open", start, end, 40, 40, 3600) if kind is DeviceKind.DOOR_CONTACT
                else camera(rnd, start, end) if kind is DeviceKind.CAMERA
                else _hourly(rnd, kind, start, end))
        for seq, reading in enumerate(made):
            rows.append({"id": uuid.UUID(int=rnd.getrandbits(128)).hex, "site": site.id, "device": device.id,
                         "kind": kind.value, "at": reading["at"], "seq": seq, "received_at": reading["at"],
                         "data": reading["data"]})
    return rows


def _hourly(rnd: random.Random, kind: DeviceKind, start: datetime, end: datetime) -> Iterator[dict]:
    """Leak, smoke and SOS devices: a check-in each hour with the battery (they report nothing else today)."""
    name = {DeviceKind.LEAK_SENSOR: "leak", DeviceKind.SMOKE_DETECTOR: "smoke"}.get(kind, "pressed")
    for at in ticks(rnd, start, end, 3600, 3600):
        yield {"at": at, "data": {name: False, "battery_pct": 80.0}}


# ---------------------------------------------------------------- one database, its app and its figures

@dataclass
class World:
    """One database living through the month: with retention or without."""

    name: str
    url: str
    retention: bool
    site: Site
    now: datetime = datetime(2026, 11, 1, tzinfo=UTC)
    client: TestClient | None = None
    sessions: Any = None
    engine: Any = None
    rolled: int = 0
    figures: dict[int, dict[str, float]] = field(default_factory=dict)

    def open(self, stack: ExitStack) -> None:
        """Schema, the device registry, and the app logged in as an admin."""
        upgrade(self.url)
        self.engine = make_engine(self.url)
        stack.callback(self.engine.dispose)
        self.sessions = make_sessions(self.engine)
        with self.sessions.begin() as db:
            db.add_all(DeviceState(site=self.site.id, device=d.id, kind=d.kind.value, room=d.location.room,
                                   online=True, state={}, observations=0, rejected=0) for d in self.site.devices)
        settings = Settings(config=FACILITY_FILE, database_url=self.url, secret_key="bench-data-growth-key",
                            bootstrap_admin=":".join(ADMIN), migrate=False, notify=False)
        app = create_app(settings, clock=lambda: self.now, ingest=False)
        self.client = stack.enter_context(TestClient(app))
        token = self.client.post("/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]})
        self.client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        self.client.cookies.set(COOKIE, token.json()["access_token"])  # the HTML pages read the session cookie

    def live(self, day: date, rows: list[dict[str, Any]]) -> float:
        """Write one day (observations in batches, then its alerts and records), run retention at its end;
        returns the seconds retention took."""
        with self.sessions.begin() as db:
            for start in range(0, len(rows), 5000):
                db.execute(insert(Observation), rows[start:start + 5000])
        self.now = datetime.combine(day + timedelta(days=1), clock_time(0), tzinfo=self.site.zone).astimezone(UTC)
        records(self.sessions, self.site, day, self.now)
        took = 0.0
        if self.retention:
            started = time.perf_counter()
            done = retention(self.sessions, self.now, 1827, 90, 14)
            took = time.perf_counter() - started
            self.rolled += sum(body["deleted"].get("observations_rolled_up", 0) for body in done.values())
        if self.engine.dialect.name == "postgresql":  # a real day gives autovacuum the time this run does not
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE observations"))
        return took

    def get(self, path: str) -> float:
        """One request's time (ms); a redirect (to the login page) would time the wrong page."""
        started = time.perf_counter()
        response = self.client.get(path, follow_redirects=False)
        took = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{self.name}: {path}: HTTP {response.status_code}")
        return took

    def sizes(self) -> dict[str, float]:
        """The database's size (MB), the observations tables' share of it, and their rows."""
        with self.sessions() as db:
            raw = db.scalar(select(func.count()).select_from(Observation)) or 0
            hours = db.scalar(select(func.count()).select_from(ObservationHour)) or 0
            if self.engine.dialect.name == "postgresql":
                total = db.scalar(text("SELECT pg_database_size(current_database())"))
                tables = db.scalar(text("SELECT pg_total_relation_size('observations') "
                                        "+ pg_total_relation_size('observation_hours')"))
            else:
                db.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
                total = Path(self.engine.url.database).stat().st_size
                tables = None
        mb = 1024 * 1024
        return {"raw": raw, "hourly": hours, "db_mb": total / mb, "obs_mb": (tables or 0) / mb}


def records(sessions: Any, site: Site, day: date, end: datetime) -> None:
    """A day's alerts (raised, acknowledged, resolved; the last one left open) and records (patrols, inspection)."""
    start = end - timedelta(days=1)
    beds = [d for d in site.devices if d.kind is DeviceKind.BED_SENSOR]
    with sessions.begin() as db:
        for old in db.scalars(select(Alert).where(Alert.status != "resolved")):  # yesterday's, handed over
            resolve(db, old.id, actor="zhao", at=start + timedelta(minutes=1), resolution=Resolution.REAL_EVENT)
        for n in range(12):
            at = start + timedelta(hours=2 * n, minutes=7)
            sensor = beds[n % len(beds)]
            alert = apply_raise(db, site=site.id, rule="bed_exit_night", at=at, action=Raise(
                subject=sensor.location.bed or sensor.id, severity=Severity.HIGH, room=sensor.location.room))
            acknowledge(db, alert.id, actor="li", at=at + timedelta(minutes=2))
            if n < 11:
                resolve(db, alert.id, actor="li", at=at + timedelta(minutes=9), resolution=Resolution.REAL_EVENT)
        for checkpoint in site.patrols.checkpoints:
            for hour in (9, 15, 21):
                patrols.check_in(db, site.id, checkpoint.id, "wang", start + timedelta(hours=hour - 8))
        inspections.record(db, site, "hazard-daily", HAZARD, by="zhao", at=start + timedelta(hours=2))


# ---------------------------------------------------------------- the run

def pages(site: Site, day: date) -> dict[str, str]:
    """What the screen and the inspector open first, and the two views that read raw observations."""
    return {"screen": "/", "devices": "/api/v1/devices", "alerts": "/api/v1/alerts?status=open",
            "beds": "/api/v1/beds", "records": "/records", "district": "/district",
            "cold log": f"/api/v1/records/cold-storage?day={day.isoformat()}"}


@contextmanager
def databases(kind: str, url: str) -> Iterator[tuple[str, str]]:
    """Two fresh databases: SQLite files in a temporary directory, or `cw_bench_growth_*` PostgreSQL databases
    (dropped before and after, so a killed run leaves nothing a later one trips on)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="cw-growth-") as tmp:
            yield f"sqlite:///{tmp}/retention.db", f"sqlite:///{tmp}/keep-all.db"
        return
    import psycopg

    names = ("cw_bench_growth_retention", "cw_bench_growth_keep_all")
    base = url.rsplit("/", 1)[0]
    with psycopg.connect(url, autocommit=True) as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{base}/{names[0]}", f"{base}/{names[1]}"
        finally:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure(day: int, worlds: list[World], paths: dict[str, str]) -> None:
    """Sizes and row counts, and each page's median time (ms), the worlds' requests taking turns so that a busy
    moment of the machine falls on both."""
    for w in worlds:
        w.figures[day] = w.sizes()
    for name, path in paths.items():
        times: list[list[float]] = [[] for _ in worlds]
        for run in range(RUNS + 1):
            for w, mine in zip(worlds, times, strict=True):
                took = w.get(path)
                if run:
                    mine.append(took)
        for w, mine in zip(worlds, times, strict=True):
            w.figures[day][name] = statistics.median(mine)


def show(day: int, worlds: list[World], columns: list[str]) -> None:
    """One checkpoint: a line per world and the ratio of their page times."""
    print(f"\nday {day}")
    print(f"  {'':10} {'raw rows':>10} {'hourly':>7} {'db MB':>7} {'obs MB':>7}  "
          + " ".join(f"{c:>9}" for c in columns) + "   (page medians, ms)")
    for w in worlds:
        f = w.figures[day]
        obs = f"{f['obs_mb']:7.1f}" if f["obs_mb"] else "      -"
        print(f"  {w.name:10} {f['raw']:>10,} {f['hourly']:>7,} {f['db_mb']:7.1f} {obs}  "
              + " ".join(f"{f[c]:9.1f}" for c in columns))
    kept, rolled = worlds[1].figures[day], worlds[0].figures[day]
    print(f"  {'keep/ret.':10} {kept['raw'] / max(rolled['raw'], 1):>9.2f}x {'':7} "
          f"{kept['db_mb'] / rolled['db_mb']:6.2f}x {'':7}  "
          + " ".join(f"{kept[c] / rolled[c]:8.2f}x" for c in columns))
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--postgres-url", default=POSTGRES, help="an existing database to connect to")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    site = load_facility(FACILITY_FILE).sites[0]
    checkpoints = sorted({d for d in (1, 7, 14, 30) if d <= args.days} | {args.days})
    started = time.perf_counter()
    with databases(args.db, args.postgres_url) as (with_retention, keep_all), ExitStack() as stack:
        worlds = [World("retention", with_retention, True, site), World("keep all", keep_all, False, site)]
        for w in worlds:
            w.open(stack)
        print(f"{args.db}: {len(site.devices)} devices of site {site.id}, {args.days} days from {FIRST_DAY}, raw "
              f"observations kept 14 days then hourly (retention) vs. everything kept raw (keep all)")
        retention_s: list[float] = []
        for n in range(1, args.days + 1):
            day = FIRST_DAY + timedelta(days=n - 1)
            rows = day_rows(site, day, args.seed)
            took = [w.live(day, rows) for w in worlds]
            retention_s.append(took[0])
            if n in checkpoints:
                measure(n, worlds, pages(site, day))
                show(n, worlds, list(pages(site, day)))
        print(f"\n{len(rows):,} observations a day; daily retention run (rollup included): median "
              f"{statistics.median(retention_s):.2f} s, longest {max(retention_s):.2f} s; "
              f"{worlds[0].rolled:,} raw rows rolled up; whole run {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
