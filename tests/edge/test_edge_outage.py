"""Store-and-forward: an uplink outage or an edge restart loses no observation and keeps seq order."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from carewatch.broker import PrivateMosquitto
from devices import topics
from devices.facility import Facility
from devices.loader import load_facility
from edge.agent import EdgeAgent
from tests.edge.edge_support import Collector, Device, envelopes
from tests.helpers import wait_until

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

BED = "bed-b103-1"  # native format


@pytest.fixture
def facility(unique_site_file: Path) -> Facility:
    return load_facility(unique_site_file)


@pytest.fixture
def uplink_url(uplink_mosquitto: PrivateMosquitto) -> str:
    return f"mqtt://127.0.0.1:{uplink_mosquitto.port}"


@pytest.fixture
def server(uplink_url: str, facility: Facility) -> Iterator[Collector]:
    """Stands in for the server: persistent, so the broker keeps its subscription across restarts."""
    collector = Collector(uplink_url, [topics.observation(facility.site().id, "+")], persistent=True).start()
    yield collector
    collector.stop()


@pytest.fixture
def device(broker: Any) -> Iterator[Device]:
    dev = Device(broker.url, protocol=broker.protocol)
    yield dev
    dev.stop()


class Bed:
    """The native bed mat of the test site: publishes numbered readings and remembers them."""

    def __init__(self, device: Device, facility: Facility) -> None:
        self.device, self.topic = device, facility.site().device_by_id[BED].topic or ""
        self.sent: list[dict[str, float]] = []

    def publish(self, count: int) -> None:
        for _ in range(count):
            reading = {"heart_rate_bpm": len(self.sent) * 0.5}  # unique per message, inside 0..300
            self.device.publish(self.topic, json.dumps(reading))
            self.sent.append(reading)


def start_agent(make_agent: Callable[..., EdgeAgent], facility: Facility, broker: Any, uplink_url: str,
                state_dir: Path) -> EdgeAgent:
    agent = make_agent(facility, facility.site().id, device_broker_url=broker.url,
                       uplink_broker_url=uplink_url, protocol=broker.protocol, state_dir=state_dir)
    agent.start()
    wait_until(agent.subscribed.is_set, what="agent subscribed")
    return agent


def assert_all_in_order(server: Collector, bed: Bed, timeout: float) -> None:
    """Every reading arrived once or more; first copies carry seq 1..n in order, with the right data."""
    wait_until(lambda: len(envelopes(server.messages)) >= len(bed.sent), timeout=timeout,
               what=f"{len(bed.sent)} envelopes")
    got = envelopes(server.messages)
    assert [e["seq"] for e in got] == list(range(1, len(bed.sent) + 1))
    assert [e["data"] for e in got] == bed.sent
    assert {e["device"] for e in got} == {BED}


def test_uplink_outage_loses_nothing(
    uplink_mosquitto: PrivateMosquitto, uplink_url: str, server: Collector, device: Device,
    make_agent: Callable[..., EdgeAgent], facility: Facility, broker: Any, tmp_path: Path,
) -> None:
    agent = start_agent(make_agent, facility, broker, uplink_url, tmp_path / "edge")
    bed = Bed(device, facility)
    bed.publish(50)
    assert_all_in_order(server, bed, timeout=5)

    uplink_mosquitto.stop()
    wait_until(lambda: not agent.uplink.connected.is_set(), what="uplink down")
    bed.publish(250)  # the devices' broker is still up: they keep talking
    wait_until(lambda: agent.stats()["forwarded"] == 300, what="all readings in the outbox")
    assert agent.stats()["outbox"]["pending"] >= 250

    uplink_mosquitto.start()  # same port
    bed.publish(50)
    assert_all_in_order(server, bed, timeout=15)
    wait_until(lambda: agent.stats()["outbox"]["pending"] == 0, what="outbox empty")


def test_edge_restart_with_rows_pending(
    uplink_mosquitto: PrivateMosquitto, uplink_url: str, server: Collector, device: Device,
    make_agent: Callable[..., EdgeAgent], facility: Facility, broker: Any, tmp_path: Path,
) -> None:
    state = tmp_path / "edge"
    first = start_agent(make_agent, facility, broker, uplink_url, state)
    bed = Bed(device, facility)
    bed.publish(20)
    assert_all_in_order(server, bed, timeout=5)

    uplink_mosquitto.stop()
    wait_until(lambda: not first.uplink.connected.is_set(), what="uplink down")
    bed.publish(30)
    wait_until(lambda: first.stats()["forwarded"] == 30 + 20, what="readings in the outbox")
    first.stop()
    assert first.stats()["outbox"]["pending"] == 30
    bed.publish(10)  # no edge running: the device broker keeps them in the edge's session

    second = start_agent(make_agent, facility, broker, uplink_url, state)
    assert second.stats()["outbox"]["pending"] >= 30
    bed.publish(10)
    wait_until(lambda: second.stats()["forwarded"] == 20, what="queued and new readings in the outbox")
    uplink_mosquitto.start()
    assert_all_in_order(server, bed, timeout=15)
