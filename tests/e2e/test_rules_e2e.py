"""Every care rule end to end: the vendor payload a real device publishes on its own topic → the edge agent
(parses the vendor format, forwards an envelope) → the broker → the running server → the alert in the API.

The server runs on a clock set to 23:00 at the site on a night well in the past. The edge stamps real time,
which the server clamps to its own clock + `MAX_CLOCK_AHEAD`, so every observation lands at the server's
"now" plus that, whatever the hour the test runs. Hold-offs are never slept on: the clock jumps past them.
Every duration, limit and window comes from the loaded facility file, never from this file.
"""

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devices import mqtt as cw_mqtt
from devices import protocols
from devices.facility import Site
from devices.loader import load_facility
from devices.messages import Reading
from devices.protocols import Outgoing
from devices.thresholds import Limits
from server.pipeline import MAX_CLOCK_AHEAD
from server.registry import DEVICE_OFFLINE
from server.rules import ALL
from tests.conftest import Broker
from tests.helpers import LiveServer, live_server, publisher, server_settings, wait_until

pytestmark = pytest.mark.e2e

NIGHT = time(23, 0)
# How far behind real time the server's clock starts: far more than all jumps of one test together.
BEHIND_AT_LEAST = timedelta(hours=24)
# Past a due time: the observation's own lead (it lands at the server's now + MAX_CLOCK_AHEAD), plus a second.
SLACK = MAX_CLOCK_AHEAD + timedelta(seconds=1)
ALERT_WAIT_S = 5.0  # timers fire within 1 s of their due time; instant rules within a batch


class PastNightClock:
    """Real time moved back to 23:00 at the site at least a day ago; the test jumps it forward."""

    def __init__(self, zone: ZoneInfo) -> None:
        now = datetime.now(UTC)
        day = (now.astimezone(zone) - BEHIND_AT_LEAST).date()
        night = datetime.combine(day, NIGHT, tzinfo=zone)
        if now - night < BEHIND_AT_LEAST:
            night -= timedelta(days=1)
        self._offset = night.astimezone(UTC) - now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def behind(self) -> timedelta:
        """How far this clock is behind real time."""
        with self._lock:
            return -self._offset

    def jump(self, by: timedelta) -> None:
        """Move forward by `by`, never up to real time (the clamp would then stop making times deterministic)."""
        assert by >= timedelta(0), by
        with self._lock:
            assert -self._offset - by > timedelta(hours=1), f"a jump of {by} would bring the clock near real time"
            self._offset += by


@dataclass
class Plan:
    """What devices report, how far the clock then jumps, and the alert a user must then see."""

    readings: list[tuple[str, Reading]]
    subject: str
    severity: str
    room: str
    hold: timedelta | None = None  # a hold-off counted from the last reading
    until: time | None = None  # or a wall-clock time at the site the clock jumps to
    check: Callable[[dict[str, Any]], None] = field(default=lambda alert: None)


def _above(limits: Limits, by: float) -> float:
    assert limits.max is not None
    return limits.max + by


def _below(limits: Limits, by: float) -> float:
    assert limits.min is not None
    return limits.min - by


def _inside(limits: Limits) -> float:
    assert limits.min is not None and limits.max is not None
    return (limits.min + limits.max) / 2


def _vitals(site: Site, bed: str) -> tuple[Limits, Limits]:
    profile = site.profile_of_bed(bed)
    assert profile is not None
    return (site.thresholds.heart_rate.merged(profile.heart_rate),
            site.thresholds.respiration.merged(profile.respiration))


def _night(site: Site) -> None:
    assert site.schedules.night.contains(NIGHT), "the rule needs 23:00 to be night at the site"


def bed_exit_night(site: Site) -> Plan:
    _night(site)
    profile = site.profile_of_bed("b101-1")
    assert profile is not None and profile.watch_bed_exit
    confirm = profile.bed_exit_confirm or site.thresholds.bed_exit_confirm
    return Plan([("bed-b101-1", Reading(occupied=True)), ("bed-b101-1", Reading(occupied=False))],
                "b101-1", "high", "r101", hold=confirm)


def out_of_bed_too_long(site: Site) -> Plan:
    _night(site)
    profile = site.profile_of_bed("b102-1")
    assert profile is not None and not profile.watch_bed_exit  # only this rule speaks for this bed
    limit = profile.out_of_bed_max or site.thresholds.out_of_bed_max
    return Plan([("bed-b102-1", Reading(occupied=True)), ("bed-b102-1", Reading(occupied=False))],
                "b102-1", "high", "r102", hold=limit)


def bathroom_too_long(site: Site) -> Plan:
    _night(site)
    return Plan([("presence-bath-n", Reading(occupied=False)), ("presence-bath-n", Reading(occupied=True))],
                "bath-n", "high", "bath-n", hold=site.thresholds.bathroom_max)


def not_up(site: Site) -> Plan:
    profile = site.profile_of_bed("b104-1")
    assert profile is not None and profile.not_up_alert
    wake = profile.wake or site.schedules.wake
    return Plan([("bed-b104-1", Reading(occupied=True))], "b104-1", "medium", "r104", until=wake.end,
                check=lambda alert: _equal(alert["details"].get("wake_by"), wake.end.strftime("%H:%M")))


def repositioning_due(site: Site) -> Plan:
    profile = site.profile_of_bed("b103-2")
    assert profile is not None and profile.turning is not None
    every = site.thresholds.turning[profile.turning]
    return Plan([("bed-b103-2", Reading(occupied=True))], "b103-2", "medium", "r103", hold=every,
                check=lambda alert: _equal(alert["details"].get("interval_s"), every.total_seconds()))


def vital_signs(site: Site) -> Plan:
    heart, breathing = _vitals(site, "b103-1")
    reading = Reading(occupied=True, heart_rate_bpm=_above(heart, 15), respiration_rpm=_inside(breathing))
    return Plan([("bed-b103-1", reading)], "b103-1/hr", "high", "r103", hold=heart.for_,
                check=lambda alert: _equal(alert["details"].get("value"), _above(heart, 15)))


def sos(site: Site) -> Plan:
    return Plan([("sos-r101", Reading(pressed=True, action="emergency"))], "sos-r101", "critical", "r101")


def exit_door_night(site: Site) -> Plan:
    _night(site)
    return Plan([("door-entrance", Reading(open=False)), ("door-entrance", Reading(open=True))],
                "door-entrance", "high", "entrance")


def kitchen_unattended(site: Site) -> Plan:
    on_w = site.thresholds.appliance_on_w
    return Plan([("presence-kitchen", Reading(occupied=True)), ("presence-kitchen", Reading(occupied=False)),
                 ("plug-induction", Reading(on=True, power_w=on_w * 40, voltage_v=228.0, current_a=on_w * 40 / 228))],
                "plug-induction", "high", "kitchen", hold=site.thresholds.kitchen_unattended)


def appliance_after_hours(site: Site) -> Plan:
    hours = site.schedules.kitchen_hours
    assert hours.start != hours.end and not hours.contains(NIGHT), "23:00 must be outside the kitchen's hours"
    on_w = site.thresholds.appliance_on_w
    return Plan([("plug-rice-cooker", Reading(on=True, power_w=on_w * 20, voltage_v=229.0, energy_wh=1234.5))],
                "plug-rice-cooker", "high", "kitchen", hold=site.thresholds.after_hours_for)


def appliance_overload(site: Site) -> Plan:
    appliance = site.device_by_id["plug-induction"].appliance
    assert appliance is not None and appliance.rated_w is not None
    power = appliance.rated_w * 1.3
    return Plan([("plug-induction", Reading(on=True, power_w=power, voltage_v=226.0, current_a=power / 226))],
                "plug-induction", "high", "kitchen", hold=site.thresholds.overload_for,
                check=lambda alert: _equal(alert["details"].get("rated_w"), appliance.rated_w))


def cold_storage(site: Site) -> Plan:
    limits = site.limits_of(site.device_by_id["temp-raw-cabinet"])
    assert limits is not None
    return Plan([("temp-raw-cabinet", Reading(temperature_c=_inside(limits), battery_pct=88)),
                 ("temp-raw-cabinet", Reading(temperature_c=_above(limits, 4), battery_pct=88))],
                "temp-raw-cabinet", "high", "kitchen", hold=limits.for_)


def water_leak(site: Site) -> Plan:
    return Plan([("leak-bath-s", Reading(leak=False, battery_pct=97)),
                 ("leak-bath-s", Reading(leak=True, battery_pct=97))], "leak-bath-s", "critical", "bath-s")


def boiler_abnormal(site: Site) -> Plan:
    appliance = site.device_by_id["plug-boiler"].appliance
    assert appliance is not None
    bands = sorted(appliance.normal_bands(), key=lambda b: b.min)
    assert len(bands) >= 2, "a boiler has a standby and a heating band"
    between = (bands[0].max + bands[1].min) / 2  # a failing element: far from standby and from heating
    return Plan([("plug-boiler", Reading(on=True, power_w=between, voltage_v=230.0))],
                "plug-boiler", "high", "kitchen", hold=site.thresholds.abnormal_power_for)


def hot_water(site: Site) -> Plan:
    limits = site.limits_of(site.device_by_id["temp-hot-water"])
    assert limits is not None
    return Plan([("temp-hot-water", Reading(temperature_c=_above(limits, 6)))],
                "temp-hot-water", "high", "bath-n", hold=limits.for_)


def smoke(site: Site) -> Plan:
    return Plan([("smoke-corridor", Reading(smoke=False, battery_pct=90)),
                 ("smoke-corridor", Reading(smoke=True, battery_pct=90))], "smoke-corridor", "critical", "corridor")


def room_temperature(site: Site) -> Plan:
    device = site.device_by_id["temp-r103"]
    assert device.protocol == "tasmota"
    limits = site.limits_of(device)
    assert limits is not None
    return Plan([("temp-r103", Reading(temperature_c=_below(limits, 4)))], "temp-r103", "medium", "r103",
                hold=limits.for_)


def watch(site: Site) -> Plan:
    [rule] = [w for w in site.watches if w.id == "med-fridge"]
    return Plan([("temp-med-fridge", Reading(temperature_c=_above(rule.limits, 4), humidity_pct=40))],
                "temp-med-fridge/med-fridge", rule.severity.value, "station", hold=rule.limits.for_,
                check=lambda alert: _equal(alert["details"].get("watch"), "med-fridge"))


def battery_low(site: Site) -> Plan:
    limits = site.thresholds.battery_low
    room = site.thresholds.room_temperature
    return Plan([("temp-dayroom", Reading(temperature_c=_inside(room), battery_pct=_below(limits, 7)))],
                "temp-dayroom", "low", "dayroom", hold=limits.for_)


def device_offline(site: Site) -> Plan:
    """The bridge's Last Will verdict: offline at once, without waiting for the device's silence."""
    return Plan([("smoke-kitchen", Reading(smoke=False, battery_pct=95)), ("smoke-kitchen", Reading(online=False))],
                "smoke-kitchen", "high", "kitchen",
                check=lambda alert: _equal("said_offline_at" in alert["details"], True))


PLANS: dict[str, Callable[[Site], Plan]] = {
    plan.__name__: plan for plan in (
        bed_exit_night, out_of_bed_too_long, bathroom_too_long, not_up, repositioning_due, vital_signs, sos,
        exit_door_night, kitchen_unattended, appliance_after_hours, appliance_overload, cold_storage, water_leak,
        boiler_abnormal, hot_water, smoke, room_temperature, watch, battery_low, device_offline)
}


def _equal(got: Any, expected: Any) -> None:
    assert got == expected, f"{got!r} != {expected!r}"


# Camera rules take no vendor payload: the edge's video analysis feeds them (tests/server/test_camera_rules.py).
CAMERA_RULES = {"camera_health", "coverage", "person_down", "night_activity", "no_activity"}


def test_every_rule_of_the_catalogue_has_an_end_to_end_case() -> None:
    assert set(PLANS) == {rule.name for rule in ALL} - CAMERA_RULES | {DEVICE_OFFLINE}


class Devices:
    """Publishes what a real device of each vendor would, on its own topics, and waits until it is stored."""

    def __init__(self, broker: Broker, site: Site, live: LiveServer) -> None:
        self.site, self.live = site, live
        self.client = publisher(broker)
        self.sent: dict[str, int] = {}
        self.retained: set[str] = set()

    def report(self, device_id: str, reading: Reading) -> list[Outgoing]:
        """Publish the vendor messages for `reading`; return once the server has stored each of them."""
        device = self.site.device_by_id[device_id]
        messages = protocols.get(device.protocol).render(device.kind, reading, device.topic or "")
        for message in messages:
            self.client.publish(message.topic, message.payload, qos=1, retain=message.retain).wait_for_publish(5)
            if message.retain:
                self.retained.add(message.topic)
            self.sent[device_id] = self.sent.get(device_id, 0) + 1
            # One at a time: each observation then lands at a known time on the server's clock.
            stored = wait_until(lambda: self._stored(device_id), 5,
                                what=f"{device_id}: {message.topic} {message.payload.decode()} stored by the server")
            assert stored["rejected"] == 0, f"{device_id}: the edge could not read {message.payload.decode()}"
        return messages

    def _stored(self, device_id: str) -> dict[str, Any] | None:
        with self.live.client() as http:
            rows = http.get("/api/v1/devices", params={"site": self.site.id}).json()
        [row] = [r for r in rows if r["device"] == device_id]
        return row if row["observations"] + row["rejected"] >= self.sent[device_id] else None

    def close(self) -> None:
        """Delete the retained messages left on the broker, then disconnect."""
        for topic in self.retained:
            self.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        cw_mqtt.stop(self.client)


def alerts(live: LiveServer, rule: str) -> list[dict[str, Any]]:
    """The alerts of one rule, as a user lists them."""
    with live.client() as http:
        return [a for a in http.get("/api/v1/alerts", params={"lang": "en"}).json() if a["rule"] == rule]


@pytest.fixture
def chain(unique_site_file: Path, sqlite_url: str, broker: Broker, make_agent: Any,
          tmp_path: Path) -> Iterator[tuple[Site, PastNightClock, LiveServer, Devices]]:
    """A server on a past night's clock, an edge agent for the site, and the site's devices."""
    facility = load_facility(unique_site_file)
    site = facility.sites[0]
    clock = PastNightClock(site.zone)
    with live_server(server_settings(unique_site_file, sqlite_url, broker), clock=clock) as live:
        agent = make_agent(facility, site.id, device_broker_url=broker.url, protocol=broker.protocol,
                           state_dir=tmp_path / "edge")
        agent.start()
        wait_until(lambda: agent.stats()["uplink_connected"] and agent.subscribed.is_set(), 10,
                   what="edge connected and subscribed to the device topics")
        devices = Devices(broker, site, live)
        try:
            yield site, clock, live, devices
        finally:
            devices.close()


def _jump_for(site: Site, clock: PastNightClock, plan: Plan) -> timedelta | None:
    """How far to move the clock after the readings: past the hold-off, or to the wall-clock time."""
    if plan.until is not None:
        now = clock()
        local = now.astimezone(site.zone)
        target = datetime.combine(local.date(), plan.until, tzinfo=site.zone)
        if target <= local:
            target += timedelta(days=1)
        return target.astimezone(UTC) - now + SLACK
    if plan.hold:
        return plan.hold + SLACK
    return None


@pytest.mark.parametrize("rule", list(PLANS))
def test_vendor_payloads_on_device_topics_raise_the_rule_alert(rule: str, chain: Any) -> None:
    site, clock, live, devices = chain
    plan = PLANS[rule](site)
    sent = [devices.report(device, reading) for device, reading in plan.readings]
    jump = _jump_for(site, clock, plan)
    if jump is not None:
        assert not alerts(live, rule), f"{rule} raised before its hold-off"
        assert clock.behind() - jump > timedelta(hours=12), "jumps must stay well behind real time"
        clock.jump(jump)
    payloads = "; ".join(f"{m.topic} {m.payload.decode()}" for messages in sent for m in messages)
    try:
        [alert] = wait_until(lambda: alerts(live, rule), ALERT_WAIT_S, what=f"a {rule} alert")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; published: {payloads}") from None
    assert (alert["rule"], alert["subject"], alert["severity"], alert["room"], alert["status"]) == (
        rule, plan.subject, plan.severity, plan.room, "open"), alert
    assert alert["title"] and alert["subject_name"] and alert["room_name"], alert
    plan.check(alert)
