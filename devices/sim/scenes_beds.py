"""Scenarios on bed mats: exits at night, out of bed too long, not up by the wake-up time, a turn missed, vitals."""

from datetime import datetime, timedelta

from devices.equipment import Protocol
from devices.facility import Site
from devices.kinds import DeviceKind
from devices.sim.device import SimDevice
from devices.sim.residents import out_of_bed_limit, wake_window
from devices.sim.scenario import SETTLE, S, Scenario, Stage
from devices.sim.timeline import minute_of_day, next_local
from devices.thresholds import Limits

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


def wake_end_after(site: Site, sim: SimDevice, at: datetime) -> datetime:
    """The end of the bed's resident's next whole wake-up window after `at`: staying in bed through all of it
    is not getting up (inside a window already begun, the resident may have been up already)."""
    window = wake_window(site, sim.device.location.bed)
    opens = next_local(at, site.zone, minute_of_day(window.start))
    return next_local(opens, site.zone, minute_of_day(window.end))


def turning_interval(site: Site, sim: SimDevice) -> timedelta | None:
    """How often the bed's resident must be turned, if they are on a turning protocol."""
    profile = site.profile_of_bed(sim.device.location.bed)
    return site.thresholds.turning[profile.turning] if profile and profile.turning else None


def heart_limits(site: Site, sim: SimDevice) -> Limits:
    """Heart-rate limits of the bed's resident: their care profile's values over the site's."""
    profile = site.profile_of_bed(sim.device.location.bed)
    own = profile.heart_rate if profile else None
    if own is None:
        return site.thresholds.heart_rate
    # Only the values the profile sets: a profile laid over the file may carry the others as None.
    mine = own.model_dump(by_alias=True, exclude_none=True)
    return Limits.model_validate({**site.thresholds.heart_rate.model_dump(by_alias=True), **mine})


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


class NotUp(Scenario):
    """A resident stays in bed through their next whole wake-up window and a minute past it, then gets up."""

    name = "not-up"

    def cast(self, stage: Stage) -> list[SimDevice]:
        def checked(sim: SimDevice) -> bool:
            profile = stage.site.profile_of_bed(sim.device.location.bed)
            return profile is None or profile.not_up_alert

        beds = stage.free(DeviceKind.BED_SENSOR, checked)
        # The soonest wake-up time makes the shortest run.
        soonest = min((wake_end_after(stage.site, b, self.start) for b in beds), default=None)
        return [stage.pick([b for b in beds if wake_end_after(stage.site, b, self.start) == soonest],
                           "bed whose care profile checks the wake-up time")]

    def plan(self) -> timedelta:
        self.up = wake_end_after(self.site, self.device, self.start) - self.start + 60 * S
        return self.up + SETTLE

    def apply(self, elapsed: timedelta) -> None:
        _bed(self.device, elapsed < self.up)


class RepositioningDue(Scenario):
    """A resident on a turning protocol is not turned for 20 s past the interval, then a caregiver turns them."""

    name = "repositioning-due"

    def cast(self, stage: Stage) -> list[SimDevice]:
        beds = stage.free(DeviceKind.BED_SENSOR, lambda s: turning_interval(stage.site, s) is not None)
        return [stage.pick(beds, "bed of a resident on a turning protocol")]

    def plan(self) -> timedelta:
        every = turning_interval(self.site, self.device) or timedelta(hours=2)
        self.turn, self.turned = every + 20 * S, False
        return self.turn + SETTLE

    def apply(self, elapsed: timedelta) -> None:
        self.device.force(occupied=True, movement=None)  # in bed, lying still: no turn from the day model
        if elapsed >= self.turn and not self.turned:
            self.device.pulse(movement=True)
            self.turned = True


class VitalsOutOfRange(Scenario):
    """The vitals mat reads a heart rate of ~135 bpm for 20 s past the hold-off, then a resting rate again."""

    name = "vitals-out-of-range"
    BPM = 135.0

    def cast(self, stage: Stage) -> list[SimDevice]:
        mats = stage.free(DeviceKind.BED_SENSOR, lambda s: s.device.protocol is Protocol.NATIVE)
        return [stage.pick(mats, "vitals mat (a bed sensor that measures heart rate)")]

    def plan(self) -> timedelta:
        limits = heart_limits(self.site, self.device)
        self.bpm = max(self.BPM, (limits.max or self.BPM) + 15)
        self.calm = (limits.min or 40) + 0.4 * ((limits.max or 120) - (limits.min or 40))
        self.normal = S + limits.for_ + 20 * S
        return self.normal + SETTLE

    def apply(self, elapsed: timedelta) -> None:
        rate = self.bpm if S <= elapsed < self.normal else self.calm
        rng = self.stage.rng
        self.device.force(occupied=True, heart_rate_bpm=round(rate + rng.gauss(0, 1.5), 1),
                          respiration_rpm=round(18 + rng.gauss(0, 0.5), 1))
