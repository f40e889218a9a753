"""Not up by: a resident still in bed when their wake-up window ends [09:30]. Medium: staff look in on them."""

from datetime import datetime
from typing import ClassVar

from devices.facility import Device, Site, Window
from devices.kinds import DeviceKind, Severity
from server.rules.base import Clear, Obs, Raise, State, Step, next_time


class NotUpBy:
    """State per bed: occupied, and whether today's alert was raised. One timer: the next window end."""

    name: ClassVar[str] = "not_up"

    def key(self, site: Site, device: Device) -> str | None:
        """Beds with a sensor, unless the resident's care profile turns the check off."""
        bed = device.location.bed if device.kind is DeviceKind.BED_SENSOR else None
        profile = site.profile_of_bed(bed)
        return bed if bed and (profile is None or profile.not_up_alert) else None

    def observe(self, obs: Obs, state: State, due: datetime | None) -> Step:
        """Keep whether the bed is occupied; getting up clears the alert."""
        occupied = obs.reading.occupied
        bed = obs.device.location.bed or ""
        due = due or next_time(obs.site, wake_window(obs.site, bed).end, obs.at)
        if occupied is None:
            return Step(state, due)
        actions = [Clear(bed)] if not occupied and state.get("raised") else []
        new = {"occupied": occupied} if occupied != state.get("occupied") else dict(state)
        if not occupied:
            new.pop("raised", None)
        return Step(new, due, actions)

    def fire(self, site: Site, key: str, state: State, now: datetime) -> Step:
        """The wake window has ended: still in bed is an alert. Look again at tomorrow's end."""
        window = wake_window(site, key)
        due = next_time(site, window.end, now)
        if not state.get("occupied") or state.get("raised"):
            return Step(state, due)
        details = {"wake_by": window.end.strftime("%H:%M")}
        return Step({**state, "raised": True}, due, [Raise(key, Severity.MEDIUM, site.room_of_bed.get(key), details)])


def wake_window(site: Site, bed: str) -> Window:
    """The resident's own wake-up window, else the site's."""
    profile = site.profile_of_bed(bed)
    return (profile.wake if profile else None) or site.schedules.wake
