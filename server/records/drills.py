"""Fire drill records: started with a drill (the drill-mode suppression the screen starts), given its all-clear
when the drill is ended, completed with who took part, residents evacuated and problems found. Each change is a
new version in `drill_records` and a link in the site's audit chain; the evacuation time is measured (start to
all-clear), and the alarms the sensors raised during the drill are read from the alerts it muted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.models import Alert, DrillRecord, Suppression
from server.records.chain import append

DRILL = "drill"  # the chain kind of a drill record version
FIELDS = ("drill", "version", "supersedes", "site", "scenario", "scope", "target", "shift", "started_at", "started_by",
          "all_clear_at", "participants", "residents_evacuated", "problems", "recorded_by", "recorded_at")


def body(record: DrillRecord) -> dict[str, Any]:
    """What a version's link holds: every field."""
    return {name: getattr(record, name) for name in FIELDS}


def started(session: Session, drill: Suppression, at: datetime, shift: str | None) -> DrillRecord:
    """The first version, as the drill starts: scenario (its reason), where, the shift on duty, who started it."""
    return _save(session, DrillRecord(drill=drill.id, version=1, supersedes=None, site=drill.site,
                                      scenario=drill.reason, scope=drill.scope, target=drill.target,
                                      shift=shift, started_at=drill.starts_at,
                                      started_by=drill.author, all_clear_at=None, participants=[],
                                      residents_evacuated=None, problems=None, recorded_by=drill.author,
                                      recorded_at=at))


def all_clear(session: Session, drill: Suppression, at: datetime, actor: str) -> DrillRecord | None:
    """A new version with the all-clear (the drill ended by hand); None for a drill without a record."""
    return revise(session, drill.id, actor, at, all_clear_at=at)


def revise(session: Session, drill_id: int, actor: str, at: datetime, **changes: Any) -> DrillRecord | None:
    """A new version of the drill's record with `changes`; the old versions stay as they were."""
    latest = current(session, drill_id)
    if latest is None:
        return None
    values = {**body(latest), **changes, "version": latest.version + 1, "supersedes": latest.id,
              "recorded_by": actor, "recorded_at": at}
    return _save(session, DrillRecord(**values))


def current(session: Session, drill_id: int) -> DrillRecord | None:
    """The newest version of a drill's record."""
    return session.scalars(select(DrillRecord).where(DrillRecord.drill == drill_id)
                           .order_by(DrillRecord.version.desc()).limit(1)).first()


@dataclass(frozen=True)
class DrillView:
    """A drill as inspectors read it: its newest version, evacuation time and the alarms raised during it."""

    record: DrillRecord
    versions: int
    alarms: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        """For the API."""
        r = self.record
        seconds = (r.all_clear_at - r.started_at).total_seconds() if r.all_clear_at else None
        return {**body(r), "id": r.id, "versions": self.versions, "evacuation_s": seconds, "alarms": self.alarms}


def drills(session: Session, site: str | None = None) -> list[DrillView]:
    """Every drill's newest version, newest drill first."""
    newest = (select(DrillRecord.drill, func.max(DrillRecord.version).label("v"), func.count().label("n"))
              .group_by(DrillRecord.drill).subquery())
    query = (select(DrillRecord, newest.c.n).join(newest, (DrillRecord.drill == newest.c.drill)
                                                   & (DrillRecord.version == newest.c.v))
             .order_by(DrillRecord.started_at.desc()))
    if site:
        query = query.where(DrillRecord.site == site)
    return [DrillView(record, count, _alarms(session, record.drill)) for record, count in session.execute(query)]


def _alarms(session: Session, drill_id: int) -> list[dict[str, Any]]:
    """The alerts the drill muted: what the sensors raised while it ran."""
    rows = session.scalars(select(Alert).where(Alert.suppression_id == drill_id, Alert.muted == DRILL)
                           .order_by(Alert.raised_at))
    return [{"id": a.id, "rule": a.rule, "subject": a.subject, "raised_at": a.raised_at} for a in rows]


def _save(session: Session, record: DrillRecord) -> DrillRecord:
    """Insert a version and chain it."""
    session.add(record)
    session.flush()
    append(session, site=record.site, kind=DRILL, ref=str(record.id), at=record.recorded_at, body=body(record))
    return record
