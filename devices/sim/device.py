"""One simulated device: the day model's state, a scenario's override, and when to report."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from random import Random
from typing import Any

from devices.equipment import Device, Protocol
from devices.facility import Site
from devices.kinds import DeviceKind
from devices.messages import Reading

Fields = dict[str, Any]

PULSE_CLEAR = timedelta(seconds=1)
MIN_EVERY = timedelta(seconds=5)
MAX_EVERY = timedelta(minutes=10)
# A change smaller than this is noise a real device would not report before its next period.
TOLERANCE: dict[str, float] = {
    "temperature_c": 0.3,
    "humidity_pct": 3.0,
    "voltage_v": 5.0,
    "battery_pct": 1.0,
    "heart_rate_bpm": 3.0,
    "respiration_rpm": 2.0,
}
# Fields that follow others (current follows power) or only grow (energy): never a reason to report.
QUIET = frozenset({"current_a", "energy_wh"})
DECIMALS = {"current_a": 3, "battery_pct": 0}
# Mains-powered devices: plugs, mmWave presence radars, the wired smart mat (native protocol) and Wi-Fi
# devices (Shelly, Tasmota), which neither run on batteries nor report a charge.
MAINS = frozenset({DeviceKind.POWER_PLUG, DeviceKind.PRESENCE_SENSOR})
MAINS_PROTOCOLS = frozenset({Protocol.NATIVE, Protocol.SHELLY, Protocol.TASMOTA})


def report_every(site: Site, device: Device) -> timedelta:
    """Periodic report interval: a third of the offline threshold, so one lost report never looks offline."""
    every = site.offline_after(device) / 3
    return max(MIN_EVERY, min(MAX_EVERY, every))


def has_battery(device: Device) -> bool:
    """Whether the device runs on a battery and so reports its charge."""
    return device.kind not in MAINS and device.protocol not in MAINS_PROTOCOLS


@dataclass
class SimDevice:
    """State of one device; the day model writes `base`, a scenario holding it writes `override`."""

    device: Device
    every: timedelta
    base: Fields = field(default_factory=dict)
    override: Fields = field(default_factory=dict)
    holder: str | None = None
    silent_until: datetime | None = None
    last_sent: datetime | None = None
    next_due: datetime | None = None
    sent: Fields = field(default_factory=dict)
    pulses: list[Fields] = field(default_factory=list)

    @property
    def id(self) -> str:
        """The device id."""
        return self.device.id

    def state(self) -> Fields:
        """What the device reports now: the day's state with the scenario's fields laid over it."""
        return {k: v for k, v in {**self.base, **self.override}.items() if v is not None}

    def set(self, **fields: Any) -> None:
        """Day model: set fields (None removes one)."""
        _merge(self.base, fields)

    def force(self, **fields: Any) -> None:
        """Scenario: set fields that win over the day model until released (None hides the day's value)."""
        self.override.update(fields)

    def unforce(self, *keys: str) -> None:
        """Scenario: let the day model's value of these fields through again."""
        for key in keys:
            self.override.pop(key, None)

    def scripted(self, key: str) -> bool:
        """Whether a scenario has taken the field over (even to hide it): the day model leaves it alone."""
        return key in self.override

    def pulse(self, **fields: Any) -> None:
        """Send one momentary report (an SOS press) on top of the state, once."""
        self.pulses.append(fields)

    def hold(self, holder: str) -> None:
        """A scenario takes the device over."""
        self.holder = holder

    def release(self) -> None:
        """Hand the device back to the day model; it reports its own state again at once."""
        if self.silent_until is not None:
            self.next_due = None  # a device coming back reports at once
        self.holder = None
        self.override.clear()
        self.silent_until = None

    def report(self, now: datetime, rng: Random) -> list[Reading]:
        """Readings to publish at `now`: pulses (carrying the state too), else the state if changed or due."""
        if self.silent_until is not None and now < self.silent_until:
            return []
        if self.silent_until is not None:
            self.silent_until, self.next_due = None, now  # back from silence: report at once
        state = self.state()
        out = [Reading(**_rounded({**state, **p})) for p in self.pulses]
        pulsed, self.pulses = bool(self.pulses), []
        due = self.next_due is None or now >= self.next_due
        if not out and (due or _significant(self.sent, state)):
            out.append(Reading(**_rounded(state)))
        if out:
            self._sent(now, state, rng)
        if pulsed:
            self.next_due = now + PULSE_CLEAR  # like zigbee2mqtt clearing `action` right after a press
        return out

    def _sent(self, now: datetime, state: Fields, rng: Random) -> None:
        """Remember a report; the first period is shortened at random so devices do not report in step."""
        first = self.last_sent is None
        self.last_sent, self.sent = now, state
        self.next_due = now + (self.every * rng.uniform(0.5, 1.0) if first else self.every)


def _merge(target: Fields, fields: Fields) -> None:
    """Set fields in place; None deletes."""
    for key, value in fields.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value


def _significant(before: Fields, now: Fields) -> bool:
    """Whether a device would report this change right away."""
    if before.keys() != now.keys():
        return True
    for key, value in now.items():
        old = before[key]
        if key in QUIET or old == value:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            return True
        if abs(value - old) >= _tolerance(key, old):
            return True
    return False


def _tolerance(key: str, old: float) -> float:
    """Reporting threshold of a numeric field; power reports on 5 % or 10 W, whichever is larger."""
    if key == "power_w":
        return max(10.0, 0.05 * abs(old))
    return TOLERANCE.get(key, 0.0)


def _rounded(fields: Fields) -> Fields:
    """Numbers rounded as devices send them."""
    out: Fields = {}
    for key, value in fields.items():
        if isinstance(value, float):
            digits = DECIMALS.get(key, 1)
            value = round(value, digits) if digits else float(round(value))
        out[key] = value
    return out
