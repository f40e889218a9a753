"""Property-based fuzzing of every vendor format's `parse`: whatever a device (or an attacker on the broker)
publishes, the answer is a Reading, None, or a ProtocolError with a reason; never another exception."""

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices import protocols
from devices.equipment import Protocol
from devices.kinds import DeviceKind
from devices.messages import Reading
from devices.protocols import ProtocolError

FUZZ = settings(max_examples=300, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
FORMATS = [Protocol.ZIGBEE2MQTT, Protocol.SHELLY, Protocol.TASMOTA, Protocol.NATIVE]
DEVICE_TOPIC = "dev/x"
# Keys the formats read, so generated objects hit the typed paths and not only "unknown key, ignored".
KEYS = ["occupancy", "presence", "heart_rate", "breathing_rate", "movement", "motion", "contact", "water_leak",
        "smoke", "temperature", "humidity", "action", "state", "power", "voltage", "current", "energy", "battery",
        "output", "apower", "aenergy", "total", "method", "params", "switch:0", "ENERGY", "Power", "Voltage",
        "Current", "Total", "TempUnit", "Temperature", "Humidity", "DS18B20", "AM2301", "ESP32", "POWER", "POWER1",
        "occupied", "power_w", "temperature_c", "online", "camera_state", "stats", "snapshot", "zone", "id"]
SCALARS = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=20) | st.sampled_from(
    ["ON", "OFF", "on", "online", "offline", "C", "F", "NotifyStatus", "NotifyFullStatus", "", "true", "1e999"])
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5), max_leaves=20)
OBJECTS = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), VALUES, max_size=8)


def json_bytes(value: Any) -> bytes:
    """JSON as a device might send it, NaN and Infinity included (Python's encoder writes them)."""
    return json.dumps(value).encode()


PAYLOADS = (st.binary(max_size=300) | OBJECTS.map(json_bytes) | VALUES.map(json_bytes)
            | st.text(max_size=200).map(str.encode) | st.sampled_from(
                [b"", b"online", b"Offline", b"true", b"{", b"[" * 5000, b'{"a":' * 3000, b"\xff\xfe", b"NaN",
                 b'{"temperature": NaN}', b'{"ENERGY": {"Power": Infinity}}', b"x" * 70_000]))


def cases() -> list[tuple[Protocol, DeviceKind, str]]:
    """Every (format, kind, topic) the edge can route to a parser, plus a topic the format does not publish."""
    found = []
    for protocol in FORMATS:
        fmt = protocols.get(protocol)
        for kind in sorted(fmt.kinds | {DeviceKind.CAMERA}, key=str):
            for topic in [*fmt.subscriptions(DEVICE_TOPIC), DEVICE_TOPIC + "/other"]:
                found.append((protocol, kind, topic))
    return found


def parse(protocol: Protocol, kind: DeviceKind, topic: str, payload: bytes) -> Reading | None:
    """The format's answer; a ProtocolError must say why (it is the dead letter's reason)."""
    try:
        return protocols.get(protocol).parse(kind, topic, payload)
    except ProtocolError as exc:
        assert str(exc).strip(), "a rejection without a reason"
        return None


@pytest.mark.parametrize("protocol", FORMATS)
@FUZZ
@given(data=st.data(), payload=PAYLOADS)
def test_no_payload_makes_a_parser_raise_anything_but_a_protocol_error(protocol: Protocol, data: Any,
                                                                       payload: bytes) -> None:
    """Arbitrary bytes and JSON on every topic and kind a format serves."""
    _, kind, topic = data.draw(st.sampled_from([c for c in cases() if c[0] == protocol]))
    found = parse(protocol, kind, topic, payload)
    assert found is None or isinstance(found, Reading)
    if found is not None:
        # What the edge forwards must survive its own envelope's JSON (no NaN, values in range).
        assert Reading.model_validate_json(found.model_dump_json()) == found


@pytest.mark.parametrize("protocol", FORMATS)
@FUZZ
@given(data=st.data(), extra=OBJECTS)
def test_a_real_message_with_junk_added_is_read_or_refused_with_a_reason(protocol: Protocol, data: Any,
                                                                         extra: dict[str, Any]) -> None:
    """Mutations of what a real device sends (the simulators' `render`): keys added or replaced by junk."""
    fmt = protocols.get(protocol)
    kind = data.draw(st.sampled_from(sorted(fmt.kinds, key=str)))
    reading = Reading(occupied=True, heart_rate_bpm=60, on=True, power_w=10, temperature_c=4, humidity_pct=50,
                      leak=False, smoke=False, open=False, pressed=True, action="single", online=True)
    for message in fmt.render(kind, reading, DEVICE_TOPIC):
        try:
            body = json.loads(message.payload)
        except ValueError:
            continue  # plain-text availability: covered by the arbitrary bytes above
        if isinstance(body, dict):
            body.update(extra)
        parse(protocol, kind, message.topic, json_bytes(body))


def test_every_format_and_topic_is_fuzzed() -> None:
    """The four vendor formats, each on all its subscribed topics (a format added later joins by FORMATS)."""
    served = {(p, t) for p, _, t in cases()}
    assert {p for p, _ in served} == set(FORMATS)
    assert ("zigbee2mqtt", DEVICE_TOPIC + "/availability") in served
    assert ("tasmota", f"tele/{DEVICE_TOPIC}/SENSOR") in served
    assert ("shelly", DEVICE_TOPIC + "/events/rpc") in served
