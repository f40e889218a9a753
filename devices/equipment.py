"""Devices of the facility file: what each is, how it talks, where it is, and what it powers."""

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from devices.basics import Id, Names, Strict
from devices.cameras import Mask, Polygon
from devices.durations import Duration
from devices.kinds import DeviceKind, PlugRole, TemperatureRole
from devices.thresholds import LimitsOverride


class Location(Strict):
    """Where a device is: a room, optionally a bed in it."""

    room: Id
    bed: Id | None = None


class PowerBand(Strict):
    """A range of power an appliance draws in normal use (idle, heating, ...)."""

    min: float = Field(ge=0)
    max: float = Field(gt=0)


class Appliance(Strict):
    """The appliance behind a metering plug."""

    role: PlugRole
    name: Names | None = None
    rated_w: float | None = Field(default=None, gt=0)
    max_w: float | None = Field(default=None, gt=0)
    normal_w: list[PowerBand] | None = None

    def max_power(self) -> float | None:
        """Above this the appliance is overloaded: its own `max_w`, else 110 % of `rated_w` (a heater on
        mains 5 % above nominal draws 10 % more than its plate says)."""
        if self.max_w is not None:
            return self.max_w
        return round(MAINS_TOLERANCE * self.rated_w, 1) if self.rated_w is not None else None

    def normal_bands(self) -> list[PowerBand]:
        """Where a boiler's power should lie: its own bands, else standby, and heating from 80 % of
        `rated_w` up to its maximum."""
        top = self.max_power()
        if self.normal_w is not None:
            return self.normal_w
        if self.rated_w is None or top is None:
            return []
        return [PowerBand(min=0, max=IDLE_W), PowerBand(min=round(0.8 * self.rated_w, 1), max=top)]


IDLE_W = 15.0  # a boiler keeping warm draws a few watts for its electronics
MAINS_TOLERANCE = 1.1


class Protocol(StrEnum):
    """Vendor formats the edge can read."""

    ZIGBEE2MQTT = "zigbee2mqtt"
    SHELLY = "shelly"
    TASMOTA = "tasmota"
    NATIVE = "native"
    RTSP = "rtsp"  # the cameras' protocols: the edge reads them with OpenCV, not over MQTT
    MJPEG = "mjpeg"  # HTTP multipart JPEG
    FILE = "file"  # a recorded video, for trials and replays
    LOCAL = "local"  # a camera plugged into the edge (a device index or /dev/video*)


CAMERA_PROTOCOLS = frozenset({Protocol.RTSP, Protocol.MJPEG, Protocol.FILE, Protocol.LOCAL})


class Device(Strict):
    """A device: what it is, how it talks, where it is."""

    id: Id
    kind: DeviceKind
    protocol: Protocol
    topic: str | None = Field(default=None, min_length=1, max_length=200)
    stream: str | None = None
    location: Location
    name: Names | None = None
    appliance: Appliance | None = None
    role: TemperatureRole | None = None
    limits: LimitsOverride | None = None
    exit: bool | None = None
    offline_after: Duration | None = None
    sees: list[Id] = []
    view: dict[Id, Polygon] = {}  # where each zone it sees is in its picture
    masks: list[Mask] = []

    @model_validator(mode="after")
    def _fits_kind(self) -> Self:
        """Every field a kind needs, and none it cannot have."""
        problems = _kind_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _kind_problems(device: Device) -> list[str]:
    """What a device of this kind is missing or has too much of."""
    problems = []
    camera = device.kind is DeviceKind.CAMERA
    if camera != (device.protocol in CAMERA_PROTOCOLS):
        problems.append("cameras and only cameras use protocol rtsp, mjpeg, file or local")
    if camera and not device.stream:
        problems.append("a camera needs its `stream` (an rtsp:// or http:// URL, a file, or a device)")
    if not camera and not device.topic:
        problems.append("a device needs its MQTT topic")
    if device.kind is DeviceKind.POWER_PLUG and device.appliance is None:
        problems.append("a power_plug needs `appliance` (role cooking, boiler or other)")
    if device.kind is not DeviceKind.POWER_PLUG and device.appliance is not None:
        problems.append("only a power_plug has an appliance")
    if device.kind is DeviceKind.TEMPERATURE_SENSOR and device.role is None:
        problems.append("a temperature_sensor needs `role` (fridge, freezer, room, hot_water or other)")
    if (device.sees or device.view or device.masks) and not camera:
        problems.append("only a camera `sees` zones, has a `view` or `masks`")
    if set(device.view) - set(device.sees):
        problems.append(f"`view` places zones the camera does not see: {sorted(set(device.view) - set(device.sees))}")
    if device.exit is not None and device.kind is not DeviceKind.DOOR_CONTACT:
        problems.append("only a door_contact is an `exit`")
    if device.limits is not None and device.kind is not DeviceKind.TEMPERATURE_SENSOR:
        problems.append("only a temperature_sensor has `limits`")
    if device.role is not None and device.kind is not DeviceKind.TEMPERATURE_SENSOR:
        problems.append("only a temperature_sensor has a `role`")
    return problems


