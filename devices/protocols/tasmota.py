"""Tasmota: telemetry on `tele/<topic>/SENSOR` and `tele/<topic>/STATE` (FullTopic `%prefix%/%topic%/`).

Per the Tasmota docs (tasmota.github.io/docs): SENSOR holds `ENERGY` on metering plugs (Power W,
Voltage V, Current A, Total kWh) and one object per temperature sensor (`DS18B20`, `AM2301`,
`SHT3X`, `BME280`, ... each with `Temperature`, maybe `Humidity`) with `TempUnit` "C" or "F";
STATE holds the relay as `POWER` (one relay) or `POWER1`, `POWER2`, ... as "ON"/"OFF".

Availability: on connecting the device publishes `Online`, retained, on `tele/<topic>/LWT` and leaves
`Offline` there as its MQTT Last Will (MQTT_LWT_ONLINE / MQTT_LWT_OFFLINE of my_user_config.h,
MqttConnected in xdrv_02_mqtt.ino). Tasmota drives no bed sensors.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from devices.kinds import DeviceKind
from devices.messages import Reading, utcnow
from devices.protocols import Outgoing, ProtocolError
from devices.protocols.common import Fields, availability, dumps, in_order, json_object, reading, reports, strict

SENSOR_SUFFIX = "/SENSOR"
STATE_SUFFIX = "/STATE"
LWT_SUFFIX = "/LWT"
KINDS = frozenset({DeviceKind.POWER_PLUG, DeviceKind.TEMPERATURE_SENSOR})
# ESP32 builds report the chip's own temperature as {"ESP32": {"Temperature": 52.8}}: never a fridge's.
CHIP_KEYS = frozenset({"ESP32", "ESP8266"})
TOTAL_START = "2024-01-01T00:00:00"  # when the energy counter was last reset (`EnergyTotal 0`)
DS18B20_ID = "01144BC6A2AA"
KEY_CHARS = 40  # of a sensor's name in a reason: reasons are kept with dead letters, 300 chars at most


class Strict(BaseModel):
    """Vendor JSON typed strictly (`"Power": "12"` is an error); keys we do not read are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, allow_inf_nan=False)


class Energy(Strict):
    """The `ENERGY` object of one metering channel (several channels send arrays: not supported)."""

    power: float | None = Field(default=None, alias="Power")
    voltage: float | None = Field(default=None, alias="Voltage")
    current: float | None = Field(default=None, alias="Current")
    total: float | None = Field(default=None, alias="Total")  # kWh


class Metering(Strict):
    """What a plug's SENSOR message says."""

    energy: Energy | None = Field(default=None, alias="ENERGY")


class Units(Strict):
    """The unit of every temperature in a SENSOR message; the sensor objects are found by shape."""

    temp_unit: Literal["C", "F"] = Field(default="C", alias="TempUnit")


class Climate(Strict):
    """One temperature (and humidity) sensor object, in `TempUnit`."""

    temperature: float | None = Field(default=None, alias="Temperature")
    humidity: float | None = Field(default=None, alias="Humidity")


class State(Strict):
    """The relay keys of a STATE message."""

    power: Literal["ON", "OFF"] | None = Field(default=None, alias="POWER")
    power1: Literal["ON", "OFF"] | None = Field(default=None, alias="POWER1")


class TasmotaFormat:
    """`{"Time": ..., "ENERGY": {"Power": 1987, ...}}` on `tele/<topic>/SENSOR`, `POWER` on `.../STATE`."""

    @property
    def kinds(self) -> frozenset[DeviceKind]:
        """The device kinds this vendor makes."""
        return KINDS

    def subscriptions(self, device_topic: str) -> list[str]:
        """The facility file names the device's %topic%."""
        return [f"tele/{device_topic}{suffix}" for suffix in (SENSOR_SUFFIX, STATE_SUFFIX, LWT_SUFFIX)]

    def parse(self, kind: DeviceKind, topic: str, payload: bytes) -> Reading | None:
        """Reading from a SENSOR, STATE or LWT message; None when it holds nothing for this kind."""
        if topic.endswith(LWT_SUFFIX):
            # An empty LWT is no verdict: with SetOption10 0 (the default) a device given a new topic clears the old.
            said = availability(payload, "Online", "Offline")
            return said if kind in KINDS else None
        if not topic.endswith((SENSOR_SUFFIX, STATE_SUFFIX)):
            return None
        data = json_object(payload)
        if kind not in KINDS:
            return None
        if topic.endswith(SENSOR_SUFFIX):
            return reading(_sensor_fields(kind, data))
        if topic.endswith(STATE_SUFFIX) and kind is DeviceKind.POWER_PLUG:
            state = strict(State, data)
            power = state.power or state.power1
            return reading({"on": None if power is None else power == "ON"})
        return None

    def render(self, kind: DeviceKind, reading: Reading, device_topic: str) -> list[Outgoing]:
        """The SENSOR (and for a plug STATE) messages of one teleperiod; fields Tasmota lacks are left out."""
        if kind not in KINDS:
            raise ProtocolError(f"tasmota has no {kind} devices")
        now = utcnow()
        messages = [(SENSOR_SUFFIX, _sensor(kind, reading, now))] if reports(reading) else []
        if kind is DeviceKind.POWER_PLUG and reading.on is not None:
            messages.append((STATE_SUFFIX, _state(reading.on, now)))
        said = b"Online" if reading.online else b"Offline"
        announce = Outgoing(f"tele/{device_topic}{LWT_SUFFIX}", said, retain=True)
        state = [Outgoing(f"tele/{device_topic}{suffix}", dumps(body)) for suffix, body in messages]
        return in_order(reading.online, announce, state)


def _sensor_fields(kind: DeviceKind, data: Fields) -> Fields:
    """Reading fields of a SENSOR message for `kind`; only the keys `kind` uses are checked."""
    if kind is DeviceKind.POWER_PLUG:
        e = strict(Metering, data).energy or Energy()
        energy_wh = None if e.total is None else round(e.total * 1000, 3)
        return {"power_w": e.power, "voltage_v": e.voltage, "current_a": e.current, "energy_wh": energy_wh}
    climate = _first_climate(data)
    if climate is None or climate.temperature is None:
        return {"humidity_pct": None if climate is None else climate.humidity}
    celsius = climate.temperature
    if strict(Units, data).temp_unit == "F":
        celsius = round((celsius - 32) * 5 / 9, 3)
    return {"temperature_c": celsius, "humidity_pct": climate.humidity}


def _first_climate(data: Fields) -> Climate | None:
    """The first sensor object with a Temperature; a device with one probe (the facility's case) has one."""
    for key, value in data.items():
        if key not in CHIP_KEYS and isinstance(value, dict) and "Temperature" in value:
            return strict(Climate, value, key[:KEY_CHARS])
    return None


def _clock(now: datetime) -> str:
    """Tasmota's `Time`: the device's local time, without offset."""
    return now.replace(microsecond=0, tzinfo=None).isoformat()


def _sensor(kind: DeviceKind, r: Reading, now: datetime) -> Fields:
    """A SENSOR message: ENERGY for a plug, a DS18B20 probe (AM2301 when there is humidity) otherwise."""
    if kind is DeviceKind.POWER_PLUG:
        total = None if r.energy_wh is None else round(r.energy_wh / 1000, 5)  # EnergyRes 5
        energy = {"TotalStartTime": TOTAL_START, "Total": total, "Power": r.power_w, "Voltage": r.voltage_v}
        energy["Current"] = r.current_a
        return {"Time": _clock(now), "ENERGY": {k: v for k, v in energy.items() if v is not None}}
    if r.humidity_pct is None:
        probe = {"DS18B20": {"Id": DS18B20_ID, "Temperature": r.temperature_c}}
    else:
        probe = {"AM2301": {"Temperature": r.temperature_c, "Humidity": r.humidity_pct}}
    return {"Time": _clock(now), **probe, "TempUnit": "C"}


def _state(on: bool, now: datetime) -> Fields:
    """A STATE message: the relay, with the housekeeping a device sends alongside it."""
    return {
        "Time": _clock(now),
        "Uptime": "0T06:12:41",
        "UptimeSec": 22361,
        "Heap": 24,
        "SleepMode": "Dynamic",
        "Sleep": 50,
        "LoadAvg": 19,
        "MqttCount": 1,
        "POWER": "ON" if on else "OFF",
        "Wifi": {"AP": 1, "SSId": "carewatch-iot", "Channel": 6, "RSSI": 78, "Signal": -61, "LinkCount": 1},
    }


FORMAT = TasmotaFormat()
