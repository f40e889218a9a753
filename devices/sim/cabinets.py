"""Temperature sensors: cold stores cycling around their set point, a short rise when the door opens."""

import math
from datetime import datetime, timedelta
from random import Random

from devices.facility import Site, TemperatureLimits
from devices.kinds import TemperatureRole
from devices.sim.device import SimDevice
from devices.sim.timeline import inside

# Set point and compressor swing (°C) by role; humidity (%) inside.
SET_POINT = {
    TemperatureRole.FRIDGE: (4.0, 0.8),
    TemperatureRole.FREEZER: (-18.0, 1.0),
    TemperatureRole.ROOM: (23.0, 0.8),
    TemperatureRole.HOT_WATER: (58.0, 1.5),
}
HUMIDITY = {TemperatureRole.FRIDGE: 70.0, TemperatureRole.FREEZER: 60.0}
MAX_RISE = {TemperatureRole.FRIDGE: 2.5, TemperatureRole.FREEZER: 3.0}
RISE_SECONDS = 45.0  # an open door takes this long to add the whole rise
SETTLE_SECONDS = 240.0  # time constant of cooling back once the door is shut


class Cabinet:
    """One temperature sensor; only cold stores have a door to open."""

    def __init__(self, sim: SimDevice, site: Site, rng: Random, *, opens_itself: bool = False) -> None:
        self.sim, self.site, self.rng = sim, site, rng
        self.role = sim.device.role or TemperatureRole.ROOM
        self.limits = site.limits_of(sim.device)
        centre, self.swing = SET_POINT[self.role]
        self.centre = _centre(centre, self.swing, self.limits)
        self.max_rise = _headroom(self.centre, self.swing, self.limits, MAX_RISE.get(self.role, 0.0))
        self.cycle = (rng.uniform(25, 40) * 60, rng.uniform(0, 2 * math.pi))  # period (s), phase
        self.humidity = HUMIDITY.get(self.role, 50.0) + rng.uniform(-5, 5)
        self.rise = self.ripple = 0.0
        self.open_until: datetime | None = None
        self.opens_itself = opens_itself and self.max_rise > 0  # a cold store no kitchen model opens
        self.next_open: datetime | None = None

    @property
    def has_door(self) -> bool:
        """Whether opening the door warms it (fridges and freezers)."""
        return self.max_rise > 0

    def open(self, now: datetime, seconds: float) -> None:
        """Someone opens the door for a while."""
        if self.has_door:
            self.open_until = max(self.open_until or now, now + timedelta(seconds=seconds))

    def advance(self, now: datetime, dt: float) -> None:
        """Temperature and humidity at `now`."""
        self._maybe_open(now)
        if self.open_until is not None and now < self.open_until:
            self.rise = min(self.max_rise, self.rise + self.max_rise * dt / RISE_SECONDS)
        else:
            self.rise *= math.exp(-dt / SETTLE_SECONDS)
        period, phase = self.cycle
        self.ripple = 0.8 * self.ripple + self.rng.gauss(0, 0.03)
        swing = self.swing * math.sin(2 * math.pi * now.timestamp() / period + phase)
        self.sim.set(temperature_c=self._inside_limits(self.centre + swing + self.rise + self.ripple),
                     humidity_pct=self._humidity())

    def _maybe_open(self, now: datetime) -> None:
        """A cold store outside any kitchen is opened now and then during kitchen hours."""
        if not self.opens_itself:
            return
        if self.next_open is None:
            self.next_open = now + timedelta(minutes=self.rng.uniform(60, 180))
        elif now >= self.next_open:
            if inside(self.site.schedules.kitchen_hours, self.site.zone, now):
                self.open(now, self.rng.uniform(10, 30))
            self.next_open = None

    def _inside_limits(self, value: float) -> float:
        """Keep the day model half a degree inside the limits: only a scenario may break them."""
        if self.limits is None:
            return value
        if self.limits.max_c is not None:
            value = min(value, self.limits.max_c - 0.5)
        if self.limits.min_c is not None:
            value = max(value, self.limits.min_c + 0.5)
        return value

    def _humidity(self) -> float:
        """Humidity inside; warm moist air comes in with an open door."""
        share = self.rise / self.max_rise if self.max_rise else 0.0
        return min(100.0, max(0.0, self.humidity + 15 * share + self.rng.gauss(0, 0.3)))


def _centre(default: float, swing: float, limits: TemperatureLimits | None) -> float:
    """The set point, moved inside the limits (with room for the swing) when a site's limits are unusual."""
    if limits is None:
        return default
    low = limits.min_c + swing + 1.0 if limits.min_c is not None else -math.inf
    high = limits.max_c - swing - 2.0 if limits.max_c is not None else math.inf
    if low > high and limits.min_c is not None and limits.max_c is not None:
        return (limits.min_c + limits.max_c) / 2  # too narrow for the swing: aim for the middle
    return min(high, max(low, default))


def _headroom(centre: float, swing: float, limits: TemperatureLimits | None, most: float) -> float:
    """How far an open door may warm the cabinet and stay a degree below its maximum."""
    if limits is None or limits.max_c is None:
        return most
    return max(0.0, min(most, limits.max_c - (centre + swing) - 1.0))
