"""The plausible day: 24 simulated hours of the reference facility raise none of the alerts it should not."""

from collections.abc import Callable
from datetime import datetime, timedelta
from random import Random

import pytest

from devices.basics import Window
from devices.equipment import PowerBand, Protocol
from devices.facility import Site
from devices.kinds import DeviceKind, PlugRole, TemperatureRole
from devices.loader import load_facility
from devices.sim import World
from devices.sim.cabinets import DELIVERY_OVER_C
from devices.sim.device import has_battery
from devices.sim.residents import exit_confirm, out_of_bed_limit, wake_window
from devices.sim.timeline import inside
from devices.thresholds import Limits
from tests.conftest import FACILITY_FILE
from tests.sim.sim_support import (
    MIDNIGHT,
    SECOND,
    Trace,
    Watch,
    bathroom_sensors,
    in_night,
    nobody_in,
    of_kind,
    outside,
    pulses,
    sensors,
    spells,
    vital_limits,
)

DAY = timedelta(hours=24)
Day = tuple[Site, Trace, list[Watch]]
Holds = Callable[[datetime, Trace], bool]


def bedridden(site: Site, device_id: str) -> bool:
    """Whether the bed's resident is on a turning protocol (in bed day and night)."""
    profile = site.profile_of_bed(site.device_by_id[device_id].location.bed)
    return profile is not None and profile.turning is not None


def bed_watches(site: Site) -> list[Watch]:
    """A bed empty inside the night window, against the tighter of the site's and resident's limit."""
    def empty_at_night(device_id: str) -> Holds:
        return lambda now, t: in_night(site, now) and t.value(device_id, "occupied") is False

    return [Watch(f"{d.id} empty at night", empty_at_night(d.id), out_of_bed_limit(site, d.location.bed))
            for d in of_kind(site, DeviceKind.BED_SENSOR)]


def wake_watches(site: Site) -> list[Watch]:
    """A resident whose profile checks getting up still in bed the moment their wake-up window ends: never."""
    def in_bed_at_end(device_id: str, bed: str | None) -> Holds:
        end = wake_window(site, bed).end
        return lambda now, t: site.local(now).time() == end and t.value(device_id, "occupied") is True

    beds = [d for d in of_kind(site, DeviceKind.BED_SENSOR)
            if (p := site.profile_of_bed(d.location.bed)) is None or p.not_up_alert]
    return [Watch(f"{d.id} in bed at the wake-up time", in_bed_at_end(d.id, d.location.bed)) for d in beds]


def turning_watches(site: Site) -> list[Watch]:
    """A resident on a turning protocol lying still (no movement, no return to bed), against the interval."""
    def still(device_id: str) -> Holds:
        return lambda now, t: t.value(device_id, "occupied") is True and not t.value(device_id, "movement")

    out = []
    for d in of_kind(site, DeviceKind.BED_SENSOR):
        profile = site.profile_of_bed(d.location.bed)
        if profile is not None and profile.turning is not None:
            out.append(Watch(f"{d.id} not turned", still(d.id), site.thresholds.turning[profile.turning]))
    return out


def vitals_watches(site: Site) -> list[Watch]:
    """Heart or breathing rate outside the resident's limits, against half of the hold-off."""
    def out(device_id: str, name: str, limits: Limits) -> Holds:
        return lambda now, t: outside(limits, t.value(device_id, name))

    watches = []
    for d in of_kind(site, DeviceKind.BED_SENSOR):
        for name, setting in (("heart_rate_bpm", "heart_rate"), ("respiration_rpm", "respiration")):
            limits = vital_limits(site, d.location.bed, setting)
            watches.append(Watch(f"{d.id} {name} out of range", out(d.id, name, limits), limits.for_ / 2))
    return watches


def bathroom_watches(site: Site) -> list[Watch]:
    """Someone in a bathroom at night, against half of `bathroom_max`."""
    def someone(ids: list[str]) -> Holds:
        return lambda now, t: in_night(site, now) and any(t.value(i, "occupied") is True for i in ids)

    half = site.thresholds.bathroom_max / 2
    return [Watch(f"{room} occupied at night", someone(ids), half) for room, ids in bathroom_sensors(site).items()]


def door_watches(site: Site) -> list[Watch]:
    """An exit door open at night: never."""
    def open_at_night(device_id: str) -> Holds:
        return lambda now, t: in_night(site, now) and t.value(device_id, "open") is True

    return [Watch(f"{d.id} open at night", open_at_night(d.id)) for d in of_kind(site, DeviceKind.DOOR_CONTACT)
            if site.is_exit(d)]


def kitchen_watches(site: Site) -> list[Watch]:
    """A cooking appliance drawing power with nobody in its kitchen, against half of `kitchen_unattended`."""
    def unattended(device_id: str, room: str) -> Holds:
        on_w = site.thresholds.appliance_on_w
        return lambda now, t: (t.value(device_id, "power_w") or 0) > on_w and nobody_in(t, room)

    plugs = [d for d in of_kind(site, DeviceKind.POWER_PLUG)
             if d.appliance and d.appliance.role is PlugRole.COOKING]
    half = site.thresholds.kitchen_unattended / 2
    return [Watch(f"{d.id} unattended", unattended(d.id, d.location.room), half) for d in plugs]


def power_watches(site: Site) -> list[Watch]:
    """Cooking outside kitchen hours, a plug above its rating, a boiler outside its normal bands: half of `for`."""
    th, hours = site.thresholds, site.schedules.kitchen_hours

    def after_hours(device_id: str) -> Holds:
        return lambda now, t: ((t.value(device_id, "power_w") or 0) > th.appliance_on_w
                               and not inside(hours, site.zone, now))

    def over(device_id: str, rated: float) -> Holds:
        return lambda now, t: (t.value(device_id, "power_w") or 0) > rated

    def abnormal(device_id: str, bands: list[PowerBand]) -> Holds:
        def holds(now: datetime, t: Trace) -> bool:
            power = t.value(device_id, "power_w")
            return power is not None and not any(b.min <= power <= b.max for b in bands)
        return holds

    watches = []
    for d in of_kind(site, DeviceKind.POWER_PLUG):
        appliance = d.appliance
        assert appliance is not None
        if appliance.role is PlugRole.COOKING and hours.start != hours.end:
            watches.append(Watch(f"{d.id} after hours", after_hours(d.id), th.after_hours_for / 2))
        if appliance.rated_w is not None:
            watches.append(Watch(f"{d.id} overloaded", over(d.id, appliance.rated_w), th.overload_for / 2))
        if appliance.role is PlugRole.BOILER and appliance.normal_bands():
            watches.append(Watch(f"{d.id} abnormal", abnormal(d.id, appliance.normal_bands()),
                                 th.abnormal_power_for / 2))
    return watches


def temperature_watches(site: Site) -> list[Watch]:
    """A fridge, freezer, room or hot-water outlet outside its limits, against half of its `for`."""
    def out(device_id: str, limits: Limits) -> Holds:
        return lambda now, t: outside(limits, t.value(device_id, "temperature_c"))

    sensors_with_limits = [(d, site.limits_of(d)) for d in of_kind(site, DeviceKind.TEMPERATURE_SENSOR)]
    return [Watch(f"{d.id} out of range", out(d.id, lim), lim.for_ / 2) for d, lim in sensors_with_limits if lim]


def site_watches(site: Site) -> list[Watch]:
    """The site's own watches: a watched field outside its limits (inside the watch's window), half of `for`."""
    def out(device_id: str, field: str, limits: Limits, window: Window | None) -> Holds:
        def holds(now: datetime, t: Trace) -> bool:
            active = window is None or inside(window, site.zone, now)
            return active and outside(limits, t.value(device_id, field))
        return holds

    return [Watch(f"{d.id} {w.id}", out(d.id, w.field, w.limits, w.window), w.limits.for_ / 2)
            for w in site.watches for d in sensors(site) if w.applies_to(d)]


def battery_watches(site: Site) -> list[Watch]:
    """Any battery below the battery rule's minimum: never."""
    low, ids = site.thresholds.battery_low.min or 0, [d.id for d in sensors(site) if has_battery(d)]
    return [Watch("a battery low", lambda now, t: any((t.value(i, "battery_pct") or 100) < low for i in ids))]


def every_watch(site: Site) -> list[Watch]:
    """One watch per condition a rule alerts on (device_offline is checked from the silences)."""
    return (bed_watches(site) + wake_watches(site) + turning_watches(site) + vitals_watches(site)
            + bathroom_watches(site) + door_watches(site) + kitchen_watches(site) + power_watches(site)
            + temperature_watches(site) + site_watches(site) + battery_watches(site))


def play_day(profile: str | None, seed: int, step: timedelta = SECOND) -> Day:
    """24 hours from local midnight with every rule-relevant watch."""
    site = load_facility(FACILITY_FILE, profile=profile).site()
    trace = Trace(World(site, Random(seed)))
    watches = every_watch(site)
    trace.run(MIDNIGHT, DAY, step, watches)
    return site, trace, watches


def too_long(watches: list[Watch]) -> dict[str, tuple[str, str, datetime | None]]:
    """Watches whose condition held as long as their limit, or at all when they have none."""
    return {w.name: (str(w.longest), str(w.limit), w.worst_at or w.met_at) for w in watches
            if (w.limit is None and w.met_at is not None) or (w.limit is not None and w.longest >= w.limit)}


@pytest.fixture(scope="module", params=[None, "demo"], ids=["reference", "demo"])
def day(request: pytest.FixtureRequest) -> Day:
    """One simulated day, stepped once a second, per profile (shared by the tests below)."""
    return play_day(request.param, seed=7)


def test_no_watched_condition_lasts_long_enough_to_alert(day: Day) -> None:
    site, trace, watches = day
    assert too_long(watches) == {}


def test_no_leak_smoke_or_sos(day: Day) -> None:
    _, trace, _ = day
    assert trace.alarms == []


def test_every_device_reports_within_its_offline_threshold(day: Day) -> None:
    site, trace, _ = day
    late = {d.id: str(trace.longest_silence(d.id)) for d in sensors(site)
            if trace.longest_silence(d.id) >= site.offline_after(d) or d.id not in trace.heard}
    assert late == {}


def test_residents_turn_over_at_night_shorter_than_a_bed_exit(day: Day) -> None:
    site, trace, _ = day
    for d in of_kind(site, DeviceKind.BED_SENSOR):
        if bedridden(site, d.id):
            continue
        confirm = exit_confirm(site, d.location.bed)
        night = [(a, b) for a, b in spells(trace, d.id, "occupied", False) if in_night(site, a)]
        turns = [b - a for a, b in night if b - a < confirm]
        assert len(turns) >= 3, (d.id, len(turns))  # several times a night
        assert all(t >= SECOND for t in turns), d.id
        assert len(pulses(trace, d.id, "movement")) >= len(turns), d.id


def test_night_get_ups_go_to_a_bathroom_for_a_few_minutes(day: Day) -> None:
    site, trace, _ = day
    visits = [v for ids in bathroom_sensors(site).values() for i in ids for v in spells(trace, i, "occupied", True)]
    trips = 0
    for d in of_kind(site, DeviceKind.BED_SENSOR):
        wake_end = wake_window(site, d.location.bed).end
        for out, back in spells(trace, d.id, "occupied", False):
            if not in_night(site, out) or back - out < exit_confirm(site, d.location.bed):
                continue  # a turn-over or a day-time absence
            if back == trace.now:
                continue  # still out when the simulated day ends: the trip is not over
            if any(site.local(out + SECOND * s).time() == wake_end for s in range((back - out).seconds + 1)):
                continue  # up across the end of the wake-up window (a demo's all-day night)
            trips += 1
            assert any(out < start and end < back for start, end in visits), (d.id, out, back)
    assert trips >= 5
    assert all(end - start <= site.thresholds.bathroom_max / 2 for start, end in visits if in_night(site, start))


def test_bedridden_residents_stay_in_bed_and_are_turned_in_good_time(day: Day) -> None:
    site, trace, _ = day
    for d in of_kind(site, DeviceKind.BED_SENSOR):
        profile = site.profile_of_bed(d.location.bed)
        if profile is None or profile.turning is None:
            continue
        every = site.thresholds.turning[profile.turning]
        assert spells(trace, d.id, "occupied", False) == []
        turns = pulses(trace, d.id, "movement")
        gaps = [b - a for a, b in zip(turns, turns[1:], strict=False)]
        assert len(turns) >= DAY / every
        assert all(0.6 * every - 2 * SECOND <= g <= 0.9 * every + 2 * SECOND for g in gaps), gaps


def test_batteries_stay_well_charged(day: Day) -> None:
    site, trace, _ = day
    charges = {d.id: [r.battery_pct for _, r in trace.history[d.id] if r.battery_pct is not None]
               for d in sensors(site) if has_battery(d)}
    assert charges and all(values and min(values) >= 20 for values in charges.values())


def test_residents_get_up_inside_their_wake_window() -> None:
    site, trace, _ = play_day(None, seed=9, step=5 * SECOND)
    for d in of_kind(site, DeviceKind.BED_SENSOR):
        if bedridden(site, d.id):
            continue
        window = wake_window(site, d.location.bed)
        morning = [a for a, b in spells(trace, d.id, "occupied", False)
                   if 5 <= site.local(a).hour < 12 and b - a > timedelta(minutes=30)]
        assert len(morning) == 1, (d.id, morning)
        assert window.start <= site.local(morning[0]).time() < window.end, (d.id, site.local(morning[0]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_other_seeds_stay_quiet_under_the_reference_thresholds(seed: int) -> None:
    # Minute-scale limits: 5 s steps are fine enough, and five times cheaper.
    _, trace, watches = play_day(None, seed, step=5 * SECOND)
    assert too_long(watches) == {}
    assert trace.alarms == []


def test_batteries_drain_slowly() -> None:
    site = load_facility(FACILITY_FILE).site()
    world = World(site, Random(4))
    before = {i: s.base["battery_pct"] for i, s in world.sims.items() if has_battery(s.device)}
    Trace(world).run(MIDNIGHT, timedelta(hours=6), 60 * SECOND)
    drained = {i: before[i] - world.sims[i].base["battery_pct"] for i in before}
    assert all(0.01 < d < 0.2 for d in drained.values()), drained  # 0.1-0.5 % a day
    assert not any(has_battery(s.device) for s in world.sims.values() if s.device.protocol is Protocol.TASMOTA)


def test_the_reference_day_looks_like_a_care_home() -> None:
    """Residents sleep at night and are up by day, meals are cooked, cold stores hold their temperature, rooms
    follow a gentle daily cycle, showers steam the bathroom and hot water runs warm, never scalding."""
    site = load_facility(FACILITY_FILE).site()
    trace = Trace(World(site, Random(5)))
    beds = [d.id for d in of_kind(site, DeviceKind.BED_SENSOR) if not bedridden(site, d.id)]
    in_bed: dict[str, list[bool]] = {"night": [], "morning": []}
    power: dict[str, list[float]] = {"cooking": [], "boiler": []}
    thermometers = of_kind(site, DeviceKind.TEMPERATURE_SENSOR)
    temps: dict[str, list[float]] = {d.id: [] for d in thermometers}
    humidity: dict[str, list[float]] = {d.id: [] for d in thermometers}

    def sample(now: datetime, t: Trace) -> None:
        hour = site.local(now).hour
        for bed in beds:
            if 1 <= hour < 5 or 9 <= hour < 11:
                in_bed["night" if hour < 5 else "morning"].append(t.value(bed, "occupied"))
        for d in of_kind(site, DeviceKind.POWER_PLUG):
            power["boiler" if d.appliance and d.appliance.role is PlugRole.BOILER else "cooking"].append(
                t.value(d.id, "power_w"))
        for device_id, values in temps.items():
            values.append(t.value(device_id, "temperature_c"))
            if (rh := t.value(device_id, "humidity_pct")) is not None:
                humidity[device_id].append(rh)

    trace.run(MIDNIGHT, DAY, 5 * SECOND, each=sample)
    assert sum(in_bed["night"]) / len(in_bed["night"]) > 0.9
    assert sum(in_bed["morning"]) / len(in_bed["morning"]) < 0.1
    assert max(power["cooking"]) > 1000 and max(power["boiler"]) > 2500 and min(power["boiler"]) < 10
    for bed in beds:
        confirm = exit_confirm(site, site.device_by_id[bed].location.bed)
        getups = [a for a, b in spells(trace, bed, "occupied", False) if in_night(site, a) and b - a >= confirm]
        assert 1 <= len(getups) <= 8, (bed, len(getups))  # about one per 2-3 hours of night
    # A fridge's daily delivery holds its door open: a few minutes up to 2 °C over its limit (see cabinets.py).
    fridge_top = site.thresholds.fridge.max + DELIVERY_OVER_C if site.thresholds.fridge.max is not None else 7.5
    ranges = {TemperatureRole.FREEZER: (-21.0, -14.0), TemperatureRole.FRIDGE: (2.0, fridge_top),
              TemperatureRole.OTHER: (3.0, 7.0), TemperatureRole.ROOM: (19.0, 27.0),
              TemperatureRole.HOT_WATER: (15.0, 46.0)}
    for device in thermometers:
        low, high = ranges[device.role or TemperatureRole.OTHER]
        assert low <= min(temps[device.id]) and max(temps[device.id]) <= high, device.id
        if device.role is TemperatureRole.ROOM:
            assert max(temps[device.id]) - min(temps[device.id]) > 1.0, device.id  # a daily cycle
            assert min(humidity[device.id]) > 30 and max(humidity[device.id]) < 85, device.id
        if device.role is TemperatureRole.HOT_WATER:
            assert max(temps[device.id]) >= 40, device.id  # the water ran
        if device.role is TemperatureRole.FRIDGE:
            assert max(temps[device.id]) > (site.thresholds.fridge.max or 8.0), device.id  # the delivery
    showered = [d.id for d in thermometers if d.role is TemperatureRole.ROOM and max(humidity[d.id]) > 70]
    assert showered == ["temp-bath-n"]


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
