"""The cold-storage log compiled from the cabinet sensors, on SQLite and PostgreSQL: fixed-time readings, a
missing one, and an excursion with its alert; and as CSV."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from devices.facility import Facility
from server.auth.users import Role
from server.pipeline import Pipeline
from server.records.cold_log import as_csv, cold_log
from server.records.cold_manual import ReadingError, record
from server.records.verify import verify
from tests.helpers import LiveServer
from tests.server.conftest import Clock, envelope, message
from tests.server.test_api import add_user
from tests.server.test_care_api import as_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 27)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 27, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def feed(pipeline: Pipeline, clock: Clock) -> None:
    """The raw-food cabinet every 10 min from 07:00 to 21:00 at 4.5 °C, warm at 12 °C from 13:30 to 14:20; the
    cooked-food cabinet silent all afternoon (its sensor's battery ran out)."""
    for seq, step in enumerate(range(0, 14 * 6 + 1), start=1):
        t = at(7) + timedelta(minutes=10 * step)
        warm = at(13, 30) <= t <= at(14, 20)
        for minute in range(10, 0, -1):  # the clock runs minute by minute between readings: timers fire on time
            clock.now = t - timedelta(minutes=minute)
            pipeline.tick()
        clock.now = t
        batch = [message(envelope("temp-raw-cabinet", t, seq=seq, temperature_c=12.0 if warm else 4.5))]
        if t < at(12):
            batch.append(message(envelope("temp-cooked-cabinet", t, seq=seq, temperature_c=3.0)))
        pipeline.process(batch)


def test_the_days_log_has_fixed_readings_a_gap_and_the_excursion_with_its_alert(
        reference_facility: Facility, sessions: Any, pipeline: Pipeline, clock: Clock) -> None:
    feed(pipeline, clock)
    site = reference_facility.sites[0]
    with sessions() as db:
        logs = {log.device: log for log in cold_log(db, site, DAY)}
    # Not the medicine fridge; the sample fridge has no sensor: its entries are written by hand.
    assert set(logs) == {"temp-raw-cabinet", "temp-cooked-cabinet", "temp-freezer", "sample-fridge"}
    assert logs["sample-fridge"].source == "by hand" and all(r.at is None for r in logs["sample-fridge"].readings)
    raw = logs["temp-raw-cabinet"]
    assert (raw.min, raw.max) == (0, 8)
    assert [(r.due, r.at, r.temperature_c, r.in_range) for r in raw.readings] == [
        (at(8), at(8), 4.5, True), (at(14), at(14), 12.0, False), (at(20), at(20), 4.5, True)]
    [excursion] = raw.excursions
    assert excursion["raised_at"] == at(13, 30) + timedelta(minutes=15)  # out of range for its 15 min
    assert excursion["cleared_at"] is not None and excursion["peak"] == 12.0
    cooked = logs["temp-cooked-cabinet"]
    assert [r.temperature_c for r in cooked.readings] == [3.0, None, None] and cooked.excursions == []
    assert all(r.at is None for r in logs["temp-freezer"].readings)  # no sensor data: an empty line, not a guess

    rows = list(csv.DictReader(io.StringIO(as_csv(site, DAY, list(logs.values())))))
    warm = [r for r in rows if r["cabinet"] == "temp-raw-cabinet"]
    assert [(r["entry"], r["time"], r["temperature_c"], r["in_range"]) for r in warm] == [
        ("reading 08:00", "2026-11-27 08:00:00", "4.5", "True"),
        ("reading 14:00", "2026-11-27 14:00:00", "12.0", "False"),
        ("reading 20:00", "2026-11-27 20:00:00", "4.5", "True"),
        ("excursion", "2026-11-27 13:45:00", "12.0", "False")]



def test_the_api_gives_the_log_as_json_and_as_a_csv_file(server: LiveServer) -> None:
    inspector = add_user(server, "inspector", Role.INSPECTOR)
    with as_user(server, inspector) as client:
        day = client.get("/api/v1/records/cold-storage", params={"day": "2026-11-27"})
        sheet = client.get("/api/v1/records/cold-storage", params={"day": "2026-11-27", "format": "csv"})
        assert client.get("/api/v1/records/cold-storage", params={"day": "27.11.2026"}).status_code == 422
        assert client.get("/api/v1/records/cold-storage", params={"site": "nowhere"}).status_code == 404
    assert day.status_code == 200 and day.json()["day"] == "2026-11-27"
    assert {c["device"] for c in day.json()["cabinets"]} == {"temp-raw-cabinet", "temp-cooked-cabinet", "temp-freezer",
                                                             "sample-fridge"}
    assert sheet.headers["content-type"].startswith("text/csv")
    assert 'filename="cold-storage-' in sheet.headers["content-disposition"]
    assert sheet.text.splitlines()[0].startswith("site,day,cabinet,role,min_c,max_c,entry,time,temperature_c")


def test_a_cabinet_without_a_sensor_is_logged_by_hand_alerts_out_of_range_and_is_chained(
        reference_facility: Facility, sessions: Any) -> None:
    site = reference_facility.sites[0]
    with sessions.begin() as db:
        record(db, site, "sample-fridge", 4, by="li", at=at(8, 10))
        _, raised = record(db, site, "sample-fridge", 9.5, by="li", at=at(14, 25))
        assert raised is not None and (raised.rule, raised.subject, raised.severity) == ("cold_storage",
                                                                                         "sample-fridge", "high")
        _, cleared = record(db, site, "sample-fridge", 5.0, by="wang", at=at(15))
        assert cleared is not None and cleared.cleared
        with pytest.raises(ReadingError, match="sensor cabinets log themselves"):
            record(db, site, "temp-freezer", -20, by="li", at=at(15))
    with sessions() as db:
        [log] = [g for g in cold_log(db, site, DAY) if g.device == "sample-fridge"]
        assert [(r.temperature_c, r.in_range, r.by) for r in log.readings] == [
            (4.0, True, "li"), (9.5, False, "li"), (None, None, None)]  # 15:00 is not within 30 min of 14:00
        assert [e["peak"] for e in log.excursions] == [9.5]
        assert verify(db, site.id)[0].intact
    with sessions.begin() as db:
        db.execute(text("UPDATE cold_readings SET temperature_c = 7.5 WHERE temperature_c = 9.5"))
    with sessions() as db:
        [check] = verify(db, site.id)
    assert not check.intact and "cold_readings row" in check.breaks[0].reason


def test_hand_readings_through_the_api_refuse_an_unknown_cabinet_and_inspectors(server: LiveServer) -> None:
    staff = add_user(server, "cook", Role.STAFF)
    with as_user(server, staff) as client:
        made = client.post("/api/v1/records/cold-readings", json={"cabinet": "sample-fridge", "temperature_c": 11})
        assert made.status_code == 201 and made.json()["alert"] is not None and not made.json()["in_range"]
        assert client.post("/api/v1/records/cold-readings", json={"cabinet": "nope",
                                                                  "temperature_c": 4}).status_code == 422
        assert client.post("/api/v1/records/cold-readings", json={"cabinet": "sample-fridge",
                                                                  "temperature_c": 400}).status_code == 422
    inspector = add_user(server, "inspector", Role.INSPECTOR)
    with as_user(server, inspector) as client:
        assert client.post("/api/v1/records/cold-readings", json={"cabinet": "sample-fridge",
                                                                  "temperature_c": 4}).status_code == 403
