"""Response figures day by day, for the managers' trend charts: alerts raised, acknowledged, the median time to
acknowledge and the escalations of each of the site's local days (silenced and drill alerts left out, as in
`server.figures`)."""

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.facility import Facility
from server.figures import escalated_ids, spread  # the same "escalated" and median as the tables beside the charts
from server.models import Alert

Row = dict[str, Any]


def daily(session: Session, facility: Facility, since: datetime, until: datetime, site: str) -> list[Row]:
    """One row per local day of the site from the day of `since` to the day of `until`, days without alerts
    included: a trend with gaps closed up would lie about the quiet days."""
    found = facility.site_by_id[site]
    query = select(Alert).where(Alert.raised_at >= since, Alert.raised_at < until, Alert.muted.is_(None),
                                Alert.site == site)
    alerts = list(session.scalars(query))
    escalated = escalated_ids(session, [a.id for a in alerts])
    by_day: dict[date, list[Alert]] = defaultdict(list)
    for alert in alerts:
        by_day[found.local(alert.raised_at).date()].append(alert)
    first, last = found.local(since).date(), found.local(until).date()
    return [_day(first + timedelta(days=n), by_day.get(first + timedelta(days=n), []), escalated)
            for n in range((last - first).days + 1)]


def _day(day: date, alerts: list[Alert], escalated: set[int]) -> Row:
    """The figures of one day."""
    to_ack = [(a.acked_at - a.raised_at).total_seconds() for a in alerts if a.acked_at]
    return {"day": day.isoformat(), "alerts": len(alerts), "acknowledged": len(to_ack),
            "ack_median_s": spread(to_ack)["median"], "escalated": sum(1 for a in alerts if a.id in escalated)}
