"""The roster as it stands (the facility file's, with managers' changes over it), and shift handovers: at
every shift change the outgoing shift's open alerts and their notes are summarised for the incoming one."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.duty import Roster, Shift
from devices.facility import Facility, Site
from server.alerts.service import Status
from server.models import Alert, AlertEvent, Handover, RosterChange
from server.rules.base import at_local

Changes = dict[tuple[str, str], RosterChange]


def latest_changes(session: Session) -> Changes:
    """The newest change of each (site, shift)."""
    found: Changes = {}
    for row in session.scalars(select(RosterChange).order_by(RosterChange.id)):
        found[(row.site, row.shift)] = row
    return found


_ROSTERS: dict[tuple[Any, ...], tuple[Site, Roster]] = {}


def roster(site: Site, changes: Changes) -> Roster | None:
    """The site's roster with the managers' changes laid over the file's; built once per set of changes (the
    notifier asks on every pass, and validating a roster is not free)."""
    if site.roster is None:
        return None
    key = (id(site), *sorted((shift, tuple(c.staff), c.supervisor) for (s, shift), c in changes.items()
                             if s == site.id))
    found = _ROSTERS.get(key)
    if found is None:
        found = _ROSTERS[key] = (site, _built(site, changes))  # the site kept alive: its id stays its own
    return found[1]


def _built(site: Site, changes: Changes) -> Roster:
    """The roster with the changes laid over it."""
    assert site.roster is not None
    shifts = []
    for shift in site.roster.shifts:
        change = changes.get((site.id, shift.id))
        shifts.append(shift if change is None else shift.model_copy(
            update={"staff": list(change.staff), "supervisor": change.supervisor}))
    return Roster(shifts=shifts)


def on_duty(site: Site, changes: Changes, at: datetime) -> Shift | None:
    """The shift on duty at an instant, as the roster stands."""
    current = roster(site, changes)
    return current.shift_at(site.local(at).time()) if current else None


def shift_began(site: Site, shift: Shift, at: datetime) -> datetime:
    """When the shift on duty at `at` began (today's start, or yesterday's for a shift across midnight)."""
    day = site.local(at).date()
    start = at_local(site, day, shift.start)
    return start if start <= at else at_local(site, day - timedelta(days=1), shift.start)


def hand_over(session: Session, facility: Facility, changes: Changes, now: datetime,
              seen: dict[str, datetime] | None = None) -> list[Handover]:
    """Record the handover of every site whose current shift began after its last handover (also after a
    restart across a shift change); returns the new ones. `seen` remembers the shift starts already handled,
    so that a caller asking every half second queries the database only at a shift change."""
    made = []
    seen = {} if seen is None else seen
    for site in facility.sites:
        current = on_duty(site, changes, now)
        if current is None or site.roster is None:
            continue
        began = shift_began(site, current, now)
        if seen.get(site.id) == began:
            continue
        seen[site.id] = began
        done = session.scalar(select(Handover.id).where(Handover.site == site.id, Handover.at == began))
        if done is not None:
            continue
        before = on_duty(site, changes, began - timedelta(seconds=1))
        handover = Handover(site=site.id, at=began, from_shift=before.id if before else "-", to_shift=current.id,
                            summary=_summary(session, site.id, before, began))
        session.add(handover)
        made.append(handover)
    return made


def _summary(session: Session, site: str, outgoing: Shift | None, began: datetime) -> dict[str, Any]:
    """The open alerts of the site, each with the notes written during the outgoing shift."""
    alerts = session.scalars(select(Alert).where(Alert.site == site, Alert.status != Status.RESOLVED)
                             .order_by(Alert.id))
    shift_start = began - timedelta(hours=24)  # notes of at most the last day
    out = []
    for alert in alerts:
        notes = session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id,
                                                         AlertEvent.action == "comment",
                                                         AlertEvent.at >= shift_start, AlertEvent.at < began))
        out.append({"id": alert.id, "rule": alert.rule, "subject": alert.subject, "severity": alert.severity,
                    "status": alert.status, "acked_by": alert.acked_by, "assignee": alert.assignee,
                    "raised_at": alert.raised_at.isoformat(),
                    "notes": [{"at": n.at.isoformat(), "by": n.actor, "note": n.note} for n in notes]})
    return {"outgoing_staff": outgoing.staff if outgoing else [], "open_alerts": out}
