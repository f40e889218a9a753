"""Scenarios: under `demo` each meets its alert condition within 60 s, then its devices return to normal."""

from collections.abc import Callable
from datetime import datetime, timedelta
from random import Random

import pytest

from devices.facility import Site
from devices.kinds import DeviceKind
from devices.loader import load_facility
from devices.sim import SCENARIOS, Scenario, ScenarioError, World
from devices.sim.scenarios import KINDS
from devices.sim.tour import Tour
from tests.conftest import FACILITY_FILE
from tests.sim.sim_support import MIDNIGHT, SECOND, Trace, Watch, in_night, nobody_in

WARM_UP = timedelta(minutes=2)  # every device has reported and its periodic timer runs
MINUTE = timedelta(seconds=60)
Pair = tuple[Watch, Watch]  # (alert condition, back to normal)


def _bed(site: Site, sc: Scenario, limit: timedelta) -> Pair:
    """A bed empty at night longer than `limit`; normal once occupied again."""
    bed = sc.device.id

    def empty_at_night(now: datetime, t: Trace) -> bool:
        return in_night(site, now) and t.value(bed, "occupied") is False

    return Watch("empty", empty_at_night, limit), Watch("back", lambda now, t: t.value(bed, "occupied"))


def _rule_limit(site: Site, sc: Scenario) -> timedelta:
    """The out-of-bed limit the rule applies to this bed."""
    profile = site.profile_of_bed(sc.device.device.location.bed)
    return (profile.out_of_bed_max if profile else None) or site.thresholds.out_of_bed_max


def _stove(site: Site, sc: Scenario) -> Pair:
    plug, room, on_w = sc.device.id, sc.device.device.location.room, site.thresholds.appliance_on_w
    return (Watch("on, nobody there", lambda now, t: t.value(plug, "power_w") > on_w and nobody_in(t, room),
                  site.thresholds.kitchen_unattended),
            Watch("off", lambda now, t: t.value(plug, "power_w") <= on_w))


def _fridge(site: Site, sc: Scenario) -> Pair:
    cabinet, limits = sc.device.id, site.limits_of(sc.device.device)
    assert limits is not None and limits.max_c is not None
    return (Watch("too warm", lambda now, t: t.value(cabinet, "temperature_c") > limits.max_c, limits.for_),
            Watch("cold again", lambda now, t: t.value(cabinet, "temperature_c") <= limits.max_c))


def _flag(name: str) -> Callable[[Site, Scenario], Pair]:
    def pair(site: Site, sc: Scenario) -> Pair:
        device = sc.device.id
        return (Watch(name, lambda now, t: t.value(device, name) is True),
                Watch(f"no {name}", lambda now, t: t.value(device, name) is False))
    return pair


def _offline(site: Site, sc: Scenario) -> Pair:
    device = sc.device.id
    every = sc.device.every
    return (Watch("silent", lambda now, t: now - t.heard[device] > site.offline_after(sc.device.device)),
            Watch("reporting", lambda now, t: now - t.heard[device] <= every))


CONDITIONS: dict[str, Callable[[Site, Scenario], Pair]] = {
    "bed-exit-night": lambda site, sc: _bed(site, sc, site.thresholds.bed_exit_confirm),
    "out-of-bed-too-long": lambda site, sc: _bed(site, sc, _rule_limit(site, sc)),
    "stove-unattended": _stove,
    "fridge-warm": _fridge,
    "water-leak": _flag("leak"),
    "smoke": _flag("smoke"),
    "sos": _flag("pressed"),
    "device-offline": _offline,
}


def play(site: Site, name: str, start: datetime, step: timedelta = SECOND, seed: int = 11
         ) -> tuple[Scenario, Watch, Watch, World]:
    """Warm up, start the scenario at `start`, run until a minute after it ends."""
    world = World(site, Random(seed))
    trace = Trace(world)
    trace.run(start - WARM_UP, WARM_UP, step)
    scenario = world.start_scenario(name, start)
    alert, normal = CONDITIONS[name](site, scenario)
    recovered = Watch(normal.name, lambda now, t: alert.met_at is not None and normal.holds(now, t))
    trace.run(start, scenario.length + MINUTE, step, [alert, recovered])
    return scenario, alert, recovered, world


@pytest.fixture(scope="module")
def demo_site() -> Site:
    return load_facility(FACILITY_FILE, profile="demo").site()


def test_every_scenario_has_a_check_and_a_description_in_both_languages() -> None:
    assert list(SCENARIOS) == list(KINDS) == list(CONDITIONS)
    assert all(d.en and d.zh_CN and d.en != d.zh_CN for d in SCENARIOS.values())


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_under_demo_the_alert_condition_is_met_within_a_minute(name: str, demo_site: Site) -> None:
    start = MIDNIGHT + timedelta(hours=15)
    scenario, alert, recovered, world = play(demo_site, name, start)
    assert alert.met_at is not None, f"{name}: alert condition never met"
    assert alert.met_at - start <= MINUTE
    assert recovered.met_at is not None and recovered.met_at <= scenario.ends_at + 15 * SECOND, name
    assert scenario.done and world.running() == []
    assert all(sim.holder is None and not sim.override for sim in world.sims.values())


def test_bed_exit_comes_back_well_before_the_out_of_bed_limit(demo_site: Site) -> None:
    scenario, alert, _, _ = play(demo_site, "bed-exit-night", MIDNIGHT)
    profile = demo_site.profile_of_bed(scenario.device.device.location.bed)
    assert profile is not None and profile.watch_bed_exit
    assert demo_site.thresholds.bed_exit_confirm < alert.longest <= demo_site.thresholds.out_of_bed_max / 2


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_under_reference_thresholds_every_scenario_runs_and_hands_back(name: str) -> None:
    site = load_facility(FACILITY_FILE).site()
    start = MIDNIGHT - timedelta(hours=1)  # 23:00 local: inside the night window
    scenario, alert, recovered, world = play(site, name, start, step=5 * SECOND)
    assert alert.met_at is not None and alert.met_at <= scenario.ends_at, name
    assert recovered.met_at is not None
    assert world.running() == [] and all(sim.holder is None for sim in world.sims.values())


def test_unknown_scenario_names_the_known_ones(demo_site: Site) -> None:
    world = World(demo_site, Random(1))
    with pytest.raises(ValueError, match="known: bed-exit-night, out-of-bed-too-long.*device-offline"):
        world.start_scenario("earthquake", MIDNIGHT)


def test_a_scenario_whose_devices_are_all_busy_says_so(demo_site: Site) -> None:
    world = World(demo_site, Random(1))
    world.step(MIDNIGHT)
    world.start_scenario("water-leak", MIDNIGHT)  # the site has a single leak sensor
    with pytest.raises(ScenarioError, match="leak sensor"):
        world.start_scenario("water-leak", MIDNIGHT + SECOND)
    smoke = [world.start_scenario("smoke", MIDNIGHT).device.id for _ in range(3)]
    assert len(set(smoke)) == 3  # concurrent runs take different detectors


def test_the_tour_plays_every_scenario_in_turn_without_clashing(demo_site: Site) -> None:
    world, tour = World(demo_site, Random(2)), Tour(list(SCENARIOS), every=timedelta(seconds=90))
    trace, started = Trace(world), []

    def maybe_start(now: datetime, t: Trace) -> None:
        if name := tour.due(now):
            started.append((name, now))
            world.start_scenario(name, now)

    trace.run(MIDNIGHT, timedelta(seconds=5 + 90 * len(SCENARIOS)), each=maybe_start)
    assert [n for n, _ in started] == list(SCENARIOS)
    assert started[0][1] - MIDNIGHT == 5 * SECOND
    assert all(b - a == timedelta(seconds=90) for (_, a), (_, b) in zip(started, started[1:], strict=False))


def test_scenario_devices_are_taken_from_the_facility(demo_site: Site) -> None:
    world = World(demo_site, Random(4))
    world.step(MIDNIGHT)
    kinds = {name: world.start_scenario(name, MIDNIGHT).device.device.kind for name in SCENARIOS}
    assert kinds["stove-unattended"] is DeviceKind.POWER_PLUG
    assert kinds["device-offline"] is DeviceKind.TEMPERATURE_SENSOR
    assert kinds["water-leak"] is DeviceKind.LEAK_SENSOR
