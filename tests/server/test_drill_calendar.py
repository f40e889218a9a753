"""The fire drill calendar on an injected clock: due, reminded, overdue, done late, per shift; and the alerts it
raises and clears on real databases."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from devices.facility import Facility, Site
from devices.records import DrillEvery, DrillPlan
from server.models import Alert
from server.records import drills
from server.records.calendar import DRILL_DUE, DRILL_OVERDUE, check, drill_dues, months_after
from server.suppressions import Mode, Scope, create

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI).astimezone(UTC)


def planned(site: Site, every: DrillEvery, remind_days: int = 14) -> Site:
    return site.model_copy(update={"drills": DrillPlan(every=every, remind_before=timedelta(days=remind_days))})


def states(site: Site, held: list[tuple[datetime, str | None]], now: datetime) -> list[tuple[str, str, Any]]:
    return [(d.subject, d.state, d.due) for d in drill_dues(site, held, now)]


def test_months_are_calendar_months_and_a_31st_becomes_the_months_end() -> None:
    assert months_after(datetime(2026, 8, 31, 9, tzinfo=SHANGHAI), 6) == datetime(2027, 2, 28, 9, tzinfo=SHANGHAI)
    assert months_after(datetime(2026, 5, 15, 9, tzinfo=SHANGHAI), 12) == datetime(2027, 5, 15, 9, tzinfo=SHANGHAI)


def test_half_yearly_drill_is_ok_then_reminded_then_overdue_then_done_late(reference_facility: Facility) -> None:
    site = planned(reference_facility.sites[0], DrillEvery.HALF_YEARLY)
    held = [(local(3, 10), "day")]
    due = local(9, 10)
    assert states(site, held, local(8, 26)) == [("fire-drill", "ok", due)]
    assert states(site, held, local(8, 27)) == [("fire-drill", "due_soon", due)]  # 14 days before, to the hour
    assert states(site, held, due - timedelta(seconds=1))[0][1] == "due_soon"
    assert states(site, held, due)[0][1] == "overdue"
    late = [*held, (local(10, 2), "night")]  # done three weeks late: the next is due six months from then
    assert states(site, late, local(10, 3)) == [("fire-drill", "ok", local(4, 2, year=2027))]


def test_no_drill_on_record_is_overdue(reference_facility: Facility) -> None:
    site = planned(reference_facility.sites[0], DrillEvery.YEARLY)
    assert states(site, [], local(1, 1)) == [("fire-drill", "overdue", None)]


def test_quarterly_on_each_shift_counts_each_shift_on_its_own(reference_facility: Facility) -> None:
    site = planned(reference_facility.sites[0], DrillEvery.QUARTERLY_EACH_SHIFT)
    assert site.roster is not None
    shifts = [s.id for s in site.roster.shifts]
    held = [(local(1, 5), shifts[0]), (local(2, 20), shifts[1])]
    now = local(4, 10)
    got = {subject: (state, due) for subject, state, due in states(site, held, now)}
    assert got[f"fire-drill:{shifts[0]}"] == ("overdue", local(4, 5))
    assert got[f"fire-drill:{shifts[1]}"] == ("ok", local(5, 20))
    assert all(got[f"fire-drill:{s}"] == ("overdue", None) for s in shifts[2:])  # never drilled on that shift


def test_the_calendar_raises_the_reminder_then_the_overdue_alert_and_a_drill_clears_them(
        reference_facility: Facility, sessions: Any) -> None:
    site_id = reference_facility.sites[0].id
    with sessions.begin() as db:
        drill = create(db, site=site_id, mode=Mode.DRILL, scope=Scope.SITE, target=None, starts_at=local(3, 10),
                       ends_at=local(3, 10) + timedelta(hours=1), author="zhao", reason="spring drill",
                       now=local(3, 10))
        drills.started(db, drill, local(3, 10), "day")
    with sessions.begin() as db:
        assert check(db, reference_facility, local(8, 1)) == []  # nothing due yet
    with sessions.begin() as db:
        [due] = check(db, reference_facility, local(8, 30))
        assert (due.rule, due.subject, due.severity) == (DRILL_DUE, "fire-drill", "low")
        assert check(db, reference_facility, local(8, 30, hour=11)) == []  # hourly: no repeat
    with sessions.begin() as db:
        changed = check(db, reference_facility, local(9, 11))
        assert sorted((a.rule, a.cleared) for a in changed) == [(DRILL_DUE, True), (DRILL_OVERDUE, False)]
    with sessions.begin() as db:
        drill = create(db, site=site_id, mode=Mode.DRILL, scope=Scope.SITE, target=None, starts_at=local(9, 20),
                       ends_at=local(9, 20) + timedelta(hours=1), author="zhao", reason="autumn drill",
                       now=local(9, 20))
        drills.started(db, drill, local(9, 20), "day")
    with sessions.begin() as db:
        [cleared] = check(db, reference_facility, local(9, 20, hour=12))
        assert (cleared.rule, cleared.cleared) == (DRILL_OVERDUE, True)
    with sessions() as db:
        rules = [(a.rule, a.status, a.cleared) for a in db.scalars(select(Alert).order_by(Alert.id))]
    # Cleared but still open: somebody acknowledges that the reminder was seen to, as with any alert.
    assert rules == [(DRILL_DUE, "open", True), (DRILL_OVERDUE, "open", True)]
