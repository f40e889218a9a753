"""Exit door at night: an exit door opened inside the night window, when a resident may be wandering. High."""

from datetime import datetime
from typing import ClassVar

from devices.facility import Device, Site
from devices.kinds import Severity
from server.rules.base import Clear, Obs, Raise, State, Step, in_night


class ExitDoorNight:
    """State per door: open or not. Every opening at night raises (or counts on the open alert)."""

    name: ClassVar[str] = "exit_door_night"

    def key(self, site: Site, device: Device) -> str | None:
        """Door contacts on a way out."""
        return device.id if site.is_exit(device) else None

    def observe(self, obs: Obs, state: State, due: datetime | None) -> Step:
        """Raise on the change to open at night; closing clears."""
        is_open = obs.reading.open
        if is_open is None or is_open == state.get("open"):
            return Step(state, due)
        if not is_open:
            return Step({"open": False}, None, [Clear(obs.device.id)] if state.get("raised") else [])
        if not in_night(obs.site, obs.at):
            return Step({"open": True})
        return Step({"open": True, "raised": True}, None,
                    [Raise(obs.device.id, Severity.HIGH, obs.device.location.room, {"opened_at": obs.at.isoformat()})])

    def fire(self, site: Site, key: str, state: State, now: datetime) -> Step:
        """No timers."""
        return Step(state)
