"""Cold-storage readings written down by hand, for the cabinets of `food.cabinets` that have no sensor: each is
chained; one outside the site's limits raises `cold_storage` for the cabinet at once, and the next one inside
them clears it (someone still resolves it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from devices.facility import Site
from devices.kinds import Severity
from devices.thresholds import Limits
from server.alerts import service
from server.models import Alert, ColdReading
from server.records.chain import append
from server.rules.base import Clear, Raise

COLD_READING, COLD_STORAGE = "cold_reading", "cold_storage"


class ReadingError(ValueError):
    """A reading that cannot be recorded as given (the API answers 422 with the message)."""


def limits(site: Site, role: str) -> Limits:
    """The site's limits for a fridge or a freezer."""
    return site.thresholds.fridge if role == "fridge" else site.thresholds.freezer


def body(row: ColdReading) -> dict[str, Any]:
    """What a reading's link holds."""
    return {"site": row.site, "cabinet": row.cabinet, "temperature_c": row.temperature_c, "in_range": row.in_range,
            "by": row.by, "at": row.at}


def record(session: Session, site: Site, cabinet: str, temperature_c: float, *, by: str,
           at: datetime) -> tuple[ColdReading, Alert | None]:
    """Record a hand reading; the alert it raised or cleared, if any."""
    found = next((c for c in site.food.cabinets if c.id == cabinet), None)
    if found is None:
        names = ", ".join(c.id for c in site.food.cabinets) or "none in the facility file"
        raise ReadingError(f"no hand-logged cabinet {cabinet!r} (sensor cabinets log themselves); cabinets: {names}")
    bounds = limits(site, found.role)
    value = float(temperature_c)  # the link must hold what the column gives back
    inside = (bounds.min is None or value >= bounds.min) and (bounds.max is None or value <= bounds.max)
    row = ColdReading(site=site.id, cabinet=cabinet, temperature_c=value, in_range=inside, by=by, at=at)
    session.add(row)
    session.flush()
    append(session, site=site.id, kind=COLD_READING, ref=str(row.id), at=at, body=body(row))
    if not inside:
        details = {"value": value, "peak": value, "min": bounds.min, "max": bounds.max, "by_hand": True}
        return row, service.apply_raise(session, site=site.id, rule=COLD_STORAGE, at=at,
                                        action=Raise(cabinet, Severity.HIGH, None, details))
    return row, service.apply_clear(session, site=site.id, rule=COLD_STORAGE, action=Clear(cabinet), at=at)
