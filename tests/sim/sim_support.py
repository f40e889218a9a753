"""Sim test helpers: step a World on a fake clock, watch what a server would see (last reading per device)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from devices.equipment import Device
from devices.facility import Site
from devices.kinds import DeviceKind, RoomType
from devices.messages import Reading
from devices.sim import World
from devices.thresholds import Limits

# 2026-03-03 00:00 in Asia/Shanghai, the reference site's zone.
MIDNIGHT = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@dataclass
class Watch:
    """How long a condition held without a break; `met_at` is when it first held longer than `limit`."""

    name: str
    holds: Callable[[datetime, "Trace"], bool]
    limit: timedelta | None = None  # None: met as soon as it holds
    since: datetime | None = None
    longest: timedelta = timedelta(0)
    met_at: datetime | None = None
    worst_at: datetime | None = None

    def update(self, now: datetime, trace: "Trace") -> None:
        """Sample the condition at `now`."""
        if not self.holds(now, trace):
            self.since = None
            return
        self.since = self.since or now
        if now - self.since > self.longest:
            self.longest, self.worst_at = now - self.since, self.since
        if self.met_at is None and (self.limit is None or now - self.since > self.limit):
            self.met_at = now


@dataclass
class Trace:
    """Feeds a World a clock and keeps, per device, the last reading and the longest silence."""

    world: World
    last: dict[str, Reading] = field(default_factory=dict)
    heard: dict[str, datetime] = field(default_factory=dict)
    silence: dict[str, timedelta] = field(default_factory=dict)
    alarms: list[tuple[datetime, str, Reading]] = field(default_factory=list)
    history: dict[str, list[tuple[datetime, Reading]]] = field(default_factory=dict)
    begun: datetime | None = None
    now: datetime | None = None

    @property
    def site(self) -> Site:
        """The simulated site."""
        return self.world.site

    def value(self, device_id: str, name: str) -> Any:
        """A field of the device's last reading (None if never heard or not reported)."""
        reading = self.last.get(device_id)
        return getattr(reading, name) if reading is not None else None

    def step(self, now: datetime) -> list[tuple[Device, Reading]]:
        """One tick of the world; remembers what was published."""
        self.begun = self.begun or now
        self.now = now
        published = self.world.step(now)
        for device, reading in published:
            gap = now - self.heard.get(device.id, self.begun)
            self.silence[device.id] = max(self.silence.get(device.id, timedelta(0)), gap)
            self.last[device.id], self.heard[device.id] = reading, now
            self.history.setdefault(device.id, []).append((now, reading))
            if reading.leak or reading.smoke or reading.pressed:
                self.alarms.append((now, device.id, reading))
        return published

    def run(self, start: datetime, length: timedelta, step: timedelta = SECOND, watches: Sequence[Watch] = (),
            each: Callable[[datetime, "Trace"], None] | None = None) -> datetime:
        """Step from `start` for `length`; returns the time after the last step."""
        now, end = start, start + length
        while now < end:
            self.step(now)
            for watch in watches:
                watch.update(now, self)
            if each is not None:
                each(now, self)
            now += step
        return now

    def longest_silence(self, device_id: str) -> timedelta:
        """Longest gap between reports so far, including the current one."""
        current = (self.now or self.begun or MIDNIGHT) - self.heard.get(device_id, self.begun or MIDNIGHT)
        return max(self.silence.get(device_id, timedelta(0)), current)


def sensors(site: Site) -> list[Device]:
    """Every device that publishes over MQTT (not the cameras)."""
    return [d for d in site.devices if d.kind is not DeviceKind.CAMERA]


def of_kind(site: Site, kind: DeviceKind) -> list[Device]:
    """Devices of a kind."""
    return [d for d in site.devices if d.kind is kind]


def in_night(site: Site, at: datetime) -> bool:
    """Whether an instant falls in the site's night window."""
    return site.schedules.night.contains(site.local(at).time())


def nobody_in(trace: Trace, room: str) -> bool:
    """Every presence sensor of a room last said unoccupied (False if the room has none)."""
    sensors_here = [d for d in of_kind(trace.site, DeviceKind.PRESENCE_SENSOR) if d.location.room == room]
    return bool(sensors_here) and all(trace.value(d.id, "occupied") is False for d in sensors_here)


def spells(trace: Trace, device_id: str, name: str, value: Any) -> list[tuple[datetime, datetime]]:
    """Spans during which the device's readings said `name` == `value` (an open one ends at the last step)."""
    out: list[tuple[datetime, datetime]] = []
    since: datetime | None = None
    for at, reading in trace.history.get(device_id, []):
        field_value = getattr(reading, name)
        if field_value is None:
            continue
        if field_value == value and since is None:
            since = at
        elif field_value != value and since is not None:
            out.append((since, at))
            since = None
    if since is not None and trace.now is not None:
        out.append((since, trace.now))
    return out


def pulses(trace: Trace, device_id: str, name: str) -> list[datetime]:
    """When the device reported `name` true (momentary fields such as `movement`)."""
    return [at for at, reading in trace.history.get(device_id, []) if getattr(reading, name)]


def bathroom_sensors(site: Site) -> dict[str, list[str]]:
    """Presence sensor ids per bathroom."""
    out: dict[str, list[str]] = {}
    for d in of_kind(site, DeviceKind.PRESENCE_SENSOR):
        if site.room_by_id[d.location.room].type is RoomType.BATHROOM:
            out.setdefault(d.location.room, []).append(d.id)
    return out


def vital_limits(site: Site, bed: str | None, setting: str) -> Limits:
    """Heart or breathing-rate limits of a bed's resident as the vitals rule reads them: profile over site."""
    profile = site.profile_of_bed(bed)
    own = getattr(profile, setting) if profile else None
    base: Limits = getattr(site.thresholds, setting)
    if own is None:
        return base
    return Limits.model_validate({**base.model_dump(by_alias=True), **own.model_dump(by_alias=True, exclude_none=True)})


def outside(limits: Limits, value: float | None) -> bool:
    """A value beyond the range (None is not)."""
    if value is None:
        return False
    return (limits.max is not None and value > limits.max) or (limits.min is not None and value < limits.min)
