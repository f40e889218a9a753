"""Not up by: a resident who has not got up during their wake-up window [06:00–09:30] and is still in bed when
it ends. Medium: staff look in on them. Out of bed for at least the bed-exit confirmation inside the window
counts as up (turning over does not); a nap after getting up is no alert."""

from datetime import date, datetime
from typing import ClassVar

from devices.basics import Window
from devices.equipment import Device
from devices.facility import Site
from devices.kinds import Severity
from server.rules.base import Clear, Obs, Raise, State, Step, bed_of, dt, in_window, next_time, ts
from server.rules.beds import confirm_delay


class NotUpBy:
    """State per bed: occupied, since when it is empty, the last day the resident was up and the last day
    alerted (site dates). One timer: the next end of the wake-up window."""

    name: ClassVar[str] = "not_up"

    def key(self, site: Site, device: Device) -> str | None:
        """Beds with a sensor, unless the resident's care profile turns the check off."""
        bed = bed_of(device)
        profile = site.profile_of_bed(bed)
        return bed if bed and (profile is None or profile.not_up_alert) else None

    def observe(self, obs: Obs, state: State, due: datetime | None) -> Step:
        """Note getting up; getting up clears the alert."""
        occupied = obs.reading.occupied
        bed = bed_of(obs.device) or ""
        due = due or next_time(obs.site, wake_window(obs.site, bed).end, obs.at)
        if occupied is None or occupied == state.get("occupied"):
            return Step(state, due)
        new = {**state, "occupied": occupied}
        if not occupied:
            new["empty"] = ts(obs.at)
            return Step(new, due, [Clear(bed)] if state.get("raised") == _day(obs.site, obs.at) else [])
        empty = new.pop("empty", None)
        if empty is not None and self._was_up(obs.site, bed, dt(empty), obs.at):
            new["up"] = _day(obs.site, obs.at)
        return Step(new, due)

    def fire(self, site: Site, key: str, state: State, now: datetime) -> Step:
        """The wake-up window has ended: in bed, and not up today, is an alert. Look again tomorrow."""
        window = wake_window(site, key)
        due = next_time(site, window.end, now)
        today = _day(site, now)
        if not state.get("occupied") or state.get("up") == today or state.get("raised") == today:
            return Step(state, due)
        details = {"wake_by": window.end.strftime("%H:%M")}
        raise_ = Raise(key, Severity.MEDIUM, site.room_of_bed.get(key), details)
        return Step({**state, "raised": today}, due, [raise_])

    @staticmethod
    def _was_up(site: Site, bed: str, out: datetime, back: datetime) -> bool:
        """Out of bed long enough to be up (not turning over), and inside today's wake-up window."""
        window = wake_window(site, bed)
        inside = in_window(site, window, out) or in_window(site, window, back)
        return inside and back - out >= confirm_delay(site, bed)


def wake_window(site: Site, bed: str) -> Window:
    """The resident's own wake-up window, else the site's."""
    profile = site.profile_of_bed(bed)
    return (profile.wake if profile else None) or site.schedules.wake


def _day(site: Site, at: datetime) -> str:
    """The site's calendar date of an instant, as kept in state."""
    return date.isoformat(site.local(at).date())
