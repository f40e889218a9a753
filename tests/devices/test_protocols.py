"""Vendor formats: real payloads read right, bad ones are refused with a reason, render and parse agree."""

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.facility import Facility
from devices.kinds import DeviceKind
from devices.messages import MAX_PAYLOAD_BYTES, Reading, Rejection
from devices.protocols import Outgoing, ProtocolError, VendorFormat, get, native, shelly, tasmota, zigbee2mqtt

SAMPLES = Path(__file__).parent / "samples"
TWO_CHANNELS = "tasmota-sensor-two-channels.json"  # a two-channel meter: refused, see WRONG

BED = DeviceKind.BED_SENSOR
PRESENCE = DeviceKind.PRESENCE_SENSOR
DOOR = DeviceKind.DOOR_CONTACT
LEAK = DeviceKind.LEAK_SENSOR
SMOKE = DeviceKind.SMOKE_DETECTOR
SOS = DeviceKind.SOS_BUTTON
TEMP = DeviceKind.TEMPERATURE_SENSOR
PLUG = DeviceKind.POWER_PLUG

# Device topics as the facility file names them, and the topics the devices publish on.
DEVICE_TOPIC = {
    "zigbee2mqtt": "zigbee2mqtt/bed-b101-1",
    "shelly": "shellyplusplugs-kitchen1",
    "tasmota": "tasmota_kitchen2",
    "native": "carewatch/dev/bed-b103-1",
}
Z2M = "zigbee2mqtt/bed-b101-1"
AVAILABILITY = "zigbee2mqtt/bed-b101-1/availability"
STATUS = "shellyplusplugs-kitchen1/status/switch:0"
EVENTS = "shellyplusplugs-kitchen1/events/rpc"
ONLINE = "shellyplusplugs-kitchen1/online"
SENSOR = "tele/tasmota_kitchen2/SENSOR"
STATE = "tele/tasmota_kitchen2/STATE"
LWT = "tele/tasmota_kitchen2/LWT"
NATIVE = "carewatch/dev/bed-b103-1"

# (sample file, format, device kind, topic, the Reading's fields or None). Samples are whole payloads
# as the devices send them; on battery devices `voltage` is the battery's mV and never voltage_v.
SAMPLE_CASES: list[tuple[str, str, DeviceKind, str, dict[str, Any] | None]] = [
    ("z2m-bed-mat.json", "zigbee2mqtt", BED, Z2M, {"occupied": True, "battery_pct": 92}),
    (
        "z2m-bed-radar.json",
        "zigbee2mqtt",
        BED,
        Z2M,
        {"occupied": True, "heart_rate_bpm": 64, "respiration_rpm": 15},
    ),
    ("z2m-presence-mmwave.json", "zigbee2mqtt", PRESENCE, Z2M, {"occupied": True}),
    ("z2m-presence-pir.json", "zigbee2mqtt", PRESENCE, Z2M, {"occupied": False, "battery_pct": 100}),
    ("z2m-door-contact.json", "zigbee2mqtt", DOOR, Z2M, {"open": True, "battery_pct": 100}),
    ("z2m-leak.json", "zigbee2mqtt", LEAK, Z2M, {"leak": True, "battery_pct": 87}),
    ("z2m-smoke.json", "zigbee2mqtt", SMOKE, Z2M, {"smoke": True, "battery_pct": 83}),
    (
        "z2m-temperature.json",
        "zigbee2mqtt",
        TEMP,
        Z2M,
        {"temperature_c": 4.3, "humidity_pct": 54.2, "battery_pct": 91},
    ),
    (
        "z2m-sos-press.json",
        "zigbee2mqtt",
        SOS,
        Z2M,
        {"action": "emergency", "pressed": True, "battery_pct": 100},
    ),
    ("z2m-sos-cleared.json", "zigbee2mqtt", SOS, Z2M, {"battery_pct": 100}),
    (
        "z2m-plug.json",
        "zigbee2mqtt",
        PLUG,
        Z2M,
        {"on": True, "power_w": 1498, "voltage_v": 229.6, "current_a": 6.52, "energy_wh": 12340},
    ),
    (
        "shelly-status-plugs.json",
        "shelly",
        PLUG,
        STATUS,
        {"on": True, "power_w": 1520.3, "voltage_v": 228.9, "current_a": 6.642, "energy_wh": 35734.221},
    ),
    (
        "shelly-status-pro1pm-off.json",
        "shelly",
        PLUG,
        STATUS,
        {"on": False, "power_w": 0, "voltage_v": 231.2, "current_a": 0, "energy_wh": 118230.402},
    ),
    ("shelly-notify-status.json", "shelly", PLUG, EVENTS, {"power_w": 1498.2, "current_a": 6.55}),
    ("shelly-notify-output-off.json", "shelly", PLUG, EVENTS, {"on": False}),
    (
        "shelly-notify-full.json",
        "shelly",
        PLUG,
        EVENTS,
        {"on": False, "power_w": 0, "voltage_v": 229.4, "current_a": 0, "energy_wh": 35710.004},
    ),
    ("shelly-notify-cloud.json", "shelly", PLUG, EVENTS, None),
    ("shelly-notify-event.json", "shelly", PLUG, EVENTS, None),
    (
        "tasmota-sensor-pow.json",
        "tasmota",
        PLUG,
        SENSOR,
        {"power_w": 1987, "voltage_v": 226, "current_a": 8.861, "energy_wh": 123456},
    ),
    ("tasmota-state.json", "tasmota", PLUG, STATE, {"on": True}),
    ("tasmota-state-two-relays.json", "tasmota", PLUG, STATE, {"on": False}),
    ("tasmota-sensor-ds18b20.json", "tasmota", TEMP, SENSOR, {"temperature_c": 3.9}),
    (
        "tasmota-sensor-am2301-fahrenheit.json",
        "tasmota",
        TEMP,
        SENSOR,
        {"temperature_c": 4.0, "humidity_pct": 61.0},
    ),
    ("tasmota-sensor-esp32-and-probe.json", "tasmota", TEMP, SENSOR, {"temperature_c": -18.5}),
    ("tasmota-sensor-switch-only.json", "tasmota", TEMP, SENSOR, None),
    # The plug's SENSOR has only the ESP32 chip's temperature: that is never a fridge's.
    ("tasmota-sensor-pow.json", "tasmota", TEMP, SENSOR, None),
    ("tasmota-state.json", "tasmota", TEMP, STATE, None),
]


def fields_of(result: Reading | None) -> dict[str, Any] | None:
    """What a parse reported, None for nothing."""
    return None if result is None else result.fields()


@pytest.mark.parametrize(
    ("sample", "protocol", "kind", "topic", "expected"), SAMPLE_CASES, ids=lambda v: str(v)
)
def test_vendor_sample_reads_as_documented(
    sample: str, protocol: str, kind: DeviceKind, topic: str, expected: dict[str, Any] | None
) -> None:
    payload = (SAMPLES / sample).read_bytes()
    assert fields_of(get(protocol).parse(kind, topic, payload)) == expected


def test_every_sample_file_is_checked() -> None:
    assert {p.name for p in SAMPLES.glob("*.json")} == {case[0] for case in SAMPLE_CASES} | {TWO_CHANNELS}


@pytest.mark.parametrize(
    ("kind", "payload", "expected"),
    [
        (DOOR, {"contact": True}, {"open": False}),
        (DOOR, {"contact": False}, {"open": True}),
        (BED, {"occupancy": False, "presence": True}, {"occupied": False}),
        (PRESENCE, {"presence": False, "respiration_rate": 12}, {"occupied": False, "respiration_rpm": 12}),
        (SOS, {"action": "single", "battery": 55}, {"action": "single", "pressed": True, "battery_pct": 55}),
        (SOS, {"action": None}, None),
        (SOS, {"action": ""}, None),
        (DOOR, {"linkquality": 120, "tamper": False, "battery_low": False, "voltage": 3000}, None),
        (PLUG, {"state": "OFF", "energy": 0.01}, {"on": False, "energy_wh": 10}),
        # Sleep mats and radars say `movement` or `motion`; only a bed sensor's counts (as a turn).
        (BED, {"occupancy": True, "movement": True}, {"occupied": True, "movement": True}),
        (BED, {"motion": False, "battery": 70}, {"movement": False, "battery_pct": 70}),
        (BED, {"movement": True, "motion": False}, {"movement": True}),
        (PRESENCE, {"presence": True, "movement": True, "motion": True}, {"occupied": True}),
    ],
)
def test_zigbee2mqtt_mapping_details(
    kind: DeviceKind, payload: dict[str, Any], expected: dict[str, Any] | None
) -> None:
    assert fields_of(zigbee2mqtt.FORMAT.parse(kind, Z2M, json.dumps(payload).encode())) == expected


def test_a_plugs_voltage_is_mains_volts_and_a_sensors_is_not() -> None:
    payload = b'{"voltage": 230.4, "battery": 90, "water_leak": false}'
    assert fields_of(zigbee2mqtt.FORMAT.parse(LEAK, Z2M, payload)) == {"leak": False, "battery_pct": 90}
    assert fields_of(zigbee2mqtt.FORMAT.parse(PLUG, Z2M, payload)) == {"voltage_v": 230.4}


def test_topics_a_format_does_not_read_say_nothing() -> None:
    assert shelly.FORMAT.parse(PLUG, "shellyplusplugs-kitchen1/status/sys", b'{"uptime": 5}') is None
    assert tasmota.FORMAT.parse(PLUG, "tele/tasmota_kitchen2/INFO1", b'{"Info1": {"Module": "Sonoff Pow R2"}}') is None


# (format, device kind, topic, payload, the Reading's fields or None): each vendor's availability message.
AVAILABILITY_CASES: list[tuple[str, DeviceKind, str, bytes, dict[str, Any] | None]] = [
    ("zigbee2mqtt", BED, AVAILABILITY, b'{"state":"offline"}', {"online": False}),
    ("zigbee2mqtt", BED, AVAILABILITY, b'{"state":"online"}', {"online": True}),
    ("zigbee2mqtt", DOOR, AVAILABILITY, b"offline", {"online": False}),  # legacy_availability_payload (1.x)
    ("zigbee2mqtt", SOS, AVAILABILITY, b"online", {"online": True}),
    ("zigbee2mqtt", BED, AVAILABILITY, b"", None),  # a retained availability deleted: the device was renamed
    ("zigbee2mqtt", DeviceKind.CAMERA, AVAILABILITY, b'{"state":"offline"}', None),
    ("shelly", PLUG, ONLINE, b"false", {"online": False}),
    ("shelly", PLUG, ONLINE, b"true", {"online": True}),
    ("shelly", PLUG, ONLINE, b"", None),
    ("shelly", BED, ONLINE, b"false", None),
    ("tasmota", PLUG, LWT, b"Offline", {"online": False}),
    ("tasmota", TEMP, LWT, b"Online", {"online": True}),
    ("tasmota", PLUG, LWT, b"", None),  # SetOption10 0: the old topic's LWT cleared after a topic change
    ("tasmota", SOS, LWT, b"Offline", None),
    ("native", BED, NATIVE, b'{"online": false}', {"online": False}),
    ("native", BED, NATIVE, b'{"online": true, "occupied": true}', {"online": True, "occupied": True}),
]


@pytest.mark.parametrize(("protocol", "kind", "topic", "payload", "expected"), AVAILABILITY_CASES, ids=lambda v: str(v))
def test_availability_messages_read_as_online(
    protocol: str, kind: DeviceKind, topic: str, payload: bytes, expected: dict[str, Any] | None
) -> None:
    assert fields_of(get(protocol).parse(kind, topic, payload)) == expected


AVAILABILITY_READERS = [("zigbee2mqtt", BED, AVAILABILITY), ("shelly", PLUG, ONLINE), ("tasmota", PLUG, LWT)]
TOO_LARGE = f"payload of {MAX_PAYLOAD_BYTES + 1} bytes is over the {MAX_PAYLOAD_BYTES} byte limit"


@pytest.mark.parametrize(("protocol", "kind", "topic"), AVAILABILITY_READERS)
@pytest.mark.parametrize(
    ("payload", "reason"),
    [(b"\xff\xfeoffline", "payload is not UTF-8"), (b"x" * (MAX_PAYLOAD_BYTES + 1), TOO_LARGE)],
    ids=["not UTF-8", "too large"],
)
def test_unreadable_availability_is_refused_with_its_reason(
    protocol: str, kind: DeviceKind, topic: str, payload: bytes, reason: str
) -> None:
    with pytest.raises(ProtocolError) as refused:
        get(protocol).parse(kind, topic, payload)
    assert str(refused.value) == reason


def test_kinds_a_format_has_no_devices_of_say_nothing() -> None:
    status = (SAMPLES / "shelly-status-plugs.json").read_bytes()
    assert shelly.FORMAT.parse(BED, STATUS, status) is None
    assert zigbee2mqtt.FORMAT.parse(DeviceKind.CAMERA, Z2M, b'{"occupancy": true}') is None


# Every topic every format reads, with a kind that reads it.
READERS = [
    ("zigbee2mqtt", BED, Z2M),
    ("zigbee2mqtt", PLUG, Z2M),
    ("shelly", PLUG, STATUS),
    ("shelly", PLUG, EVENTS),
    ("tasmota", PLUG, SENSOR),
    ("tasmota", PLUG, STATE),
    ("tasmota", TEMP, SENSOR),
]
PAD = b'{"pad": "'
OVER_LIMIT = PAD + b"x" * (MAX_PAYLOAD_BYTES + 1 - len(PAD) - 2) + b'"}'
UNREADABLE = [
    (
        b"{occupancy: true}",
        "payload is not JSON: Expecting property name enclosed in double quotes at char 1",
    ),
    (b"", "payload is not JSON: Expecting value at char 0"),
    (b'{"output": true', "payload is not JSON: Expecting ',' delimiter at char 15"),
    (b'\xff\xfe{"POWER": "ON"}', "payload is not UTF-8"),
    (b'[{"occupancy": true}]', "payload is JSON list, an object was expected"),
    (b'"ON"', "payload is JSON str, an object was expected"),
    (b"[" * 50_000, "payload is JSON nested too deeply"),
    (OVER_LIMIT, f"payload of {MAX_PAYLOAD_BYTES + 1} bytes is over the {MAX_PAYLOAD_BYTES} byte limit"),
]


@pytest.mark.parametrize(("protocol", "kind", "topic"), READERS)
@pytest.mark.parametrize(("payload", "reason"), UNREADABLE, ids=[r for _, r in UNREADABLE])
def test_unreadable_payload_is_refused_with_its_reason(
    protocol: str, kind: DeviceKind, topic: str, payload: bytes, reason: str
) -> None:
    assert len(OVER_LIMIT) == MAX_PAYLOAD_BYTES + 1
    with pytest.raises(ProtocolError) as refused:
        get(protocol).parse(kind, topic, payload)
    assert str(refused.value) == reason


WRONG = [
    (
        "zigbee2mqtt",
        BED,
        Z2M,
        b'{"occupancy": "yes"}',
        "occupancy: Input should be a valid boolean (got str)",
    ),
    (
        "zigbee2mqtt",
        BED,
        Z2M,
        b'{"heart_rate": "64"}',
        "heart_rate: Input should be a valid number (got str)",
    ),
    ("zigbee2mqtt", DOOR, Z2M, b'{"contact": 1}', "contact: Input should be a valid boolean (got int)"),
    ("zigbee2mqtt", SOS, Z2M, b'{"action": 1}', "action: Input should be a valid string (got int)"),
    ("zigbee2mqtt", PLUG, Z2M, b'{"state": "on"}', "state: Input should be 'ON' or 'OFF' (got str)"),
    ("zigbee2mqtt", PLUG, Z2M, b'{"power": true}', "power: Input should be a valid number (got bool)"),
    (
        "zigbee2mqtt",
        TEMP,
        Z2M,
        b'{"temperature": NaN}',
        "payload holds NaN, which is not a JSON number",
    ),
    ("zigbee2mqtt", LEAK, Z2M, b'{"battery": 180}', "battery_pct: Input should be less than or equal to 100"),
    ("shelly", PLUG, STATUS, b'{"output": "true"}', "output: Input should be a valid boolean (got str)"),
    (
        "shelly",
        PLUG,
        STATUS,
        b'{"aenergy": {"total": "35734"}}',
        "aenergy.total: Input should be a valid number (got str)",
    ),
    (
        "shelly",
        PLUG,
        EVENTS,
        b'{"method": "NotifyStatus", "params": {"switch:0": {"voltage": "230"}}}',
        "params.switch:0.voltage: Input should be a valid number (got str)",
    ),
    ("shelly", PLUG, EVENTS, b'{"params": {}}', "method: Field required (got dict)"),
    ("shelly", PLUG, STATUS, b'{"apower": -5}', "power_w: Input should be greater than or equal to 0"),
    (
        "tasmota",
        PLUG,
        SENSOR,
        (SAMPLES / TWO_CHANNELS).read_bytes(),
        "ENERGY.Power: Input should be a valid number (got list)",
    ),
    ("tasmota", PLUG, STATE, b'{"POWER": "AN"}', "POWER: Input should be 'ON' or 'OFF' (got str)"),
    ("zigbee2mqtt", BED, Z2M, b'{"movement": "large"}', "movement: Input should be a valid boolean (got str)"),
    ("zigbee2mqtt", BED, Z2M, b'{"motion": 1}', "motion: Input should be a valid boolean (got int)"),
    (
        "zigbee2mqtt",
        BED,
        AVAILABILITY,
        b'{"state": "gone"}',
        "state: Input should be 'online' or 'offline' (got str)",
    ),
    ("zigbee2mqtt", BED, AVAILABILITY, b'{"state": false}', "state: Input should be 'online' or 'offline' (got bool)"),
    ("zigbee2mqtt", BED, AVAILABILITY, b'{"status": "offline"}', "state: Field required (got dict)"),
    (
        "zigbee2mqtt",
        BED,
        AVAILABILITY,
        b'{"state": "offline"',
        "payload is not JSON: Expecting ',' delimiter at char 19",
    ),
    (
        "zigbee2mqtt",
        BED,
        AVAILABILITY,
        b"Offline",
        'availability must be {"state": "online"|"offline"} or plain online/offline',
    ),
    ("shelly", PLUG, ONLINE, b"False", "availability must be 'true' or 'false'"),
    ("shelly", PLUG, ONLINE, b'{"online": false}', "availability must be 'true' or 'false'"),
    ("tasmota", PLUG, LWT, b"offline", "availability must be 'Online' or 'Offline'"),
    ("tasmota", PLUG, LWT, b"Offline\n", "availability must be 'Online' or 'Offline'"),
    (
        "native",
        BED,
        NATIVE,
        b'{"online": "maybe"}',
        "online: Input should be a valid boolean, unable to interpret input",
    ),
    (
        "tasmota",
        TEMP,
        SENSOR,
        b'{"DS18B20": {"Temperature": "3.9"}}',
        "DS18B20.Temperature: Input should be a valid number (got str)",
    ),
    (
        "tasmota",
        TEMP,
        SENSOR,
        b'{"DS18B20": {"Temperature": 3.9}, "TempUnit": "K"}',
        "TempUnit: Input should be 'C' or 'F' (got str)",
    ),
]


@pytest.mark.parametrize(("protocol", "kind", "topic", "payload", "reason"), WRONG, ids=[w[4] for w in WRONG])
def test_wrong_type_or_range_is_refused_naming_the_key(
    protocol: str, kind: DeviceKind, topic: str, payload: bytes, reason: str
) -> None:
    with pytest.raises(ProtocolError) as refused:
        get(protocol).parse(kind, topic, payload)
    assert str(refused.value) == reason


def test_subscriptions_are_the_topics_the_vendor_publishes_on() -> None:
    assert zigbee2mqtt.FORMAT.subscriptions("site7/z2m/bed-b101-1") == [
        "site7/z2m/bed-b101-1",
        "site7/z2m/bed-b101-1/availability",
    ]
    assert shelly.FORMAT.subscriptions("shellyplusplugs-kitchen1") == [STATUS, EVENTS, ONLINE]
    assert tasmota.FORMAT.subscriptions("tasmota_kitchen2") == [SENSOR, STATE, LWT]
    assert native.FORMAT.subscriptions(NATIVE) == [NATIVE]


def test_a_zigbee2mqtt_name_that_looks_like_an_availability_topic_is_refused() -> None:
    with pytest.raises(ProtocolError, match="cannot end with /availability"):
        zigbee2mqtt.FORMAT.subscriptions("zigbee2mqtt/hall/availability")


# A reading with every field each format carries for each kind. Tasmota's Total has at most five
# decimals of kWh (EnergyRes 5): 0.01 Wh is the finest energy it can carry.
ROUND_TRIPS = [
    ("zigbee2mqtt", BED, Reading(occupied=True, heart_rate_bpm=62, respiration_rpm=14, battery_pct=88)),
    ("zigbee2mqtt", BED, Reading(occupied=True, movement=True, heart_rate_bpm=58, online=True)),
    ("zigbee2mqtt", BED, Reading(occupied=False, movement=False, online=False)),
    ("zigbee2mqtt", BED, Reading(online=False)),
    ("zigbee2mqtt", SOS, Reading(online=True)),
    ("zigbee2mqtt", PRESENCE, Reading(occupied=False, heart_rate_bpm=71, respiration_rpm=17, battery_pct=40)),
    ("zigbee2mqtt", DOOR, Reading(open=True, battery_pct=97)),
    ("zigbee2mqtt", DOOR, Reading(open=False, battery_pct=96)),
    ("zigbee2mqtt", LEAK, Reading(leak=True, battery_pct=64)),
    ("zigbee2mqtt", SMOKE, Reading(smoke=True, battery_pct=100)),
    ("zigbee2mqtt", TEMP, Reading(temperature_c=-18.2, humidity_pct=35.5, battery_pct=76)),
    ("zigbee2mqtt", SOS, Reading(pressed=True, action="emergency", battery_pct=100)),
    (
        "zigbee2mqtt",
        PLUG,
        Reading(on=True, power_w=2105.5, voltage_v=229.8, current_a=9.16, energy_wh=48211.5),
    ),
    (
        "shelly",
        PLUG,
        Reading(on=True, power_w=2980.4, voltage_v=228.1, current_a=13.07, energy_wh=512345.678),
    ),
    ("shelly", PLUG, Reading(on=False, power_w=0, voltage_v=231.0, current_a=0, energy_wh=512345.678)),
    ("shelly", PLUG, Reading(online=False)),
    ("shelly", PLUG, Reading(on=True, power_w=12.5, online=True)),
    ("tasmota", PLUG, Reading(on=True, power_w=1987, voltage_v=226, current_a=8.861, energy_wh=123456.78)),
    ("tasmota", PLUG, Reading(on=False, power_w=0, voltage_v=229, current_a=0, energy_wh=0)),
    ("tasmota", TEMP, Reading(temperature_c=3.9)),
    ("tasmota", TEMP, Reading(temperature_c=-18.5, humidity_pct=40.0)),
    ("tasmota", PLUG, Reading(online=False)),
    ("tasmota", PLUG, Reading(on=True, power_w=5, online=True)),
    ("tasmota", TEMP, Reading(temperature_c=3.9, online=True)),
    ("native", BED, Reading(online=False)),
    ("native", BED, Reading(occupied=True, movement=True, heart_rate_bpm=60, online=True)),
]


def parsed_back(fmt: VendorFormat, kind: DeviceKind, reading: Reading, device_topic: str) -> dict[str, Any]:
    """Render `reading`, check each message goes to a subscribed topic, and merge what parse reads back."""
    messages = fmt.render(kind, reading, device_topic)
    assert messages, "render published nothing"
    merged: dict[str, Any] = {}
    for message in messages:
        assert message.topic in fmt.subscriptions(device_topic)
        parsed = fmt.parse(kind, message.topic, message.payload)
        assert parsed is not None, f"{message.topic} parsed to nothing"
        merged |= parsed.fields()
    return merged


@pytest.mark.parametrize(("protocol", "kind", "reading"), ROUND_TRIPS, ids=lambda v: str(v))
def test_render_then_parse_gives_the_reading_back(protocol: str, kind: DeviceKind, reading: Reading) -> None:
    assert parsed_back(get(protocol), kind, reading, DEVICE_TOPIC[protocol]) == reading.fields()


@pytest.mark.parametrize("protocol", ["zigbee2mqtt", "shelly", "tasmota"])
def test_round_trips_cover_every_kind_a_format_renders(protocol: str) -> None:
    fmt, rendered = get(protocol), set()
    for kind in DeviceKind:
        try:
            fmt.render(kind, Reading(), DEVICE_TOPIC[protocol])
            rendered.add(kind)
        except ProtocolError:
            pass
    assert rendered == {kind for p, kind, _ in ROUND_TRIPS if p == protocol}


@pytest.mark.parametrize(
    ("protocol", "kind"), [("shelly", BED), ("tasmota", SOS), ("zigbee2mqtt", DeviceKind.CAMERA)]
)
def test_render_refuses_a_kind_the_vendor_does_not_make(protocol: str, kind: DeviceKind) -> None:
    with pytest.raises(ProtocolError, match=f"^{protocol} has no {kind} devices$"):
        get(protocol).render(kind, Reading(occupied=True), DEVICE_TOPIC[protocol])


def test_render_leaves_out_what_the_vendor_cannot_say() -> None:
    reading = Reading(occupied=True, movement=True)  # only a bed sensor's movement is rendered (and read)
    assert parsed_back(zigbee2mqtt.FORMAT, PRESENCE, reading, Z2M) == {"occupied": True}


def test_a_bed_sensors_movement_is_rendered_as_the_movement_key() -> None:
    (state,) = zigbee2mqtt.FORMAT.render(BED, Reading(movement=True), Z2M)
    assert json.loads(state.payload) == {"movement": True, "linkquality": zigbee2mqtt.LINKQUALITY}


@pytest.mark.parametrize(
    ("protocol", "kind", "message"),
    [
        ("zigbee2mqtt", BED, Outgoing(AVAILABILITY, b'{"state":"offline"}', retain=True)),
        ("shelly", PLUG, Outgoing(ONLINE, b"false")),  # a Gen2 device's will is not retained
        ("tasmota", PLUG, Outgoing(LWT, b"Offline", retain=True)),
        ("native", BED, Outgoing(NATIVE, b'{"online":false}')),
    ],
)
def test_a_device_gone_offline_renders_only_its_availability(protocol: str, kind: DeviceKind,
                                                             message: Outgoing) -> None:
    assert get(protocol).render(kind, Reading(online=False), DEVICE_TOPIC[protocol]) == [message]


def test_availability_comes_before_the_state_when_back_and_after_it_when_gone() -> None:
    def topics(online: bool) -> list[str]:
        return [m.topic for m in tasmota.FORMAT.render(PLUG, Reading(on=True, power_w=5, online=online),
                                                        "tasmota_kitchen2")]

    assert topics(True) == [LWT, SENSOR, STATE]
    assert topics(False) == [SENSOR, STATE, LWT]


def test_rendered_tasmota_time_is_the_devices_clock_format() -> None:
    sensor, state = tasmota.FORMAT.render(PLUG, Reading(on=True, power_w=5), "tasmota_kitchen2")
    for message in (sensor, state):
        time = json.loads(message.payload)["Time"]
        assert len(time) == 19 and time[10] == "T", time  # 2024-06-11T13:40:00, local, no offset


# Plausible readings per kind, using only fields every format in the facility carries for that kind.
PLAUSIBLE = {
    BED: Reading(occupied=True, heart_rate_bpm=62, respiration_rpm=14, battery_pct=88),
    PRESENCE: Reading(occupied=True),
    DOOR: Reading(open=False, battery_pct=95),
    LEAK: Reading(leak=False, battery_pct=80),
    SMOKE: Reading(smoke=False, battery_pct=90),
    SOS: Reading(pressed=True, action="emergency", battery_pct=99),
    TEMP: Reading(temperature_c=4.5, humidity_pct=60.0),
    PLUG: Reading(on=True, power_w=1850, voltage_v=229.5, current_a=8.1, energy_wh=40210.5),
}


def test_every_device_of_the_reference_facility_renders_and_parses_back(reference_facility: Facility) -> None:
    devices = [
        d for site in reference_facility.sites for d in site.devices if d.kind is not DeviceKind.CAMERA
    ]
    assert {d.protocol for d in devices} == {"zigbee2mqtt", "shelly", "tasmota", "native"}
    for device in devices:
        assert device.topic is not None
        fmt = get(device.protocol)
        back = parsed_back(fmt, device.kind, PLAUSIBLE[device.kind], device.topic)
        assert back == PLAUSIBLE[device.kind].fields(), device.id


# Hypothesis: whatever arrives, parse returns a Reading or None, or refuses with a reason that fits a
# dead letter. Keys are drawn from the ones the formats read, so the mapped paths are exercised too.
VENDOR_KEYS = sorted(
    {key for keys in zigbee2mqtt.KEYS.values() for key in keys}
    | {"method", "params", "switch:0", "output", "apower", "voltage", "current", "aenergy", "total"}
    | {"ENERGY", "Power", "Voltage", "Current", "Total", "TempUnit", "POWER", "POWER1", "DS18B20", "ESP32"}
    | {"Temperature", "Humidity"}
)
keys = st.sampled_from(VENDOR_KEYS) | st.text(max_size=8)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(
        ["ON", "OFF", "C", "F", "", "emergency", "NotifyStatus", "NotifyFullStatus", "NotifyEvent"]
    )
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4)
)
objects = st.dictionaries(keys, values, max_size=6)
shelly_frames = st.fixed_dictionaries(
    {
        "method": st.sampled_from(sorted(shelly.STATUS_METHODS)) | values,
        "params": st.fixed_dictionaries({"switch:0": objects}) | values,
    }
)
tasmota_sensors = st.fixed_dictionaries(
    {"ENERGY": objects | values, "DS18B20": objects | values, "TempUnit": values}
)
SHAPES = {"zigbee2mqtt": objects, "shelly": objects | shelly_frames, "tasmota": objects | tasmota_sensors}
HYPOTHESIS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_everywhere(protocol: str, payload: bytes) -> None:
    """Parse `payload` as every kind on every topic the format reads; only ProtocolError may escape."""
    fmt = get(protocol)
    for kind in DeviceKind:
        for topic in fmt.subscriptions(DEVICE_TOPIC[protocol]):
            try:
                result = fmt.parse(kind, topic, payload)
            except ProtocolError as refused:
                Rejection(reason=str(refused))  # the reason must fit the dead-letter record
            else:
                assert result is None or isinstance(result, Reading)


@pytest.mark.parametrize("protocol", ["zigbee2mqtt", "shelly", "tasmota"])
@HYPOTHESIS
@given(payload=st.binary(max_size=512))
def test_arbitrary_bytes_never_raise_anything_but_protocol_error(protocol: str, payload: bytes) -> None:
    parse_everywhere(protocol, payload)


@pytest.mark.parametrize("protocol", ["zigbee2mqtt", "shelly", "tasmota"])
@HYPOTHESIS
@given(data=st.data())
def test_arbitrary_json_objects_never_raise_anything_but_protocol_error(
    protocol: str, data: st.DataObject
) -> None:
    parse_everywhere(protocol, json.dumps(data.draw(SHAPES[protocol])).encode())
