"""Alert transitions in the audit chain (kept apart from the other records: the alert service imports this)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from server.models import Alert, AlertEvent
from server.records.chain import append

ALERT_EVENT = "alert_event"  # an alert's transition: raised, acknowledged, resolved, commented ...


def alert_event_body(event: AlertEvent, alert: Alert) -> dict[str, Any]:
    """What an alert transition's link holds (the alert's identity with it, so a moved event shows)."""
    return {"alert": alert.id, "site": alert.site, "rule": alert.rule, "subject": alert.subject,
            "action": event.action, "actor": event.actor, "at": event.at, "note": event.note}


def chain_alert_event(session: Session, event: AlertEvent, alert: Alert) -> None:
    """Append a new alert transition to its site's chain (the caller's transaction)."""
    session.flush()  # the event's id is its reference
    append(session, site=alert.site, kind=ALERT_EVENT, ref=str(event.id), at=event.at,
           body=alert_event_body(event, alert))
