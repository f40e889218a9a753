"""Response figures: how fast the home answers. Time to acknowledge and to resolve per severity, rule, shift
and person; the share acknowledged within the policy's target; escalations; the false-alarm share per rule."""

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.facility import Facility
from devices.kinds import Severity
from server.alerts.service import Resolution
from server.models import Alert, Notification

Row = dict[str, Any]


def figures(session: Session, facility: Facility, since: datetime, until: datetime, site: str | None = None) -> Row:
    """Every figure over the alerts raised in [since, until) (silenced and drill alerts left out)."""
    query = select(Alert).where(Alert.raised_at >= since, Alert.raised_at < until, Alert.muted.is_(None))
    if site:
        query = query.where(Alert.site == site)
    alerts = list(session.scalars(query))
    escalated = escalated_ids(session, [a.id for a in alerts])

    def shift_of(a: Alert) -> str:
        found = facility.site_by_id.get(a.site)
        shift = found.on_duty(a.raised_at) if found else None
        return shift.id if shift else "-"

    def target_of(a: Alert) -> timedelta | None:
        found = facility.site_by_id.get(a.site)
        policy = found.escalation.policy(Severity(a.severity)) if found else None
        return policy.ack_target if policy else None

    return {
        "since": since.isoformat(), "until": until.isoformat(), "alerts": len(alerts),
        "by_severity": _groups(alerts, lambda a: a.severity, target_of, escalated),
        "by_rule": _groups(alerts, lambda a: a.rule, target_of, escalated),
        "by_shift": _groups(alerts, shift_of, target_of, escalated),
        "by_person": _groups([a for a in alerts if a.acked_by], lambda a: a.acked_by or "-", target_of, escalated),
        "false_alarm_share_by_rule": _false_alarms(alerts),
    }


def escalated_ids(session: Session, alert_ids: list[int]) -> set[int]:
    """Alerts that went past their first step (nobody answered in time)."""
    if not alert_ids:
        return set()
    rows = session.scalars(select(Notification.alert_id).where(Notification.alert_id.in_(alert_ids),
                                                               Notification.step >= 1))
    return set(rows)


def _groups(alerts: Iterable[Alert], key: Callable[[Alert], str], target: Callable[[Alert], timedelta | None],
            escalated: set[int]) -> dict[str, Row]:
    """The figures of each group of alerts."""
    groups: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts:
        groups[key(alert)].append(alert)
    return {name: _one(members, target, escalated) for name, members in sorted(groups.items())}


def _one(alerts: list[Alert], target: Callable[[Alert], timedelta | None], escalated: set[int]) -> Row:
    """Count, acknowledge and resolve times (median, 90th percentile, in seconds), share within target."""
    to_ack = [(a.acked_at - a.raised_at).total_seconds() for a in alerts if a.acked_at]
    to_resolve = [(a.resolved_at - a.raised_at).total_seconds() for a in alerts if a.resolved_at]
    judged = [(a, t) for a in alerts if (t := target(a)) is not None]
    within = [a for a, t in judged if a.acked_at and a.acked_at - a.raised_at <= t]
    return {
        "alerts": len(alerts), "acknowledged": len(to_ack), "resolved": len(to_resolve),
        "ack_s": spread(to_ack), "resolve_s": spread(to_resolve),
        "within_target": round(len(within) / len(judged), 3) if judged else None,
        "escalated": sum(1 for a in alerts if a.id in escalated),
    }


def spread(values: list[float]) -> Row:
    """Median and 90th percentile (None when there is nothing to measure)."""
    if not values:
        return {"median": None, "p90": None}
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return {"median": round(statistics.median(ordered), 1), "p90": round(p90, 1)}


def _false_alarms(alerts: list[Alert]) -> dict[str, float]:
    """Per rule, the share of resolved alerts that staff called a false alarm."""
    resolved: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts:
        if alert.resolution:
            resolved[alert.rule].append(alert)
    return {rule: round(sum(a.resolution == Resolution.FALSE_ALARM for a in group) / len(group), 3)
            for rule, group in sorted(resolved.items())}
