"""Bathrooms: residents' night trips, short visits and morning showers by day; presence, hot water and steam."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random

from devices.facility import Site
from devices.kinds import DeviceKind, RoomType
from devices.sim.building import daytime
from devices.sim.climate import HotWater, RoomClimate
from devices.sim.device import SimDevice
from devices.sim.timeline import minute_of_day

SHOWER_HOURS = (8 * 60, 11 * 60)  # local minutes: residents are showered after breakfast
WASH = timedelta(seconds=40)  # hands washed at the end of a visit
KEEP = timedelta(hours=1)  # past visits kept this long (only for the gap to the next booking)


@dataclass(frozen=True)
class Visit:
    """Someone in a bathroom from `start` to `end`; a shower runs the water (and steams) nearly throughout."""

    start: datetime
    end: datetime
    shower: bool = False

    def water(self, at: datetime) -> bool:
        """Whether the hot water runs at `at`: most of a shower, the hand-wash at the end of any other visit."""
        length = self.end - self.start
        if self.shower:
            return self.start + 0.1 * length <= at < self.end - 0.1 * length
        return self.end - min(WASH, 0.3 * length) <= at < self.end


class Bathroom:
    """One bathroom: its bookings, presence sensors, room climate sensors and hot-water outlets."""

    def __init__(self, room: str, presence: list[SimDevice], climate: list[RoomClimate], taps: list[HotWater]
                 ) -> None:
        self.room, self.presence, self.climate, self.taps = room, presence, climate, taps
        self.visits: list[Visit] = []

    def free(self, start: datetime, end: datetime, gap: timedelta) -> bool:
        """Nobody booked within `gap` of the span: one person at a time, and the sensor sees the room empty between."""
        return all(v.end + gap <= start or end + gap <= v.start for v in self.visits)

    def advance(self, now: datetime) -> None:
        """Presence, tap and steam at `now`."""
        self.visits = [v for v in self.visits if v.end + KEEP > now]
        here = [v for v in self.visits if v.start <= now < v.end]
        for sim in self.presence:
            sim.set(occupied=bool(here))
        for tap in self.taps:
            tap.run(any(v.water(now) for v in here))
        for climate in self.climate:
            climate.steaming = any(v.shower and v.water(now) for v in here)


class Bathrooms:
    """Every bathroom of a site. Residents book their night trips; visits and showers by day come by themselves."""

    def __init__(self, site: Site, rng: Random, rooms: list[Bathroom], bedrooms: list[str]) -> None:
        self.site, self.rng, self.rooms = site, rng, rooms
        self.bedrooms = bedrooms
        limit = site.thresholds.bathroom_max
        self.gap = min(timedelta(minutes=1), 0.2 * limit)
        self.next_visit: datetime | None = None

    def stay_cap(self) -> timedelta:
        """Longest a visit may last: a fifth to two fifths of `bathroom_max`, so no visit looks like a fall."""
        return self.rng.uniform(0.2, 0.4) * self.site.thresholds.bathroom_max

    def trip(self, bedroom: str, start: datetime, end: datetime) -> bool:
        """Book a resident's night visit, in their nearest bathroom if free; False when every bathroom is taken."""
        if not self.rooms:
            return True
        first = self.bedrooms.index(bedroom) % len(self.rooms) if bedroom in self.bedrooms else 0
        for room in self.rooms[first:] + self.rooms[:first]:
            if room.free(start, end, self.gap):
                room.visits.append(Visit(start, end))
                return True
        return False

    def advance(self, now: datetime, dt: float) -> None:
        """Plan the day's visits, then set every bathroom's devices."""
        if self.next_visit is None:
            self.next_visit = now + timedelta(minutes=self.rng.uniform(10, 40))
        elif now >= self.next_visit:
            self.next_visit = None
            self._day_visit(now)
        for room in self.rooms:
            room.advance(now)

    def _day_visit(self, now: datetime) -> None:
        """A short visit, or after breakfast often a shower, wholly inside busy daytime hours."""
        minute = minute_of_day(self.site.local(now).time())
        shower = SHOWER_HOURS[0] <= minute < SHOWER_HOURS[1] and self.rng.random() < 0.6
        length = timedelta(minutes=self.rng.uniform(12, 20)) if shower else min(
            timedelta(minutes=self.rng.uniform(2, 6)), self.stay_cap())
        start = now + timedelta(seconds=5)
        if not (daytime(self.site, start) and daytime(self.site, start + length + self.gap)):
            return
        # Showers go where there is hot water or a climate sensor to show them, if such a room is free.
        rooms = [r for r in self.rooms if r.free(start, start + length, self.gap)]
        wet = [r for r in rooms if r.taps or r.climate]
        if rooms:
            room = self.rng.choice(wet if shower and wet else rooms)
            room.visits.append(Visit(start, start + length, shower))


def bathrooms_of(site: Site, sims: dict[str, SimDevice], climate: dict[str, RoomClimate],
                 taps: dict[str, HotWater], rng: Random) -> Bathrooms:
    """The site's bathrooms with the presence sensors, climate sensors and hot-water outlets in each."""
    def here(room: str, sim: SimDevice) -> bool:
        return sim.device.location.room == room

    def bathroom(room: str) -> Bathroom:
        presence = [s for s in sims.values() if s.device.kind is DeviceKind.PRESENCE_SENSOR and here(room, s)]
        return Bathroom(room, presence, [c for c in climate.values() if here(room, c.sim)],
                        [t for t in taps.values() if here(room, t.sim)])

    rooms = [bathroom(r.id) for r in site.rooms() if r.type is RoomType.BATHROOM]
    bedrooms = [r.id for r in site.rooms() if r.type is RoomType.BEDROOM]
    return Bathrooms(site, rng, rooms, bedrooms)
