"""The plausible day: 24 simulated hours of the reference facility raise none of the alerts it should not."""

from collections.abc import Callable
from datetime import datetime, timedelta
from random import Random

import pytest

from devices.facility import Site, TemperatureLimits
from devices.kinds import DeviceKind, PlugRole, TemperatureRole
from devices.loader import load_facility
from devices.sim import World
from devices.sim.residents import out_of_bed_limit
from tests.conftest import FACILITY_FILE
from tests.sim.sim_support import MIDNIGHT, SECOND, Trace, Watch, in_night, nobody_in, of_kind, sensors

DAY = timedelta(hours=24)
Holds = Callable[[datetime, Trace], bool]


def bed_watches(site: Site) -> list[Watch]:
    """A bed empty inside the night window, against the tighter of the site's and resident's limit."""
    def empty_at_night(device_id: str) -> Holds:
        return lambda now, t: in_night(site, now) and t.value(device_id, "occupied") is False

    return [Watch(f"{d.id} empty at night", empty_at_night(d.id), out_of_bed_limit(site, d.location.bed))
            for d in of_kind(site, DeviceKind.BED_SENSOR)]


def kitchen_watches(site: Site) -> list[Watch]:
    """A cooking appliance drawing power with nobody in its kitchen, against half of `kitchen_unattended`."""
    def unattended(device_id: str, room: str) -> Holds:
        on_w = site.thresholds.appliance_on_w
        return lambda now, t: (t.value(device_id, "power_w") or 0) > on_w and nobody_in(t, room)

    plugs = [d for d in of_kind(site, DeviceKind.POWER_PLUG)
             if d.appliance and d.appliance.role is PlugRole.COOKING]
    half = site.thresholds.kitchen_unattended / 2
    return [Watch(f"{d.id} unattended", unattended(d.id, d.location.room), half) for d in plugs]


def cold_watches(site: Site) -> list[Watch]:
    """A cold store outside its limits, against half of its `for`."""
    def outside(device_id: str, lim: TemperatureLimits) -> Holds:
        def holds(now: datetime, t: Trace) -> bool:
            value = t.value(device_id, "temperature_c")
            too_warm = lim.max_c is not None and value is not None and value > lim.max_c
            too_cold = lim.min_c is not None and value is not None and value < lim.min_c
            return too_warm or too_cold
        return holds

    stores = [(d, site.limits_of(d)) for d in of_kind(site, DeviceKind.TEMPERATURE_SENSOR)]
    return [Watch(f"{d.id} out of range", outside(d.id, lim), lim.for_ / 2) for d, lim in stores if lim]


def play_day(profile: str | None, seed: int, step: timedelta = SECOND) -> tuple[Site, Trace, list[Watch]]:
    """24 hours from local midnight with every rule-relevant watch."""
    site = load_facility(FACILITY_FILE, profile=profile).site()
    trace = Trace(World(site, Random(seed)))
    watches = bed_watches(site) + kitchen_watches(site) + cold_watches(site)
    trace.run(MIDNIGHT, DAY, step, watches)
    return site, trace, watches


def too_long(watches: list[Watch]) -> dict[str, tuple[str, str, datetime | None]]:
    """Watches whose condition held as long as their limit: (longest, limit, when that stretch began)."""
    return {w.name: (str(w.longest), str(w.limit), w.worst_at) for w in watches
            if w.limit is not None and w.longest >= w.limit}


@pytest.fixture(scope="module", params=[None, "demo"], ids=["reference", "demo"])
def day(request: pytest.FixtureRequest) -> tuple[Site, Trace, list[Watch]]:
    """One simulated day, stepped once a second, per profile (shared by the tests below)."""
    return play_day(request.param, seed=7)


def test_no_watched_condition_lasts_long_enough_to_alert(day: tuple[Site, Trace, list[Watch]]) -> None:
    site, trace, watches = day
    assert too_long(watches) == {}


def test_no_leak_smoke_or_sos(day: tuple[Site, Trace, list[Watch]]) -> None:
    _, trace, _ = day
    assert trace.alarms == []


def test_every_device_reports_within_its_offline_threshold(day: tuple[Site, Trace, list[Watch]]) -> None:
    site, trace, _ = day
    late = {d.id: str(trace.longest_silence(d.id)) for d in sensors(site)
            if trace.longest_silence(d.id) >= site.offline_after(d) or d.id not in trace.heard}
    assert late == {}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_other_seeds_stay_quiet_under_the_reference_thresholds(seed: int) -> None:
    # Minute-scale limits: 5 s steps are fine enough, and five times cheaper.
    _, trace, watches = play_day(None, seed, step=5 * SECOND)
    assert too_long(watches) == {}
    assert trace.alarms == []


def test_the_reference_day_looks_like_a_care_home() -> None:
    """Residents sleep at night and are up by day, meals are cooked, cold stores hold their temperature."""
    site = load_facility(FACILITY_FILE).site()
    trace = Trace(World(site, Random(5)))
    beds = [d.id for d in of_kind(site, DeviceKind.BED_SENSOR)]
    in_bed: dict[str, list[bool]] = {"night": [], "morning": []}
    power: dict[str, list[float]] = {"cooking": [], "boiler": []}
    temps: dict[str, list[float]] = {d.id: [] for d in of_kind(site, DeviceKind.TEMPERATURE_SENSOR)}
    getups, before = dict.fromkeys(beds, 0), dict.fromkeys(beds, True)

    def sample(now: datetime, t: Trace) -> None:
        hour = site.local(now).hour
        for bed in beds:
            occupied = t.value(bed, "occupied")
            getups[bed] += before[bed] and not occupied and in_night(site, now)
            before[bed] = occupied
            if 1 <= hour < 5 or 9 <= hour < 11:
                in_bed["night" if hour < 5 else "morning"].append(occupied)
        for d in of_kind(site, DeviceKind.POWER_PLUG):
            power["boiler" if d.appliance and d.appliance.role is PlugRole.BOILER else "cooking"].append(
                t.value(d.id, "power_w"))
        for device_id, values in temps.items():
            values.append(t.value(device_id, "temperature_c"))

    trace.run(MIDNIGHT, DAY, 5 * SECOND, each=sample)
    assert sum(in_bed["night"]) / len(in_bed["night"]) > 0.9
    assert sum(in_bed["morning"]) / len(in_bed["morning"]) < 0.1
    assert max(power["cooking"]) > 1000 and max(power["boiler"]) > 2500 and min(power["boiler"]) < 10
    assert sum(getups.values()) >= len(beds)  # about one per resident per 2-3 hours of night
    assert max(getups.values()) <= 8, getups
    for device in of_kind(site, DeviceKind.TEMPERATURE_SENSOR):
        low, high = (-21.0, -14.0) if device.role is TemperatureRole.FREEZER else (2.0, 7.5)
        assert low <= min(temps[device.id]) and max(temps[device.id]) <= high, device.id


def test_meters_count_energy_up_and_keep_mains_voltage() -> None:
    site = load_facility(FACILITY_FILE, profile="demo").site()
    trace = Trace(World(site, Random(3)))
    energy: dict[str, float] = {}

    def check(now: datetime, t: Trace) -> None:
        for d in of_kind(site, DeviceKind.POWER_PLUG):
            assert 220 <= t.value(d.id, "voltage_v") <= 230
            assert t.value(d.id, "energy_wh") >= energy.get(d.id, 0.0)
            energy[d.id] = t.value(d.id, "energy_wh")

    trace.run(MIDNIGHT + timedelta(hours=6), timedelta(hours=2), 5 * SECOND, each=check)
