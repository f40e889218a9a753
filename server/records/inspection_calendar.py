"""The inspection calendar: each form falls due once a day, week (Monday to Sunday) or calendar month at the
site. Near the end of a period with no inspection recorded, a low `inspection_due` reminder; once the period is
over without one, a medium `inspection_missed` (once per form and period, whatever became of it). An inspection
recorded in the period clears the reminder. A period that began before the site's records did (its first chain
link) is never "missed": a new installation does not accuse the home of last month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.facility import Facility, Site
from devices.kinds import Severity
from devices.records import InspectionEvery, InspectionTemplate
from server.alerts import service
from server.models import Alert, ChainEntry, Inspection
from server.records.calendar import months_after
from server.rules.base import Clear, Raise

INSPECTION_DUE, INSPECTION_MISSED = "inspection_due", "inspection_missed"
# How long before a period's end the reminder comes: a daily check by the afternoon, a monthly one a week ahead.
REMIND_BEFORE = {InspectionEvery.DAILY: timedelta(hours=6), InspectionEvery.WEEKLY: timedelta(days=2),
                 InspectionEvery.MONTHLY: timedelta(days=7)}


@dataclass(frozen=True)
class Period:
    """One period in which a form is due once: its label (2026-11-29, 2026-W48, 2026-11) and bounds."""

    label: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class InspectionDue:
    """A form in one period: `done` (when, or None) and the state: done, ok, due_soon, missed."""

    template: InspectionTemplate
    period: Period
    done: datetime | None
    state: str

    @property
    def subject(self) -> str:
        """The alert subject: `inspection:<form>:<period>`."""
        return f"inspection:{self.template.id}:{self.period.label}"


def period_of(site: Site, every: InspectionEvery, at: datetime) -> Period:
    """The period of this kind that holds `at` (site time)."""
    day = site.local(at).date()
    if every is InspectionEvery.DAILY:
        first, label = day, day.isoformat()
    elif every is InspectionEvery.WEEKLY:
        first = day - timedelta(days=day.weekday())
        year, week, _ = first.isocalendar()
        label = f"{year}-W{week:02d}"
    else:
        first, label = day.replace(day=1), f"{day.year}-{day.month:02d}"
    start = _midnight(site, first)
    end = (months_after(start, 1) if every is InspectionEvery.MONTHLY
           else _midnight(site, first + timedelta(days=1 if every is InspectionEvery.DAILY else 7)))
    return Period(label, start, end)


def _midnight(site: Site, day: date) -> datetime:
    """The start of a site-local day."""
    return datetime.combine(day, time(0), tzinfo=site.zone)


def dues(site: Site, done: list[tuple[str, datetime]], now: datetime,
         since: datetime | None = None) -> list[InspectionDue]:
    """Each form's current and previous period, from the inspections recorded (form, at), the time now and when
    the site's records began (None: long ago)."""
    out = []
    for template in site.inspections:
        current = period_of(site, template.every, now)
        previous = period_of(site, template.every, current.start - timedelta(seconds=1))
        for period in (previous, current):
            when = min((at for form, at in done if form == template.id and period.start <= at < period.end),
                       default=None)
            state = _state(template, period, when, now)
            if state == "missed" and since is not None and period.start < since:
                state = "before_records"
            out.append(InspectionDue(template, period, when, state))
    return out


def _state(template: InspectionTemplate, period: Period, done: datetime | None, now: datetime) -> str:
    """done, missed (period over), due_soon (inside the reminder window) or ok."""
    if done is not None:
        return "done"
    if now >= period.end:
        return "missed"
    return "due_soon" if now >= period.end - REMIND_BEFORE[template.every] else "ok"


def site_dues(session: Session, site: Site, now: datetime) -> list[InspectionDue]:
    """The site's dues from its inspections of the last two months (the longest look-back a form needs)."""
    rows = session.execute(select(Inspection.template, Inspection.at).where(
        Inspection.site == site.id, Inspection.at >= now - timedelta(days=64)))
    since = session.scalar(select(ChainEntry.at).where(ChainEntry.site == site.id).order_by(ChainEntry.seq).limit(1))
    return dues(site, [(form, at) for form, at in rows], now, since)


def check(session: Session, facility: Facility, now: datetime) -> list[Alert]:
    """Raise reminders and missed alerts as the calendar stands now, clear reminders of forms done."""
    changed: list[Alert] = []
    for site in facility.sites:
        for due in site_dues(session, site, now):
            changed += _apply(session, site.id, due, now)
    return changed


def _apply(session: Session, site: str, due: InspectionDue, now: datetime) -> list[Alert]:
    """The alerts one form's period calls for."""
    details = {"form": due.template.id, "period": due.period.label, "ends": due.period.end.isoformat()}
    if due.state == "due_soon" and service.open_alert(session, site=site, rule=INSPECTION_DUE,
                                                      subject=due.subject) is None:
        return [service.apply_raise(session, site=site, rule=INSPECTION_DUE, at=now,
                                    action=Raise(due.subject, Severity.LOW, None, details))]
    out = []
    if due.state in ("done", "missed"):  # the reminder has served: done, or superseded by the missed alert
        cleared = service.apply_clear(session, site=site, rule=INSPECTION_DUE, action=Clear(due.subject), at=now)
        out += [cleared] if cleared else []
    if due.state == "missed" and not _ever(session, site, due.subject):
        out.append(service.apply_raise(session, site=site, rule=INSPECTION_MISSED, at=now,
                                       action=Raise(due.subject, Severity.MEDIUM, None, details)))
    return out


def _ever(session: Session, site: str, subject: str) -> bool:
    """Whether a missed alert was ever raised for this form and period (one per period, whatever became of it)."""
    return session.scalar(select(Alert.id).where(Alert.site == site, Alert.rule == INSPECTION_MISSED,
                                                 Alert.subject == subject).limit(1)) is not None
