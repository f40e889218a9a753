"""The fire drill calendar: when each site's next drill falls due (per shift where the plan says so), a reminder
alert before, an overdue alert after, both cleared by the drill. Pure functions of the records and the clock,
run hourly by the scheduler."""

from __future__ import annotations

import calendar
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from devices.facility import Facility, Site
from devices.kinds import Severity
from devices.records import DrillEvery
from server.alerts import service
from server.models import Alert
from server.records.drills import drills
from server.rules.base import Clear, Raise

log = logging.getLogger(__name__)
DRILL_DUE, DRILL_OVERDUE = "drill_due", "drill_overdue"
MONTHS = {DrillEvery.HALF_YEARLY: 6, DrillEvery.YEARLY: 12, DrillEvery.QUARTERLY_EACH_SHIFT: 3}


@dataclass(frozen=True)
class DrillDue:
    """One drill obligation: the whole site's, or one shift's; `due` None when no drill is on record."""

    subject: str
    shift: str | None
    last: datetime | None
    due: datetime | None
    state: str  # ok, due_soon, overdue


def months_after(local: datetime, months: int) -> datetime:
    """The same wall-clock time `months` calendar months later (the 31st becomes the month's last day)."""
    month0 = local.month - 1 + months
    year, month = local.year + month0 // 12, month0 % 12 + 1
    return local.replace(year=year, month=month, day=min(local.day, calendar.monthrange(year, month)[1]))


def drill_dues(site: Site, held: Iterable[tuple[datetime, str | None]], now: datetime) -> list[DrillDue]:
    """Each obligation of the site's plan, from the drills held (start, shift) and the time now."""
    plan, held = site.drills, list(held)
    if plan.every is DrillEvery.QUARTERLY_EACH_SHIFT and site.roster:
        groups: dict[str | None, list[datetime]] = {s.id: [t for t, sh in held if sh == s.id]
                                                    for s in site.roster.shifts}
    else:
        groups = {None: [t for t, _ in held]}
    dues = []
    for shift, times in groups.items():
        last = max(times, default=None)
        due = months_after(site.local(last), MONTHS[plan.every]) if last else None
        state = ("overdue" if due is None or now >= due else "due_soon" if now >= due - plan.remind_before
                 else "ok")
        dues.append(DrillDue(f"fire-drill:{shift}" if shift else "fire-drill", shift, last, due, state))
    return dues


def check(session: Session, facility: Facility, now: datetime) -> list[Alert]:
    """Raise or clear each site's drill alerts as the calendar stands now; the alerts that changed."""
    changed: list[Alert] = []
    for site in facility.sites:
        held = [(v.record.started_at, v.record.shift) for v in drills(session, site.id)]
        for due in drill_dues(site, held, now):
            changed += _apply(session, site.id, due, now)
    return changed


def _apply(session: Session, site: str, due: DrillDue, now: datetime) -> list[Alert]:
    """The alert a drill obligation calls for, and the clear of the other (a drill held clears both)."""
    details = {"due": due.due.isoformat() if due.due else None, "last": due.last.isoformat() if due.last else None,
               "shift": due.shift}
    wanted = {"due_soon": (DRILL_DUE, Severity.LOW), "overdue": (DRILL_OVERDUE, Severity.MEDIUM)}.get(due.state)
    out: list[Alert] = []
    for rule in (DRILL_DUE, DRILL_OVERDUE):
        if wanted and rule == wanted[0]:
            existing = service.open_alert(session, site=site, rule=rule, subject=due.subject)
            if existing is None or existing.cleared:  # new, or back after a drill cleared it: raise (again)
                out.append(service.apply_raise(session, site=site, rule=rule, at=now,
                                               action=Raise(due.subject, wanted[1], None, details)))
        elif (cleared := service.apply_clear(session, site=site, rule=rule, action=Clear(due.subject), at=now)):
            out.append(cleared)
    return out

