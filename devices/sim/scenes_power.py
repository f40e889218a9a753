"""Scenarios on metering plugs: a stove left alone, cooking after hours, an overload, a boiler drawing oddly."""

from datetime import timedelta

from devices.kinds import DeviceKind, PlugRole
from devices.sim.device import SimDevice
from devices.sim.scenario import SETTLE, S, Scenario, ScenarioError, Stage
from devices.sim.timeline import all_day, inside

COOKING_W = 1800.0
NOMINAL_V = 225.0


def _role(sim: SimDevice) -> PlugRole | None:
    """What a plug powers."""
    return sim.device.appliance.role if sim.device.appliance else None


def _rated(sim: SimDevice) -> float | None:
    """The plug's appliance's rated power."""
    return sim.device.appliance.rated_w if sim.device.appliance else None


def _presence(stage: Stage, plug: SimDevice) -> list[SimDevice]:
    """Free presence sensors in the plug's room."""
    room = plug.device.location.room
    return stage.free(DeviceKind.PRESENCE_SENSOR, lambda s: s.device.location.room == room)


def _draw(stage: Stage, plug: SimDevice, watts: float) -> None:
    """The plug's relay on and `watts` drawn (with 1 % ripple), current to match."""
    watts = watts * (1 + stage.rng.gauss(0, 0.01)) if watts else 0.0
    plug.force(on=True, power_w=watts, current_a=watts / float(plug.base.get("voltage_v", NOMINAL_V)))


class _PlugRun(Scenario):
    """A plug draws `watts` until `off`; the people in its room (held when free) are `present` or not, and any
    other plug it holds is off."""

    present: bool

    def apply(self, elapsed: timedelta) -> None:
        plug, *others = self.devices
        for sim in others:
            if sim.device.kind is DeviceKind.PRESENCE_SENSOR:
                sim.force(occupied=self.present)
            else:
                _draw(self.stage, sim, 0.0)
        _draw(self.stage, plug, self.watts if elapsed < self.off else 0.0)

    def cooking(self, stage: Stage, what: str) -> list[SimDevice]:
        """A free cooking plug and the free presence sensors of its kitchen."""
        plug = stage.pick(stage.free(DeviceKind.POWER_PLUG, lambda s: _role(s) is PlugRole.COOKING), what)
        return [plug, *_presence(stage, plug)]

    def cooking_watts(self) -> float:
        """A hob's usual setting, under the appliance's rating."""
        rated = _rated(self.device)
        return min(COOKING_W, 0.95 * rated) if rated else COOKING_W


class StoveUnattended(_PlugRun):
    """Nobody in the kitchen while a cooking appliance draws ~1800 W, 20 s past the unattended limit.

    The kitchen's other free cooking plugs are held off: the alert is about this stove alone, not also about a
    steamer that a meal of the day model left running.
    """

    name, present = "stove-unattended", False

    def cast(self, stage: Stage) -> list[SimDevice]:
        plugs = stage.free(DeviceKind.POWER_PLUG, lambda s: _role(s) is PlugRole.COOKING)
        watched = [p for p in plugs if _presence(stage, p)]
        plug = stage.pick(watched or plugs, "cooking appliance plug")
        room = plug.device.location.room
        others = [p for p in plugs if p is not plug and p.device.location.room == room]
        return [plug, *_presence(stage, plug), *others]

    def plan(self) -> timedelta:
        self.off, self.watts = self.site.thresholds.kitchen_unattended + 20 * S, self.cooking_watts()
        return self.off + SETTLE


class ApplianceAfterHours(_PlugRun):
    """Someone cooks outside kitchen hours: ~1800 W for 20 s past `after_hours_for`, the cook in the kitchen."""

    name, present = "appliance-after-hours", True

    def cast(self, stage: Stage) -> list[SimDevice]:
        hours, site = stage.site.schedules.kitchen_hours, stage.site
        if all_day(hours):
            raise ScenarioError(f"kitchen hours are all day at site {site.id!r}: nothing is after hours")
        if inside(hours, site.zone, self.start):
            raise ScenarioError(f"it is inside kitchen hours at site {site.id!r} now ({hours.start:%H:%M}-"
                                f"{hours.end:%H:%M}): cooking now is not after hours")
        return self.cooking(stage, "cooking appliance plug")

    def plan(self) -> timedelta:
        self.off, self.watts = S + self.site.thresholds.after_hours_for + 20 * S, self.cooking_watts()
        return self.off + SETTLE


class ApplianceOverload(_PlugRun):
    """An appliance draws 1.2 times its rating for 20 s past `overload_for`, the cook standing by."""

    name, present = "appliance-overload", True

    def cast(self, stage: Stage) -> list[SimDevice]:
        plugs = stage.free(DeviceKind.POWER_PLUG, lambda s: _rated(s) is not None)
        # A boiler overloaded is also outside its normal bands: take it only when nothing else has a rating.
        others = [p for p in plugs if _role(p) is not PlugRole.BOILER]
        plug = stage.pick(others or plugs, "plug whose appliance has rated_w")
        return [plug, *_presence(stage, plug)]

    def plan(self) -> timedelta:
        self.off = S + self.site.thresholds.overload_for + 20 * S
        self.watts = 1.2 * (_rated(self.device) or COOKING_W)
        return self.off + SETTLE


class BoilerAbnormal(Scenario):
    """The boiler draws ~40 % of its rating (a failing element) for 20 s past `abnormal_power_for`."""

    name = "boiler-abnormal"

    def cast(self, stage: Stage) -> list[SimDevice]:
        def boiler(sim: SimDevice) -> bool:
            appliance = sim.device.appliance
            return appliance is not None and appliance.role is PlugRole.BOILER and bool(appliance.normal_bands())

        return [stage.pick(stage.free(DeviceKind.POWER_PLUG, boiler), "boiler plug")]

    def plan(self) -> timedelta:
        appliance = self.device.device.appliance
        bands = appliance.normal_bands() if appliance else []
        rated = _rated(self.device) or max(b.max for b in bands) / 1.1
        self.watts, self.normal = 0.4 * rated, S + self.site.thresholds.abnormal_power_for + 20 * S
        return self.normal + SETTLE

    def apply(self, elapsed: timedelta) -> None:
        if S <= elapsed < self.normal:
            _draw(self.stage, self.device, self.watts)
        else:
            self.device.unforce("on", "power_w", "current_a")  # the day model's standby or heating
