"""The facility file's rule settings: limits, care profiles, watches, exits, offline limits and profiles."""

from datetime import timedelta

import pytest

from devices.loader import FacilityError, load_facility, parse_facility
from tests.conftest import FACILITY_FILE

TEXT = FACILITY_FILE.read_text(encoding="utf-8")


def with_change(old: str, new: str) -> str:
    """The reference file with one piece of text replaced (which must be there)."""
    assert old in TEXT, old
    return TEXT.replace(old, new, 1)


def problems(text: str, profile: str | None = None) -> str:
    with pytest.raises(FacilityError) as error:
        parse_facility(text, source="site.yaml", profile=profile)
    return str(error.value)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("fridge: {min: 0, max: 8,", "fridge: {min: 9, max: 8,", "min must be below max"),
    ("room_temperature: {min: 18, max: 28, margin: 0.5,", "room_temperature: {min: 18, max: 28, margin: 5,",
     "margin must be less than half the range"),
    ("battery_low: {min: 15, margin: 5}", "battery_low: {margin: 5}", "set min, max or both"),
    ("field: humidity_pct", "field: smoke", "'smoke' is not a numeric reading field"),
    ("devices: [temp-bath-n]", "devices: [temp-nowhere]", "no device 'temp-nowhere' in this site"),
    ("turning: q2h", "turning: q3h", "q1h"),
    ("bed_exit_confirm: 5s", "bed_exit_confirm: 1s", "must be between 0:00:03 and 1:00:00"),
    ("location: {room: entrance}}", "location: {room: entrance}, exit: false, role: fridge}",
     "a temperature_sensor"),
])
def test_a_bad_rule_setting_names_its_line_and_why(old: str, new: str, message: str) -> None:
    text = with_change(old, new)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if new.split(",")[0].strip() in row)
    found = problems(text)
    assert message in found
    assert f"line {line}" in found


def test_only_door_contacts_are_exits_and_entrance_doors_are_by_default() -> None:
    site = load_facility(FACILITY_FILE).sites[0]
    exits = sorted(d.id for d in site.devices if site.is_exit(d))
    assert exits == ["door-courtyard", "door-entrance"]
    door = "{id: door-entrance, kind: door_contact,"
    text = with_change(door, door + " exit: false,")
    site = parse_facility(text).sites[0]
    assert not site.is_exit(site.device_by_id["door-entrance"])
    smoke = "{id: smoke-kitchen, kind: smoke_detector,"
    assert "only a door_contact is an `exit`" in problems(with_change(smoke, smoke + " exit: true,"))


def test_offline_limits_go_device_then_kind_then_site() -> None:
    site = load_facility(FACILITY_FILE).sites[0]
    assert site.offline_after(site.device_by_id["plug-induction"]) == timedelta(minutes=10)
    assert site.offline_after(site.device_by_id["smoke-kitchen"]) == timedelta(minutes=60)
    demo = load_facility(FACILITY_FILE, profile="demo").sites[0]
    assert demo.offline_after(demo.device_by_id["plug-induction"]) == timedelta(seconds=30)


def test_temperature_limits_come_from_the_role_with_the_device_s_own_values_over_them() -> None:
    site = load_facility(FACILITY_FILE).sites[0]
    assert site.limits_of(site.device_by_id["temp-med-fridge"]) is None  # role other: only watches look
    assert (site.limits_of(site.device_by_id["temp-r101"]) or 0) == site.thresholds.room_temperature
    room = "location: {room: r101}, role: room"
    text = with_change(room + "}", room + ", limits: {max: 26}}")
    own = parse_facility(text).sites[0]
    limits = own.limits_of(own.device_by_id["temp-r101"])
    assert limits is not None and (limits.min, limits.max, limits.for_) == (18, 26, timedelta(minutes=30))


def test_a_profile_shortens_watches_and_keeps_care_profile_limits() -> None:
    demo = load_facility(FACILITY_FILE, profile="demo").sites[0]
    watch = next(w for w in demo.watches if w.id == "med-fridge")
    assert watch.limits.for_ == timedelta(seconds=15)
    cp05 = demo.profile_by_id["cp-05"]
    merged = demo.thresholds.heart_rate.merged(cp05.heart_rate)
    assert (merged.min, merged.max, merged.for_) == (50, 110, timedelta(seconds=15))
    text = with_change("      med-fridge: {limits:", "      no-such-watch: {limits:")
    assert "no watch 'no-such-watch' in any site" in problems(text, profile="demo")


def test_the_us_profile_keeps_fridges_at_41_f() -> None:
    us = load_facility(FACILITY_FILE, profile="us").sites[0]
    assert us.thresholds.fridge.max == 5


def test_a_profile_s_escalation_is_checked_like_the_site_s() -> None:
    demo = load_facility(FACILITY_FILE, profile="demo").sites[0]
    assert demo.escalation.critical is not None and demo.escalation.critical.steps[1].after == timedelta(seconds=45)
    old = "          - {after: 45s, notify: supervisor, channels: [screen]}"
    assert "no channel 'pager'" in problems(with_change(old, old.replace("[screen]", "[pager]")), profile="demo")


def test_a_records_cross_reference_names_its_own_line() -> None:
    """A disinfection round's unknown person, and a hand-logged cabinet named like a device, each at its line."""
    from pathlib import Path

    from devices.loader import FacilityError, parse_facility
    text = Path("config/facility.yaml").read_text(encoding="utf-8")
    for old, new, what in [("place: dayroom, person: s-wang", "place: dayroom, person: s-nobody",
                            "epidemic.disinfection[0].person: no staff 's-nobody'"),
                           ("id: sample-fridge", "id: temp-freezer",
                            "food.cabinets[0].id: 'temp-freezer' is a device id already")]:
        line = next(n for n, row in enumerate(text.splitlines(), start=1) if old in row)
        with pytest.raises(FacilityError) as error:
            parse_facility(text.replace(old, new, 1), source="site.yaml")
        assert f"site.yaml: line {line}: sites[0].{what}" in str(error.value)
