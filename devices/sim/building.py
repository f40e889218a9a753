"""The rest of the building: exit doors used by day, room presence, quiet safety sensors, draining batteries."""

from datetime import datetime, timedelta
from random import Random

from devices.facility import Site
from devices.kinds import DeviceKind
from devices.sim.device import SimDevice
from devices.sim.timeline import minute_of_day

DAYTIME = (7 * 60, 20 * 60)  # local minutes when visitors and staff come and go


def daytime(site: Site, at: datetime) -> bool:
    """Busy hours outside the night window, when doors open and day rooms are used."""
    local = site.local(at).time()
    minute = minute_of_day(local)
    return DAYTIME[0] <= minute < DAYTIME[1] and not site.schedules.night.contains(local)


class Door:
    """An exit door: opened for a few seconds now and then by day, never at night."""

    def __init__(self, sim: SimDevice, site: Site, rng: Random) -> None:
        self.sim, self.site, self.rng = sim, site, rng
        self.next_open: datetime | None = None
        self.close_at: datetime | None = None
        sim.set(open=False)

    def advance(self, now: datetime, dt: float) -> None:
        """Open or close the door when its time comes."""
        if self.close_at is not None and now >= self.close_at:
            self.close_at = None
            self.sim.set(open=False)
        if self.next_open is None:
            self.next_open = now + timedelta(minutes=self.rng.uniform(10, 40))
        elif now >= self.next_open and self.close_at is None:
            self.next_open = None
            seconds = self.rng.uniform(5, 30)
            if inside_day(self.site, now, now + timedelta(seconds=seconds)):
                self.close_at = now + timedelta(seconds=seconds)
                self.sim.set(open=True)


def inside_day(site: Site, *instants: datetime) -> bool:
    """Whether all instants are busy daytime."""
    return all(daytime(site, at) for at in instants)


class RoomPresence:
    """A presence sensor outside kitchens and bathrooms: someone is about by day, nobody at night."""

    def __init__(self, sim: SimDevice, site: Site) -> None:
        self.sim, self.site = sim, site

    def advance(self, now: datetime, dt: float) -> None:
        """Occupied during busy daytime hours."""
        self.sim.set(occupied=daytime(self.site, now))


QUIET_STATE = {
    DeviceKind.LEAK_SENSOR: {"leak": False},
    DeviceKind.SMOKE_DETECTOR: {"smoke": False},
    DeviceKind.SOS_BUTTON: {"pressed": False},
}


def quiet(sim: SimDevice) -> None:
    """Leak, smoke and SOS devices: nothing happens unless a scenario says so."""
    sim.set(**QUIET_STATE.get(sim.device.kind, {}))


class Batteries:
    """Battery devices: each charge falls a fraction of a percent a day, from wherever it stands (a new battery)."""

    def __init__(self, sims: list[SimDevice], rng: Random) -> None:
        self.sims = sims
        self.per_second = {s.id: rng.uniform(0.1, 0.5) / 86400 for s in sims}  # a coin cell lasts a year or two
        for sim in sims:
            sim.set(battery_pct=float(rng.randint(55, 100)))

    def advance(self, now: datetime, dt: float) -> None:
        """Drain every battery by the time passed."""
        for sim in self.sims:
            charge = sim.base.get("battery_pct")
            if charge is not None:
                sim.set(battery_pct=max(0.0, charge - self.per_second[sim.id] * dt))
