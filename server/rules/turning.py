"""Repositioning due: a resident on a turning protocol (q1h/q2h/q4h/q6h) not turned within the interval.
A turn is bed-sensor movement, a caregiver logging it on the screen, or the resident leaving the bed.
Medium; cleared by the turn."""

from datetime import datetime, timedelta
from typing import ClassVar

from devices.equipment import Device
from devices.facility import Site
from devices.kinds import Severity
from server.rules.base import Clear, Obs, Raise, State, Step, bed_of, dt, ts


class RepositioningDue:
    """State per bed: occupied, last turn, whether the alert is up. Timer: last turn + interval."""

    name: ClassVar[str] = "repositioning_due"

    def key(self, site: Site, device: Device) -> str | None:
        """Beds whose resident has a turning protocol."""
        bed = bed_of(device)
        return bed if bed and interval(site, bed) is not None else None

    def observe(self, obs: Obs, state: State, due: datetime | None) -> Step:
        """A turn (movement, or back in bed) restarts the clock; out of bed pauses it."""
        bed = obs.device.location.bed or ""
        every = interval(obs.site, bed)
        occupied, moved = obs.reading.occupied, obs.reading.movement
        cleared = [Clear(bed)] if state.get("raised") else []
        if occupied is False:
            return Step({"occupied": False}, None, cleared if state.get("occupied") is not False else [])
        back = occupied is True and state.get("occupied") is not True
        if moved and occupied is None and state.get("occupied") is False:
            return Step(state, due)  # a turn logged for an empty bed: nobody to turn, the clock stays off
        if (moved or back) and every is not None:
            turn = {"occupied": True, "turned": ts(obs.at)}
            if obs.reading.action:
                turn["by"] = obs.reading.action
            return Step(turn, obs.at + every, cleared)
        return Step(state, due)

    def fire(self, site: Site, key: str, state: State, now: datetime) -> Step:
        """No turn within the interval."""
        every = interval(site, key)
        if not state.get("occupied") or every is None or "turned" not in state:
            return Step(state)
        details = {"last_turn": dt(state["turned"]).isoformat(), "interval_s": every.total_seconds()}
        return Step({**state, "raised": True}, None, [Raise(key, Severity.MEDIUM, site.room_of_bed.get(key), details)])


def interval(site: Site, bed: str) -> timedelta | None:
    """The resident's turning interval, or None if they are not on a protocol."""
    profile = site.profile_of_bed(bed)
    if profile is None or profile.turning is None:
        return None
    return site.thresholds.turning[profile.turning]
