"""zigbee2mqtt: the device's whole state as one JSON object on `<base_topic>/<friendly_name>`.

Keys and units are those of the "Exposes" section of each zigbee2mqtt.io/devices page: occupancy
or presence, contact (true = closed), water_leak, smoke, temperature (°C), humidity (%), action,
state "ON"/"OFF", power (W), voltage (V), current (A), energy (kWh), battery (%); a bed mat or radar
that senses the sleeper stir says `movement` or `motion` (bool).

With availability on, the bridge publishes its verdict on each device, retained, on
`<base_topic>/<friendly_name>/availability` (zigbee2mqtt.io/guide/configuration/device-availability.html):
`{"state": "online"}` / `{"state": "offline"}` since 1.24, the only form since 2.0; plain `online` /
`offline` before that (the `legacy_availability_payload` default of 1.x).
"""

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict

from devices.kinds import DeviceKind
from devices.messages import Reading
from devices.protocols import Outgoing, ProtocolError
from devices.protocols.common import (
    Fields,
    availability,
    dumps,
    in_order,
    json_object,
    reading,
    reports,
    strict,
    text,
)

# No zigbee2mqtt preset names breathing rate: vital-sign mats and radars use one of these.
BREATHING_KEYS = ("breathing_rate", "respiration_rate", "respiratory_rate", "breath_rate")
VITALS_KEYS = ("occupancy", "presence", "heart_rate", *BREATHING_KEYS)
AVAILABILITY_SUFFIX = "/availability"
LINKQUALITY = 132  # what a device a hop or two from the coordinator typically reports


class State(BaseModel):
    """The keys carewatch reads, typed strictly: `"occupancy": "yes"` is an error, not True."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, allow_inf_nan=False)

    occupancy: bool | None = None
    presence: bool | None = None
    heart_rate: float | None = None
    breathing_rate: float | None = None
    respiration_rate: float | None = None
    respiratory_rate: float | None = None
    breath_rate: float | None = None
    movement: bool | None = None
    motion: bool | None = None
    contact: bool | None = None
    water_leak: bool | None = None
    smoke: bool | None = None
    temperature: float | None = None
    humidity: float | None = None
    action: str | None = None
    state: Literal["ON", "OFF"] | None = None
    power: float | None = None
    voltage: float | None = None
    current: float | None = None
    energy: float | None = None
    battery: float | None = None


class Availability(BaseModel):
    """The bridge's availability message for one device."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    state: Literal["online", "offline"]


class Zigbee2MqttFormat:
    """`{"occupancy": true, "battery": 92, "linkquality": 116, ...}` on `zigbee2mqtt/<name>`."""

    @property
    def kinds(self) -> frozenset[DeviceKind]:
        """The device kinds this vendor makes."""
        return KINDS

    def subscriptions(self, device_topic: str) -> list[str]:
        """The facility file names the full topic, base topic included: it may differ per site."""
        # zigbee2mqtt allows such a friendly name, but its state could not be told from another's availability.
        if device_topic.endswith(AVAILABILITY_SUFFIX):
            raise ProtocolError(f"a zigbee2mqtt device topic cannot end with {AVAILABILITY_SUFFIX}")
        return [device_topic, device_topic + AVAILABILITY_SUFFIX]

    def parse(self, kind: DeviceKind, topic: str, payload: bytes) -> Reading | None:
        """Reading from the keys this kind uses; the others (linkquality, update, ...) are ignored."""
        if topic.endswith(AVAILABILITY_SUFFIX):
            said = _availability(payload)
            return said if kind in KINDS else None
        data = json_object(payload)
        if kind not in KINDS:
            return None
        # Only this kind's keys are checked: another kind's `voltage` or `state` may mean something else.
        state = strict(State, {k: data[k] for k in KEYS[kind] if k in data})
        return reading({**PARSE[kind](state), **_battery_pct(kind, state)})

    def render(self, kind: DeviceKind, reading: Reading, device_topic: str) -> list[Outgoing]:
        """The state a zigbee2mqtt device of this kind publishes; fields it has no key for are left out."""
        if kind not in KINDS:
            raise ProtocolError(f"zigbee2mqtt has no {kind} devices")
        keys = {k: v for k, v in RENDER[kind](reading).items() if v is not None}
        state = {**keys, **_battery_keys(kind, reading), "linkquality": LINKQUALITY}
        messages = [Outgoing(device_topic, dumps(state))] if reports(reading) else []
        said = {"state": "online" if reading.online else "offline"}
        # The bridge retains its verdict, so a subscriber that comes later still learns it.
        announce = Outgoing(device_topic + AVAILABILITY_SUFFIX, dumps(said), retain=True)
        return in_order(reading.online, announce, messages)


def _availability(payload: bytes) -> Reading | None:
    """Reading(online=...) from the JSON availability message or the legacy plain text one."""
    if text(payload).startswith("{"):
        return Reading(online=strict(Availability, json_object(payload)).state == "online")
    try:
        return availability(payload, "online", "offline")
    except ProtocolError:
        raise ProtocolError('availability must be {"state": "online"|"offline"} or plain online/offline') from None


def _flip(value: bool | None) -> bool | None:
    """`not value`, keeping None: zigbee2mqtt's contact is true when the door is closed."""
    return None if value is None else not value


def _parse_vitals(s: State) -> Fields:
    """Bed mats and presence sensors: PIR ones say `occupancy`, mmWave ones `presence`."""
    breathing = next((getattr(s, k) for k in BREATHING_KEYS if getattr(s, k) is not None), None)
    occupied = s.occupancy if s.occupancy is not None else s.presence
    return {"occupied": occupied, "heart_rate_bpm": s.heart_rate, "respiration_rpm": breathing}


def _parse_bed(s: State) -> Fields:
    """A bed mat's vitals, and whether it felt the sleeper move (the rules count that as a turn)."""
    movement = s.movement if s.movement is not None else s.motion
    return {**_parse_vitals(s), "movement": movement}


def _parse_sos(s: State) -> Fields:
    """A press; zigbee2mqtt clears `action` to "" afterwards, and that is no press."""
    return {"action": s.action, "pressed": True} if s.action else {}


def _parse_plug(s: State) -> Fields:
    """Relay and metering; energy comes in kWh."""
    energy_wh = None if s.energy is None else round(s.energy * 1000, 3)
    on = None if s.state is None else s.state == "ON"
    return {
        "on": on,
        "power_w": s.power,
        "voltage_v": s.voltage,
        "current_a": s.current,
        "energy_wh": energy_wh,
    }


def _battery_pct(kind: DeviceKind, s: State) -> Fields:
    """Battery percent of a battery device."""
    return {"battery_pct": s.battery} if kind in BATTERY_KINDS else {}


def _render_plug(r: Reading) -> Fields:
    """A metering plug's state keys."""
    state = None if r.on is None else ("ON" if r.on else "OFF")
    energy = None if r.energy_wh is None else round(r.energy_wh / 1000, 6)
    return {
        "state": state,
        "power": r.power_w,
        "voltage": r.voltage_v,
        "current": r.current_a,
        "energy": energy,
    }


def _battery_keys(kind: DeviceKind, r: Reading) -> Fields:
    """Battery keys as a battery device sends them: percent, and the battery's own millivolts."""
    if kind not in BATTERY_KINDS or r.battery_pct is None:
        return {}
    return {"battery": r.battery_pct, "voltage": round(2500 + 7 * r.battery_pct)}


PARSE: dict[DeviceKind, Callable[[State], Fields]] = {
    DeviceKind.BED_SENSOR: _parse_bed,
    DeviceKind.PRESENCE_SENSOR: _parse_vitals,
    DeviceKind.DOOR_CONTACT: lambda s: {"open": _flip(s.contact)},
    DeviceKind.LEAK_SENSOR: lambda s: {"leak": s.water_leak},
    DeviceKind.SMOKE_DETECTOR: lambda s: {"smoke": s.smoke},
    DeviceKind.TEMPERATURE_SENSOR: lambda s: {"temperature_c": s.temperature, "humidity_pct": s.humidity},
    DeviceKind.SOS_BUTTON: _parse_sos,
    DeviceKind.POWER_PLUG: _parse_plug,
}
RENDER: dict[DeviceKind, Callable[[Reading], Fields]] = {
    DeviceKind.BED_SENSOR: lambda r: {
        "occupancy": r.occupied,
        "heart_rate": r.heart_rate_bpm,
        "breathing_rate": r.respiration_rpm,
        "movement": r.movement,
    },
    DeviceKind.PRESENCE_SENSOR: lambda r: {
        "presence": r.occupied,
        "heart_rate": r.heart_rate_bpm,
        "breathing_rate": r.respiration_rpm,
    },
    DeviceKind.DOOR_CONTACT: lambda r: {"contact": _flip(r.open)},
    DeviceKind.LEAK_SENSOR: lambda r: {"water_leak": r.leak},
    DeviceKind.SMOKE_DETECTOR: lambda r: {"smoke": r.smoke},
    DeviceKind.TEMPERATURE_SENSOR: lambda r: {"temperature": r.temperature_c, "humidity": r.humidity_pct},
    DeviceKind.SOS_BUTTON: lambda r: {"action": r.action or ("emergency" if r.pressed else None)},
    DeviceKind.POWER_PLUG: _render_plug,
}
# The keys each kind reads; `battery` only on battery devices, whose `voltage` is the battery's
# millivolts (zigbee2mqtt's "Voltage of the battery in millivolts"): only a plug's voltage is mains volts.
BATTERY_KINDS = frozenset(PARSE) - {DeviceKind.POWER_PLUG}
KEYS: dict[DeviceKind, tuple[str, ...]] = {
    DeviceKind.BED_SENSOR: (*VITALS_KEYS, "movement", "motion", "battery"),
    DeviceKind.PRESENCE_SENSOR: (*VITALS_KEYS, "battery"),
    DeviceKind.DOOR_CONTACT: ("contact", "battery"),
    DeviceKind.LEAK_SENSOR: ("water_leak", "battery"),
    DeviceKind.SMOKE_DETECTOR: ("smoke", "battery"),
    DeviceKind.TEMPERATURE_SENSOR: ("temperature", "humidity", "battery"),
    DeviceKind.SOS_BUTTON: ("action", "battery"),
    DeviceKind.POWER_PLUG: ("state", "power", "voltage", "current", "energy"),
}
KINDS = frozenset(KEYS)

FORMAT = Zigbee2MqttFormat()
