"""Retention of the chained records: a site's links older than the cutoff go as a prefix of its chain, with the
rows they hold, in one transaction; a `retention` link records what went and anchors the chain's new start."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from server import models
from server.models import Alert, AlertEvent, ChainEntry, Rectification
from server.records.chain import RETENTION, append

log = logging.getLogger(__name__)
CHUNK = 5000  # ids per DELETE: SQLite limits the parameters of one statement
# Each chained kind and the table its rows live in (alert events: their alerts go too once they have none left).
TABLES: dict[str, Any] = {
    "alert_event": AlertEvent, "drill": models.DrillRecord, "patrol_checkin": models.PatrolCheckin,
    "inspection": models.Inspection, "rectification": Rectification, "food_sample": models.FoodSample,
    "epidemic_mode": models.EpidemicSwitch, "health_check": models.HealthCheck, "disinfection": models.Disinfection,
    "photo": models.RecordPhoto, "cold_reading": models.ColdReading,
}


def prune_site(session: Session, site: str, cutoff: datetime, now: datetime,
               extra: dict[str, int] | None = None) -> dict[str, Any]:
    """Remove the site's links written before `cutoff` and their records; record the run with `extra` (what
    else went), always: the link proves retention ran. Returns the retention link's body."""
    links = list(session.execute(select(ChainEntry.seq, ChainEntry.kind, ChainEntry.ref, ChainEntry.hash)
                                 .where(ChainEntry.site == site, ChainEntry.at < cutoff)
                                 .order_by(ChainEntry.seq)))
    through = _prefix(session, site, links)
    gone = [link for link in links if link.seq <= through]
    deleted = {**(extra or {}), **_delete_rows(session, site, gone)}
    if gone:
        session.execute(delete(ChainEntry).where(ChainEntry.site == site, ChainEntry.seq <= through))
    body = {"cutoff": cutoff, "pruned_through": through if gone else None,
            "anchor": gone[-1].hash if gone else None, "deleted": deleted}
    append(session, site=site, kind=RETENTION, ref=now.date().isoformat(), at=now, body=body)
    if gone:
        log.info("retention: site %s, links 1..%d and %s removed (older than %s)", site, through, deleted, cutoff)
    return body


def _prefix(session: Session, site: str, links: list[Any]) -> int:
    """The last seq of the prefix that may go: old links, unbroken from the chain's start, and no inspection a
    kept rectification still points to (its row must stay, and so must its link)."""
    start = session.scalar(select(ChainEntry.seq).where(ChainEntry.site == site).order_by(ChainEntry.seq).limit(1))
    through = 0
    for link in links:  # only a run of old links from the start: a newer link in between ends the prefix
        if link.seq != (through + 1 if through else start):
            break
        through = link.seq
    while True:
        kept = {ref for ref in session.scalars(select(Rectification.inspection).join(
            ChainEntry, (ChainEntry.ref == Rectification.id.cast(ChainEntry.ref.type))
            & (ChainEntry.kind == "rectification") & (ChainEntry.site == site)).where(ChainEntry.seq > through))}
        blocking = [link.seq for link in links if link.seq <= through and link.kind == "inspection"
                    and int(link.ref) in kept]
        if not blocking:
            return through
        through = min(blocking) - 1


def _delete_rows(session: Session, site: str, gone: list[Any]) -> dict[str, int]:
    """Delete the rows of the removed links, kind by kind (tasks before the inspections they point to)."""
    refs: dict[str, list[int]] = defaultdict(list)
    for link in gone:
        if link.kind in TABLES:
            refs[link.kind].append(int(link.ref))
    counts: dict[str, int] = defaultdict(int)
    for kind in sorted(refs, key=lambda k: k != "rectification"):
        table, ids = TABLES[kind], refs[kind]
        for start in range(0, len(ids), CHUNK):
            counts[kind] += session.execute(delete(table).where(table.id.in_(ids[start:start + CHUNK]))).rowcount or 0
    if "alert_event" in refs:  # an alert with no history left, and closed, goes with its notifications
        counts["alert"] = session.execute(delete(Alert).where(
            Alert.site == site, Alert.status == "resolved", ~exists().where(AlertEvent.alert_id == Alert.id))
        ).rowcount or 0
    return dict(counts)
