"""Scenarios on measured values: a warm fridge, scalding water, a hot room, a site watch, a flat battery, silence."""

from datetime import timedelta

from devices.kinds import DeviceKind, TemperatureRole
from devices.sim.device import SimDevice, has_battery
from devices.sim.scenario import SETTLE, S, Scenario, ScenarioError, Stage
from devices.sim.timeline import inside
from devices.thresholds import Limits, Watch


class _Excursion(Scenario):
    """A reading moves past a limit in CLIMB, stays out 20 s past the limit's `for`, then returns in COOL."""

    field = "temperature_c"
    CLIMB = 10 * S
    COOL = 15 * S

    def limits(self) -> Limits:
        """The range the rule holds the reading to."""
        limits = self.site.limits_of(self.device.device)
        assert limits is not None  # cast only takes devices with limits
        return limits

    def peak(self, limits: Limits) -> float:
        """How far out the reading goes: above the maximum if there is one, else below the minimum."""
        if limits.max is not None:
            return limits.max + max(3.0, 2 * limits.margin)
        assert limits.min is not None
        return limits.min - max(3.0, 2 * limits.margin)

    def plan(self) -> timedelta:
        limits = self.limits()
        self.peak_value = self.peak(limits)
        self.edge = limits.max if limits.max is not None and self.peak_value > limits.max else limits.min
        assert self.edge is not None
        self.from_value = float(self.device.state().get(self.field, self.edge - (self.peak_value - self.edge)))
        share = (self.edge - self.from_value) / (self.peak_value - self.from_value)
        self.back_at = self.CLIMB * min(1.0, max(0.0, share)) + limits.for_ + 20 * S
        return self.back_at + self.COOL + SETTLE

    def apply(self, elapsed: timedelta) -> None:
        now_value = float(self.device.base.get(self.field, self.from_value))
        if elapsed < self.CLIMB:
            value = self.from_value + (self.peak_value - self.from_value) * (elapsed / self.CLIMB)
        elif elapsed < self.back_at:
            value = self.peak_value + self.stage.rng.gauss(0, 0.15)
        elif elapsed < self.back_at + self.COOL:
            value = self.peak_value + (now_value - self.peak_value) * ((elapsed - self.back_at) / self.COOL)
        else:
            self.device.unforce(self.field)
            return
        self.device.force(**{self.field: value})

    def by_role(self, stage: Stage, role: TemperatureRole, what: str) -> list[SimDevice]:
        """A free temperature sensor of the role, with limits the rule reads."""
        sensors = stage.free(DeviceKind.TEMPERATURE_SENSOR,
                             lambda s: s.device.role is role and stage.site.limits_of(s.device) is not None)
        return [stage.pick(sensors, what)]


class FridgeWarm(_Excursion):
    """A fridge climbs to ~12 °C in ~10 s, stays above its maximum 20 s past its `for`, then cools back."""

    name = "fridge-warm"

    def cast(self, stage: Stage) -> list[SimDevice]:
        def bounded(sim: SimDevice) -> bool:
            limits = stage.site.limits_of(sim.device)
            return limits is not None and limits.max is not None

        cabinets = stage.free(DeviceKind.TEMPERATURE_SENSOR, bounded)
        fridges = [c for c in cabinets if c.device.role is TemperatureRole.FRIDGE]
        return [stage.pick(fridges or cabinets, "fridge temperature sensor")]

    def peak(self, limits: Limits) -> float:
        assert limits.max is not None
        return max(12.0, limits.max + 4.0)


class HotWaterTooHot(_Excursion):
    """The hot-water outlet runs at ~55 °C (a mixing valve failed) for 20 s past its `for`."""

    name = "hot-water-too-hot"

    def cast(self, stage: Stage) -> list[SimDevice]:
        return self.by_role(stage, TemperatureRole.HOT_WATER, "hot-water temperature sensor")

    def peak(self, limits: Limits) -> float:
        return max(55.0, limits.max + 6.0) if limits.max is not None else super().peak(limits)


class RoomTemperature(_Excursion):
    """A room heats up to ~31 °C (heating stuck on, summer sun) for 20 s past its `for`."""

    name = "room-temperature"

    def cast(self, stage: Stage) -> list[SimDevice]:
        return self.by_role(stage, TemperatureRole.ROOM, "room temperature sensor")

    def peak(self, limits: Limits) -> float:
        return max(31.0, limits.max + 3.0) if limits.max is not None else super().peak(limits)


class WatchMedicineFridge(_Excursion):
    """A device of the site's first watch leaves that watch's limits (the medicine fridge warms to ~11 °C)."""

    name = "watch-medicine-fridge"

    def cast(self, stage: Stage) -> list[SimDevice]:
        site = stage.site
        if not site.watches:
            raise ScenarioError(f"site {site.id!r} has no `watches`")
        self.watch: Watch = site.watches[0]
        window = self.watch.window
        if window is not None and not inside(window, site.zone, self.start):
            raise ScenarioError(f"watch {self.watch.id!r} only looks {window.start:%H:%M}-{window.end:%H:%M}")
        self.field = self.watch.field
        devices = stage.free_any(lambda s: self.watch.applies_to(s.device))
        return [stage.pick(devices, f"device of watch {self.watch.id!r}")]

    def limits(self) -> Limits:
        return self.watch.limits


class BatteryLow(Scenario):
    """A battery device's charge drops to ~10 % for 20 s past the battery rule's `for`, then is replaced."""

    name = "battery-low"
    LOW = 10.0

    def cast(self, stage: Stage) -> list[SimDevice]:
        devices = stage.free_any(lambda s: has_battery(s.device) and "battery_pct" in s.base)
        return [stage.pick(devices, "battery device")]

    def plan(self) -> timedelta:
        limits = self.site.thresholds.battery_low
        self.low = min(self.LOW, limits.min - 5) if limits.min is not None else self.LOW
        self.replaced = S + limits.for_ + 20 * S
        return self.replaced + SETTLE

    def apply(self, elapsed: timedelta) -> None:
        if S <= elapsed < self.replaced:
            self.device.force(battery_pct=self.low)
        elif elapsed >= self.replaced:
            self.device.set(battery_pct=100.0)  # a new battery: the day model drains it from full
            self.device.unforce("battery_pct")


class DeviceOffline(Scenario):
    """A temperature sensor says nothing for 60 s past its offline threshold, then reports again."""

    name = "device-offline"

    def cast(self, stage: Stage) -> list[SimDevice]:
        return [stage.pick(stage.free(DeviceKind.TEMPERATURE_SENSOR), "temperature sensor")]

    def plan(self) -> timedelta:
        length = self.site.offline_after(self.device.device) + 60 * S
        self.device.silent_until = self.start + length
        return length

    def apply(self, elapsed: timedelta) -> None:
        """Silence is set once in `plan`; the day model keeps the state moving meanwhile."""
