"""What rules are made of: pure functions of (observation, state, now) that return a new state and actions."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol

from devices.facility import Device, Site
from devices.kinds import Severity
from devices.messages import Reading

State = dict[str, Any]


@dataclass(frozen=True)
class Obs:
    """An observation as rules see it: which device, where, when, what."""

    site: Site
    device: Device
    at: datetime
    reading: Reading


@dataclass(frozen=True)
class Raise:
    """Open an alert for `subject` (or mark the open one active again)."""

    subject: str
    severity: Severity
    room: str | None
    details: dict[str, Any] = field(default_factory=dict)


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


def ts(value: datetime) -> float:
    """Datetime to the epoch seconds kept in JSON state."""
    return value.timestamp()


def dt(value: float) -> datetime:
    """Epoch seconds from state back to an aware UTC datetime."""
    return datetime.fromtimestamp(value, UTC)


def in_night(site: Site, at: datetime) -> bool:
    """Whether `at` falls in the site's night window, in the site's time zone."""
    return site.schedules.night.contains(site.local(at).time())


def next_night_start(site: Site, at: datetime) -> datetime:
    """`at` itself if it is night, else the start of the next night window (site time zone)."""
    if in_night(site, at):
        return at
    local = site.local(at)
    start = local.replace(hour=site.schedules.night.start.hour, minute=site.schedules.night.start.minute,
                          second=0, microsecond=0)
    if start <= local:
        start += timedelta(days=1)
    return start.astimezone(UTC)
