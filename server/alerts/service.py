"""Alert transitions. Services take the session first; the caller commits."""

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from server.models import Alert, AlertEvent
from server.records.alert_chain import chain_alert_event
from server.rules.base import Clear, Raise

SYSTEM = "system"


class Status(StrEnum):
    """Where an alert is in its lifecycle."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Resolution(StrEnum):
    """Why an alert was resolved; inspectors and the false-alarm figures read this."""

    REAL_EVENT = "real_event"
    FALSE_ALARM = "false_alarm"
    TEST = "test"
    DRILL = "drill"


class TransitionError(ValueError):
    """The alert cannot make this transition (already resolved, unknown id, ...)."""


def open_alert(session: Session, *, site: str, rule: str, subject: str) -> Alert | None:
    """The unresolved alert for a subject, if any (the database allows at most one)."""
    query = select(Alert).where(Alert.site == site, Alert.rule == rule, Alert.subject == subject,
                                Alert.status != Status.RESOLVED)
    return session.scalars(query).first()


def unresolved_keys(session: Session) -> set[tuple[str, str, str]]:
    """(site, rule, subject) of every unresolved alert."""
    rows = session.execute(select(Alert.site, Alert.rule, Alert.subject).where(Alert.status != Status.RESOLVED))
    return {(site, rule, subject) for site, rule, subject in rows}


def apply_raise(session: Session, *, site: str, rule: str, action: Raise, at: datetime,
                muted: tuple[str, int] | None = None) -> Alert:
    """Open an alert (tagged when a silence, drill or maintenance covers it), or mark the unresolved one active
    again and count the occurrence; a muted alert raised again with nothing covering it becomes a real one."""
    alert = open_alert(session, site=site, rule=rule, subject=action.subject)
    if alert is None:
        alert = Alert(site=site, rule=rule, subject=action.subject, severity=action.severity.value,
                      status=Status.OPEN, cleared=False, room=action.room, details=action.details,
                      occurrences=1, raised_at=at, last_raised_at=at,
                      muted=muted[0] if muted else None, suppression_id=muted[1] if muted else None)
        session.add(alert)
        session.flush()
        _record(session, alert, "raised", SYSTEM, at, f"{muted[0]} #{muted[1]}" if muted else None)
        return alert
    alert.details = {**alert.details, **action.details}
    if not action.count:
        return alert
    alert.occurrences += 1
    alert.last_raised_at = at
    if alert.muted and muted is None:
        # It comes back after the drill or silence that covered it: from now on it is a real alarm.
        _record(session, alert, "unmuted", SYSTEM, at, f"{alert.muted} #{alert.suppression_id} over")
        alert.muted, alert.suppression_id = None, None
    if alert.cleared:
        alert.cleared, alert.cleared_at = False, None
        _record(session, alert, "reraised", SYSTEM, at)
    return alert


def apply_clear(session: Session, *, site: str, rule: str, action: Clear, at: datetime) -> Alert | None:
    """Mark the unresolved alert cleared: the condition has ended, but someone must still see it."""
    alert = open_alert(session, site=site, rule=rule, subject=action.subject)
    if alert is None or alert.cleared:
        return None
    alert.cleared, alert.cleared_at = True, at
    _record(session, alert, "cleared", SYSTEM, at)
    return alert


def acknowledge(session: Session, alert_id: int, *, actor: str, at: datetime, note: str | None = None) -> Alert:
    """Someone has taken the alert."""
    alert = _get(session, alert_id)
    if alert.status != Status.OPEN:
        raise TransitionError(f"alert {alert_id} is {alert.status}, only an open alert can be acknowledged")
    alert.status, alert.acked_at, alert.acked_by = Status.ACKNOWLEDGED, at, actor
    _record(session, alert, "acknowledged", actor, at, note)
    return alert


def resolve(session: Session, alert_id: int, *, actor: str, at: datetime, resolution: Resolution,
            note: str | None = None) -> Alert:
    """Close the alert with the reason; resolving an open alert acknowledges it on the way."""
    alert = _get(session, alert_id)
    if alert.status == Status.RESOLVED:
        raise TransitionError(f"alert {alert_id} is already resolved")
    if alert.status == Status.OPEN:
        alert.acked_at, alert.acked_by = at, actor
    alert.status, alert.resolved_at, alert.resolved_by = Status.RESOLVED, at, actor
    alert.resolution = resolution.value
    _record(session, alert, "resolved", actor, at, note or resolution.value)
    return alert


def comment(session: Session, alert_id: int, *, actor: str, at: datetime, note: str) -> Alert:
    """A note on the alert, kept in its history (any status: a resolved alert can still be explained)."""
    alert = _get(session, alert_id)
    _record(session, alert, "comment", actor, at, note)
    return alert


def assign(session: Session, alert_id: int, *, actor: str, at: datetime, assignee: str | None) -> Alert:
    """Who is on it (None: nobody); recorded with who decided."""
    alert = _get(session, alert_id)
    if alert.status == Status.RESOLVED:
        raise TransitionError(f"alert {alert_id} is resolved")
    alert.assignee = assignee
    _record(session, alert, "assigned", actor, at, assignee or "nobody")
    return alert


def list_alerts(session: Session, *, statuses: Sequence[str] = (), site: str | None = None,
                limit: int = 200, sites: Sequence[str] | None = None) -> list[Alert]:
    """Alerts, newest first, optionally by status and site (or any of `sites`)."""
    query = select(Alert).options(selectinload(Alert.events)).order_by(Alert.id.desc()).limit(limit)
    if statuses:
        query = query.where(Alert.status.in_(list(statuses)))
    if site:
        query = query.where(Alert.site == site)
    if sites is not None:
        query = query.where(Alert.site.in_(list(sites)))
    return list(session.scalars(query))


def _get(session: Session, alert_id: int) -> Alert:
    """An alert by id, or LookupError (the API answers 404)."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise LookupError(f"no alert {alert_id}")
    return alert


def _record(session: Session, alert: Alert, action: str, actor: str, at: datetime, note: str | None = None) -> None:
    """Append to the alert's history."""
    event = AlertEvent(alert_id=alert.id, at=at, action=action, actor=actor, note=note)
    session.add(event)
    chain_alert_event(session, event, alert)
