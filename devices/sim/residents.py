"""Residents seen through their bed mats: asleep at night, turning over, up for the bathroom, up by day, a nap."""

from datetime import datetime, timedelta
from enum import Enum
from random import Random

from devices.basics import Window
from devices.equipment import Protocol
from devices.facility import Site
from devices.sim.bathrooms import Bathrooms
from devices.sim.device import SimDevice
from devices.sim.timeline import DAY_MINUTES, in_span, minute_of_day, next_local


class Phase(Enum):
    """What a resident's day says they are doing."""

    NIGHT = "night"  # inside the night window: in bed, up now and then for the bathroom
    RESTING = "resting"  # in bed outside the window: before it, after it until they get up, the afternoon nap
    DAY = "day"  # up and about


def out_of_bed_limit(site: Site, bed: str | None) -> timedelta:
    """The tighter of the site's and the resident's out-of-bed limit: get-ups must stay well under both."""
    profile = site.profile_of_bed(bed)
    own = profile.out_of_bed_max if profile else None
    site_limit = site.thresholds.out_of_bed_max
    return min(own, site_limit) if own else site_limit


def exit_confirm(site: Site, bed: str | None) -> timedelta:
    """How long a bed must stay empty to count as an exit: the resident's own delay, else the site's."""
    profile = site.profile_of_bed(bed)
    return (profile.bed_exit_confirm if profile else None) or site.thresholds.bed_exit_confirm


def wake_window(site: Site, bed: str | None) -> Window:
    """The resident's own wake-up window, else the site's."""
    profile = site.profile_of_bed(bed)
    return (profile.wake if profile else None) or site.schedules.wake


def rise_minute(site: Site, wake: Window, rng: Random) -> float:
    """When a resident gets up for the day: inside their wake window, not before the night ends, well before its end."""
    start, end = minute_of_day(wake.start), minute_of_day(wake.end)
    length = (end - start) % DAY_MINUTES or DAY_MINUTES
    night_end = minute_of_day(site.schedules.night.end)
    if (night_end - start) % DAY_MINUTES < length:
        start = night_end  # the night ends inside the wake window: nobody is up before it does
    room = (end - start) % DAY_MINUTES
    return start + rng.uniform(min(5.0, room / 4), min(90.0, 0.6 * room))


class Vitals:
    """A smart mat's heart and breathing rates: drifting slowly around the resident's resting rates; none when empty."""

    def __init__(self, sim: SimDevice, rng: Random) -> None:
        self.sim, self.rng = sim, rng
        self.measures = sim.device.protocol is Protocol.NATIVE  # the smart mat measures heart and breathing
        self.rest = (rng.uniform(58, 72), rng.uniform(13, 17))
        self.heart, self.breath = self.rest
        self.next_at: datetime | None = None

    def advance(self, now: datetime, in_bed: bool) -> None:
        """A new pair of rates every 30 s while someone lies on the mat."""
        if not self.measures:
            return
        if not in_bed:
            self.sim.set(heart_rate_bpm=None, respiration_rpm=None)
            self.next_at = None
            return
        if self.next_at is not None and now < self.next_at:
            return
        self.next_at = now + timedelta(seconds=30)
        self.heart += 0.1 * (self.rest[0] - self.heart) + self.rng.gauss(0, 1.0)
        self.breath += 0.1 * (self.rest[1] - self.breath) + self.rng.gauss(0, 0.4)
        self.sim.set(heart_rate_bpm=round(self.heart, 1), respiration_rpm=round(self.breath, 1))


class Resident:
    """The resident of one bed (by bed id only): drives its mat's `occupied`, `movement` and, on smart mats, vitals."""

    def __init__(self, sim: SimDevice, site: Site, rng: Random, bathrooms: Bathrooms | None = None) -> None:
        self.sim, self.site, self.rng, self.bathrooms = sim, site, rng, bathrooms
        bed = sim.device.location.bed
        profile = site.profile_of_bed(bed)
        self.limit, self.confirm = out_of_bed_limit(site, bed), exit_confirm(site, bed)
        self.wake = wake_window(site, bed)
        self.watched_waking = profile is None or profile.not_up_alert
        self.bed_pad = rng.uniform(10, 50)  # minutes in bed before the night window opens
        self.rise = rise_minute(site, self.wake, rng)
        self.nap = (rng.uniform(12 * 60 + 30, 13 * 60 + 10), rng.uniform(40, 80))  # start, length (minutes)
        self.mean_gap = rng.uniform(2, 3) * 3600.0  # one get-up per 2-3 hours of night
        self.vitals = Vitals(sim, rng)
        self.back_at: datetime | None = None
        self.next_getup: datetime | None = None
        self.turn_until: datetime | None = None
        self.next_turn: datetime | None = None
        self.next_stir: datetime | None = None
        self.wake_end: datetime | None = None

    def advance(self, now: datetime, dt: float) -> None:
        """Bring the mat's state up to `now`."""
        phase = self.phase(now)
        if phase is Phase.DAY:
            self.back_at = self.next_getup = self.turn_until = None
            in_bed = False
        else:
            in_bed = self._in_bed(now, phase) and not self._turning_over(now, phase, dt)
        if self._up_at_wake_end(now):
            in_bed = False
        self.sim.set(occupied=in_bed)
        self.vitals.advance(now, in_bed)

    def phase(self, at: datetime) -> Phase:
        """The resident's plan for an instant, from the site's night window and their own habits."""
        night = self.site.schedules.night
        local = self.site.local(at).time()
        if night.contains(local):
            return Phase.NIGHT
        minute, start = minute_of_day(local), minute_of_day(night.start)
        nap_start, nap_len = self.nap
        if in_span(minute, start - self.bed_pad, self.rise) or in_span(minute, nap_start, nap_start + nap_len):
            return Phase.RESTING
        return Phase.DAY

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
        if not self._book(now, away):
            self.next_getup = now + timedelta(minutes=self.rng.uniform(2, 5))  # the bathroom is taken: wait
            return True
        self.back_at = now + away
        return False

    def _book(self, now: datetime, away: timedelta) -> bool:
        """The bathroom for the middle of the trip, a few minutes and well under `bathroom_max`."""
        if self.bathrooms is None:
            return True
        walk = 0.15 * away
        stay = min(0.7 * away, self.bathrooms.stay_cap())
        return self.bathrooms.trip(self.sim.device.location.room, now + walk, now + walk + stay)

    def _turning_over(self, now: datetime, phase: Phase, dt: float) -> bool:
        """Turning over at night lifts the resident off the mat's strip for a second or two (never as long as an
        exit takes to confirm); the mat feels the movement when they settle. Restless stirring in between."""
        if self.turn_until is not None:
            if now < self.turn_until:
                return True
            self.turn_until = None
            self._moved()
        if phase is not Phase.NIGHT:
            self.next_turn = self.next_stir = None
            return False
        if self.next_stir is None or now >= self.next_stir:
            if self.next_stir is not None:
                self._moved()
            self.next_stir = now + timedelta(minutes=self.rng.uniform(15, 45))
        if self.next_turn is None:
            self.next_turn = now + timedelta(minutes=self.rng.uniform(30, 100))
        elif now >= self.next_turn:
            self.next_turn = None
            # A reading shows the empty mat until the next step: with the step added it must still look shorter
            # than an exit. A clock too coarse for that shows only the movement.
            confirm = self.confirm.total_seconds()
            longest = min(6.0, 0.6 * confirm, confirm - 1.5 * dt)
            if longest < 1.0:
                self._moved()
                return False
            self.turn_until = now + timedelta(seconds=self.rng.uniform(1.0, longest))
            return True
        return False

    def _moved(self) -> None:
        """A `movement` pulse, unless a scenario scripts the mat's movement."""
        if not self.sim.scripted("movement"):
            self.sim.pulse(movement=True)

    def _up_at_wake_end(self, now: datetime) -> bool:
        """Out of bed across the end of the wake window, even where the day would keep them in bed (a demo's
        all-day night): staff get everyone up by then. Briefly, well under the out-of-bed limit."""
        if not self.watched_waking:
            return False
        lead, tail = min(timedelta(minutes=2), 0.1 * self.limit), min(timedelta(minutes=3), 0.15 * self.limit)
        if self.wake_end is None or now >= self.wake_end + tail:
            self.wake_end = next_local(now - tail, self.site.zone, minute_of_day(self.wake.end))
        return self.wake_end - lead <= now < self.wake_end + tail

    def _gap(self) -> timedelta:
        """Time to the next night get-up: random, but never two in quick succession."""
        return timedelta(seconds=0.2 * self.mean_gap + self.rng.expovariate(1 / (0.8 * self.mean_gap)))

    def _away(self) -> timedelta:
        """A bathroom trip: a few minutes, and never more than 40 % of the out-of-bed limit."""
        limit = self.limit.total_seconds()
        return timedelta(seconds=min(self.rng.uniform(180, 720), self.rng.uniform(0.2, 0.4) * limit))
