"""The district view: one line per site a civil-affairs bureau oversees. Drills on time, patrol rounds done,
inspections, open rectifications, alert response and the audit chain, over one period."""

from __future__ import annotations

import statistics
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from devices.facility import Site
from server.models import Alert, Inspection, PatrolCheckin
from server.records import calendar, drills, inspections, patrols
from server.records.inspection_calendar import site_dues
from server.records.verify import verify


def site_summary(session: Session, site: Site, now: datetime, days: int) -> dict[str, Any]:
    """Every figure of one site over the `days` before `now`."""
    since = now - timedelta(days=days)
    return {"site": site.id, "name": site.name.model_dump(by_alias=True), "days": days,
            "drills": _drills(session, site, now), "patrols": _patrols(session, site, now, days),
            "inspections": _inspections(session, site, since, now),
            "rectifications": _rectifications(session, site, now), "alerts": _alerts(session, site.id, since, now),
            "chain": _chain(session, site.id)}


def _drills(session: Session, site: Site, now: datetime) -> dict[str, Any]:
    """The drill plan's state: each obligation's last drill, next due and whether it is on time."""
    held = [(v.record.started_at, v.record.shift) for v in drills.drills(session, site.id)]
    dues = calendar.drill_dues(site, held, now)
    return {"on_time": all(d.state != "overdue" for d in dues), "held": len(held),
            "last": max((t for t, _ in held), default=None),
            "next_due": min((d.due for d in dues if d.due), default=None),
            "overdue": [d.subject for d in dues if d.state == "overdue"]}


def _patrols(session: Session, site: Site, now: datetime, days: int) -> dict[str, Any]:
    """Rounds done and missed on each finished day of the period (today's rounds may still be under way)."""
    today = site.local(now).date()
    first = today - timedelta(days=days)
    start = datetime.combine(first, time(0), tzinfo=site.zone)
    visits = [(c, at, by) for c, at, by in session.execute(
        select(PatrolCheckin.checkpoint, PatrolCheckin.at, PatrolCheckin.by).where(
            PatrolCheckin.site == site.id, PatrolCheckin.at >= start, PatrolCheckin.at < now + timedelta(days=1)))]
    rounds = [r for day in _days(first, today) for r in patrols.rounds_on(site, visits, day, now)]
    done = sum(r.state == "done" for r in rounds)
    missed = sum(r.state == "missed" for r in rounds)
    return {"rounds": done + missed, "done": done, "missed": missed,
            "share_done": round(done / (done + missed), 3) if done + missed else None}


def _days(first: date, until: date) -> list[date]:
    """The days from `first` up to the day before `until`."""
    return [first + timedelta(days=n) for n in range((until - first).days)]


def _inspections(session: Session, site: Site, since: datetime, now: datetime) -> dict[str, Any]:
    """Inspections recorded in the period, and the forms due soon or missed now."""
    recorded = session.scalar(select(func.count()).select_from(Inspection).where(
        Inspection.site == site.id, Inspection.at >= since, Inspection.at < now)) or 0
    dues = site_dues(session, site, now)
    return {"recorded": recorded, "due_soon": sorted({d.subject for d in dues if d.state == "due_soon"}),
            "missed": sorted({d.subject for d in dues if d.state == "missed"})}


def _rectifications(session: Session, site: Site, now: datetime) -> dict[str, Any]:
    """Open tasks now, and how many of them are past due."""
    open_tasks = inspections.tasks(session, site.id, "open")
    return {"open": len(open_tasks), "overdue": sum(t.due_at <= now for t in open_tasks)}


def _alerts(session: Session, site: str, since: datetime, now: datetime) -> dict[str, Any]:
    """Alerts raised in the period (silenced and drill alerts left out): count, critical, acknowledged, median
    minutes to acknowledge, still open."""
    rows = list(session.execute(select(Alert.severity, Alert.raised_at, Alert.acked_at, Alert.status).where(
        Alert.site == site, Alert.raised_at >= since, Alert.raised_at < now, Alert.muted.is_(None))))
    to_ack = [(acked - raised).total_seconds() / 60 for _, raised, acked, _ in rows if acked]
    return {"raised": len(rows), "critical": sum(sev == "critical" for sev, *_ in rows),
            "acknowledged": len(to_ack),
            "ack_median_min": round(statistics.median(to_ack), 1) if to_ack else None,
            "open": sum(st != "resolved" for *_, st in rows)}


def _chain(session: Session, site: str) -> dict[str, Any]:
    """The audit chain's check: intact or the first break, links, head hash (walks the whole chain)."""
    return verify(session, site)[0].as_dict()
