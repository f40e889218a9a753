"""Epidemic mode on an injected clock: off, nothing is due; switched on (a chained record), residents' health checks
fall due at each check time and are missed at exactly time + grace; a fever reading alerts at once; disinfection
rounds are done, late or missed; every record is chained and a change in SQL is found. On SQLite and PostgreSQL,
and through the API on a live server."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select, text

from devices.facility import Facility
from devices.loader import FacilityError, parse_facility
from devices.messages import utcnow
from server.auth.users import Role, create_user
from server.models import Alert, ChainEntry, HealthCheck
from server.records import watch
from server.records.epidemic import (
    DISINFECTION_MISSED,
    FEVER,
    HEALTH_CHECK_MISSED,
    EpidemicError,
    ModeError,
    check,
    day_status,
    mode,
    record_check,
    record_disinfection,
    switch,
)
from server.records.verify import verify
from tests.conftest import FACILITY_FILE, Broker
from tests.helpers import LiveServer, live_server, server_settings
from tests.server.conftest import Clock

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 27)
BEDS = ["b101-1", "b101-2", "b102-1", "b102-2", "b103-1", "b103-2", "b104-1"]  # every bed with a resident
TEXT = FACILITY_FILE.read_text(encoding="utf-8")


def at(hour: int, minute: int = 0, second: int = 0, day: int = 27) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


def switched_on(sessions: Any, facility: Facility, when: datetime) -> None:
    with sessions.begin() as db:
        switch(db, facility.sites[0], on=True, reason="influenza in the district", by="chen", at=when)


def states(sessions: Any, facility: Facility, now: datetime) -> tuple[list[str], list[str]]:
    with sessions() as db:
        slots, rounds = day_status(db, facility.sites[0], DAY, now)
    return [s.state for s in slots], [r.state for r in rounds]


def test_with_the_mode_off_nothing_is_due_and_nothing_is_recorded(reference_facility: Facility,
                                                                  sessions: Any) -> None:
    site = reference_facility.sites[0]
    with sessions.begin() as db:
        assert not mode(db, site).on  # the file's `enabled: false`
        for hour in (10, 12, 18, 23):
            assert check(db, reference_facility, at(hour)) == []
        with pytest.raises(ModeError, match="epidemic mode is off at site hq"):
            record_check(db, site, bed="b101-1", temperature_c=38.5, symptoms=None, by="li", at=at(9))
        with pytest.raises(ModeError, match="off"):
            record_disinfection(db, site, round_id="dayroom-am", agent=None, note=None, by="wang", at=at(10))
    assert states(sessions, reference_facility, at(23)) == (["off", "off"], ["off", "off"])
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Alert)) == 0
        assert db.scalar(select(func.count()).select_from(HealthCheck)) == 0


def test_switched_on_checks_fall_due_and_are_missed_at_exactly_time_plus_grace(reference_facility: Facility,
                                                                               sessions: Any) -> None:
    site = reference_facility.sites[0]
    switched_on(sessions, reference_facility, at(7))
    assert states(sessions, reference_facility, at(7, 59))[0] == ["upcoming", "upcoming"]
    assert states(sessions, reference_facility, at(8))[0] == ["due", "upcoming"]
    with sessions.begin() as db:
        for bed in BEDS[:-1]:  # everyone but the resident of b104-1
            record_check(db, site, bed=bed, temperature_c=36.6, symptoms=None, by="li", at=at(8, 20))
    with sessions.begin() as db:
        assert [a.rule for a in check(db, reference_facility, at(9, 59, 59))] == []  # a second before: nothing
        [missed] = check(db, reference_facility, at(10))
        assert (missed.rule, missed.subject, missed.severity) == (
            HEALTH_CHECK_MISSED, "health-check:08:00:2026-11-27", "medium")
        assert (missed.details["missing"], missed.details["count"], missed.details["residents"]) == (["b104-1"], 1, 7)
    with sessions.begin() as db:
        assert check(db, reference_facility, at(10, 5)) == []  # once per check time and day
        # Late for 08:00, so it counts for 16:00 (each check counts for one check time), like the checks below.
        for bed in BEDS:
            record_check(db, site, bed=bed, temperature_c=36.8, symptoms=None, by="li", at=at(16, 5))
    with sessions.begin() as db:
        assert [a.subject for a in check(db, reference_facility, at(18)) if a.rule == HEALTH_CHECK_MISSED] == []
    assert states(sessions, reference_facility, at(18))[0] == ["missed", "done"]


def test_a_check_time_before_the_mode_was_switched_on_is_not_due(reference_facility: Facility,
                                                                 sessions: Any) -> None:
    switched_on(sessions, reference_facility, at(9))  # after 08:00: nobody could have known
    with sessions.begin() as db:
        assert [a.subject for a in check(db, reference_facility, at(10))] == []
        [missed] = [a for a in check(db, reference_facility, at(18)) if a.rule == HEALTH_CHECK_MISSED]
    assert missed.subject == "health-check:16:00:2026-11-27" and missed.details["missing"] == BEDS
    assert states(sessions, reference_facility, at(18))[0] == ["off", "missed"]


def test_a_fever_alerts_at_once_from_37_3_and_a_normal_reading_clears_it(reference_facility: Facility,
                                                                        sessions: Any) -> None:
    site = reference_facility.sites[0]
    switched_on(sessions, reference_facility, at(7))
    with sessions.begin() as db:
        _, none = record_check(db, site, bed="b101-1", temperature_c=37.2, symptoms=None, by="li", at=at(8, 5))
        assert none == []
        row, [fever] = record_check(db, site, bed="b101-2", temperature_c=37.3, symptoms="cough", by="li",
                                    at=at(8, 6))
        assert row.fever and (fever.rule, fever.subject, fever.severity, fever.room) == (FEVER, "b101-2", "high",
                                                                                         "r101")
        assert (fever.details["temperature_c"], fever.details["resident"]) == (37.3, "cp-02")
        _, [cleared] = record_check(db, site, bed="b101-2", temperature_c=36.9, symptoms=None, by="zhao",
                                    at=at(12))
        assert cleared.id == fever.id and cleared.cleared  # someone must still resolve it
    with sessions() as db:
        assert [(a.rule, a.subject) for a in db.scalars(select(Alert))] == [(FEVER, "b101-2")]


@pytest.mark.parametrize(("bed", "celsius", "message"), [
    ("b101-1", 33.9, "a body temperature of 33.9 °C is outside 34–43 °C"),
    ("b101-1", 43.1, "43.1 °C is outside 34–43 °C"),
    ("b999", 36.5, "no bed 'b999' at site hq"),
])
def test_an_impossible_reading_is_refused_and_stores_nothing(reference_facility: Facility, sessions: Any, bed: str,
                                                              celsius: float, message: str) -> None:
    switched_on(sessions, reference_facility, at(7))
    with sessions.begin() as db, pytest.raises(EpidemicError, match=message):
        record_check(db, reference_facility.sites[0], bed=bed, temperature_c=celsius, symptoms=None, by="li",
                     at=at(8))
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(HealthCheck)) == 0
        assert db.scalar(select(func.count()).select_from(ChainEntry)) == 1  # the switch alone


def test_a_recorded_disinfection_prevents_the_missed_alert_and_a_missing_one_alerts_at_its_time(
        reference_facility: Facility, sessions: Any) -> None:
    site = reference_facility.sites[0]
    switched_on(sessions, reference_facility, at(7))
    for bed in BEDS:  # health checks out of the way
        with sessions.begin() as db:
            record_check(db, site, bed=bed, temperature_c=36.5, symptoms=None, by="li", at=at(7, 30))
    with sessions.begin() as db:
        done = record_disinfection(db, site, round_id="handles-pm", agent="chlorine 500 mg/L", note=None, by="li",
                                   at=at(15, 10))  # 20 min early: still today's round
        assert done.day == "2026-11-27"
        assert check(db, reference_facility, at(11, 59, 59)) == []
        [missed] = check(db, reference_facility, at(12))  # dayroom-am at 10:00, grace 2 h
        assert (missed.rule, missed.subject, missed.room, missed.details["person"]) == (
            DISINFECTION_MISSED, "disinfection:dayroom-am:2026-11-27", "dayroom", "s-wang")
        assert check(db, reference_facility, at(12, 5)) == []
        with pytest.raises(EpidemicError, match="no disinfection round 'kitchen'; rounds: dayroom-am, handles-pm"):
            record_disinfection(db, site, round_id="kitchen", agent=None, note=None, by="li", at=at(12, 6))
        record_disinfection(db, site, round_id="dayroom-am", agent=None, note="done late", by="wang", at=at(12, 30))
    with sessions.begin() as db:
        assert [a.rule for a in check(db, reference_facility, at(17, 30))] == []  # handles-pm was done
    assert states(sessions, reference_facility, at(17, 30))[1] == ["late", "done"]


def test_switching_is_chained_and_a_change_in_sql_to_any_epidemic_record_is_found(reference_facility: Facility,
                                                                                  sessions: Any) -> None:
    site = reference_facility.sites[0]
    switched_on(sessions, reference_facility, at(7))
    with sessions.begin() as db:
        with pytest.raises(ModeError, match="already on"):
            switch(db, site, on=True, reason="again", by="chen", at=at(7, 1))
        record_check(db, site, bed="b103-1", temperature_c=38.1, symptoms="chills", by="li", at=at(8))
        record_disinfection(db, site, round_id="dayroom-am", agent="75% alcohol", note=None, by="wang", at=at(10))
        switch(db, site, on=False, reason="district all-clear", by="chen", at=at(20))
        assert not mode(db, site).on and mode(db, site).switch.reason == "district all-clear"  # type: ignore[union-attr]
    with sessions() as db:
        kinds = [k for k in db.scalars(select(ChainEntry.kind).order_by(ChainEntry.seq))]
        [chain] = verify(db, "hq")
    assert kinds == ["epidemic_mode", "health_check", "alert_event", "disinfection", "epidemic_mode"]
    assert chain.intact and chain.links == 5
    with sessions.begin() as db:
        db.execute(text("UPDATE health_checks SET temperature_c = 36.8"))  # the fever made to disappear
        db.execute(text("UPDATE epidemic_switches SET reason = 'routine' WHERE enabled = false"))
        db.execute(text("UPDATE disinfections SET by = 'li'"))
    with sessions() as db:
        [chain] = verify(db, "hq")
    assert not chain.intact
    assert [(b.seq, b.reason) for b in chain.breaks] == [
        (2, "health_checks row 1 was changed after it was recorded"),
        (4, "disinfections row 1 was changed after it was recorded"),
        (5, "epidemic_switches row 2 was changed after it was recorded"),
    ]


def test_the_file_switches_the_mode_on_until_a_manager_switches_it_off(sessions: Any) -> None:
    facility = parse_facility(TEXT.replace("      enabled: false\n", "      enabled: true\n", 1))
    site = facility.sites[0]
    with sessions.begin() as db:
        now = mode(db, site)
        assert (now.on, now.as_dict()["source"]) == (True, "facility file")
        assert [a.subject for a in check(db, facility, at(10))] == ["health-check:08:00:2026-11-27"]
        switch(db, site, on=False, reason="over", by="chen", at=at(10, 30))
        assert check(db, facility, at(12)) == []  # dayroom-am is missed, but the mode is off now


def test_the_epidemic_check_runs_every_five_minutes() -> None:
    assert ("epidemic", check, timedelta(minutes=5)) in watch.CHECKS


def file_problems(old: str, new: str) -> str:
    assert old in TEXT, old
    with pytest.raises(FacilityError) as error:
        parse_facility(TEXT.replace(old, new, 1), source="site.yaml")
    return str(error.value)


@pytest.mark.parametrize(("old", "new", "message"), [
    ('health_checks: ["08:00", "16:00"]', 'health_checks: ["08:00"]',
     "health_checks needs at least 2 times a day (residents are checked at least twice daily), not 1"),
    ('health_checks: ["08:00", "16:00"]', 'health_checks: ["08:00", "08:00"]', "the same time twice"),
    ("      grace: 2h\n", "      grace: 9h\n",
     "grace (9:00:00) must be shorter than the shortest gap between health check times (8:00:00)"),
    ("place: dayroom, person: s-wang", "place: dayroom, person: s-nobody",
     "epidemic.disinfection[0].person: no staff 's-nobody' in this site"),
    ("place: dayroom, person: s-wang", "place: dayrom, person: s-wang",
     "epidemic.disinfection[0].place: no room 'dayrom' in this site"),
    ("fever_c: 37.3", "fever_c: 35", "greater than or equal to 36.5"),
])
def test_a_bad_epidemic_block_is_refused_with_why(old: str, new: str, message: str) -> None:
    assert message in file_problems(old, new)


@pytest.fixture
def served(db_url: str) -> Iterator[Any]:
    """The web app alone (no MQTT) on a clock of the test's, at 07:00 at the site."""
    clock = Clock(at(7))
    settings = server_settings(FACILITY_FILE, db_url, Broker("127.0.0.1", 9, "mosquitto"), notify=False)
    with live_server(settings, ingest=False, clock=clock) as live:
        live.clock = clock  # type: ignore[attr-defined]
        yield live


def token(live: LiveServer, username: str, role: Role, sites: list[str] | None = None) -> str:
    with live.ctx.sessions.begin() as db:
        create_user(db, username=username, password="password-123", role=role, at=utcnow(), sites=sites)
    response = httpx.post(f"{live.url}/api/v1/auth/token", data={"username": username, "password": "password-123"})
    return str(response.json()["access_token"])


def client(live: LiveServer, bearer: str) -> httpx.Client:
    return httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {bearer}"}, timeout=10)


def test_the_api_switches_records_and_reports_and_an_inspector_only_reads(served: Any) -> None:
    base = "/api/v1/records/epidemic/hq"
    nurse, inspector = token(served, "nurse", Role.STAFF), token(served, "inspector", Role.INSPECTOR)
    elsewhere = token(served, "nurse-b", Role.STAFF, sites=["other-home"])
    with client(served, nurse) as staff:
        assert staff.post(base, json={"on": True, "reason": "flu"}).status_code == 403  # managers only
        off = staff.post(f"{base}/health-checks", json={"bed": "b101-1", "temperature_c": 36.5})
        assert off.status_code == 409 and "off" in off.json()["detail"]
    with served.client() as manager:  # the bootstrap admin
        assert manager.post(base, json={"on": "yes", "reason": "flu"}).status_code == 422
        assert manager.post(base, json={"on": True, "reason": "  "}).status_code == 422
        made = manager.post(base, json={"on": True, "reason": "influenza in the district"})
        assert made.status_code == 201 and made.json()["on"] and made.json()["by"] == "admin"
        assert manager.post(base, json={"on": True, "reason": "again"}).status_code == 409
    served.clock.now = at(8, 10)
    with client(served, nurse) as staff:
        fever = staff.post(f"{base}/health-checks", json={"bed": "b102-1", "temperature_c": 38.2,
                                                          "symptoms": "cough"})
        assert fever.status_code == 201 and fever.json()["fever"] and len(fever.json()["alerts"]) == 1
        for body, message in (({"bed": "b102-1", "temperature_c": 50}, "outside 34–43 °C"),
                              ({"bed": "nowhere", "temperature_c": 36.5}, "no bed 'nowhere'"),
                              ({"bed": "b102-1"}, "temperature_c")):
            refused = staff.post(f"{base}/health-checks", json=body)
            assert refused.status_code == 422 and message in refused.text
        assert staff.post(f"{base}/disinfections", json={"round": "nope"}).status_code == 422
        assert staff.post(f"{base}/disinfections", json={"round": "dayroom-am", "agent": "chlorine"}
                          ).status_code == 201
    with client(served, inspector) as reader:
        refused = reader.post(f"{base}/health-checks", json={"bed": "b101-1", "temperature_c": 36.5})
        assert refused.status_code == 403
        assert reader.post(f"{base}/disinfections", json={"round": "handles-pm"}).status_code == 403
        checks = reader.get(f"{base}/health-checks", params={"day": "2026-11-27", "lang": "en"}).json()["checks"]
        assert [(c["bed"], c["temperature_c"], c["bed_name"], c["by"]) for c in checks] == [
            ("b102-1", 38.2, "Bed 102-1", "nurse")]
        assert [d["round"] for d in reader.get(f"{base}/disinfections").json()["disinfections"]] == ["dayroom-am"]
        day = reader.get(f"{base}/day", params={"lang": "en"}).json()
        assert day["on"] and [s["state"] for s in day["health_checks"]] == ["due", "upcoming"]
        assert day["health_checks"][0]["fever"] == ["b102-1"] and "b102-1" not in day["health_checks"][0]["missing"]
        assert [(r["round"], r["state"], r["place"]) for r in day["disinfection"]] == [
            ("dayroom-am", "done", "Day room"),
            ("handles-pm", "upcoming", "Corridor handrails, every room's door handles")]
        assert reader.get(base).json()["switches"][0]["reason"] == "influenza in the district"
        assert reader.get("/api/v1/records/epidemic/nowhere").status_code == 404
    with client(served, elsewhere) as stranger:
        assert stranger.get(f"{base}/day").status_code == 403
        refused = stranger.post(f"{base}/health-checks", json={"bed": "b101-1", "temperature_c": 36.5})
        assert refused.status_code == 403
        assert stranger.get("/api/v1/records/epidemic").json() == []
    with served.ctx.sessions() as db:
        assert db.scalar(select(func.count()).select_from(HealthCheck)) == 1  # the refused ones stored nothing
        [chain] = verify(db, "hq")
    assert chain.intact
