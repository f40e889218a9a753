"""Rules on realistic sequences with an injected clock, including the sequences that must NOT alert."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devices.facility import Facility, Site
from devices.kinds import Severity
from devices.loader import load_facility
from devices.messages import Reading
from server.rules import ALL
from server.rules.base import Clear, Obs, Raise, Step
from server.rules.engine import Fired, RuleEngine
from tests.conftest import FACILITY_FILE

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A wall-clock time at the reference site (Asia/Shanghai), as an aware UTC instant."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


@dataclass
class World:
    """The rule engine driven by a script of observations and clock ticks."""

    facility: Facility
    engine: RuleEngine = field(init=False)
    fired: list[Fired] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.engine = RuleEngine(self.facility, ALL)

    @property
    def site(self) -> Site:
        return self.facility.sites[0]

    def see(self, device: str, at: datetime, **fields: object) -> None:
        """An observation of `device` at `at`; timers due before it fire first, as in the server."""
        self.tick(at)
        obs = Obs(self.site, self.site.device_by_id[device], at, Reading.model_validate(fields))
        self.fired += self.engine.observe(obs)

    def tick(self, now: datetime) -> None:
        """The clock reaches `now`."""
        self.fired += self.engine.fire_due(now)

    def raised(self, rule: str) -> list[Raise]:
        return [f.action for f in self.fired if f.rule == rule and isinstance(f.action, Raise)]

    def cleared(self, rule: str) -> list[Clear]:
        return [f.action for f in self.fired if f.rule == rule and isinstance(f.action, Clear)]


@pytest.fixture
def world(reference_facility: Facility) -> World:
    return World(reference_facility)


# --- bed exit at night -----------------------------------------------------------------------------
# bed-b101-1 holds cp-01 (fall risk: watched); bed-b102-1 holds cp-03 (no risks: not watched).

def test_watched_resident_leaving_bed_at_night_alerts_after_the_confirmation_delay(world: World) -> None:
    world.see("bed-b101-1", local(27, 23, 0), occupied=True)
    world.see("bed-b101-1", local(27, 23, 10), occupied=False)
    world.tick(local(27, 23, 10, 9))
    assert world.raised("bed_exit_night") == []
    world.tick(local(27, 23, 10, 10))
    [alert] = world.raised("bed_exit_night")
    assert (alert.subject, alert.severity, alert.room) == ("b101-1", Severity.HIGH, "r101")


def test_turning_over_is_not_an_exit(world: World) -> None:
    world.see("bed-b101-1", local(27, 23, 0), occupied=True)
    world.see("bed-b101-1", local(27, 23, 5, 0), occupied=False)
    world.see("bed-b101-1", local(27, 23, 5, 4), occupied=True)
    world.tick(local(27, 23, 30))
    assert world.raised("bed_exit_night") == []


def test_getting_up_in_the_morning_is_not_a_night_exit(world: World) -> None:
    world.see("bed-b101-1", local(28, 5, 50), occupied=True)
    world.see("bed-b101-1", local(28, 6, 30), occupied=False)
    world.tick(local(28, 7, 0))
    assert world.raised("bed_exit_night") == []


def test_resident_whose_profile_does_not_ask_is_not_watched_for_exits(world: World) -> None:
    world.see("bed-b102-1", local(27, 23, 0), occupied=True)
    world.see("bed-b102-1", local(27, 23, 10), occupied=False)
    world.tick(local(27, 23, 20))
    assert world.raised("bed_exit_night") == []


def test_return_to_bed_clears_the_exit_alert(world: World) -> None:
    world.see("bed-b101-1", local(27, 23, 0), occupied=True)
    world.see("bed-b101-1", local(27, 23, 10), occupied=False)
    world.tick(local(27, 23, 11))
    world.see("bed-b101-1", local(27, 23, 14), occupied=True)
    assert [c.subject for c in world.cleared("bed_exit_night")] == ["b101-1"]


def test_first_report_of_an_empty_bed_is_not_an_exit(world: World) -> None:
    """After a restart of the sensor we do not know when the resident left: no confirmed exit."""
    world.see("bed-b101-1", local(27, 23, 10), occupied=False)
    world.tick(local(27, 23, 12))
    assert world.raised("bed_exit_night") == []


# --- out of bed too long ---------------------------------------------------------------------------

def test_out_of_bed_longer_than_45_minutes_at_night_alerts(world: World) -> None:
    world.see("bed-b102-1", local(27, 23, 0), occupied=True)
    world.see("bed-b102-1", local(27, 23, 10), occupied=False)
    world.tick(local(27, 23, 54, 59))
    assert world.raised("out_of_bed_too_long") == []
    world.tick(local(27, 23, 55))
    [alert] = world.raised("out_of_bed_too_long")
    assert (alert.subject, alert.severity) == ("b102-1", Severity.HIGH)


def test_back_in_bed_within_the_limit_does_not_alert(world: World) -> None:
    world.see("bed-b102-1", local(27, 23, 0), occupied=True)
    world.see("bed-b102-1", local(27, 23, 10), occupied=False)
    world.see("bed-b102-1", local(27, 23, 50), occupied=True)
    world.tick(local(28, 1, 0))
    assert world.raised("out_of_bed_too_long") == []


def test_time_out_of_bed_counts_from_the_start_of_the_night(world: World) -> None:
    """Up at 21:30, still up: the 45 minutes run from 22:00, so 22:45, not 22:15."""
    world.see("bed-b102-1", local(27, 21, 0), occupied=True)
    world.see("bed-b102-1", local(27, 21, 30), occupied=False)
    world.tick(local(27, 22, 44))
    assert world.raised("out_of_bed_too_long") == []
    world.tick(local(27, 22, 45))
    assert len(world.raised("out_of_bed_too_long")) == 1


def test_up_before_the_night_ends_is_a_morning_not_an_alert(world: World) -> None:
    world.see("bed-b102-1", local(28, 5, 0), occupied=True)
    world.see("bed-b102-1", local(28, 5, 40), occupied=False)
    world.tick(local(28, 6, 30))
    assert world.raised("out_of_bed_too_long") == []


def test_resident_limit_from_the_care_profile_overrides_the_site(world: World) -> None:
    """cp-05 in bed b103-1 (the native-format mat) has out_of_bed_max 30m."""
    world.see("bed-b103-1", local(27, 23, 0), occupied=True)
    world.see("bed-b103-1", local(27, 23, 10), occupied=False)
    world.tick(local(27, 23, 40))
    assert [a.subject for a in world.raised("out_of_bed_too_long")] == ["b103-1"]


# --- cooking appliance unattended ------------------------------------------------------------------

def test_stove_on_with_nobody_in_the_kitchen_for_10_minutes_alerts(world: World) -> None:
    world.see("presence-kitchen", local(27, 10, 0), occupied=True)
    world.see("plug-induction", local(27, 10, 2), on=True, power_w=1800)
    world.see("presence-kitchen", local(27, 10, 5), occupied=False)
    world.tick(local(27, 10, 14, 59))
    assert world.raised("kitchen_unattended") == []
    world.tick(local(27, 10, 15))
    [alert] = world.raised("kitchen_unattended")
    assert (alert.subject, alert.room, alert.severity) == ("plug-induction", "kitchen", Severity.HIGH)


def test_cook_stepping_out_briefly_does_not_alert(world: World) -> None:
    world.see("presence-kitchen", local(27, 10, 0), occupied=True)
    world.see("plug-induction", local(27, 10, 2), on=True, power_w=1800)
    world.see("presence-kitchen", local(27, 10, 5), occupied=False)
    world.see("presence-kitchen", local(27, 10, 12), occupied=True)
    world.see("presence-kitchen", local(27, 10, 20), occupied=False)
    world.tick(local(27, 10, 29))
    assert world.raised("kitchen_unattended") == []


def test_standby_power_is_not_cooking(world: World) -> None:
    world.see("presence-kitchen", local(27, 14, 0), occupied=False)
    world.see("plug-rice-cooker", local(27, 14, 1), on=True, power_w=4.5)
    world.tick(local(27, 15, 0))
    assert world.raised("kitchen_unattended") == []


def test_switching_off_clears_the_appliance_alert(world: World) -> None:
    world.see("presence-kitchen", local(27, 10, 0), occupied=False)
    world.see("plug-induction", local(27, 10, 1), on=True, power_w=2000)
    world.tick(local(27, 10, 12))
    world.see("plug-induction", local(27, 10, 13), on=False, power_w=0)
    assert [c.subject for c in world.cleared("kitchen_unattended")] == ["plug-induction"]


def test_each_appliance_alerts_once_and_the_cooks_return_clears_them(world: World) -> None:
    world.see("presence-kitchen", local(27, 10, 0), occupied=False)
    world.see("plug-induction", local(27, 10, 1), power_w=2000)
    world.see("plug-rice-cooker", local(27, 10, 3), power_w=1200)
    world.tick(local(27, 10, 30))
    world.see("plug-induction", local(27, 10, 31), power_w=1990)  # periodic report: no second alert
    world.tick(local(27, 10, 40))
    assert sorted(a.subject for a in world.raised("kitchen_unattended")) == ["plug-induction", "plug-rice-cooker"]
    world.see("presence-kitchen", local(27, 10, 41), occupied=True)
    assert sorted(c.subject for c in world.cleared("kitchen_unattended")) == ["plug-induction", "plug-rice-cooker"]


def test_without_any_presence_reading_the_kitchen_rule_stays_silent(world: World) -> None:
    world.see("plug-induction", local(27, 10, 1), power_w=2000)
    world.tick(local(27, 11, 0))
    assert world.raised("kitchen_unattended") == []


# --- cold storage ----------------------------------------------------------------------------------

def test_fridge_above_8_degrees_for_15_minutes_alerts(world: World) -> None:
    world.see("temp-raw-cabinet", local(27, 9, 0), temperature_c=4.0)
    world.see("temp-raw-cabinet", local(27, 9, 5), temperature_c=9.5)
    world.see("temp-raw-cabinet", local(27, 9, 12), temperature_c=11.0)
    world.tick(local(27, 9, 19, 59))
    assert world.raised("cold_storage") == []
    world.tick(local(27, 9, 20))
    [alert] = world.raised("cold_storage")
    assert alert.subject == "temp-raw-cabinet"
    assert (alert.details["peak"], alert.details["max"]) == (11.0, 8.0)


def test_door_opening_warms_the_fridge_briefly_without_alerting(world: World) -> None:
    world.see("temp-cooked-cabinet", local(27, 9, 0), temperature_c=4.0)
    world.see("temp-cooked-cabinet", local(27, 9, 5), temperature_c=10.0)
    world.see("temp-cooked-cabinet", local(27, 9, 14), temperature_c=7.5)
    world.tick(local(27, 10, 0))
    assert world.raised("cold_storage") == []


def test_freezer_uses_its_own_limit_and_duration(world: World) -> None:
    world.see("temp-freezer", local(27, 9, 0), temperature_c=-18.0)
    world.see("temp-freezer", local(27, 9, 1), temperature_c=-10.0)
    world.tick(local(27, 9, 30))
    assert world.raised("cold_storage") == []
    world.tick(local(27, 9, 31))
    assert [a.subject for a in world.raised("cold_storage")] == ["temp-freezer"]


def test_fridge_back_in_range_clears_after_clear_for(world: World) -> None:
    world.see("temp-raw-cabinet", local(27, 9, 0), temperature_c=12.0)
    world.tick(local(27, 9, 16))
    world.see("temp-raw-cabinet", local(27, 9, 40), temperature_c=5.0)
    world.tick(local(27, 9, 41, 59))
    assert world.cleared("cold_storage") == []
    world.tick(local(27, 9, 42))
    assert [c.subject for c in world.cleared("cold_storage")] == ["temp-raw-cabinet"]


# --- leak, smoke, SOS ------------------------------------------------------------------------------

@pytest.mark.parametrize(("device", "rule", "field"), [
    ("leak-boiler", "water_leak", "leak"),
    ("smoke-kitchen", "smoke", "smoke"),
])
def test_leak_and_smoke_alert_at_once_and_clear_when_dry(world: World, device: str, rule: str, field: str) -> None:
    world.see(device, local(27, 3, 0), **{field: False})
    world.see(device, local(27, 3, 1), **{field: True})
    world.see(device, local(27, 3, 2), **{field: True})  # periodic report: still one alert
    world.see(device, local(27, 3, 9), **{field: False})
    [alert] = world.raised(rule)
    assert (alert.subject, alert.severity) == (device, Severity.CRITICAL)
    assert [c.subject for c in world.cleared(rule)] == [device]


def test_every_sos_press_is_critical(world: World) -> None:
    world.see("sos-bath-n", local(27, 2, 0), pressed=True, action="emergency")
    world.see("sos-bath-n", local(27, 2, 1), pressed=True, action="emergency")
    alerts = world.raised("sos")
    assert [(a.subject, a.severity, a.room) for a in alerts] == [("sos-bath-n", Severity.CRITICAL, "bath-n")] * 2


def test_battery_report_of_an_sos_button_is_not_a_press(world: World) -> None:
    world.see("sos-r101", local(27, 2, 0), battery_pct=80)
    assert world.raised("sos") == []


# --- demo profile ----------------------------------------------------------------------------------

def test_demo_profile_makes_every_hour_night_and_thresholds_short() -> None:
    world = World(load_facility(FACILITY_FILE, profile="demo"))
    noon = local(27, 12, 0)
    world.see("bed-b101-1", noon, occupied=True)
    world.see("bed-b101-1", noon + timedelta(seconds=1), occupied=False)
    world.tick(noon + timedelta(seconds=4))
    world.tick(noon + timedelta(seconds=31))
    assert [f.rule for f in world.fired if isinstance(f.action, Raise)] == ["bed_exit_night", "out_of_bed_too_long"]


def test_a_window_edge_timer_firing_late_counts_the_hold_off_from_the_edge(world: World) -> None:
    """After a restart a timer fires late: the after-hours hold-off still counts from 19:30, not from then."""
    world.see("plug-rice-cooker", local(27, 19, 29), power_w=1500)
    world.engine.fire_due(local(27, 19, 29, 30))  # nothing due yet
    world.tick(local(27, 19, 40))  # the server was down from 19:29:30 to 19:40
    [alert] = world.raised("appliance_after_hours")
    assert alert.subject == "plug-rice-cooker"


class _Stuck:
    """A broken rule that keeps its timer in the past."""

    name = "stuck"

    def key(self, site: Site, device: object) -> str | None:
        return "k"

    def observe(self, obs: Obs, state: dict[str, object], due: datetime | None) -> Step:
        return Step({"n": 0}, obs.at)

    def fire(self, site: Site, key: str, state: dict[str, object], now: datetime) -> Step:
        return Step(state, now)


def test_a_rule_that_does_not_move_its_timer_cannot_hang_the_engine(reference_facility: Facility) -> None:
    engine = RuleEngine(reference_facility, [_Stuck()])
    site = reference_facility.sites[0]
    at = local(27, 12, 0)
    engine.observe(Obs(site, site.devices[0], at, Reading(occupied=True)))
    engine.fire_due(at)
    assert engine.next_due() == at + timedelta(seconds=1)
