"""What rules are made of: pure functions of (observation, state, now) that return a new state and actions."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar, Protocol

from devices.basics import Window
from devices.equipment import Device
from devices.facility import Site
from devices.kinds import DeviceKind, Severity
from devices.messages import Reading

State = dict[str, Any]


@dataclass(frozen=True)
class Obs:
    """An observation as rules see it: which device, where, when, what."""

    site: Site
    device: Device
    at: datetime
    reading: Reading
    ident: str | None = None  # the observation's id (what an alert's snapshot is filed under)


@dataclass(frozen=True)
class Raise:
    """Open an alert for `subject` (or mark the open one active again)."""

    subject: str
    severity: Severity
    room: str | None
    details: dict[str, Any] = field(default_factory=dict)
    count: bool = True  # False: only update the open alert's details (no new occurrence)


@dataclass(frozen=True)
class Clear:
    """The condition behind the alert for `subject` has ended."""

    subject: str


Action = Raise | Clear


@dataclass
class Step:
    """A rule's answer: its new state (None forgets the key), a timer (None cancels it) and actions."""

    state: State | None
    due: datetime | None = None
    actions: list[Action] = field(default_factory=list)


class Rule(Protocol):
    """A safety rule. Pure: no clock, no database; the engine persists state and timers."""

    name: ClassVar[str]

    def key(self, site: Site, device: Device) -> str | None:
        """State key an observation of `device` belongs to; None when the rule ignores the device."""
        ...

    def observe(self, obs: Obs, state: State, due: datetime | None) -> Step:
        """React to an observation; `due` is the key's pending timer, if any."""
        ...

    def fire(self, site: Site, key: str, state: State, now: datetime) -> Step:
        """The key's timer has come due at `now`."""
        ...


def bed_of(device: Device) -> str | None:
    """The bed a bed sensor lies in (None for any other device)."""
    return device.location.bed if device.kind is DeviceKind.BED_SENSOR else None


def ts(value: datetime) -> float:
    """Datetime to the epoch seconds kept in JSON state."""
    return value.timestamp()


def dt(value: float) -> datetime:
    """Epoch seconds from state back to an aware UTC datetime."""
    return datetime.fromtimestamp(value, UTC)


def in_window(site: Site, window: Window, at: datetime) -> bool:
    """Whether `at` falls in a daily window, in the site's time zone."""
    return window.contains(site.local(at).time())


def in_night(site: Site, at: datetime) -> bool:
    """Whether `at` falls in the site's night window, in the site's time zone."""
    return in_window(site, site.schedules.night, at)


def at_local(site: Site, day: date, clock: time) -> datetime:
    """The instant a wall-clock time happens at the site on a given day (a time skipped by DST moves past the gap)."""
    local = datetime.combine(day, clock, tzinfo=site.zone)
    # A wall time inside a spring-forward gap does not exist: zoneinfo reads it with the old offset,
    # which lands after the gap once normalised through UTC.
    return local.astimezone(UTC)


def next_time(site: Site, clock: time, after: datetime) -> datetime:
    """The next instant strictly after `after` when the site's wall clock shows `clock`."""
    today = site.local(after).date()
    for offset in range(0, 3):
        candidate = at_local(site, today + timedelta(days=offset), clock)
        if candidate > after:
            return candidate
    raise AssertionError("a wall-clock time happens at least every other day")  # pragma: no cover


def next_change(site: Site, window: Window, after: datetime) -> datetime | None:
    """The next instant after `after` when `at` enters or leaves the window; None for an all-day window."""
    if window.start == window.end:
        return None
    return min(next_time(site, window.start, after), next_time(site, window.end, after))


def next_night_start(site: Site, at: datetime) -> datetime:
    """`at` itself if it is night, else the start of the next night window (site time zone)."""
    if in_night(site, at):
        return at
    return next_time(site, site.schedules.night.start, at)
