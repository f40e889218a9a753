"""Exit door at night: an exit door opened inside the night window (a resident may be wandering), or left open
when the night begins. High."""

from datetime import datetime
from typing import ClassVar

from devices.equipment import Device
from devices.facility import Site
from devices.kinds import Severity
from server.rules.base import Clear, Obs, Raise, State, Step, in_night, next_night_start


class ExitDoorNight:
    """State per door: open or not, and whether the alert is up. Every opening at night raises (or counts on
    the open alert); a door open at nightfall raises then."""

    name: ClassVar[str] = "exit_door_night"

    def key(self, site: Site, device: Device) -> str | None:
        """Door contacts on a way out."""
        return device.id if site.is_exit(device) else None

    def observe(self, obs: Obs, state: State, due: datetime | None) -> Step:
        """Raise on the change to open at night; an open door by day waits for nightfall; closing clears."""
        is_open = obs.reading.open
        if is_open is None or is_open == state.get("open"):
            return Step(state, due)
        if not is_open:
            return Step({"open": False}, None, [Clear(obs.device.id)] if state.get("raised") else [])
        if not in_night(obs.site, obs.at):
            return Step({"open": True}, next_night_start(obs.site, obs.at))
        return Step({"open": True, "raised": True}, None, [_alert(obs.site, obs.device.id, obs.at)])

    def fire(self, site: Site, key: str, state: State, now: datetime) -> Step:
        """Night has come and the door is still open."""
        if not state.get("open") or state.get("raised"):
            return Step(state)
        if not in_night(site, now):
            return Step(state, next_night_start(site, now))
        return Step({**state, "raised": True}, None, [_alert(site, key, now, left_open=True)])


def _alert(site: Site, door: str, at: datetime, *, left_open: bool = False) -> Raise:
    """The alert for a door open at night."""
    device = site.device_by_id.get(door)
    details = {"opened_at" if not left_open else "open_at_nightfall": at.isoformat()}
    return Raise(door, Severity.HIGH, device.location.room if device else None, details)
