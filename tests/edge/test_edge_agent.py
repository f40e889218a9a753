"""The edge agent against a real broker: device payloads in, envelopes, status and heartbeats out."""

import logging
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devices import protocols, topics
from devices.facility import Facility, Site
from devices.kinds import DeviceKind
from devices.loader import load_facility
from devices.messages import RAW_KEEP_CHARS, truncate_raw
from edge.agent import EdgeAgent
from tests.edge.edge_support import Collector, Device, envelopes
from tests.helpers import wait_until

pytestmark = pytest.mark.mqtt

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
BED = "bed-b103-1"  # the reference facility's native-format bed mat


@pytest.fixture
def facility(unique_site_file: Path) -> Facility:
    return load_facility(unique_site_file)


@pytest.fixture
def site(facility: Facility) -> Site:
    return facility.site()


@pytest.fixture
def agent(make_agent: Callable[..., EdgeAgent], facility: Facility, broker: Any, tmp_path: Path) -> EdgeAgent:
    """A running agent whose devices and uplink share the test broker."""
    agent = make_agent(facility, facility.site().id, device_broker_url=broker.url,
                       uplink_broker_url=broker.url, protocol=broker.protocol, state_dir=tmp_path / "edge",
                       heartbeat_every=0.2, clock=lambda: NOW)
    agent.start()
    wait_until(agent.subscribed.is_set, what="agent subscribed to the device topics")
    return agent


@pytest.fixture
def device(broker: Any) -> Iterator[Device]:
    dev = Device(broker.url, protocol=broker.protocol)
    yield dev
    dev.stop()


@pytest.fixture
def uplink(broker: Any, site: Site) -> Iterator[Collector]:
    collector = Collector(broker.url, [topics.observation(site.id, "+"), topics.edge_status(site.id),
                                       topics.edge_heartbeat(site.id)], protocol=broker.protocol).start()
    yield collector
    collector.stop()


def bed_topic(site: Site) -> str:
    return site.device_by_id[BED].topic or ""


def test_a_native_reading_arrives_upstream_as_an_envelope(agent: EdgeAgent, site: Site, device: Device,
                                                          uplink: Collector) -> None:
    obs = topics.observation(site.id, BED)
    device.publish(bed_topic(site), b'{"occupied": true, "heart_rate_bpm": 62}')
    device.publish(bed_topic(site), b'{"occupied": false}')
    wait_until(lambda: len(envelopes(uplink.on(obs))) == 2, what="two envelopes")
    first, second = envelopes(uplink.on(obs))
    assert {k: first[k] for k in ("v", "site", "device", "kind", "seq", "data")} == {
        "v": 1, "site": site.id, "device": BED, "kind": "bed_sensor", "seq": 1,
        "data": {"occupied": True, "heart_rate_bpm": 62.0},
    }
    assert datetime.fromisoformat(first["at"]) == NOW
    assert "error" not in first and len(first["id"]) >= 8
    assert (second["seq"], second["data"], second["id"] != first["id"]) == (2, {"occupied": False}, True)
    stats = agent.stats()
    assert (stats["received"], stats["forwarded"], stats["rejected"]) == (2, 2, 0)
    wait_until(lambda: agent.stats()["outbox"]["acked"] == 2, what="PUBACKs")
    assert agent.stats()["outbox"]["pending"] == 0


def test_subscribes_to_exactly_the_facility_topics(agent: EdgeAgent, site: Site, device: Device,
                                                   uplink: Collector) -> None:
    expected = {t for d in site.devices if d.kind is not DeviceKind.CAMERA
                for t in protocols.get(d.protocol).subscriptions(d.topic or "")}
    assert set(agent.intake.routes) == expected and agent.intake.unsupported == []
    device.publish(f"{site.id}-carewatch/dev/bed-unknown", b'{"occupied": true}')
    device.publish(f"{bed_topic(site)}/extra", b'{"occupied": true}')
    device.publish(bed_topic(site), b'{"occupied": true}')
    wait_until(lambda: uplink.on(topics.observation(site.id, BED)), what="the known device's envelope")
    all_obs = [m for m in uplink.messages if "/obs/" in m.topic]
    assert len(all_obs) == 1
    stats = agent.stats()
    # Not `received == 1`: amqtt 0.12 hands persistent sessions stray retained messages of other
    # topics; the agent counts those as unknown and forwards nothing for them.
    assert (stats["forwarded"], stats["rejected"], stats["errors"]) == (1, 0, 0)


def test_a_bridges_offline_verdict_arrives_upstream_as_an_observation(agent: EdgeAgent, site: Site,
                                                                      device: Device, uplink: Collector) -> None:
    bed = site.device_by_id["bed-b101-1"]  # a zigbee2mqtt bed mat
    device.publish(f"{bed.topic}/availability", b'{"state":"offline"}')
    obs = topics.observation(site.id, bed.id)
    wait_until(lambda: envelopes(uplink.on(obs)), what="the availability envelope")
    (envelope,) = envelopes(uplink.on(obs))
    assert (envelope["kind"], envelope["seq"], envelope["data"]) == ("bed_sensor", 1, {"online": False})


BAD = [
    (b"{not json", "unreadable", "not JSON"),
    (b"[1, 2]", "unreadable", "object was expected"),
    (b'{"colour": "red"}', "unreadable", "unknown field"),
    (b'{"heart_rate_bpm": 900}', "unreadable", "heart_rate_bpm"),
    (b'{"occupied": true, "x": "\xff\xfe"}', "not_utf8", "not UTF-8"),
    (b"\x00\xff" * 1000, "not_utf8", "not UTF-8"),  # binary: escaped, the raw text must still fit
    (b'{"pad": "' + b"x" * (64 * 1024) + b'"}', "too_large", "over the 65536 byte limit"),
]


def test_bad_payloads_become_rejections_and_the_agent_keeps_working(
    agent: EdgeAgent, site: Site, device: Device, uplink: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="edge")
    for payload, _, _ in BAD:
        device.publish(bed_topic(site), payload)
    device.publish(bed_topic(site), b'{"occupied": true}')
    obs = topics.observation(site.id, BED)
    wait_until(lambda: len(envelopes(uplink.on(obs))) == len(BAD) + 1, what="rejections and the good one")
    got = envelopes(uplink.on(obs))
    for (payload, _, reason), env in zip(BAD, got, strict=False):
        assert "data" not in env and reason in env["error"]["reason"], env["error"]
        assert 0 < len(env["error"]["raw"]) <= 1024
        assert env["error"]["raw"] == truncate_raw(payload)[:RAW_KEEP_CHARS]
    assert [e["seq"] for e in got] == list(range(1, len(BAD) + 2))
    assert got[-1]["data"] == {"occupied": True} and "error" not in got[-1]
    stats = agent.stats()
    assert stats["rejected_by_device"] == {BED: {"unreadable": 4, "not_utf8": 2, "too_large": 1}}
    assert (stats["rejected"], stats["forwarded"], stats["errors"]) == (7, 1, 0)
    logged = [r for r in caplog.records if BED in r.getMessage()]
    assert len(logged) == 1  # once per device, not per message
    assert "x" * 50 not in caplog.text and "colour" not in caplog.text  # no payloads in the log


def test_retained_online_and_last_will_offline(agent: EdgeAgent, site: Site, broker: Any) -> None:
    status = topics.edge_status(site.id)
    watcher = Collector(broker.url, [status], protocol=broker.protocol).start()
    try:
        wait_until(lambda: [m.payload for m in watcher.on(status)] == [b"online"], what="online")
        assert watcher.on(status)[0].retain
        sock = agent.uplink.client.socket()
        assert isinstance(sock, socket.socket)
        sock.shutdown(socket.SHUT_RDWR)  # the connection dies without a DISCONNECT: the Will fires
        wait_until(lambda: b"offline" in [m.payload for m in watcher.on(status)], what="Last Will")
        # paho reconnects by itself and the agent says online again.
        wait_until(lambda: [m.payload for m in watcher.on(status)][-1] == b"online", timeout=8,
                   what="online again")
        agent.stop()
        wait_until(lambda: [m.payload for m in watcher.on(status)][-1] == b"offline", what="clean offline")
    finally:
        watcher.stop()
    late = Collector(broker.url, [status], protocol=broker.protocol).start()
    try:
        wait_until(lambda: late.on(status), what="retained status")
        assert (late.on(status)[0].payload, late.on(status)[0].retain) == (b"offline", True)
    finally:
        late.stop()


def test_heartbeat_carries_time_pending_and_counters(agent: EdgeAgent, site: Site, device: Device,
                                                     uplink: Collector) -> None:
    device.publish(bed_topic(site), b'{"occupied": true}')
    beat = topics.edge_heartbeat(site.id)
    wait_until(lambda: any(m.json()["counters"]["forwarded"] == 1 for m in uplink.on(beat)),
               what="a heartbeat that counts the message")
    body = uplink.on(beat)[-1].json()
    assert datetime.fromisoformat(body["at"]).tzinfo is not None
    assert isinstance(body["pending"], int)
    assert body["counters"]["site"] == site.id and body["counters"]["forwarded"] == 1
    assert set(body["counters"]["outbox"]) == {"pending", "published", "acked", "refused"}
