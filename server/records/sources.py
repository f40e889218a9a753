"""The records the audit chain covers: how each is written to its link and compared with it later."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import (
    Alert,
    AlertEvent,
    ChainEntry,
    ColdReading,
    Disinfection,
    DrillRecord,
    EpidemicSwitch,
    FoodSample,
    HealthCheck,
    Inspection,
    PatrolCheckin,
    RecordPhoto,
    Rectification,
)
from server.records import cold_manual, drills, epidemic, food, inspections, patrols, photos
from server.records.alert_chain import ALERT_EVENT, alert_event_body
from server.records.chain import Break, canonical


def check_records(session: Session, site: str, after: int) -> list[Break]:
    """Every covered record of the site against its link (`after`: the site's last seq, where breaks without a
    link of their own are placed)."""
    events = session.execute(select(AlertEvent, Alert).join(Alert, AlertEvent.alert_id == Alert.id)
                             .where(Alert.site == site).order_by(AlertEvent.id))
    versions = session.scalars(select(DrillRecord).where(DrillRecord.site == site).order_by(DrillRecord.id))
    visits = session.scalars(select(PatrolCheckin).where(PatrolCheckin.site == site).order_by(PatrolCheckin.id))
    return (_compare(session, site, after, ALERT_EVENT, "alert_events",
                     ((e.id, alert_event_body(e, a)) for e, a in events))
            + _compare(session, site, after, drills.DRILL, "drill_records", ((r.id, drills.body(r)) for r in versions))
            + _compare(session, site, after, patrols.PATROL_CHECKIN, "patrol_checkins",
                       ((v.id, patrols.body(v)) for v in visits))
            + _compare(session, site, after, inspections.INSPECTION, "inspections",
                       ((i.id, inspections.inspection_body(i)) for i in _rows(session, Inspection, site)))
            + _compare(session, site, after, inspections.RECTIFICATION, "rectifications",
                       ((r.id, inspections.task_body(r)) for r in _rows(session, Rectification, site)))
            + _compare(session, site, after, food.FOOD_SAMPLE, "food_samples",
                       ((f.id, food.body(f)) for f in _rows(session, FoodSample, site)))
            + _epidemic(session, site, after)
            + _compare(session, site, after, photos.PHOTO, "record_photos",
                       ((p.id, photos.body(p)) for p in _rows(session, RecordPhoto, site)))
            + _compare(session, site, after, cold_manual.COLD_READING, "cold_readings",
                       ((c.id, cold_manual.body(c)) for c in _rows(session, ColdReading, site))))


def _epidemic(session: Session, site: str, after: int) -> list[Break]:
    """Epidemic mode's records: the switches, health checks and disinfection rounds."""
    return (_compare(session, site, after, epidemic.EPIDEMIC_MODE, "epidemic_switches",
                     ((s.id, epidemic.switch_body(s)) for s in _rows(session, EpidemicSwitch, site)))
            + _compare(session, site, after, epidemic.HEALTH_CHECK, "health_checks",
                       ((c.id, epidemic.check_body(c)) for c in _rows(session, HealthCheck, site)))
            + _compare(session, site, after, epidemic.DISINFECTION, "disinfections",
                       ((d.id, epidemic.disinfection_body(d)) for d in _rows(session, Disinfection, site))))


def _rows(session: Session, table: Any, site: str) -> Any:
    """A records table's rows of one site, in the order they were written."""
    return session.scalars(select(table).where(table.site == site).order_by(table.id))


def _compare(session: Session, site: str, after: int, kind: str, table: str,
             rows: Iterable[tuple[int, dict[str, Any]]]) -> list[Break]:
    """Rows of one table against the links of their kind: changed, deleted, or never chained."""
    query = select(ChainEntry.ref, ChainEntry.seq, ChainEntry.body).where(ChainEntry.site == site,
                                                                          ChainEntry.kind == kind)
    links = {ref: (seq, text) for ref, seq, text in session.execute(query)}
    breaks = []
    for ident, body in rows:
        link = links.pop(str(ident), None)
        if link is None:
            breaks.append(Break(site, after + 1,
                                f"{table} row {ident} is not in the chain (written outside carewatch)"))
        elif canonical(body) != link[1]:
            breaks.append(Break(site, link[0], f"{table} row {ident} was changed after it was recorded"))
    return breaks + [Break(site, seq, f"{table} row {ref} was deleted") for ref, (seq, _) in links.items()]
