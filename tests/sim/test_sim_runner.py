"""The simulator on a real broker: vendor-format messages on the device topics, scenarios on demand."""

import queue
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest

from devices.equipment import Device
from devices.facility import Facility
from devices.kinds import DeviceKind
from devices.loader import load_facility
from devices.messages import Reading, utcnow
from devices.mqtt import ProtocolVersion
from devices.protocols import get
from devices.sim.runner import Simulator
from tests.conftest import FACILITY_FILE, Broker
from tests.helpers import Listener, listen, wait_until
from tests.sim.sim_support import MIDNIGHT, sensors

# The field every report of a kind carries (an SOS button's periodic report is its battery).
KEY_FIELD = {
    DeviceKind.BED_SENSOR: "occupied",
    DeviceKind.PRESENCE_SENSOR: "occupied",
    DeviceKind.DOOR_CONTACT: "open",
    DeviceKind.LEAK_SENSOR: "leak",
    DeviceKind.SMOKE_DETECTOR: "smoke",
    DeviceKind.SOS_BUTTON: "battery_pct",
    DeviceKind.TEMPERATURE_SENSOR: "temperature_c",
    DeviceKind.POWER_PLUG: "power_w",
}


def version(broker: Broker) -> ProtocolVersion:
    """The MQTT version the test broker speaks."""
    return cast(ProtocolVersion, broker.protocol)


def device_topics(facility: Facility) -> dict[str, Device]:
    """Every topic the edge would subscribe to for the site's devices, to its device."""
    return {t: d for d in sensors(facility.sites[0]) for t in get(d.protocol).subscriptions(d.topic or "")}


def parsed(listener: Listener, topics: dict[str, Device]) -> dict[str, list[Reading]]:
    """Readings per device id, each message parsed back with its device's vendor format."""
    out: dict[str, list[Reading]] = {}
    for topic, payload in list(listener.messages):
        device = topics[topic]
        reading = get(device.protocol).parse(device.kind, topic, payload)
        if reading is not None:
            out.setdefault(device.id, []).append(reading)
    return out


@pytest.mark.mqtt
def test_every_device_publishes_in_its_vendor_format_and_sos_goes_out_on_demand(
        broker: Broker, unique_site_file: Path) -> None:
    facility = load_facility(unique_site_file, profile="demo")
    site, topics = facility.sites[0], device_topics(facility)
    with listen(broker, list(topics)) as listener:
        sim = Simulator(facility, site.id, broker_url=broker.url, protocol=version(broker), seed=3)
        sim.start()
        try:
            everyone = {d.id for d in sensors(site)}
            wait_until(lambda: set(parsed(listener, topics)) >= everyone, timeout=15, what="every device")
            press = sim.run_scenario("sos")
            wait_until(lambda: any(r.pressed for r in parsed(listener, topics).get(press.device.id, [])),
                       timeout=10, what="the SOS press")
        finally:
            sim.stop()
    readings = parsed(listener, topics)
    for device in sensors(site):
        fields = {k for r in readings[device.id] for k in r.fields()}
        assert KEY_FIELD[device.kind] in fields, (device.id, fields)
    stats = sim.stats()
    assert stats.failed == 0 and stats.started == ("sos",) and stats.published >= len(everyone)


@pytest.mark.mqtt
def test_the_tour_starts_soon_on_the_injected_clock(broker: Broker, unique_site_file: Path) -> None:
    facility = load_facility(unique_site_file, profile="demo")
    start, ticks, lines = utcnow(), iter(range(10**6)), list[str]()
    fast = lambda: start + timedelta(seconds=10 * next(ticks))  # noqa: E731 - ten simulated seconds a tick
    sim = Simulator(facility, None, broker_url=broker.url, protocol=version(broker), seed=1, tour=True,
                    tour_every=20, clock=fast, announce=lines.append)
    sim.start()
    try:
        wait_until(lambda: len(sim.stats().started) >= 2, timeout=15, what="two tour scenarios")
    finally:
        sim.stop()
    assert sim.stats().started[:2] == ("bed-exit-night", "out-of-bed-too-long")
    assert "scenario bed-exit-night on bed-" in lines[0]


def test_unknown_scenarios_are_refused_with_the_known_names() -> None:
    facility = load_facility(FACILITY_FILE, profile="demo")
    with pytest.raises(ValueError, match="unknown scenario.*nope.*known: bed-exit-night"):
        Simulator(facility, None, broker_url="mqtt://127.0.0.1:1", scenarios=["sos", "nope"])
    sim = Simulator(facility, None, broker_url="mqtt://127.0.0.1:1")
    with pytest.raises(ValueError, match="known: .*device-offline"):
        sim.run_scenario("earthquake")


def test_the_tour_skips_what_cannot_run_now_and_plays_the_next_at_once() -> None:
    """Under the reference thresholds at 15:00, most night or long scenarios give way; no broker needed."""
    facility = load_facility(FACILITY_FILE)
    start, ticks, lines = MIDNIGHT + timedelta(hours=15), iter(range(10**6)), list[str]()
    sim = Simulator(facility, None, broker_url="mqtt://127.0.0.1:1", seed=1, tour=True, tour_every=90,
                    clock=lambda: start + timedelta(seconds=next(ticks)), announce=lines.append)
    for _ in range(100):
        sim._tick()  # the thread's work, without the thread or a broker: paho queues what it cannot send
    assert sim.stats().started == ("bed-exit-night", "vitals-out-of-range")
    skipped = [line.split()[2] for line in lines if " skipped: " in line]
    assert skipped == ["out-of-bed-too-long", "bathroom-too-long", "not-up", "repositioning-due"]
    assert "skipped: it would take 30m24s, longer than 15m" in lines[1]
    assert lines[-1].startswith("15:01:35 scenario vitals-out-of-range on bed-b103-1")


@pytest.mark.mqtt
def test_run_prints_each_scenario_start_and_stops_on_sigterm(broker: Broker, unique_site_file: Path) -> None:
    code = ("from devices.sim.runner import run; "
            f"run({str(unique_site_file)!r}, broker_url={broker.url!r}, protocol={broker.protocol!r}, "
            "profile='demo', scenarios=['smoke', 'sos'], seed=1)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in proc.stdout or []:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        seen = [lines.get(timeout=20) for _ in range(3)]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        proc.kill()
    assert sum("scenario smoke on smoke-" in line for line in seen) == 1
    assert sum("scenario sos on sos-" in line for line in seen) == 1
