"""Silences, maintenance and drills: time-boxed, with author and reason, kept in the record after they end.

- A **silence** mutes a device, a room or zone, a rule kind or a whole site: alerts are still raised and
  recorded, tagged `muted="silence"`, but are not an alarm to notify.
- **Maintenance** takes a device (or every device of a room or zone) out of the rules: its observations are
  stored, the rules do not see them, it cannot go offline, and whatever it still raises (a timer set before,
  its Last Will when unplugged) is tagged `muted="maintenance"`.
- A **drill** (from the screen, for a zone and a time span): smoke and exit-door alerts inside it are tagged
  `muted="drill"` instead of raising a real alarm.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.durations import format_duration
from devices.equipment import Device
from devices.facility import Facility, Site
from server.models import Suppression
from server.registry import DEVICE_OFFLINE, EDGE_OFFLINE
from server.rules import BY_NAME
from server.rules.base import Raise

MAX_SPAN = timedelta(days=30)
# What care staff may do without a manager: mute what they are looking at for a night, run a drill.
STAFF_SILENCE = timedelta(hours=12)
STAFF_DRILL = timedelta(hours=4)
STAFF_SILENCE_SCOPES = frozenset({"room", "zone", "device"})
# Every alert kind a silence can name.
RULE_NAMES = (*BY_NAME, DEVICE_OFFLINE, EDGE_OFFLINE)
# Drills exercise the alarms people react to: fire (smoke) and exits (evacuation, wandering).
DRILL_RULES = frozenset({"smoke", "exit_door_night"})


class Mode(StrEnum):
    """What a suppression does."""

    SILENCE = "silence"
    MAINTENANCE = "maintenance"
    DRILL = "drill"


class Scope(StrEnum):
    """What a suppression covers."""

    SITE = "site"
    ROOM = "room"
    ZONE = "zone"
    DEVICE = "device"
    RULE = "rule"


EXPLAINS = {Mode.DRILL: 0, Mode.MAINTENANCE: 1, Mode.SILENCE: 2}  # which tag an alert covered twice gets

ALLOWED_SCOPES = {
    Mode.SILENCE: set(Scope),
    Mode.MAINTENANCE: {Scope.DEVICE, Scope.ROOM, Scope.ZONE},
    Mode.DRILL: {Scope.SITE, Scope.ROOM, Scope.ZONE},
}


class SuppressionError(ValueError):
    """A suppression that cannot be made or changed (unknown target, bad span, already ended)."""


def check(facility: Facility, rules: Iterable[str], *, site: str, mode: Mode, scope: Scope, target: str | None,
          starts_at: datetime, ends_at: datetime) -> None:
    """Refuse a suppression whose target does not exist or whose span makes no sense."""
    found = facility.site_by_id.get(site)
    if found is None:
        raise SuppressionError(f"no site {site!r}")
    if scope not in ALLOWED_SCOPES[mode]:
        allowed = ", ".join(sorted(ALLOWED_SCOPES[mode]))
        raise SuppressionError(f"a {mode.value} covers a {allowed}, not a {scope.value}")
    if ends_at <= starts_at or ends_at - starts_at > MAX_SPAN:
        raise SuppressionError(f"the span must end after it starts and last at most {MAX_SPAN.days} days")
    if scope is Scope.SITE:
        return
    known = {Scope.ROOM: set(found.room_by_id), Scope.ZONE: set(zone_rooms(found)),
             Scope.DEVICE: set(found.device_by_id), Scope.RULE: set(rules)}[scope]
    if target not in known:
        raise SuppressionError(f"no {scope.value} {target!r} in site {site!r}")


def staff_may(mode: Mode, scope: Scope, span: timedelta) -> str | None:
    """Why care staff (not managers) may not start this suppression, or None if they may.

    A silence of a whole site or of a rule kind, or a long one, can hide a real fire: a manager decides that.
    """
    if mode is Mode.MAINTENANCE:
        return "only managers put devices into maintenance"
    if mode is Mode.SILENCE and scope.value not in STAFF_SILENCE_SCOPES:
        return "only managers silence a whole site or an alert kind"
    most = STAFF_SILENCE if mode is Mode.SILENCE else STAFF_DRILL
    if span > most:
        return f"care staff may start a {mode.value} of at most {format_duration(most)}; longer needs a manager"
    return None


def create(session: Session, *, site: str, mode: Mode, scope: Scope, target: str | None, starts_at: datetime,
           ends_at: datetime, author: str, reason: str, now: datetime) -> Suppression:
    """Record a suppression (checked by `check` first)."""
    row = Suppression(site=site, mode=mode.value, scope=scope.value, target=None if scope is Scope.SITE else target,
                      starts_at=starts_at, ends_at=ends_at, author=author, reason=reason, created_at=now)
    session.add(row)
    session.flush()
    return row


def end(session: Session, suppression_id: int, *, actor: str, at: datetime) -> Suppression:
    """End a suppression early; it stays in the record with who ended it."""
    row = session.get(Suppression, suppression_id)
    if row is None:
        raise LookupError(f"no suppression {suppression_id}")
    if row.ended_at is not None or row.ends_at <= at:
        raise SuppressionError(f"suppression {suppression_id} has already ended")
    row.ended_at, row.ended_by = at, actor
    return row


def current(session: Session, at: datetime, site: str | None = None) -> list[Suppression]:
    """Suppressions in force now or starting later (not ended, not expired)."""
    query = select(Suppression).where(Suppression.ends_at > at, Suppression.ended_at.is_(None))
    if site:
        query = query.where(Suppression.site == site)
    return list(session.scalars(query.order_by(Suppression.starts_at)))


def history(session: Session, site: str | None = None, limit: int = 200) -> list[Suppression]:
    """Every suppression, newest first."""
    query = select(Suppression).order_by(Suppression.id.desc()).limit(limit)
    if site:
        query = query.where(Suppression.site == site)
    return list(session.scalars(query))


def zone_rooms(site: Site) -> dict[str, str]:
    """Room id of every zone."""
    return {z.id: r.id for r in site.rooms() for z in r.zones}


@dataclass(frozen=True)
class Active:
    """A suppression as the pipeline keeps it in memory."""

    id: int
    site: str
    mode: Mode
    scope: Scope
    room: str | None  # the room a room or zone scope resolves to
    target: str | None
    starts_at: datetime
    ends_at: datetime

    def live(self, at: datetime) -> bool:
        """In force at `at`."""
        return self.starts_at <= at < self.ends_at


class Mutes:
    """The suppressions in force, indexed for the pipeline thread; reloaded when the API changes them."""

    def __init__(self, facility: Facility) -> None:
        self.facility = facility
        self.items: list[Active] = []

    def load(self, session: Session, at: datetime) -> None:
        """Read the suppressions not yet over."""
        self.items = [self._active(row) for row in current(session, at)]

    def _active(self, row: Suppression) -> Active:
        """Memory form of a row, with a zone resolved to its room."""
        site = self.facility.site_by_id.get(row.site)
        room = row.target if row.scope == Scope.ROOM else None
        if row.scope == Scope.ZONE and site is not None:
            room = zone_rooms(site).get(row.target or "")
        return Active(row.id, row.site, Mode(row.mode), Scope(row.scope), room, row.target, row.starts_at, row.ends_at)

    def in_maintenance(self, site: str, device: Device, at: datetime) -> bool:
        """Whether a device is out of the rules now."""
        return any(m.mode is Mode.MAINTENANCE and m.site == site and m.live(at) and _covers_device(m, device)
                   for m in self.items)

    def muting(self, site: str, rule: str, action: Raise, at: datetime) -> Active | None:
        """The drill, maintenance or silence an alert falls under, if any, in that order: the first explains
        the alarm best. Maintenance covers what its devices raise whatever the rule (a timer set before it
        began, the Last Will of a device unplugged for it)."""
        found = [m for m in self.items if m.site == site and m.live(at)
                 and (m.mode is not Mode.DRILL or rule in DRILL_RULES) and self._covers_alert(m, rule, action)]
        found.sort(key=lambda m: EXPLAINS[m.mode])
        return found[0] if found else None

    def _covers_alert(self, m: Active, rule: str, action: Raise) -> bool:
        """Whether an alert lies inside a suppression's scope."""
        if m.scope is Scope.SITE:
            return True
        if m.scope is Scope.RULE:
            return rule == m.target
        if m.scope in (Scope.ROOM, Scope.ZONE):
            return action.room is not None and action.room == m.room
        site = self.facility.site_by_id.get(m.site)
        device = site.device_by_id.get(m.target or "") if site else None
        if device is None:
            return False
        head = action.subject.split("/", 1)[0]
        # A bed's alerts come from its mat; a room's (the bathroom) from the sensors in it.
        return head in {device.id, device.location.bed} or (head == device.location.room == action.room)


def _covers_device(m: Active, device: Device) -> bool:
    """Whether a maintenance window covers a device."""
    if m.scope is Scope.DEVICE:
        return m.target == device.id
    return m.room is not None and device.location.room == m.room
