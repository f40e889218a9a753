"""The scenario scripts; timings come from the site's thresholds, so under `demo` each alerts within 60 s."""

from datetime import timedelta

from devices.facility import Site
from devices.kinds import DeviceKind, PlugRole, TemperatureRole
from devices.sim.device import SimDevice
from devices.sim.residents import out_of_bed_limit
from devices.sim.scenario import Scenario, Stage

S = timedelta(seconds=1)
SETTLE = 3 * S  # the device shows its normal state this long before it goes back to the day model
VITALS = ("heart_rate_bpm", "respiration_rpm")


def _watched(site: Site, sim: SimDevice) -> bool:
    """Whether the bed's resident has a care profile that watches bed exits."""
    profile = site.profile_of_bed(sim.device.location.bed)
    return bool(profile and profile.watch_bed_exit)


def _rule_limit(site: Site, sim: SimDevice) -> timedelta:
    """Out-of-bed limit as the rule reads it: the resident's own, else the site's."""
    profile = site.profile_of_bed(sim.device.location.bed)
    return (profile.out_of_bed_max if profile else None) or site.thresholds.out_of_bed_max


def _bed(sim: SimDevice, occupied: bool) -> None:
    """Put the resident in or out of bed; an empty smart mat measures no vitals."""
    if occupied:
        sim.unforce(*VITALS)
        sim.force(occupied=True)
    else:
        sim.force(occupied=False, heart_rate_bpm=None, respiration_rpm=None)


class BedExitNight(Scenario):
    """A watched resident gets up and comes back after the exit is confirmed, well before the limit."""

    name = "bed-exit-night"

    def cast(self, stage: Stage) -> list[SimDevice]:
        beds = stage.free(DeviceKind.BED_SENSOR, lambda s: _watched(stage.site, s))
        in_bed = [b for b in beds if b.state().get("occupied")]
        return [stage.pick(in_bed or beds, "bed whose care profile watches bed exits")]

    def plan(self) -> timedelta:
        confirm = self.site.thresholds.bed_exit_confirm
        limit = out_of_bed_limit(self.site, self.device.device.location.bed)
        self.leave = S
        self.back = self.leave + min(confirm + 10 * S, (confirm + limit) / 2)
        return self.back + SETTLE

    def apply(self, elapsed: timedelta) -> None:
        _bed(self.device, not self.leave <= elapsed < self.back)


class OutOfBedTooLong(Scenario):
    """A resident leaves bed and stays away 20 s past the out-of-bed limit."""

    name = "out-of-bed-too-long"

    def cast(self, stage: Stage) -> list[SimDevice]:
        beds = stage.free(DeviceKind.BED_SENSOR)
        watched = [b for b in beds if _watched(stage.site, b)] or beds
        shortest = min((_rule_limit(stage.site, b) for b in watched), default=None)
        return [stage.pick([b for b in watched if _rule_limit(stage.site, b) == shortest], "bed sensor")]

    def plan(self) -> timedelta:
        self.leave = S
        self.back = self.leave + _rule_limit(self.site, self.device) + 20 * S
        return self.back + SETTLE

    def apply(self, elapsed: timedelta) -> None:
        _bed(self.device, not self.leave <= elapsed < self.back)


class StoveUnattended(Scenario):
    """Nobody in the kitchen while a cooking appliance draws ~1800 W, 20 s past the unattended limit."""

    name = "stove-unattended"

    def cast(self, stage: Stage) -> list[SimDevice]:
        plugs = stage.free(DeviceKind.POWER_PLUG, lambda s: _role(s) is PlugRole.COOKING)
        watched = [p for p in plugs if self._presence(stage, p)]
        plug = stage.pick(watched or plugs, "cooking appliance plug")
        return [plug, *self._presence(stage, plug)]

    @staticmethod
    def _presence(stage: Stage, plug: SimDevice) -> list[SimDevice]:
        """Free presence sensors in the plug's room."""
        room = plug.device.location.room
        return stage.free(DeviceKind.PRESENCE_SENSOR, lambda s: s.device.location.room == room)

    def plan(self) -> timedelta:
        self.off = self.site.thresholds.kitchen_unattended + 20 * S
        appliance = self.device.device.appliance
        self.watts = min(1800.0, 0.95 * appliance.rated_w) if appliance and appliance.rated_w else 1800.0
        return self.off + SETTLE

    def apply(self, elapsed: timedelta) -> None:
        plug, *presence = self.devices
        for sim in presence:
            sim.force(occupied=False)
        watts = self.watts * (1 + self.stage.rng.gauss(0, 0.01)) if elapsed < self.off else 0.0
        plug.force(on=True, power_w=watts, current_a=watts / float(plug.base.get("voltage_v", 225.0)))


def _role(sim: SimDevice) -> PlugRole | None:
    """What a plug powers."""
    return sim.device.appliance.role if sim.device.appliance else None


class FridgeWarm(Scenario):
    """A fridge climbs to ~12 °C in ~10 s, stays above its maximum 20 s past its `for`, then cools back."""

    name = "fridge-warm"
    CLIMB = 10 * S
    COOL = 15 * S

    def cast(self, stage: Stage) -> list[SimDevice]:
        def bounded(sim: SimDevice) -> bool:
            limits = stage.site.limits_of(sim.device)
            return limits is not None and limits.max_c is not None

        cabinets = stage.free(DeviceKind.TEMPERATURE_SENSOR, bounded)
        fridges = [c for c in cabinets if c.device.role is TemperatureRole.FRIDGE]
        return [stage.pick(fridges or cabinets, "fridge temperature sensor")]

    def plan(self) -> timedelta:
        limits = self.site.limits_of(self.device.device)
        top = limits.max_c if limits and limits.max_c is not None else 8.0
        self.top, self.peak = top, max(12.0, top + 4.0)
        self.from_c = float(self.device.state().get("temperature_c", top - 4.0))
        crossing = self.CLIMB * max(0.0, (top - self.from_c) / (self.peak - self.from_c))
        hold = limits.for_ if limits else timedelta(minutes=15)
        self.cool_at = crossing + hold + 20 * S
        return self.cool_at + self.COOL + SETTLE

    def apply(self, elapsed: timedelta) -> None:
        now_c = float(self.device.base.get("temperature_c", self.top - 4.0))
        if elapsed < self.CLIMB:
            value = self.from_c + (self.peak - self.from_c) * (elapsed / self.CLIMB)
        elif elapsed < self.cool_at:
            value = self.peak + self.stage.rng.gauss(0, 0.15)
        elif elapsed < self.cool_at + self.COOL:
            value = self.peak + (now_c - self.peak) * ((elapsed - self.cool_at) / self.COOL)
        else:
            self.device.unforce("temperature_c")
            return
        self.device.force(temperature_c=value)


class _Flag(Scenario):
    """A boolean alarm field true for `seconds`, then false again."""

    kind: DeviceKind
    field: str
    seconds: int

    def plan(self) -> timedelta:
        return self.seconds * S + SETTLE

    def apply(self, elapsed: timedelta) -> None:
        self.device.force(**{self.field: elapsed < self.seconds * S})


class WaterLeak(_Flag):
    """The leak sensor under the boiler is wet for ~60 s."""

    name, kind, field, seconds = "water-leak", DeviceKind.LEAK_SENSOR, "leak", 60

    def cast(self, stage: Stage) -> list[SimDevice]:
        boilers = [d for d in stage.site.devices if d.appliance and d.appliance.role is PlugRole.BOILER]
        rooms = {d.location.room for d in boilers}
        sensors = stage.free(self.kind)
        by_boiler = [s for s in sensors if s.device.location.room in rooms]
        return [stage.pick(by_boiler or sensors, "leak sensor")]


class Smoke(_Flag):
    """A smoke detector in alarm for ~30 s."""

    name, kind, field, seconds = "smoke", DeviceKind.SMOKE_DETECTOR, "smoke", 30

    def cast(self, stage: Stage) -> list[SimDevice]:
        return [stage.pick(stage.free(self.kind), "smoke detector")]


class Sos(Scenario):
    """One press of an SOS button: a momentary report."""

    name = "sos"

    def cast(self, stage: Stage) -> list[SimDevice]:
        return [stage.pick(stage.free(DeviceKind.SOS_BUTTON), "SOS button")]

    def plan(self) -> timedelta:
        self.pressed = False
        return SETTLE

    def apply(self, elapsed: timedelta) -> None:
        if not self.pressed:
            self.device.pulse(pressed=True, action="emergency")
            self.pressed = True


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


ORDER: tuple[type[Scenario], ...] = (
    BedExitNight, OutOfBedTooLong, StoveUnattended, FridgeWarm, WaterLeak, Smoke, Sos, DeviceOffline,
)
KINDS: dict[str, type[Scenario]] = {cls.name: cls for cls in ORDER}
