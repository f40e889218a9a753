"""Raw observations older than `retention_observations_days` become hourly aggregates (`observation_hours`).

One transaction per site and UTC hour writes the hour's aggregates and deletes its raw rows together, so a crash
leaves every hour either raw or rolled up, never half; a second run finds nothing to do; a row arriving late for an
hour already rolled up is merged into its aggregate on the next run. Only whole hours before the cutoff (itself
rounded down to the hour) are taken, so the hour the cutoff falls in stays raw until it has passed entirely.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, sessionmaker

from server.models import Observation, ObservationHour

log = logging.getLogger(__name__)
HOUR = timedelta(hours=1)
CHUNK = 5000  # ids per DELETE: SQLite limits the parameters of one statement


def hour_of(at: datetime) -> datetime:
    """The start of the UTC hour `at` falls in."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def rollup(sessions: sessionmaker[Session], now: datetime, days: int) -> dict[str, int]:
    """Roll up every site's whole hours older than `days`; raw rows rolled up, per site."""
    cutoff = hour_of(now - timedelta(days=days))
    with sessions() as session:
        sites = list(sites_of(session, Observation.site))
    return {site: rollup_site(sessions, site, cutoff) for site in sites}


def sites_of(session: Session, column: Any) -> Iterator[str]:
    """The sites in a big table's indexed site column, one index lookup each (a DISTINCT reads the whole table)."""
    site = session.scalar(select(func.min(column)))
    while site is not None:
        yield site
        site = session.scalar(select(func.min(column)).where(column > site))


def rollup_site(sessions: sessionmaker[Session], site: str, cutoff: datetime) -> int:
    """Roll up the site's hours before `cutoff` (an hour's start), oldest first, one transaction per hour."""
    done = 0
    while True:
        with sessions.begin() as session:
            _lock(session, site)
            first = session.scalar(select(func.min(Observation.at)).where(Observation.site == site,
                                                                          Observation.at < cutoff))
            if first is None:
                break
            done += roll_hour(session, site, hour_of(first))
    if done:
        log.info("rollup: site %s, %d raw observations before %s now hourly aggregates", site, done, cutoff)
    return done


def _lock(session: Session, site: str) -> None:
    """Take the write lock first: two runs never merge the same rows twice (PostgreSQL), and SQLite's writer lock
    is waited for here, not refused mid-transaction after our reads (WAL cannot upgrade a stale read)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql_text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"rollup:{site}"})
    else:
        session.execute(delete(ObservationHour).where(sql_text("1 = 0")))


def roll_hour(session: Session, site: str, hour: datetime) -> int:
    """Aggregate the site's raw rows of one hour into its devices' rows (merging any already there); delete them."""
    rows = session.execute(select(Observation.id, Observation.device, Observation.kind, Observation.at,
                                  Observation.data)
                           .where(Observation.site == site, Observation.at >= hour, Observation.at < hour + HOUR)
                           .order_by(Observation.device, Observation.at, Observation.seq)).all()
    kept = {r.device: r for r in session.scalars(select(ObservationHour).where(ObservationHour.site == site,
                                                                               ObservationHour.hour == hour))}
    for device, group in groupby(rows, key=lambda r: r.device):
        readings = list(group)
        new = summarise((r.at, r.data) for r in readings)
        row = kept.get(device)
        if row is None:
            session.add(ObservationHour(site=site, device=device, hour=hour, kind=readings[0].kind,
                                        count=len(readings), first_at=readings[0].at, last_at=readings[-1].at,
                                        fields=stored(new)))
            continue
        older, newer = (loaded(row.fields), new) if row.first_at <= readings[0].at else (new, loaded(row.fields))
        row.fields = stored(merge_fields(older, newer))  # a new dict: the ORM sees the change
        row.count += len(readings)
        row.first_at, row.last_at = min(row.first_at, readings[0].at), max(row.last_at, readings[-1].at)
    ids = [r.id for r in rows]  # by id: a row ingested meanwhile for this hour stays raw for the next run
    for start in range(0, len(ids), CHUNK):
        session.execute(delete(Observation).where(Observation.id.in_(ids[start:start + CHUNK])))
    return len(rows)


def summarise(readings: Iterable[tuple[datetime, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Running statistics of each field over readings in time order (numbers keep their sum until stored)."""
    fields: dict[str, dict[str, Any]] = {}
    for _, data in readings:
        for name, value in _flat(data or {}):
            one = _single(value)
            if one is None:
                continue
            now = fields.get(name)
            fields[name] = one if now is None else (_merge(now, one) or now)
    return fields


def _flat(data: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Fields with nested objects' fields named `outer.inner` (a camera's stats)."""
    for name, value in data.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", value


def _single(value: Any) -> dict[str, Any] | None:
    """The statistics of one reading; None for what is not charted (lists, nulls)."""
    if isinstance(value, bool):  # before numbers: a bool is an int to Python
        return {"n": 1, "true": int(value), "changes": 0, "first": value, "last": value}
    if isinstance(value, int | float):
        return {"n": 1, "min": value, "max": value, "sum": float(value), "first": value, "last": value}
    if isinstance(value, str):
        return {"n": 1, "counts": {value: 1}, "last": value}
    return None


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    """Statistics of `a`'s readings followed by `b`'s; None when they are not of one type (kept: `a`)."""
    n = a["n"] + b["n"]
    if "sum" in a and "sum" in b:
        return {"n": n, "min": min(a["min"], b["min"]), "max": max(a["max"], b["max"]), "sum": a["sum"] + b["sum"],
                "first": a["first"], "last": b["last"]}
    if "true" in a and "true" in b:
        return {"n": n, "true": a["true"] + b["true"], "changes": a["changes"] + b["changes"]
                + (a["last"] != b["first"]), "first": a["first"], "last": b["last"]}
    if "counts" in a and "counts" in b:
        counts = dict(a["counts"])
        for value, seen in b["counts"].items():
            counts[value] = counts.get(value, 0) + seen
        return {"n": n, "counts": counts, "last": b["last"]}
    return None


def merge_fields(older: dict[str, dict[str, Any]], newer: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Two hours' worth of running statistics, field by field, the older readings first."""
    merged = dict(older)
    for name, stats in newer.items():
        merged[name] = stats if name not in merged else (_merge(merged[name], stats) or merged[name])
    return merged


def stored(fields: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Running statistics as the table keeps them: numbers with their mean instead of their sum."""
    out = {}
    for name, stats in fields.items():
        if "sum" in stats:
            stats = {**{k: v for k, v in stats.items() if k != "sum"}, "mean": stats["sum"] / stats["n"]}
        out[name] = stats
    return out


def loaded(fields: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Stored statistics back as running ones, to merge late readings into."""
    out = {}
    for name, stats in fields.items():
        if "mean" in stats:
            stats = {**{k: v for k, v in stats.items() if k != "mean"}, "sum": stats["mean"] * stats["n"]}
        out[name] = stats
    return out


def hours(session: Session, site: str, device: str, start: datetime, end: datetime) -> list[ObservationHour]:
    """A device's aggregates of the hours overlapping [start, end), oldest first."""
    return list(session.scalars(select(ObservationHour).where(
        ObservationHour.site == site, ObservationHour.device == device, ObservationHour.hour > start - HOUR,
        ObservationHour.hour < end).order_by(ObservationHour.hour)))


def purge(session: Session, site: str, before: datetime) -> int:
    """Delete the site's aggregates of hours wholly before `before` (the records' retention); how many went."""
    return session.execute(delete(ObservationHour).where(ObservationHour.site == site,
                                                         ObservationHour.hour < hour_of(before))).rowcount or 0


def readings_near(session: Session, site: str, device: str, field: str, due: datetime,
                  near: timedelta) -> list[tuple[datetime, Any]]:
    """Past the raw retention: the first and last reading of `field` in each aggregated hour within `near` of
    `due` (so the reading nearest a fixed time on the hour is exact), when every reading of the hour carried it."""
    found = []
    for row in hours(session, site, device, due - near, due + near):
        stats = row.fields.get(field)
        if stats and stats["n"] == row.count:  # the row's first and last reading are this field's
            found += [(at, value) for at, value in ((row.first_at, stats["first"]), (row.last_at, stats["last"]))
                      if abs(at - due) <= near]
    return found


def turned_since(session: Session, site: str, devices: list[str], field: str, value: bool,
                 before: datetime) -> datetime | None:
    """Past the raw retention: about when (to the hour) the devices' boolean `field` last became `value`, the end
    of the newest aggregated hour before `before` holding a reading of the other value; None: no such hour."""
    seen = ObservationHour.fields[(field, "true")].as_integer()  # readings of True; of False when value is True
    if value:
        seen = ObservationHour.fields[(field, "n")].as_integer() - seen
    hour = session.scalar(select(ObservationHour.hour).where(
        ObservationHour.site == site, ObservationHour.device.in_(devices), ObservationHour.hour < before, seen > 0)
        .order_by(ObservationHour.hour.desc()).limit(1))
    return None if hour is None else min(hour + HOUR, before)
