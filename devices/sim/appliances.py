"""Metering plugs: mains voltage, the power an appliance draws, and the energy counter it adds up."""

from datetime import datetime, timedelta
from random import Random

from devices.equipment import Appliance
from devices.sim.device import SimDevice

NOMINAL_V = 225.0
BOILER_W = 3000.0
BOILER_IDLE_W = 5.0


class Meter:
    """One metering plug; an owner (kitchen, boiler) sets `level`, the meter adds noise and counts energy."""

    def __init__(self, sim: SimDevice, rng: Random, standby_w: float = 0.0) -> None:
        self.sim, self.rng = sim, rng
        self.standby_w = standby_w
        self.level = 0.0
        self.voltage = rng.uniform(222, 228)
        self.energy_wh = rng.uniform(5_000, 80_000)  # the counter has run since installation
        sim.set(on=True)  # the relay stays on: the appliance's own switch starts and stops it

    def advance(self, now: datetime, dt: float) -> None:
        """Power, voltage, current and energy at `now`."""
        # Energy counts what the plug reported, scenario included, so the counter never runs backwards.
        drawn = float(self.sim.state().get("power_w", 0.0))
        self.energy_wh += drawn * dt / 3600
        self.voltage += 0.05 * (NOMINAL_V - self.voltage) + self.rng.gauss(0, 0.3)
        self.voltage = min(230.0, max(220.0, self.voltage))
        power = self._power()
        self.sim.set(power_w=power, voltage_v=self.voltage, current_a=power / self.voltage,
                     energy_wh=self.energy_wh)

    def _power(self) -> float:
        """What the appliance draws now: its level with 1 % ripple, or standby."""
        if self.level > 0:
            return max(0.0, self.level * (1 + self.rng.gauss(0, 0.01)))
        if self.standby_w > 0:
            return max(0.0, self.standby_w + self.rng.gauss(0, 0.05 * self.standby_w))
        return 0.0


class Boiler:
    """The electric water boiler: heats for a few minutes, then idles for longer.

    Both stay well inside its normal bands (boiler_abnormal) and heating stays under the rating (overload):
    an element's draw follows the mains voltage, a few percent under its rating at 220-230 V.
    """

    def __init__(self, meter: Meter, rng: Random, appliance: Appliance | None) -> None:
        self.meter, self.rng = meter, rng
        self.heating, meter.standby_w = _boiler_draw(appliance)
        self.switch_at: datetime | None = None

    def advance(self, now: datetime, dt: float) -> None:
        """Switch between heating and idling when the current half-cycle ends."""
        if self.switch_at is None:
            self.switch_at = now + timedelta(minutes=self.rng.uniform(0, 10))
        elif now >= self.switch_at:
            heating = self.meter.level == 0
            self.meter.level = self.rng.uniform(*self.heating) if heating else 0.0
            minutes = self.rng.uniform(3, 8) if heating else self.rng.uniform(10, 30)
            self.switch_at = now + timedelta(minutes=minutes)
        self.meter.advance(now, dt)


def _boiler_draw(appliance: Appliance | None) -> tuple[tuple[float, float], float]:
    """(heating range, standby) in W: the middle of its highest and lowest normal bands, heating under rated_w."""
    bands = appliance.normal_bands() if appliance else []
    if not bands:
        return (0.9 * BOILER_W, 0.96 * BOILER_W), BOILER_IDLE_W
    top, idle = max(bands, key=lambda b: b.max), min(bands, key=lambda b: b.min)
    width = top.max - top.min
    high = top.max - 0.2 * width
    if appliance and appliance.rated_w:
        high = min(high, 0.96 * appliance.rated_w)  # 1 % ripple on top stays under the rating
    low = min(top.min + 0.2 * width, high)
    idle_width = idle.max - idle.min
    standby = min(max(BOILER_IDLE_W, idle.min + 0.2 * idle_width), idle.max - 0.2 * idle_width)
    return (low, high), standby


class SteadyLoad:
    """Any other plugged-in appliance: a small, steady draw, well under its rating."""

    def __init__(self, meter: Meter, rng: Random) -> None:
        self.meter = meter
        appliance = meter.sim.device.appliance
        rated = appliance.rated_w if appliance and appliance.rated_w else None
        meter.level = min(rng.uniform(5, 60), 0.5 * rated) if rated else rng.uniform(5, 60)

    def advance(self, now: datetime, dt: float) -> None:
        """Only the meter moves."""
        self.meter.advance(now, dt)
