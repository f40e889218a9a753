"""Bed rules: a watched resident leaving bed at night, and anyone out of bed too long at night."""

from datetime import datetime, timedelta
from typing import ClassVar

from devices.equipment import Device
from devices.facility import Site
from devices.kinds import Severity
from server.rules.base import Clear, Obs, Raise, State, Step, bed_of, dt, in_night, next_night_start, ts


class BedExitNight:
    """Occupied to empty inside the night window, for residents whose care profile says so.

    The exit counts only once the bed stays empty for `bed_exit_confirm`: turning over is not an exit.
    """

    name: ClassVar[str] = "bed_exit_night"

    def key(self, site: Site, device: Device) -> str | None:
        """The bed, if its resident's profile watches bed exits."""
        bed = bed_of(device)
        profile = site.profile_of_bed(bed)
        return bed if bed and profile and profile.watch_bed_exit else None

    def observe(self, obs: Obs, state: State, due: datetime | None) -> Step:
        """Start the confirmation on an exit at night; cancel and clear on return."""
        occupied = obs.reading.occupied
        if occupied is None:
            return Step(state, due)
        was = state.get("occupied")
        if occupied:
            return Step({"occupied": True}, None, [Clear(obs.device.location.bed or "")] if was is False else [])
        if was is True and in_night(obs.site, obs.at):
            confirm = confirm_delay(obs.site, obs.device.location.bed or "")
            return Step({"occupied": False, "since": ts(obs.at), "night": True}, obs.at + confirm)
        return Step({**state, "occupied": False}, due)

    def fire(self, site: Site, key: str, state: State, now: datetime) -> Step:
        """Still empty after the confirmation delay: the resident is up."""
        if state.get("occupied") is not False or not state.get("night"):
            return Step(state)
        device_room = site.room_of_bed.get(key)
        return Step(state, None, [Raise(key, Severity.HIGH, device_room, {"since": dt(state["since"]).isoformat()})])


class OutOfBedTooLong:
    """A bed empty longer than `out_of_bed_max` (per resident or site) inside the night window."""

    name: ClassVar[str] = "out_of_bed_too_long"

    def key(self, site: Site, device: Device) -> str | None:
        """Every bed with a sensor."""
        return bed_of(device)

    def observe(self, obs: Obs, state: State, due: datetime | None) -> Step:
        """Count from the moment the bed became empty; stop and clear on return."""
        occupied = obs.reading.occupied
        if occupied is None:
            return Step(state, due)
        was = state.get("occupied")
        bed = obs.device.location.bed or ""
        if occupied:
            return Step({"occupied": True}, None, [Clear(bed)] if was is False else [])
        if was is False:
            return Step(state, due)
        limit = _limit(obs.site, bed)
        return Step({"occupied": False, "since": ts(obs.at)}, next_night_start(obs.site, obs.at) + limit)

    def fire(self, site: Site, key: str, state: State, now: datetime) -> Step:
        """Alert if it is night now; otherwise look again once the next night has run for the limit."""
        if state.get("occupied") is not False:
            return Step(state)
        limit = _limit(site, key)
        if not in_night(site, now):
            return Step(state, next_night_start(site, now) + limit)
        since = dt(state["since"])
        details = {"since": since.isoformat(), "limit_s": limit.total_seconds()}
        return Step(state, None, [Raise(key, Severity.HIGH, site.room_of_bed.get(key), details)])


def confirm_delay(site: Site, bed: str) -> timedelta:
    """The resident's own confirmation delay if the care profile sets one, else the site's."""
    profile = site.profile_of_bed(bed)
    return (profile.bed_exit_confirm if profile else None) or site.thresholds.bed_exit_confirm


def _limit(site: Site, bed: str) -> timedelta:
    """The resident's own limit if the care profile sets one, else the site's."""
    profile = site.profile_of_bed(bed)
    return (profile.out_of_bed_max if profile else None) or site.thresholds.out_of_bed_max
