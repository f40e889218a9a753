"""Raw observations past `retention_observations_days` become hourly aggregates, on real databases and an injected
clock: the aggregates say what the raw rows said, only whole hours before the cutoff go, a second run (or one after
a crash) changes nothing, aggregates go with the records' retention, and the audit chain still verifies."""

import statistics
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import func, insert, inspect, select, text

from devices.facility import Facility
from server import rollup
from server.db import MIGRATIONS, make_engine, normalize_url, upgrade
from server.models import ChainEntry, Observation, ObservationHour
from server.records import patrols
from server.records.verify import verify
from server.retention import run

NOW = datetime(2026, 11, 29, 4, 30, tzinfo=UTC)
CUTOFF = datetime(2026, 11, 15, 4, 0, tzinfo=UTC)  # NOW - 14 days, down to its hour: that hour stays raw
START = NOW - timedelta(days=20)
FIVE_YEARS, LETTERS, RAW = 1827, 90, 14


def readings(at: datetime, n: int) -> list[tuple[str, str, dict[str, Any]]]:
    """What the devices said around `at`: a fridge, a cooker's plug, a bed mat and a camera (nested stats)."""
    return [
        ("temp-fridge", "temperature_sensor", {"temperature_c": round(3.0 + (n % 7) * 0.4, 1), "battery_pct": 90}),
        ("plug-cooker", "power_plug", {"power_w": float((n * 37) % 1900), "on": n % 3 != 0}),
        ("bed-b101-1", "bed_sensor", {"occupied": n % 5 < 3, "heart_rate_bpm": 60.0 + n % 11}),
        ("cam-01", "camera", {"camera_state": "ok" if n % 9 else "frozen",
                              "stats": {"fps_in": 10.0 + n % 3, "fps_analysed": 5.0, "skipped": n, "decode_errors": 0,
                                        "reconnects": 0, "published": n}}),
    ]


def seed(sessions: Any, start: datetime = START, end: datetime = NOW, step: timedelta = timedelta(minutes=7),
         ) -> list[dict[str, Any]]:
    """Raw observations every `step` from `start` to `end`, written as ingest writes them; the rows."""
    rows, at, n = [], start, 0
    while at < end:
        for device, kind, data in readings(at, n):
            rows.append({"id": uuid.uuid4().hex, "site": "hq", "device": device, "kind": kind, "at": at, "seq": n,
                         "received_at": at, "data": data})
        at, n = at + step, n + 1
    with sessions.begin() as db:
        db.execute(insert(Observation), rows)
    return rows


def by_hand(rows: list[dict[str, Any]]) -> dict[tuple[str, datetime], dict[str, Any]]:
    """The aggregates worked out from the raw rows directly: count, and per number n/min/max/mean."""
    groups: dict[tuple[str, datetime], list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r["at"], r["seq"])):
        if row["at"] < CUTOFF:
            groups[(row["device"], row["at"].replace(minute=0, second=0, microsecond=0))].append(row)
    out = {}
    for key, group in groups.items():
        numbers: dict[str, list[float]] = defaultdict(list)
        flags: dict[str, list[bool]] = defaultdict(list)
        for row in group:
            data = {**{k: v for k, v in row["data"].items() if k != "stats"},
                    **{f"stats.{k}": v for k, v in row["data"].get("stats", {}).items()}}
            for name, value in data.items():
                if isinstance(value, bool):
                    flags[name].append(value)
                elif isinstance(value, int | float):
                    numbers[name].append(value)
        out[key] = {"count": len(group), "numbers": {k: (len(v), min(v), max(v), statistics.fmean(v))
                                                     for k, v in numbers.items()},
                    "flags": {k: (len(v), sum(v), v[-1]) for k, v in flags.items()}}
    return out


def aggregates(sessions: Any) -> dict[tuple[str, datetime], ObservationHour]:
    with sessions() as db:
        return {(r.device, r.hour): r for r in db.scalars(select(ObservationHour))}


def raw_times(sessions: Any) -> list[datetime]:
    with sessions() as db:
        return list(db.scalars(select(Observation.at).order_by(Observation.at)))


def snapshot(sessions: Any) -> dict[tuple[str, datetime], tuple[int, dict[str, Any]]]:
    return {key: (row.count, row.fields) for key, row in aggregates(sessions).items()}


def test_the_aggregates_say_what_the_raw_rows_said(sessions: Any) -> None:
    rows = seed(sessions)
    expected = by_hand(rows)
    done = run(sessions, NOW, FIVE_YEARS, LETTERS, RAW)
    assert done["hq"]["deleted"]["observations_rolled_up"] == sum(1 for r in rows if r["at"] < CUTOFF)
    found = aggregates(sessions)
    assert found.keys() == expected.keys() and len(found) == 4 * 24 * 6  # 6 days of 4 devices before the cutoff
    for key, want in expected.items():
        row = found[key]
        assert row.count == want["count"]
        for name, (n, low, high, mean) in want["numbers"].items():
            stats = row.fields[name]
            assert (stats["n"], stats["min"], stats["max"]) == (n, low, high), (key, name)
            assert stats["mean"] == pytest.approx(mean), (key, name)
        for name, (n, true, last) in want["flags"].items():
            assert (row.fields[name]["n"], row.fields[name]["true"], row.fields[name]["last"]) == (n, true, last)
    cam = next(r for (device, _), r in found.items() if device == "cam-01")
    assert sum(cam.fields["camera_state"]["counts"].values()) == cam.count


def test_old_rows_go_newer_ones_stay_and_the_cutoffs_hour_stays_whole(sessions: Any) -> None:
    rows = seed(sessions)
    run(sessions, NOW, FIVE_YEARS, LETTERS, RAW)
    left = raw_times(sessions)
    assert left == sorted(r["at"] for r in rows if r["at"] >= CUTOFF)
    # The hour the cutoff (NOW - 14 days = 04:30) falls in began before it: none of it is rolled up yet, not
    # even its readings from before 04:30.
    assert any(CUTOFF <= at < NOW - timedelta(days=RAW) for at in left)
    assert all(hour < CUTOFF for _, hour in aggregates(sessions))
    run(sessions, NOW + timedelta(hours=1), FIVE_YEARS, LETTERS, RAW)  # an hour later it goes, whole
    assert min(raw_times(sessions)) >= CUTOFF + timedelta(hours=1)
    assert max(hour for _, hour in aggregates(sessions)) == CUTOFF


def test_a_second_run_or_one_after_a_crash_gives_the_same_aggregates(sessions: Any) -> None:
    seed(sessions)
    with pytest.raises(RuntimeError), sessions.begin() as db:  # killed after rolling up an hour, before commit
        rollup.roll_hour(db, "hq", START.replace(minute=0))
        raise RuntimeError("killed")
    run(sessions, NOW, FIVE_YEARS, LETTERS, RAW)
    first, raw = snapshot(sessions), raw_times(sessions)
    again = run(sessions, NOW, FIVE_YEARS, LETTERS, RAW)
    assert again["hq"]["deleted"]["observations_rolled_up"] == 0
    assert snapshot(sessions) == first and raw_times(sessions) == raw


def test_a_late_reading_for_a_rolled_up_hour_is_merged_into_it(sessions: Any) -> None:
    rows = seed(sessions)
    run(sessions, NOW, FIVE_YEARS, LETTERS, RAW)
    hour = START.replace(minute=0) + timedelta(days=1)
    late = {"id": uuid.uuid4().hex, "site": "hq", "device": "temp-fridge", "kind": "temperature_sensor",
            "at": hour + timedelta(minutes=59), "seq": 99999, "received_at": NOW, "data": {"temperature_c": 9.5}}
    with sessions.begin() as db:  # an edge's outbox replaying a week-old backlog, say
        db.execute(insert(Observation), [late])
    run(sessions, NOW, FIVE_YEARS, LETTERS, RAW)
    want = by_hand([*rows, late])[("temp-fridge", hour)]
    row = aggregates(sessions)[("temp-fridge", hour)]
    n, low, high, mean = want["numbers"]["temperature_c"]
    assert row.count == want["count"] and row.fields["temperature_c"]["max"] == high == 9.5
    assert row.fields["temperature_c"]["mean"] == pytest.approx(mean)
    assert row.fields["temperature_c"]["last"] == 9.5 and row.last_at == late["at"]


def test_aggregates_go_with_the_records_and_the_chain_still_verifies(reference_facility: Facility,
                                                                     sessions: Any) -> None:
    site = reference_facility.sites[0]
    seed(sessions, step=timedelta(minutes=20))
    with sessions.begin() as db:  # chained records written in the same period
        for day in range(3):
            patrols.check_in(db, site.id, site.patrols.checkpoints[0].id, "wang", START + timedelta(days=day))
    run(sessions, NOW, FIVE_YEARS, LETTERS, RAW)
    later = START + timedelta(days=FIVE_YEARS, hours=30)  # the first day and six hours are past the records' time
    done = run(sessions, later, FIVE_YEARS, LETTERS, RAW)["hq"]
    kept = aggregates(sessions)
    assert min(hour for _, hour in kept) == (START + timedelta(hours=30)).replace(minute=0)
    assert done["deleted"]["observation_hours"] == 4 * 30 and done["deleted"]["patrol_checkin"] == 2
    assert raw_times(sessions) == []  # everything left is older than 14 days now: rolled up
    with sessions() as db:
        [check] = verify(db, site.id)
        kinds = list(db.scalars(select(ChainEntry.kind).order_by(ChainEntry.seq)))
    assert check.intact, check.breaks
    assert kinds[-2:] == ["retention", "retention"]


def test_readers_find_old_readings_in_the_aggregates(sessions: Any) -> None:
    seed(sessions, start=START, end=START + timedelta(days=1), step=timedelta(minutes=7))
    run(sessions, NOW, FIVE_YEARS, LETTERS, RAW)
    due = START.replace(minute=0) + timedelta(hours=5)  # a fixed time on the hour, long rolled up
    with sessions() as db:
        near = rollup.readings_near(db, "hq", "temp-fridge", "temperature_c", due, timedelta(minutes=30))
        before = db.scalar(select(ObservationHour).where(ObservationHour.device == "temp-fridge",
                                                         ObservationHour.hour == due - timedelta(hours=1)))
        after = db.get(ObservationHour, ("hq", "temp-fridge", due))
        assert before is not None and after is not None
        assert (before.last_at, before.fields["temperature_c"]["last"]) in near
        assert (after.first_at, after.fields["temperature_c"]["first"]) in near
        # The bed mat reported both states in its last hour: it became occupied by that hour's end.
        last_hour = (START + timedelta(days=1)).replace(minute=0)
        assert rollup.turned_since(db, "hq", ["bed-b101-1"], "occupied", True, NOW) == last_hour + timedelta(hours=1)
        assert rollup.turned_since(db, "hq", ["bed-b101-2"], "occupied", True, NOW) is None


def alembic(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def test_the_migration_upgrades_and_downgrades_a_database_with_observations(db_url: str) -> None:
    upgrade(db_url, "0014")
    engine = make_engine(db_url)
    try:
        with engine.begin() as db:
            db.execute(text("INSERT INTO observations (id, site, device, kind, at, seq, received_at, data) "
                            "VALUES ('o1', 'hq', 'temp-fridge', 'temperature_sensor', :at, 1, :at, "
                            "'{\"temperature_c\": 4.0}')"), {"at": START})
        upgrade(db_url)
        names = inspect(engine)
        assert "observation_hours" in names.get_table_names()
        assert "ix_observations_site_at" in {i["name"] for i in names.get_indexes("observations")}
        with engine.begin() as db:
            assert db.scalar(select(func.count()).select_from(Observation)) == 1
        command.downgrade(alembic(db_url), "0014")
        names = inspect(engine)
        assert "observation_hours" not in names.get_table_names()
        assert "ix_observations_site_at" not in {i["name"] for i in names.get_indexes("observations")}
        upgrade(db_url)  # and back up again
        assert "observation_hours" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
