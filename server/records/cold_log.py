"""The cold-storage temperature log (GB 31654-2021 asks for it, kept by hand on paper today): for each fridge and
freezer of a site and day, its reading at fixed times and every excursion with its alert, compiled from the
cabinet sensors' observations and the `cold_storage` alerts; cabinets without a sensor from the readings staff
wrote down (cold_manual.py)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from devices.facility import Site
from devices.kinds import DeviceKind, TemperatureRole
from server.models import Alert, ColdReading, Observation
from server.records.cold_manual import limits
from server.rollup import readings_near

LOG_TIMES = (time(8), time(14), time(20))  # the kitchen's fixed readings, site time
NEAR = timedelta(minutes=30)  # a reading this close to a fixed time stands for it
COLD = (TemperatureRole.FRIDGE, TemperatureRole.FREEZER)


@dataclass(frozen=True)
class Reading:
    """A fixed-time entry: the reading nearest that time (None: no reading within NEAR)."""

    due: datetime
    at: datetime | None
    temperature_c: float | None
    in_range: bool | None
    by: str | None = None  # who wrote it down (None: the sensor)


@dataclass(frozen=True)
class CabinetLog:
    """One cabinet's day."""

    device: str
    role: str
    min: float | None
    max: float | None
    readings: list[Reading]
    excursions: list[dict[str, Any]]
    source: str = "sensor"  # or "by hand"


def cold_log(session: Session, site: Site, day: date) -> list[CabinetLog]:
    """Every fridge and freezer of the site on `day` (the site's calendar day)."""
    start = datetime.combine(day, time(0), tzinfo=site.zone)
    end = start + timedelta(days=1)
    logs = []
    for device in site.devices:
        if device.kind is not DeviceKind.TEMPERATURE_SENSOR or device.role not in COLD:
            continue
        limits = site.limits_of(device)
        low, high = (limits.min, limits.max) if limits else (None, None)
        readings = [_nearest(session, site.id, device.id, datetime.combine(day, t, tzinfo=site.zone), low, high)
                    for t in LOG_TIMES]
        logs.append(CabinetLog(device.id, device.role.value if device.role else "", low, high, readings,
                               _excursions(session, site.id, device.id, start, end)))
    return logs + [_by_hand(session, site, cabinet.id, cabinet.role, day) for cabinet in site.food.cabinets]


def _by_hand(session: Session, site: Site, cabinet: str, role: str, day: date) -> CabinetLog:
    """A cabinet without a sensor: the hand readings nearest the fixed times, and its excursions."""
    start = datetime.combine(day, time(0), tzinfo=site.zone)
    bounds = limits(site, role)
    rows = list(session.execute(select(ColdReading.at, ColdReading.temperature_c, ColdReading.in_range,
                                       ColdReading.by).where(
        ColdReading.site == site.id, ColdReading.cabinet == cabinet, ColdReading.at >= start - NEAR,
        ColdReading.at < start + timedelta(days=1) + NEAR)))
    readings = []
    for t in LOG_TIMES:
        due = datetime.combine(day, t, tzinfo=site.zone)
        near = [r for r in rows if abs(r.at - due) <= NEAR]
        best = min(near, key=lambda r: abs(r.at - due)) if near else None
        readings.append(Reading(due, best.at, best.temperature_c, best.in_range, best.by) if best
                        else Reading(due, None, None, None))
    return CabinetLog(cabinet, role, bounds.min, bounds.max, readings,
                      _excursions(session, site.id, cabinet, start, start + timedelta(days=1)), "by hand")


def _nearest(session: Session, site: str, device: str, due: datetime, low: float | None,
             high: float | None) -> Reading:
    """The temperature reading nearest the fixed time, within NEAR."""
    rows = session.execute(select(Observation.at, Observation.data).where(
        Observation.site == site, Observation.device == device, Observation.at >= due - NEAR,
        Observation.at <= due + NEAR))
    found = [(at, data["temperature_c"]) for at, data in rows if data.get("temperature_c") is not None]
    found += readings_near(session, site, device, "temperature_c", due, NEAR)  # hours past the raw retention
    if not found:
        return Reading(due, None, None, None)
    at, value = min(found, key=lambda r: abs(r[0] - due))
    inside = (low is None or value >= low) and (high is None or value <= high)
    return Reading(due, at, value, inside)


def _excursions(session: Session, site: str, device: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The cabinet's cold-storage alerts that were raised that day or still running into it."""
    query = select(Alert).where(Alert.site == site, Alert.rule == "cold_storage", Alert.subject == device,
                                Alert.raised_at < end,
                                or_(Alert.cleared_at.is_(None), Alert.cleared_at >= start)).order_by(Alert.raised_at)
    return [{"alert": a.id, "raised_at": a.raised_at, "cleared_at": a.cleared_at, "severity": a.severity,
             "status": a.status, "value": a.details.get("value"), "peak": a.details.get("peak"),
             "acked_by": a.acked_by,
             "resolution": a.resolution} for a in session.scalars(query)]


def as_csv(site: Site, day: date, logs: list[CabinetLog]) -> str:
    """The log as CSV, one row per fixed reading and per excursion (UTF-8; times in the site's zone)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["site", "day", "cabinet", "role", "min_c", "max_c", "entry", "time", "temperature_c",
                     "in_range", "alert", "cleared", "status"])
    for log in logs:
        head = [site.id, day.isoformat(), log.device, log.role, log.min, log.max]
        for r in log.readings:
            writer.writerow([*head, f"reading {r.due.strftime('%H:%M')}", _local(site, r.at), r.temperature_c,
                             r.in_range, "", "", ""])
        for e in log.excursions:
            writer.writerow([*head, "excursion", _local(site, e["raised_at"]), e["peak"] or e["value"], False,
                             e["alert"],
                             _local(site, e["cleared_at"]), e["status"]])
    return out.getvalue()


def _local(site: Site, at: datetime | None) -> str:
    """A time as the site reads it, or empty."""
    return site.local(at).strftime("%Y-%m-%d %H:%M:%S") if at else ""
