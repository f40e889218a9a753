"""Residents seen through their bed mats: asleep at night with rare short get-ups, up by day, a nap."""

from datetime import datetime, timedelta
from enum import Enum
from random import Random

from devices.facility import Protocol, Site
from devices.sim.device import SimDevice
from devices.sim.timeline import in_span, minute_of_day


class Phase(Enum):
    """What a resident's day says they are doing."""

    NIGHT = "night"  # inside the night window: in bed, up now and then for the bathroom
    RESTING = "resting"  # in bed outside the window: just before it, just after it, the afternoon nap
    DAY = "day"  # up and about


def out_of_bed_limit(site: Site, bed: str | None) -> timedelta:
    """The tighter of the site's and the resident's out-of-bed limit: get-ups must stay well under both."""
    profile = site.profile_of_bed(bed)
    own = profile.out_of_bed_max if profile else None
    site_limit = site.thresholds.out_of_bed_max
    return min(own, site_limit) if own else site_limit


class Resident:
    """The resident of one bed (by bed id only): drives its mat's `occupied` and, for smart mats, vitals."""

    def __init__(self, sim: SimDevice, site: Site, rng: Random) -> None:
        self.sim, self.site, self.rng = sim, site, rng
        self.limit = out_of_bed_limit(site, sim.device.location.bed)
        self.bed_pad = rng.uniform(10, 50)  # minutes in bed before the night window opens
        self.wake_pad = rng.uniform(5, 45)  # minutes still in bed after it closes
        self.nap = (rng.uniform(12 * 60 + 30, 13 * 60 + 10), rng.uniform(40, 80))  # start, length (minutes)
        self.mean_gap = rng.uniform(2, 3) * 3600.0  # one get-up per 2-3 hours of night
        self.vitals = sim.device.protocol is Protocol.NATIVE  # the smart mat measures heart and breathing
        self.rest = (rng.uniform(58, 72), rng.uniform(13, 17))
        self.heart, self.breath = self.rest
        self.back_at: datetime | None = None
        self.next_getup: datetime | None = None
        self.next_vitals: datetime | None = None

    def advance(self, now: datetime, dt: float) -> None:
        """Bring the mat's state up to `now`."""
        phase = self.phase(now)
        if phase is Phase.DAY:
            self.back_at = self.next_getup = None
            in_bed = False
        else:
            in_bed = self._in_bed(now, phase)
        self.sim.set(occupied=in_bed)
        self._vitals(now, in_bed)

    def phase(self, at: datetime) -> Phase:
        """The resident's plan for an instant, from the site's night window and their own habits."""
        night = self.site.schedules.night
        local = self.site.local(at).time()
        if night.contains(local):
            return Phase.NIGHT
        minute, start, end = minute_of_day(local), minute_of_day(night.start), minute_of_day(night.end)
        nap_start, nap_len = self.nap
        if in_span(minute, start - self.bed_pad, start) or in_span(minute, end, end + self.wake_pad):
            return Phase.RESTING
        return Phase.RESTING if in_span(minute, nap_start, nap_start + nap_len) else Phase.DAY

    def _in_bed(self, now: datetime, phase: Phase) -> bool:
        """In bed, unless a night get-up is under way or starts now."""
        if self.back_at is not None:
            if now < self.back_at:
                return False
            self.back_at = None
        if phase is not Phase.NIGHT:
            return True
        if self.next_getup is None:
            self.next_getup = now + self._gap()
            return True
        if now < self.next_getup:
            return True
        self.next_getup = None
        away = self._away()
        # Never get up into the day: a get-up that would end after the resting time is skipped.
        if self.phase(now + away + timedelta(minutes=1)) is Phase.DAY:
            return True
        self.back_at = now + away
        return False

    def _gap(self) -> timedelta:
        """Time to the next night get-up: random, but never two in quick succession."""
        return timedelta(seconds=0.2 * self.mean_gap + self.rng.expovariate(1 / (0.8 * self.mean_gap)))

    def _away(self) -> timedelta:
        """A bathroom trip: a few minutes, and never more than 40 % of the out-of-bed limit."""
        limit = self.limit.total_seconds()
        return timedelta(seconds=min(self.rng.uniform(180, 720), self.rng.uniform(0.2, 0.4) * limit))

    def _vitals(self, now: datetime, in_bed: bool) -> None:
        """Heart and breathing rates drift slowly while someone lies on a smart mat; nothing when empty."""
        if not self.vitals:
            return
        if not in_bed:
            self.sim.set(heart_rate_bpm=None, respiration_rpm=None)
            self.next_vitals = None
            return
        if self.next_vitals is not None and now < self.next_vitals:
            return
        self.next_vitals = now + timedelta(seconds=30)
        self.heart += 0.1 * (self.rest[0] - self.heart) + self.rng.gauss(0, 1.0)
        self.breath += 0.1 * (self.rest[1] - self.breath) + self.rng.gauss(0, 0.4)
        self.sim.set(heart_rate_bpm=round(self.heart, 1), respiration_rpm=round(self.breath, 1))
