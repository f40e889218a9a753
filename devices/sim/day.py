"""The cast of the plausible day: residents, kitchen, bathrooms, cold stores, rooms, boiler, doors and sensors."""

from datetime import datetime
from random import Random
from typing import Protocol

from devices.facility import Site
from devices.kinds import DeviceKind, PlugRole, RoomType, TemperatureRole
from devices.sim.appliances import Boiler, Meter, SteadyLoad
from devices.sim.bathrooms import Bathrooms, bathrooms_of
from devices.sim.bedridden import Bedridden
from devices.sim.building import Batteries, Door, RoomPresence, quiet
from devices.sim.cabinets import COLD_ROLES, Cabinet
from devices.sim.climate import HotWater, RoomClimate
from devices.sim.device import SimDevice, has_battery
from devices.sim.kitchen import Kitchen
from devices.sim.residents import Resident

STANDBY_W = {PlugRole.COOKING: 1.5, PlugRole.BOILER: 5.0, PlugRole.OTHER: 0.5}


class Actor(Protocol):
    """Anything that moves devices' state forward in time."""

    def advance(self, now: datetime, dt: float) -> None:
        """Bring the state up to `now`, `dt` seconds after the previous step."""
        ...


def cast(site: Site, sims: dict[str, SimDevice], rng: Random) -> list[Actor]:
    """Every actor of the plausible day, wired to the devices it drives."""
    for sim in sims.values():
        quiet(sim)
    kitchens = _kitchen_rooms(site, sims)
    thermometers = _of(sims, DeviceKind.TEMPERATURE_SENSOR)
    cabinets = {s.id: Cabinet(s, site, rng, opens_itself=s.device.location.room not in kitchens)
                for s in thermometers if _temperature_role(s) in COLD_ROLES}
    climate = {s.id: RoomClimate(s, site, rng) for s in thermometers if _temperature_role(s) is TemperatureRole.ROOM}
    bathroom_ids = {r.id for r in site.rooms() if r.type is RoomType.BATHROOM}
    taps = {s.id: HotWater(s, site, rng, runs_itself=s.device.location.room not in bathroom_ids)
            for s in thermometers if _temperature_role(s) is TemperatureRole.HOT_WATER}
    bathrooms = bathrooms_of(site, sims, climate, taps, rng)
    meters = {s.id: Meter(s, rng, STANDBY_W[_role(s)]) for s in _of(sims, DeviceKind.POWER_PLUG)}
    actors: list[Actor] = [_kitchen(site, rng, room, sims, cabinets, meters) for room in sorted(kitchens)]
    actors.append(bathrooms)  # before the sensors it drives: taps and steam take effect in the same step
    actors += [*cabinets.values(), *climate.values(), *taps.values()]
    # Cooking plugs belong to their kitchen (every room with one counts as a kitchen); the rest run alone.
    actors += [_plug(m, rng) for m in meters.values() if _role(m.sim) is not PlugRole.COOKING]
    actors += [_resident(s, site, rng, bathrooms) for s in _of(sims, DeviceKind.BED_SENSOR)]
    actors += [Door(s, site, rng) for s in _of(sims, DeviceKind.DOOR_CONTACT)]
    actors += [RoomPresence(s, site) for s in _of(sims, DeviceKind.PRESENCE_SENSOR)
               if s.device.location.room not in kitchens | bathroom_ids]
    actors.append(Batteries([s for s in sims.values() if has_battery(s.device)], rng))
    return actors


def _resident(sim: SimDevice, site: Site, rng: Random, bathrooms: Bathrooms) -> Actor:
    """The resident of a bed: bedridden on a turning protocol, else up and about by day."""
    profile = site.profile_of_bed(sim.device.location.bed)
    if profile is not None and profile.turning is not None:
        return Bedridden(sim, rng, site.thresholds.turning[profile.turning])
    return Resident(sim, site, rng, bathrooms)


def _temperature_role(sim: SimDevice) -> TemperatureRole:
    """What a temperature sensor watches; `other` when the file leaves it out."""
    return sim.device.role or TemperatureRole.OTHER


def _of(sims: dict[str, SimDevice], kind: DeviceKind) -> list[SimDevice]:
    """Simulated devices of one kind, in facility-file order."""
    return [s for s in sims.values() if s.device.kind is kind]


def _role(sim: SimDevice) -> PlugRole:
    """What a plug powers."""
    return sim.device.appliance.role if sim.device.appliance else PlugRole.OTHER


def _kitchen_rooms(site: Site, sims: dict[str, SimDevice]) -> set[str]:
    """Rooms where someone cooks: kitchens, and any room with a cooking appliance."""
    rooms = {r.id for r in site.rooms() if r.type is RoomType.KITCHEN}
    cooking = [s for s in _of(sims, DeviceKind.POWER_PLUG) if _role(s) is PlugRole.COOKING]
    return rooms | {s.device.location.room for s in cooking}


def _kitchen(site: Site, rng: Random, room: str, sims: dict[str, SimDevice], cabinets: dict[str, Cabinet],
             meters: dict[str, Meter]) -> Kitchen:
    """The kitchen actor of one room, with the devices in it."""
    def here(sim: SimDevice) -> bool:
        return sim.device.location.room == room

    cookers = [m for m in meters.values() if here(m.sim) and _role(m.sim) is PlugRole.COOKING]
    presence = [s for s in _of(sims, DeviceKind.PRESENCE_SENSOR) if here(s)]
    stores = [c for c in cabinets.values() if here(c.sim) and c.has_door]
    return Kitchen(site, rng, cookers=cookers, presence=presence, cabinets=stores)


def _plug(meter: Meter, rng: Random) -> Actor:
    """The actor behind a plug no kitchen drives."""
    appliance = meter.sim.device.appliance
    if appliance is not None and appliance.role is PlugRole.BOILER:
        return Boiler(meter, rng, appliance)
    return SteadyLoad(meter, rng)
