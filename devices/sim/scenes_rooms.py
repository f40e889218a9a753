"""Scenarios in the rooms: someone too long in a bathroom, an exit door at night, leak, smoke and SOS."""

from datetime import timedelta

from devices.kinds import DeviceKind, PlugRole, RoomType
from devices.sim.device import SimDevice
from devices.sim.scenario import SETTLE, S, Scenario, ScenarioError, Stage
from devices.sim.timeline import inside


class BathroomTooLong(Scenario):
    """A bathroom's presence sensor sees someone 20 s past `bathroom_max`, then the room empties."""

    name = "bathroom-too-long"

    def cast(self, stage: Stage) -> list[SimDevice]:
        def in_bathroom(sim: SimDevice) -> bool:
            room = stage.site.room_by_id.get(sim.device.location.room)
            return room is not None and room.type is RoomType.BATHROOM

        return [stage.pick(stage.free(DeviceKind.PRESENCE_SENSOR, in_bathroom), "bathroom presence sensor")]

    def plan(self) -> timedelta:
        self.leave = S + self.site.thresholds.bathroom_max + 20 * S
        return self.leave + SETTLE

    def apply(self, elapsed: timedelta) -> None:
        self.device.force(occupied=S <= elapsed < self.leave)


class ExitDoorNight(Scenario):
    """An exit door stands open for ~20 s inside the night window (a resident may be wandering off)."""

    name = "exit-door-night"
    OPEN = 20 * S

    def cast(self, stage: Stage) -> list[SimDevice]:
        night = stage.site.schedules.night
        if not inside(night, stage.site.zone, self.start):
            raise ScenarioError(f"it is not night at site {stage.site.id!r} now (night {night.start:%H:%M}-"
                                f"{night.end:%H:%M}): an exit door opened now raises nothing")
        doors = stage.free(DeviceKind.DOOR_CONTACT, lambda s: stage.site.is_exit(s.device))
        return [stage.pick(doors, "exit door contact")]

    def plan(self) -> timedelta:
        return S + self.OPEN + SETTLE

    def apply(self, elapsed: timedelta) -> None:
        self.device.force(open=S <= elapsed < S + self.OPEN)


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
