"""The resident view, per bed: tonight's bed exits and time out of bed, the bed now, the last turn and the next one
due, the latest vitals, and the bed's alerts tonight. Computed from stored data only; residents appear by bed and
care-profile id, never by name."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from devices.facility import Site
from devices.kinds import DeviceKind
from server import rollup
from server.models import Alert, CareEvent, Observation, RuleState, Snapshot
from server.rules.base import at_local, dt, next_time
from server.rules.beds import confirm_delay
from server.rules.turning import RepositioningDue, interval
from server.texts import rule_title
from server.views import subject_name

VITALS = (("heart_rate", "heart_rate_bpm"), ("respiration", "respiration_rpm"))


@dataclass(frozen=True)
class Night:
    """One night window in the site's time zone, as UTC instants."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Exit:
    """One time the bed was empty tonight; `out_s` counts only the part inside the night (and up to now)."""

    left_at: datetime  # the night's start when the bed was already empty then
    back_at: datetime | None  # None: not back yet (or not by the end of the night)
    out_s: float
    before_night: bool = False  # already out of bed when the night began


@dataclass(frozen=True)
class Vital:
    """The latest reading of one vital sign, and tonight's lowest and highest."""

    value: float
    at: datetime
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Turns:
    """The turning protocol of a bed: the last turn logged by staff and the rule's clock."""

    interval_s: float | None  # None: the resident is not on a turning protocol
    last_at: datetime | None = None
    last_by: str | None = None
    restarted_at: datetime | None = None  # a turn, movement in bed or coming back to bed restarts the clock
    due_at: datetime | None = None
    overdue: bool = False
    paused: bool = False  # out of bed: nobody to turn


@dataclass
class BedNight:
    """One bed's night as a nurse reads it."""

    site: str
    bed: str
    name: str
    room: str | None
    profile: str | None
    night: Night
    state: str  # in_bed, out, no_data
    since: datetime | None
    exits: list[Exit]
    turns: Turns
    vitals: dict[str, Vital]
    alerts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def out_s(self) -> float:
        """Total time out of bed tonight."""
        return sum(e.out_s for e in self.exits)

    def summary(self) -> dict[str, Any]:
        """The one-line summary of the bed list."""
        return {"site": self.site, "bed": self.bed, "name": self.name, "room": self.room, "care_profile": self.profile,
                "night": _night_out(self.night), "state": self.state, "since": self.since,
                "exits": len(self.exits), "out_s": self.out_s, "turns": _turns_out(self.turns),
                "vitals": {k: _vital_out(v) for k, v in self.vitals.items()}, "alerts": len(self.alerts)}

    def detail(self) -> dict[str, Any]:
        """The whole night: the summary with each exit and each alert."""
        exits = [{"left_at": e.left_at, "back_at": e.back_at, "returned": e.back_at is not None, "out_s": e.out_s,
                  "before_night": e.before_night} for e in self.exits]
        return {**self.summary(), "exit_list": exits, "alert_list": self.alerts}


def night_of(site: Site, now: datetime) -> Night:
    """The night now in progress, else the last one that ended (the day shift reads last night)."""
    window = site.schedules.night
    today = site.local(now).date()
    start = at_local(site, today, window.start)
    if start > now:
        start = at_local(site, today - timedelta(days=1), window.start)
    return Night(start, next_time(site, window.end, start))  # an all-day window (start == end) runs 24 h


def bed_night(db: Session, *, site: Site, bed: str, now: datetime, language: str, snapshots: bool) -> BedNight:
    """Tonight for one bed of a site; `snapshots`: whether the reader's role may see camera snapshots."""
    night = night_of(site, now)
    sensors = bed_sensors(site, bed)
    found = site.bed_by_id[bed]
    state, since = current_state(db, site=site.id, devices=sensors, now=now)
    return BedNight(
        site=site.id, bed=bed, name=found.name.get(language) if found.name else bed, room=site.room_of_bed.get(bed),
        profile=found.care_profile, night=night, state=state, since=since,
        exits=night_exits(db, site=site, bed=bed, devices=sensors, night=night, now=now),
        turns=turns(db, site=site, bed=bed, now=now), vitals=vitals(db, site=site.id, devices=sensors, night=night,
                                                                     now=now),
        alerts=bed_alerts(db, site=site, bed=bed, night=night, now=now, language=language, snapshots=snapshots),
    )


def bed_sensors(site: Site, bed: str) -> list[str]:
    """The ids of the bed sensors lying in a bed."""
    return [d.id for d in site.devices if d.kind is DeviceKind.BED_SENSOR and d.location.bed == bed]


def _occupancy(devices: list[str], site: str, value: bool | None = None) -> ColumnElement[bool]:
    """Observations of these devices that report occupancy (or this occupancy)."""
    occupied = Observation.data["occupied"].as_boolean()
    said = occupied.is_not(None) if value is None else occupied == value
    return and_(Observation.site == site, Observation.device.in_(devices), said)


def current_state(db: Session, *, site: str, devices: list[str], now: datetime) -> tuple[str, datetime | None]:
    """In bed or out, and since when (the first report of it after the last report of the other); no data."""
    if not devices:
        return "no_data", None
    last = db.execute(select(Observation.data["occupied"].as_boolean()).where(
        _occupancy(devices, site), Observation.at <= now).order_by(Observation.at.desc()).limit(1)).scalar()
    if last is None:
        return "no_data", None
    other = db.scalar(select(Observation.at).where(_occupancy(devices, site, not last), Observation.at <= now)
                      .order_by(Observation.at.desc()).limit(1))
    query = select(Observation.at).where(_occupancy(devices, site, last), Observation.at <= now)
    if other is not None:
        query = query.where(Observation.at > other)
    first = db.scalar(query.order_by(Observation.at).limit(1))
    if other is None and first is not None:  # not the other way in the raw days: the hourly aggregates know more
        first = rollup.turned_since(db, site, devices, "occupied", bool(last), first) or first
    return ("in_bed" if last else "out"), first


def night_exits(db: Session, *, site: Site, bed: str, devices: list[str], night: Night, now: datetime) -> list[Exit]:
    """The bed's empty spells that overlap the night, as long as confirms an exit (turning over is none)."""
    if not devices:
        return []
    before = db.execute(select(Observation.at, Observation.data["occupied"].as_boolean()).where(
        _occupancy(devices, site.id), Observation.at < night.start).order_by(Observation.at.desc()).limit(1)).first()
    changes = db.execute(select(Observation.at, Observation.data["occupied"].as_boolean()).where(
        _occupancy(devices, site.id), Observation.at >= night.start, Observation.at <= min(night.end, now))
        .order_by(Observation.at, Observation.seq)).all()
    spells = empty_spells([tuple(before)] if before else [], [tuple(c) for c in changes])
    return [e for e in (_clip(left, back, night, now) for left, back in spells)
            if e is not None and (e.back_at or now) - e.left_at >= confirm_delay(site, bed)]


def empty_spells(before: list[tuple[datetime, bool]], changes: list[tuple[datetime, bool]]
                 ) -> list[tuple[datetime, datetime | None]]:
    """(left, back) of each spell the occupancy reports show the bed empty; back is None while still empty."""
    spells: list[tuple[datetime, datetime | None]] = []
    left = before[0][0] if before and not before[0][1] else None
    for at, occupied in changes:
        if not occupied and left is None:
            left = at
        elif occupied and left is not None:
            spells.append((left, at))
            left = None
    if left is not None:
        spells.append((left, None))
    return spells


def _clip(left: datetime, back: datetime | None, night: Night, now: datetime) -> Exit | None:
    """The spell as an exit of this night: its time out counted inside the night and up to now."""
    start, end = max(left, night.start), min(back or now, night.end, now)
    if end <= start and back is not None:
        return None
    return Exit(start, back, max(0.0, (end - start).total_seconds()), before_night=left < night.start)


def turns(db: Session, *, site: Site, bed: str, now: datetime) -> Turns:
    """The last turn logged and when the next is due, on the turning rule's own clock so it agrees with its alert."""
    every = interval(site, bed)
    if every is None:
        return Turns(None)
    logged = db.scalar(select(CareEvent).where(CareEvent.site == site.id, CareEvent.bed == bed,
                                               CareEvent.kind == "turn", CareEvent.at <= now)
                       .order_by(CareEvent.at.desc()).limit(1))
    row = db.get(RuleState, (site.id, RepositioningDue.name, bed))
    state = row.state if row is not None else {}
    last_at, last_by = (logged.at, logged.actor) if logged else (None, None)
    if state.get("occupied") is False:
        return Turns(every.total_seconds(), last_at, last_by, paused=True)
    restarted = dt(state["turned"]) if "turned" in state else last_at
    due = restarted + every if restarted else None
    return Turns(every.total_seconds(), last_at, last_by, restarted, due, overdue=due is not None and now >= due)


def vitals(db: Session, *, site: str, devices: list[str], night: Night, now: datetime) -> dict[str, Vital]:
    """The latest heart and breathing rate with their time, and tonight's range; a sensor without them has none."""
    found: dict[str, Vital] = {}
    for name, key in VITALS:
        value = Observation.data[key].as_float()
        mine = and_(Observation.site == site, Observation.device.in_(devices), value.is_not(None),
                    Observation.at <= now)
        latest = db.execute(select(Observation.at, value).where(mine).order_by(Observation.at.desc()).limit(1)).first()
        if latest is None:
            continue
        low, high = db.execute(select(func.min(value), func.max(value)).where(
            mine, Observation.at >= night.start, Observation.at < night.end)).one()
        found[name] = Vital(latest[1], latest[0], low, high)
    return found


def bed_alerts(db: Session, *, site: Site, bed: str, night: Night, now: datetime, language: str, snapshots: bool
               ) -> list[dict[str, Any]]:
    """Alerts of the bed (its vitals, its sensors) and camera alerts of its room, raised tonight or still open."""
    room = site.room_by_id.get(site.room_of_bed.get(bed, ""))
    subjects = [bed, *bed_sensors(site, bed), *(z.id for z in (room.zones if room else []))]
    rows = db.scalars(select(Alert).where(
        Alert.site == site.id, or_(Alert.subject.in_(subjects), Alert.subject.startswith(f"{bed}/", autoescape=True)),
        Alert.raised_at < night.end, or_(Alert.last_raised_at >= night.start, Alert.status != "resolved"))
        .order_by(Alert.raised_at))
    return [_alert_out(db, site, a, now, language, snapshots) for a in rows]


def _alert_out(db: Session, site: Site, alert: Alert, now: datetime, language: str, snapshots: bool
               ) -> dict[str, Any]:
    """An alert as the bed page lists it; its snapshot only for a role that may see it, and while it is kept."""
    ident = (alert.details or {}).get("snapshot") if snapshots else None
    kept = ident and db.scalar(select(Snapshot.expires_at).where(Snapshot.id == ident))
    return {"id": alert.id, "rule": alert.rule, "title": rule_title(alert.rule, language),
            "subject": alert.subject, "subject_name": subject_name(site, alert.subject, language),
            "severity": alert.severity, "status": alert.status, "cleared": alert.cleared,
            "raised_at": alert.raised_at, "cleared_at": alert.cleared_at, "acked_by": alert.acked_by,
            "snapshot": f"/api/v1/snapshots/{ident}" if kept and kept > now else None}


def _night_out(night: Night) -> dict[str, datetime]:
    """The night window for JSON."""
    return {"start": night.start, "end": night.end}


def _turns_out(t: Turns) -> dict[str, Any] | None:
    """The turning protocol for JSON (None: not on one)."""
    if t.interval_s is None:
        return None
    return {"interval_s": t.interval_s, "last_at": t.last_at, "last_by": t.last_by, "restarted_at": t.restarted_at,
            "due_at": t.due_at, "overdue": t.overdue, "paused": t.paused}


def _vital_out(v: Vital) -> dict[str, Any]:
    """One vital sign for JSON."""
    return {"value": v.value, "at": v.at, "low": v.low, "high": v.high}
