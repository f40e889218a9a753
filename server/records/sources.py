"""The records the audit chain covers: how each is written to its link and compared with it later."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Alert, AlertEvent, ChainEntry
from server.records.chain import Break, append, canonical

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


def check_alert_events(session: Session, site: str, after: int) -> list[Break]:
    """Every alert transition of the site against its link: changed, deleted, or never chained (`after`: the
    site's last seq, where breaks without a link of their own are placed)."""
    links = {ref: (seq, body) for ref, seq, body in session.execute(
        select(ChainEntry.ref, ChainEntry.seq, ChainEntry.body)
        .where(ChainEntry.site == site, ChainEntry.kind == ALERT_EVENT))}
    breaks = []
    rows = session.execute(select(AlertEvent, Alert).join(Alert, AlertEvent.alert_id == Alert.id)
                           .where(Alert.site == site).order_by(AlertEvent.id))
    for event, alert in rows:
        link = links.pop(str(event.id), None)
        if link is None:
            breaks.append(Break(site, after + 1, f"alert_events row {event.id} is not in the chain "
                                                 "(written outside carewatch)"))
        elif canonical(alert_event_body(event, alert)) != link[1]:
            breaks.append(Break(site, link[0], f"alert_events row {event.id} was changed after it was recorded"))
    breaks += [Break(site, seq, f"alert_events row {ref} was deleted") for ref, (seq, _) in links.items()]
    return breaks
