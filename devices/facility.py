"""Facility model: sites, rooms, beds, devices, staff, schedules and rule thresholds."""

from datetime import datetime, time, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from devices.durations import ClockTime, Duration
from devices.kinds import DeviceKind, PlugRole, RoomType, TemperatureRole, ZoneType

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class Strict(BaseModel):
    """Base of every facility-file model: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True)


class Names(Strict):
    """A display name in both languages of the UI."""

    zh_CN: str = Field(alias="zh-CN", min_length=1)
    en: str = Field(min_length=1)

    def get(self, language: str) -> str:
        """The name in `language` (zh-CN or en)."""
        return self.zh_CN if language == "zh-CN" else self.en


class Language(StrEnum):
    """Languages of the UI and of notifications."""

    ZH_CN = "zh-CN"
    EN = "en"


class Window(Strict):
    """A daily window in the site's time zone; it may wrap midnight. start == end is all day."""

    start: ClockTime
    end: ClockTime

    def contains(self, local: time) -> bool:
        """Whether the local wall-clock time falls inside the window."""
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


class Schedules(Strict):
    """Daily windows that rules use, in the site's time zone."""

    night: Window = Window(start=time(22), end=time(6))
    kitchen_hours: Window = Window(start=time(5, 30), end=time(19, 30))


class TemperatureLimits(Strict):
    """Allowed range of a cold store; out of range for `for_` raises an alert."""

    min_c: float | None = None
    max_c: float | None = None
    for_: Duration = Field(alias="for", default=timedelta(minutes=15))

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min_c is not None and self.max_c is not None and self.min_c >= self.max_c:
            raise ValueError("min_c must be below max_c")
        return self


def _between(low: timedelta, high: timedelta) -> Any:
    """Validator keeping a duration inside a sane range."""

    def check(value: timedelta) -> timedelta:
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return check


class Thresholds(Strict):
    """Rule thresholds of a site; devices and care profiles may override some."""

    bed_exit_confirm: Duration = timedelta(seconds=10)
    out_of_bed_max: Duration = timedelta(minutes=45)
    appliance_on_w: float = Field(default=30, gt=0)
    kitchen_unattended: Duration = timedelta(minutes=10)
    fridge: TemperatureLimits = TemperatureLimits(min_c=0, max_c=8, for_=timedelta(minutes=15))
    freezer: TemperatureLimits = TemperatureLimits(max_c=-12, for_=timedelta(minutes=30))
    offline_after: Duration = timedelta(minutes=30)

    _confirm = field_validator("bed_exit_confirm")(_between(timedelta(seconds=3), timedelta(minutes=60)))
    _out = field_validator("out_of_bed_max")(_between(timedelta(seconds=10), timedelta(hours=12)))
    _kitchen = field_validator("kitchen_unattended")(_between(timedelta(seconds=10), timedelta(hours=4)))
    _offline = field_validator("offline_after")(_between(timedelta(seconds=10), timedelta(days=2)))


class CareProfile(Strict):
    """What the rules must watch for one resident, by id: never a name."""

    id: Id
    risks: list[str] = []
    bed_exit_alert: bool | None = None
    out_of_bed_max: Duration | None = None

    @property
    def watch_bed_exit(self) -> bool:
        """Bed exits at night alert for fall-risk and dementia residents unless said otherwise."""
        if self.bed_exit_alert is not None:
            return self.bed_exit_alert
        return bool({"fall", "dementia", "wandering"} & set(self.risks))


class Bed(Strict):
    """A bed and the care profile of the resident in it (if any)."""

    id: Id
    name: Names | None = None
    care_profile: Id | None = None


class Zone(Strict):
    """A part of a room that a camera can see."""

    id: Id
    name: Names | None = None
    type: ZoneType


class Room(Strict):
    """A room with its beds and zones."""

    id: Id
    name: Names
    type: RoomType
    beds: list[Bed] = []
    zones: list[Zone] = []


class Floor(Strict):
    """A floor of a building."""

    id: Id
    name: Names
    rooms: list[Room] = []


class Building(Strict):
    """A building of a site."""

    id: Id
    name: Names
    floors: list[Floor] = []


class Location(Strict):
    """Where a device is: a room, optionally a bed in it."""

    room: Id
    bed: Id | None = None


class Appliance(Strict):
    """The appliance behind a metering plug."""

    role: PlugRole
    name: Names | None = None
    rated_w: float | None = Field(default=None, gt=0)


class Protocol(StrEnum):
    """Vendor formats the edge can read."""

    ZIGBEE2MQTT = "zigbee2mqtt"
    SHELLY = "shelly"
    TASMOTA = "tasmota"
    NATIVE = "native"
    RTSP = "rtsp"


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
    limits: TemperatureLimits | None = None
    offline_after: Duration | None = None
    sees: list[Id] = []

    @model_validator(mode="after")
    def _fits_kind(self) -> Self:
        problems = _kind_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _kind_problems(device: Device) -> list[str]:
    """What a device of this kind is missing or has too much of."""
    problems = []
    camera = device.kind is DeviceKind.CAMERA
    if camera != (device.protocol is Protocol.RTSP):
        problems.append("cameras and only cameras use protocol rtsp")
    if not camera and not device.topic:
        problems.append("a device needs its MQTT topic")
    if device.kind is DeviceKind.POWER_PLUG and device.appliance is None:
        problems.append("a power_plug needs `appliance` (role cooking, boiler or other)")
    if device.kind is not DeviceKind.POWER_PLUG and device.appliance is not None:
        problems.append("only a power_plug has an appliance")
    if device.kind is DeviceKind.TEMPERATURE_SENSOR and device.role is None:
        problems.append("a temperature_sensor needs `role` (fridge, freezer, room or hot_water)")
    if device.sees and not camera:
        problems.append("only a camera `sees` zones")
    return problems


class StaffRole(StrEnum):
    """Roles of the people who work at a site."""

    CAREGIVER = "caregiver"
    NURSE = "nurse"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    SAFETY_OFFICER = "safety_officer"
    KITCHEN = "kitchen"


class Staff(Strict):
    """A person who works at the site; contacts are used for notifications."""

    id: Id
    name: Names
    roles: list[StaffRole] = Field(min_length=1)
    phone: str | None = None
    email: str | None = None


class Site(Strict):
    """One care facility: its rooms, devices, staff, schedules and thresholds."""

    id: Id
    name: Names
    timezone: str = "Asia/Shanghai"
    language: Language = Language.ZH_CN
    schedules: Schedules = Schedules()
    thresholds: Thresholds = Thresholds()
    care_profiles: list[CareProfile] = []
    buildings: list[Building] = Field(min_length=1)
    devices: list[Device] = []
    staff: list[Staff] = []

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in _zones():
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)")
        return value

    @cached_property
    def zone(self) -> ZoneInfo:
        """The site's time zone."""
        return ZoneInfo(self.timezone)

    def local(self, at: datetime) -> datetime:
        """An aware instant as wall-clock time at the site."""
        return at.astimezone(self.zone)

    def rooms(self) -> list[Room]:
        """Every room of every floor and building."""
        return [r for b in self.buildings for f in b.floors for r in f.rooms]

    @cached_property
    def room_by_id(self) -> dict[str, Room]:
        """Rooms by id."""
        return {r.id: r for r in self.rooms()}

    @cached_property
    def bed_by_id(self) -> dict[str, Bed]:
        """Beds by id."""
        return {b.id: b for r in self.rooms() for b in r.beds}

    @cached_property
    def room_of_bed(self) -> dict[str, str]:
        """Room id of each bed id."""
        return {b.id: r.id for r in self.rooms() for b in r.beds}

    @cached_property
    def device_by_id(self) -> dict[str, Device]:
        """Devices by id."""
        return {d.id: d for d in self.devices}

    @cached_property
    def profile_by_id(self) -> dict[str, CareProfile]:
        """Care profiles by id."""
        return {p.id: p for p in self.care_profiles}

    def profile_of_bed(self, bed_id: str | None) -> CareProfile | None:
        """Care profile of the resident in a bed, if the bed has one."""
        bed = self.bed_by_id.get(bed_id or "")
        return self.profile_by_id.get(bed.care_profile or "") if bed else None

    def offline_after(self, device: Device) -> timedelta:
        """How long a device may stay silent before it counts as offline."""
        return device.offline_after or self.thresholds.offline_after

    def limits_of(self, device: Device) -> TemperatureLimits | None:
        """Temperature limits of a cold store: its own, else the site's for its role."""
        if device.limits is not None:
            return device.limits
        if device.role is TemperatureRole.FRIDGE:
            return self.thresholds.fridge
        if device.role is TemperatureRole.FREEZER:
            return self.thresholds.freezer
        return None


class ProfileOverrides(Strict):
    """Settings a named profile (such as `demo`) replaces in every site."""

    schedules: dict[str, Any] = {}
    thresholds: dict[str, Any] = {}


class Facility(Strict):
    """The whole facility file: one or more sites and optional named profiles."""

    version: int = Field(ge=1, le=1)
    sites: list[Site] = Field(min_length=1)
    profiles: dict[str, ProfileOverrides] = {}

    def site(self, site_id: str | None = None) -> Site:
        """A site by id; the first site when no id is given."""
        if site_id is None:
            return self.sites[0]
        for site in self.sites:
            if site.id == site_id:
                return site
        raise KeyError(f"no site {site_id!r} in the facility file")

    @cached_property
    def site_by_id(self) -> dict[str, Site]:
        """Sites by id."""
        return {s.id: s for s in self.sites}


def _zones() -> set[str]:
    """IANA zone names, computed once."""
    global _ZONES
    if _ZONES is None:
        _ZONES = available_timezones() | {"UTC"}
    return _ZONES


_ZONES: set[str] | None = None
