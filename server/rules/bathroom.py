"""Bathroom too long at night: a presence sensor sees someone in a bathroom longer than `bathroom_max` [15 min].
A resident who has fallen there may not be able to press the SOS cord."""

from datetime import datetime
from typing import ClassVar

from devices.equipment import Device
from devices.facility import Site
from devices.kinds import DeviceKind, RoomType, Severity
from server.rules.base import Clear, Obs, Raise, State, Step, dt, in_night, next_night_start, ts


class BathroomTooLong:
    """State per bathroom: occupied, and since when. High."""

    name: ClassVar[str] = "bathroom_too_long"

    def key(self, site: Site, device: Device) -> str | None:
        """The bathroom, for its presence sensors."""
        room = site.room_by_id.get(device.location.room)
        if device.kind is DeviceKind.PRESENCE_SENSOR and room is not None and room.type is RoomType.BATHROOM:
            return room.id
        return None

    def observe(self, obs: Obs, state: State, due: datetime | None) -> Step:
        """Count from the moment someone came in; stop and clear when the room is empty."""
        occupied = obs.reading.occupied
        if occupied is None:
            return Step(state, due)
        room = obs.device.location.room
        if not occupied:
            return Step({"occupied": False}, None, [Clear(room)] if state.get("occupied") else [])
        if state.get("occupied"):
            return Step(state, due)
        return Step({"occupied": True, "since": ts(obs.at)}, _due(obs.site, obs.at))

    def fire(self, site: Site, key: str, state: State, now: datetime) -> Step:
        """The timer was set for the limit counted from the later of coming in and nightfall: alert if it is
        still night, else look again once the next night has run for the limit."""
        if not state.get("occupied"):
            return Step(state)
        limit = site.thresholds.bathroom_max
        if not in_night(site, now):
            return Step(state, _due(site, now))
        details = {"since": dt(state["since"]).isoformat(), "limit_s": limit.total_seconds()}
        return Step(state, None, [Raise(key, Severity.HIGH, key, details)])


def _due(site: Site, at: datetime) -> datetime:
    """When a stay that goes on from `at` first becomes too long at night."""
    return next_night_start(site, at) + site.thresholds.bathroom_max
