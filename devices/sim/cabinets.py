"""Cold stores (fridges, freezers, a medicine fridge): cycling around a set point, a short rise when opened."""

import math
from datetime import datetime, timedelta
from random import Random

from devices.facility import Site
from devices.kinds import TemperatureRole
from devices.sim.device import SimDevice
from devices.sim.timeline import inside
from devices.sim.watched import kept_inside, limits_on
from devices.thresholds import Limits

# Set point and compressor swing (°C) by role; humidity (%) inside. `other` is a medicine fridge (2-8 °C):
# it aims for the middle, and its watch's limits move the set point like a cabinet's own limits do.
SET_POINT = {
    TemperatureRole.FRIDGE: (4.0, 0.8),
    TemperatureRole.FREEZER: (-18.0, 1.0),
    TemperatureRole.OTHER: (5.0, 0.8),
}
COLD_ROLES = frozenset(SET_POINT)
HUMIDITY = {TemperatureRole.FRIDGE: 70.0, TemperatureRole.FREEZER: 60.0, TemperatureRole.OTHER: 55.0}
MAX_RISE = {TemperatureRole.FRIDGE: 2.5, TemperatureRole.FREEZER: 3.0, TemperatureRole.OTHER: 1.5}
RISE_SECONDS = 45.0  # an open door takes this long to add the whole rise
SETTLE_SECONDS = 240.0  # time constant of cooling back once the door is shut
# Once a day a delivery holds a fridge open for 2-4 minutes: the air at the sensor goes up to 2 °C over the
# limit for a few minutes. Real, and exactly what the rule's `for` is there to ride out.
DELIVERY_OPEN_S = (120.0, 240.0)
DELIVERY_OVER_C = 2.0
DELIVERY_NEEDS_FOR = timedelta(minutes=10)  # above the limit for ~4-6 min: only a `for` well past that rides it out


class Cabinet:
    """One temperature sensor; only cold stores have a door to open."""

    def __init__(self, sim: SimDevice, site: Site, rng: Random, *, opens_itself: bool = False) -> None:
        self.sim, self.site, self.rng = sim, site, rng
        self.role = sim.device.role or TemperatureRole.OTHER
        self.ranges = limits_on(site, sim.device, "temperature_c")
        self.limits = self.ranges[0] if self.ranges else None
        centre, self.swing = SET_POINT[self.role]
        self.centre = _centre(centre, self.swing, self.limits)
        self.max_rise = _headroom(self.centre, self.swing, self.limits, MAX_RISE.get(self.role, 0.0))
        self.cycle = (rng.uniform(25, 40) * 60, rng.uniform(0, 2 * math.pi))  # period (s), phase
        self.humidity = HUMIDITY.get(self.role, 50.0) + rng.uniform(-5, 5)
        self.rise = self.ripple = 0.0
        self.open_until: datetime | None = None
        self.opens_itself = opens_itself and self.max_rise > 0  # a cold store no kitchen model opens
        self.next_open: datetime | None = None
        self.delivery_at: datetime | None = None
        self.excursion_until: datetime | None = None

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
        self._maybe_deliver(now)
        top = self._top(now)
        if self.open_until is not None and now < self.open_until:
            self.rise = min(top, self.rise + top * dt / RISE_SECONDS)
        else:
            self.rise *= math.exp(-dt / SETTLE_SECONDS)
        period, phase = self.cycle
        self.ripple = 0.8 * self.ripple + self.rng.gauss(0, 0.03)
        swing = self.swing * math.sin(2 * math.pi * now.timestamp() / period + phase)
        value = self.centre + swing + self.rise + self.ripple
        during = self.excursion_until is not None and now < self.excursion_until
        self.sim.set(temperature_c=value if during else kept_inside(value, self.ranges),
                     humidity_pct=self._humidity())

    def _top(self, now: datetime) -> float:
        """How far the open door may warm the cabinet now: further during a delivery."""
        if self.excursion_until is None or now >= self.excursion_until or self.limits is None:
            return self.max_rise
        assert self.limits.max is not None
        return max(self.max_rise, self.limits.max + DELIVERY_OVER_C - self.centre - self.swing)

    def _maybe_deliver(self, now: datetime) -> None:
        """A fridge gets its daily delivery at a random time of the morning."""
        if self.role is not TemperatureRole.FRIDGE or self.limits is None or self.limits.max is None:
            return
        if self.limits.for_ < DELIVERY_NEEDS_FOR:
            return  # a short `for` (the demo's 15 s) would make a delivery an alert
        if self.delivery_at is None:
            local = self.site.local(now)
            morning = local.replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(
                minutes=self.rng.uniform(0, 240))
            self.delivery_at = morning if morning > local else morning + timedelta(days=1)
        elif now >= self.delivery_at:
            seconds = self.rng.uniform(*DELIVERY_OPEN_S)
            self.open(now, seconds)
            # Back under the limit within a few minutes of the door closing (SETTLE_SECONDS).
            self.excursion_until = now + timedelta(seconds=seconds + 3 * SETTLE_SECONDS)
            self.delivery_at = None

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

    def _humidity(self) -> float:
        """Humidity inside; warm moist air comes in with an open door."""
        share = self.rise / self.max_rise if self.max_rise else 0.0
        return min(100.0, max(0.0, self.humidity + 15 * share + self.rng.gauss(0, 0.3)))


def _centre(default: float, swing: float, limits: Limits | None) -> float:
    """The set point, moved inside the limits (with room for the swing) when a site's limits are unusual."""
    if limits is None:
        return default
    low = limits.min + swing + 1.0 if limits.min is not None else -math.inf
    high = limits.max - swing - 2.0 if limits.max is not None else math.inf
    if low > high and limits.min is not None and limits.max is not None:
        return (limits.min + limits.max) / 2  # too narrow for the swing: aim for the middle
    return min(high, max(low, default))


def _headroom(centre: float, swing: float, limits: Limits | None, most: float) -> float:
    """How far an open door may warm the cabinet and stay a degree below its maximum."""
    if limits is None or limits.max is None:
        return most
    return max(0.0, min(most, limits.max - (centre + swing) - 1.0))
