"""The inspection calendar on an injected clock: each form's period, the reminder near its end, the missed alert
once it is over, and an inspection clearing the reminder; on real databases."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from devices.facility import Facility, Site
from devices.records import InspectionEvery
from server.models import Alert
from server.records import chain, inspections
from server.records.inspection_calendar import INSPECTION_DUE, INSPECTION_MISSED, check, dues, period_of

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def only(facility: Facility, every: InspectionEvery) -> tuple[Facility, Site]:
    """The facility with its first site holding one form of the given frequency."""
    site = facility.sites[0]
    form = next(t for t in site.inspections if t.every is every)
    site = site.model_copy(update={"inspections": [form]})
    return facility.model_copy(update={"sites": [site]}), site


def state_at(site: Site, done: list[datetime], now: datetime) -> list[tuple[str, str]]:
    form = site.inspections[0].id
    return [(d.period.label, d.state) for d in dues(site, [(form, at) for at in done], now)]


def test_periods_are_the_sites_day_its_monday_to_sunday_week_and_its_calendar_month(
        reference_facility: Facility) -> None:
    site = reference_facility.sites[0]
    late_evening = local(11, 29, hour=23, minute=30)  # still Sunday 29 November in Shanghai (15:30 UTC)
    day = period_of(site, InspectionEvery.DAILY, late_evening)
    assert (day.label, day.start, day.end) == ("2026-11-29", local(11, 29, 0), local(11, 30, 0))
    week = period_of(site, InspectionEvery.WEEKLY, late_evening)
    assert (week.label, week.start, week.end) == ("2026-W48", local(11, 23, 0), local(11, 30, 0))
    month = period_of(site, InspectionEvery.MONTHLY, local(12, 31, hour=23))
    assert (month.label, month.start, month.end) == ("2026-12", local(12, 1, 0),
                                                     datetime(2027, 1, 1, tzinfo=SHANGHAI).astimezone(UTC))


def test_daily_check_reminded_at_six_then_missed_at_midnight(reference_facility: Facility) -> None:
    _, site = only(reference_facility, InspectionEvery.DAILY)
    assert state_at(site, [local(11, 28, 9)], local(11, 29, 17, 59)) == [("2026-11-28", "done"), ("2026-11-29", "ok")]
    assert state_at(site, [local(11, 28, 9)], local(11, 29, 18)) == [("2026-11-28", "done"),
                                                                      ("2026-11-29", "due_soon")]
    assert state_at(site, [local(11, 28, 9)], local(11, 30, 0, 0)) == [("2026-11-29", "missed"), ("2026-11-30", "ok")]
    assert state_at(site, [local(11, 29, 20)], local(11, 29, 21)) == [("2026-11-28", "missed"),
                                                                       ("2026-11-29", "done")]


def test_monthly_inspection_reminded_a_week_before_the_month_ends(reference_facility: Facility) -> None:
    _, site = only(reference_facility, InspectionEvery.MONTHLY)
    assert state_at(site, [local(10, 5)], local(11, 23, 23, 59))[1] == ("2026-11", "ok")
    assert state_at(site, [local(10, 5)], local(11, 24, 0))[1] == ("2026-11", "due_soon")
    assert state_at(site, [local(11, 30, 23)], local(12, 1, 1)) == [("2026-11", "done"), ("2026-12", "ok")]


def test_a_period_before_the_records_began_is_not_missed(reference_facility: Facility) -> None:
    _, site = only(reference_facility, InspectionEvery.MONTHLY)
    form = site.inspections[0].id
    installed = local(11, 10)
    assert [d.state for d in dues(site, [], local(12, 2), since=installed)] == ["before_records", "ok"]
    assert [d.state for d in dues(site, [], local(1, 2) + timedelta(days=365), since=installed)] == [
        "missed", "ok"]
    assert [d.state for d in dues(site, [(form, local(11, 20))], local(12, 2), since=installed)] == ["done", "ok"]


def test_reminder_then_inspection_clears_it_and_a_missed_period_alerts_once(
        reference_facility: Facility, sessions: Any) -> None:
    facility, site = only(reference_facility, InspectionEvery.DAILY)
    form = site.inspections[0]
    with sessions.begin() as db:  # the site's records began on the 20th
        chain.append(db, site=site.id, kind="note", ref="start", at=local(11, 20), body={"installed": True})
    with sessions.begin() as db:
        changed = check(db, facility, local(11, 28, 12))
        # Nothing recorded on the 27th either: that period was missed, the 28th is not yet due.
        assert [(a.rule, a.subject, a.severity) for a in changed] == [
            (INSPECTION_MISSED, f"inspection:{form.id}:2026-11-27", "medium")]
    with sessions.begin() as db:
        [reminder] = check(db, facility, local(11, 28, 18))
        assert (reminder.rule, reminder.subject, reminder.severity) == (
            INSPECTION_DUE, f"inspection:{form.id}:2026-11-28", "low")
        assert check(db, facility, local(11, 28, 19)) == []  # hourly: no repeat
    with sessions.begin() as db:
        inspections.record(db, site, form.id, [{"item": i.id, "ok": True} for i in form.items], by="zhao",
                           at=local(11, 28, 19, 30))
    with sessions.begin() as db:
        [cleared] = check(db, facility, local(11, 28, 20))
        assert (cleared.rule, cleared.cleared) == (INSPECTION_DUE, True)
    with sessions.begin() as db:  # the 29th passes without an inspection: missed once, not every hour after
        changed = check(db, facility, local(11, 30, 1))
        assert [(a.rule, a.subject) for a in changed if a.rule == INSPECTION_MISSED] == [
            (INSPECTION_MISSED, f"inspection:{form.id}:2026-11-29")]
    with sessions.begin() as db:
        missed = db.scalar(select(Alert).where(Alert.subject == f"inspection:{form.id}:2026-11-29"))
        assert missed is not None
        missed.status = "resolved"  # someone looked at it and closed it: it must not come back
    with sessions.begin() as db:
        assert [a for a in check(db, facility, local(11, 30, 2)) if a.rule == INSPECTION_MISSED] == []
