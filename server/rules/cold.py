"""Cold storage: a fridge or freezer outside its limits for longer than its `for` (a door opening is not enough)."""

from datetime import datetime
from typing import ClassVar

from devices.facility import Device, Site, TemperatureLimits
from devices.kinds import DeviceKind, Severity
from server.rules.base import Clear, Obs, Raise, State, Step, dt, ts


class ColdStorage:
    """State per cabinet: since when it has been out of range, and its last temperature."""

    name: ClassVar[str] = "cold_storage"

    def key(self, site: Site, device: Device) -> str | None:
        """Temperature sensors with limits: fridges and freezers, or any sensor given its own `limits`."""
        if device.kind is DeviceKind.TEMPERATURE_SENSOR and site.limits_of(device) is not None:
            return device.id
        return None

    def observe(self, obs: Obs, state: State, due: datetime | None) -> Step:
        """Start the clock when the temperature leaves the range; stop and clear when it is back."""
        temperature = obs.reading.temperature_c
        limits = obs.site.limits_of(obs.device)
        if temperature is None or limits is None:
            return Step(state, due)
        if _inside(limits, temperature):
            cleared = [Clear(obs.device.id)] if "out_since" in state else []
            return Step({"last_c": temperature}, None, cleared)
        if "out_since" in state:
            peak = _worst(limits, state["peak_c"], temperature)
            return Step({**state, "last_c": temperature, "peak_c": peak}, due)
        new = {"out_since": ts(obs.at), "last_c": temperature, "peak_c": temperature}
        return Step(new, obs.at + limits.for_)

    def fire(self, site: Site, key: str, state: State, now: datetime) -> Step:
        """Out of range for the whole `for`: raise with the temperatures seen."""
        device = site.device_by_id.get(key)
        limits = site.limits_of(device) if device else None
        if device is None or limits is None or "out_since" not in state:
            return Step(state)
        details = {
            "since": dt(state["out_since"]).isoformat(),
            "temperature_c": state.get("last_c"),
            "peak_c": state.get("peak_c"),
            "min_c": limits.min_c,
            "max_c": limits.max_c,
        }
        return Step(state, None, [Raise(key, Severity.HIGH, device.location.room, details)])


def _inside(limits: TemperatureLimits, value: float) -> bool:
    """Within [min_c, max_c], open ends allowed."""
    return (limits.min_c is None or value >= limits.min_c) and (limits.max_c is None or value <= limits.max_c)


def _worst(limits: TemperatureLimits, a: float, b: float) -> float:
    """Of two readings, the one further outside the range."""
    return max(a, b, key=lambda v: _distance(limits, v))


def _distance(limits: TemperatureLimits, value: float) -> float:
    """How far a reading lies outside the range (0 inside)."""
    above = value - limits.max_c if limits.max_c is not None else 0.0
    below = limits.min_c - value if limits.min_c is not None else 0.0
    return max(above, below, 0.0)
