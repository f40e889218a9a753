"""Patrols: rounds done, pending or missed on an injected clock (a night round across midnight included); the
missed-round alert once per round and day; check-in through a checkpoint's QR link on a running server, chained
like every record."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text

from devices.facility import Facility
from server.auth.users import Role
from server.records.patrols import PATROL_MISSED, check, check_in, link, rounds_on
from server.records.verify import verify
from tests.helpers import LiveServer
from tests.server.test_api import add_user
from tests.server.test_care_api import as_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 27)
NIGHT_1 = ["cp-corridor", "cp-entrance", "cp-kitchen"]  # night-1: 22:00 to 00:30


def at(hour: int, minute: int = 0, day: int = 27) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def state(facility: Facility, visits: list[tuple[str, datetime, str]], now: datetime, round_id: str) -> str:
    [found] = [r for r in rounds_on(facility.sites[0], visits, DAY, now) if r.round.id == round_id]
    return found.state


def test_a_night_round_across_midnight_is_pending_then_done_or_missed(reference_facility: Facility) -> None:
    visits = [("cp-corridor", at(23, 40), "li"), ("cp-entrance", at(23, 50), "li")]
    assert state(reference_facility, visits, at(23, 55), "night-1") == "pending"
    done = [*visits, ("cp-kitchen", at(0, 10, day=28), "li")]  # after midnight, still inside the window
    assert state(reference_facility, done, at(0, 20, day=28), "night-1") == "done"
    assert state(reference_facility, visits, at(0, 30, day=28), "night-1") == "missed"
    late = [*visits, ("cp-kitchen", at(0, 45, day=28), "li")]  # after the window: does not count
    assert state(reference_facility, late, at(0, 50, day=28), "night-1") == "missed"
    early = [(cp, at(21, 50), "li") for cp in NIGHT_1]  # before the window: does not count either
    assert state(reference_facility, early, at(23, 0), "night-1") == "pending"


def test_a_missed_round_alerts_once_naming_the_checkpoints_nobody_reached(reference_facility: Facility,
                                                                         sessions: Any) -> None:
    site = reference_facility.sites[0].id
    with sessions.begin() as db:
        for cp in ("cp-kitchen", "cp-boiler", "cp-corridor", "cp-entrance", "cp-courtyard"):
            check_in(db, site, cp, "zhou", at(9))  # the daily fire patrol, done
        check_in(db, site, "cp-corridor", "li", at(23, 40))
    with sessions.begin() as db:
        assert [a.subject for a in check(db, reference_facility, at(0, 29, day=28))] == []
        [missed] = check(db, reference_facility, at(0, 30, day=28))
        assert (missed.rule, missed.subject, missed.severity) == (PATROL_MISSED, "patrol:night-1:2026-11-27", "medium")
        assert missed.details["missing"] == ["cp-entrance", "cp-kitchen"]
        assert check(db, reference_facility, at(0, 35, day=28)) == []  # once
    with sessions.begin() as db:
        # 05:00 ends night-2, missed too; 18:00 ended the day round, done: no alert for it.
        assert [a.subject for a in check(db, reference_facility, at(5, 0, day=28))] == ["patrol:night-2:2026-11-28"]
    with sessions() as db:
        [chain] = verify(db, site)
    assert chain.intact and chain.links >= 6



@contextmanager
def logged_in(live: LiveServer, username: str) -> Iterator[httpx.Client]:
    """A phone's browser after the login form (the session cookie)."""
    with httpx.Client(base_url=live.url, timeout=10) as client:
        client.post("/login", data={"username": username, "password": "password-123"})
        yield client


def test_a_checkpoints_qr_link_checks_in_the_logged_in_caregiver(server: LiveServer) -> None:
    site = server.ctx.facility.sites[0].id
    with server.client() as manager:
        points = manager.get("/api/v1/records/patrols/checkpoints").json()
        qr = manager.get(points[0]["qr"])
    assert [p["checkpoint"] for p in points][:2] == ["cp-kitchen", "cp-boiler"]
    assert qr.status_code == 200 and qr.headers["content-type"] == "image/svg+xml" and b"<svg" in qr.content
    path = link(server.ctx.settings.signing_key(), site, "cp-kitchen")
    assert points[0]["link"].endswith(path)

    anonymous = httpx.get(server.url + path, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=/patrol/")
    assert "%3Fk%3D" in anonymous.headers["location"]  # the token survives the login
    add_user(server, "nurse", Role.STAFF)
    with logged_in(server, "nurse") as client:
        page = client.get(path)
        assert page.status_code == 200 and "厨房灶台" in page.text  # the site's language
        assert "checked_in" not in page.text and "已签到" not in page.text  # opening the link is not checking in
        done = client.post(path)
        assert done.status_code == 200 and "已签到" in done.text and "nurse" in done.text
        forged = client.post(path.replace("?k=", "?k=0"))
        assert forged.status_code == 404
    nurse = add_user(server, "nurse-2", Role.STAFF)
    with as_user(server, nurse) as client:
        assert client.get("/api/v1/records/patrols/checkpoints").status_code == 403  # staff print no codes
    add_user(server, "inspector", Role.INSPECTOR)
    with logged_in(server, "inspector") as client:
        assert client.post(path).status_code == 403
    with server.ctx.sessions.begin() as db:
        db.execute(text("UPDATE patrol_checkins SET by = 'wang'"))
    with server.ctx.sessions() as db:
        [chain] = verify(db, site)
    assert not chain.intact and "patrol_checkins row" in chain.breaks[0].reason
    with server.ctx.sessions() as db:
        visits = db.execute(text("SELECT checkpoint, by FROM patrol_checkins")).all()
    assert [tuple(v) for v in visits] == [("cp-kitchen", "wang")]  # one check-in: the GETs and the forgery made none


def test_a_checkpoints_checklist_is_kept_and_a_hazard_noted_there_alerts_at_once(server: LiveServer) -> None:
    site = server.ctx.facility.sites[0].id
    path = link(server.ctx.settings.signing_key(), site, "cp-kitchen")
    add_user(server, "nurse", Role.STAFF)
    with logged_in(server, "nurse") as client:
        page = client.get(path)
        assert 'name="ok-stoves-off" checked' in page.text and "灶具、燃气阀已关闭" in page.text
        done = client.post(path, data={"checklist": "1", "ok-stoves-off": "on",
                                       "note-no-clutter": "纸箱堆在灶台旁 boxes by the stove"})
        assert done.status_code == 200 and "已上报隐患 1 项" in done.text
    with server.client() as manager:
        [hazard] = [a for a in manager.get("/api/v1/alerts", params={"status": "open"}).json()
                    if a["rule"] == "patrol_hazard"]
    assert hazard["subject"] == "patrol-check:cp-kitchen:no-clutter" and hazard["severity"] == "medium"
    assert hazard["details"]["note"] == "纸箱堆在灶台旁 boxes by the stove" and hazard["details"]["by"] == "nurse"
    with server.ctx.sessions() as db:
        [answers] = db.execute(text("SELECT checklist FROM patrol_checkins")).scalars().all()
        [chain] = verify(db, site)
    answers = answers if isinstance(answers, list) else json.loads(answers)
    assert [(a["check"], a["ok"]) for a in answers] == [("stoves-off", True), ("no-clutter", False)]
    assert chain.intact
