"""Rules that alert at once: water leak, smoke, SOS button."""

from datetime import datetime
from typing import ClassVar

from devices.equipment import Device
from devices.facility import Site
from devices.kinds import DeviceKind, Severity
from server.rules.base import Clear as ClearAction
from server.rules.base import Obs, Raise, State, Step


class _Condition:
    """A boolean reading that raises a critical alert when it turns true and clears when it turns false."""

    name: ClassVar[str]
    kind: ClassVar[DeviceKind]
    field: ClassVar[str]

    def key(self, site: Site, device: Device) -> str | None:
        """Every device of this kind."""
        return device.id if device.kind is self.kind else None

    def observe(self, obs: Obs, state: State, due: datetime | None) -> Step:
        """Raise on the change to true (not on every report, so a resolved alert is not re-opened)."""
        value = getattr(obs.reading, self.field)
        if value is None or value == state.get(self.field):
            return Step(state, due)
        subject = obs.device.id
        if value:
            return Step({self.field: True}, None, [Raise(subject, Severity.CRITICAL, obs.device.location.room)])
        return Step({self.field: False}, None, [ClearAction(subject)] if self.field in state else [])

    def fire(self, site: Site, key: str, state: State, now: datetime) -> Step:
        """No timers."""
        return Step(state)


class WaterLeak(_Condition):
    """Water where it should not be (under the boiler, in a bathroom): critical, immediate."""

    name = "water_leak"
    kind = DeviceKind.LEAK_SENSOR
    field = "leak"


class Smoke(_Condition):
    """A smoke detector in alarm: critical, immediate."""

    name = "smoke"
    kind = DeviceKind.SMOKE_DETECTOR
    field = "smoke"


class Sos:
    """Every press of an SOS button is a critical alert; it stays until staff resolve it."""

    name: ClassVar[str] = "sos"

    def key(self, site: Site, device: Device) -> str | None:
        """Every SOS button."""
        return device.id if device.kind is DeviceKind.SOS_BUTTON else None

    def observe(self, obs: Obs, state: State, due: datetime | None) -> Step:
        """A press raises (or counts another press on the open alert)."""
        if not obs.reading.pressed:
            return Step(state, due)
        details = {"action": obs.reading.action} if obs.reading.action else {}
        return Step(state, None, [Raise(obs.device.id, Severity.CRITICAL, obs.device.location.room, details)])

    def fire(self, site: Site, key: str, state: State, now: datetime) -> Step:
        """No timers."""
        return Step(state)
