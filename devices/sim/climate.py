"""Room climate and hot-water outlets: a gentle daily temperature cycle, shower steam, water warm while it runs."""

import math
from datetime import datetime, timedelta
from random import Random

from devices.facility import Site
from devices.sim.building import daytime
from devices.sim.device import SimDevice
from devices.sim.timeline import DAY_MINUTES, minute_of_day
from devices.sim.watched import kept_inside, limits_on

WARMEST = 15 * 60  # local minute of the afternoon peak; humidity is lowest then
STEAM_RH = 80.0  # a steamy shower room: high, and still short of a bathroom-humidity watch's 85 %
STEAM_RISE_S, STEAM_FALL_S = 180.0, 900.0  # steam builds in minutes, the fan clears it in a quarter hour
SUPPLY_C = (41.0, 45.0)  # mixed hot water at the outlet, well under the 49 °C scald limit
HOTTEST_C = 46.0
FLOW_S, COOL_S = 8.0, 300.0  # the pipe sensor follows flowing water in seconds, cools back in minutes


def _approach(value: float, target: float, dt: float, tau: float) -> float:
    """First-order lag: `value` moved towards `target` over `dt` seconds with time constant `tau`."""
    return value + (target - value) * (1 - math.exp(-dt / tau))


class RoomClimate:
    """A room's temperature sensor: warmest mid-afternoon, a degree or so either way, humidity the other way."""

    def __init__(self, sim: SimDevice, site: Site, rng: Random) -> None:
        self.sim, self.site, self.rng = sim, site, rng
        self.mean, self.swing = rng.uniform(21.5, 23.5), rng.uniform(0.8, 1.5)
        self.dry_rh = rng.uniform(45, 55)
        self.temperature = limits_on(site, sim.device, "temperature_c")
        self.humidity = limits_on(site, sim.device, "humidity_pct")
        self.steaming, self.steam, self.ripple = False, 0.0, 0.0

    def advance(self, now: datetime, dt: float) -> None:
        """Temperature and humidity at `now`; a running shower steams the room up."""
        minute = minute_of_day(self.site.local(now).time())
        day = math.cos(2 * math.pi * (minute - WARMEST) / DAY_MINUTES)  # 1 at the warmest hour, -1 at night
        self.steam = _approach(self.steam, 1.0 if self.steaming else 0.0, dt, STEAM_RISE_S if self.steaming
                               else STEAM_FALL_S)
        self.ripple = 0.9 * self.ripple + self.rng.gauss(0, 0.02)
        temperature = self.mean + self.swing * day + 1.5 * self.steam + self.ripple
        dry = self.dry_rh - 5 * day
        humidity = dry + (STEAM_RH - dry) * self.steam + self.rng.gauss(0, 0.3)
        self.sim.set(temperature_c=kept_inside(temperature, self.temperature),
                     humidity_pct=min(100.0, max(0.0, kept_inside(humidity, self.humidity, pad=2.0))))


class HotWater:
    """A hot-water outlet's pipe sensor: 41-45 °C while the water runs, back towards room temperature between.

    In a bathroom the visits open the tap; elsewhere (`runs_itself`) someone draws water now and then by day.
    """

    def __init__(self, sim: SimDevice, site: Site, rng: Random, *, runs_itself: bool = False) -> None:
        self.sim, self.site, self.rng = sim, site, rng
        self.ambient = rng.uniform(22, 26)
        self.value, self.supply, self.flowing = self.ambient, rng.uniform(*SUPPLY_C), False
        self.hottest = kept_inside(HOTTEST_C, limits_on(site, sim.device, "temperature_c"), pad=3.0)
        self.runs_itself = runs_itself
        self.next_run: datetime | None = None
        self.run_until: datetime | None = None

    def run(self, flowing: bool) -> None:
        """Open or close the tap; each draw mixes to a slightly different temperature."""
        if flowing and not self.flowing:
            self.supply = self.rng.uniform(*SUPPLY_C)
        self.flowing = flowing

    def advance(self, now: datetime, dt: float) -> None:
        """The pipe temperature at `now`."""
        if self.runs_itself:
            self._draw(now)
        target, tau = (self.supply, FLOW_S) if self.flowing else (self.ambient, COOL_S)
        self.value = _approach(self.value, target, dt, tau)
        self.sim.set(temperature_c=min(self.hottest, self.value + self.rng.gauss(0, 0.05)))

    def _draw(self, now: datetime) -> None:
        """A tap no bathroom model opens: a short draw every half hour or so by day."""
        if self.run_until is not None and now >= self.run_until:
            self.run_until = None
            self.run(False)
        if self.next_run is None:
            self.next_run = now + timedelta(minutes=self.rng.uniform(20, 60))
        elif now >= self.next_run:
            self.next_run = None
            if daytime(self.site, now):
                self.run_until = now + timedelta(seconds=self.rng.uniform(20, 90))
                self.run(True)
