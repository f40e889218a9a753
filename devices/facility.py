"""Facility model: sites, rooms, beds, devices, staff, schedules and rule thresholds."""

from datetime import datetime, time, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from devices.durations import ClockTime, Duration
from devices.kinds import DeviceKind, PlugRole, RoomType, Severity, TemperatureRole, ZoneType

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
    wake: Window = Window(start=time(6), end=time(9, 30))


class Limits(Strict):
    """A range a numeric reading should stay in, with hysteresis: one alert for a value hovering at a limit.

    Out of range (below `min` or above `max`) for `for` raises; back inside by `margin` for `clear_for` clears.
    """

    min: float | None = None
    max: float | None = None
    margin: float = Field(default=0, ge=0)
    for_: Duration = Field(alias="for", default=timedelta(0))
    clear_for: Duration = timedelta(0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError("set min, max or both")
        if self.min is not None and self.max is not None:
            if self.min >= self.max:
                raise ValueError("min must be below max")
            if 2 * self.margin >= self.max - self.min:
                raise ValueError("margin must be less than half the range, or nothing would ever clear")
        return self

    def merged(self, override: "LimitsOverride | None") -> "Limits":
        """These limits with the values a care profile or device sets itself."""
        if override is None:
            return self
        # None means "not set": a profile re-validates the whole file, which marks every field as set.
        mine = override.model_dump(by_alias=True, exclude_unset=True, exclude_none=True)
        return self.model_validate({**self.model_dump(by_alias=True), **mine})


class LimitsOverride(Strict):
    """Part of a `Limits`: what a resident's care profile changes of the site's values."""

    min: float | None = None
    max: float | None = None
    margin: float | None = Field(default=None, ge=0)
    for_: Duration | None = Field(alias="for", default=None)
    clear_for: Duration | None = None


def _between(low: timedelta, high: timedelta) -> Any:
    """Validator keeping a duration inside a sane range."""

    def check(value: timedelta | None) -> timedelta | None:
        if value is not None and not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return check


class TurnInterval(StrEnum):
    """Turning (repositioning) protocols: every 1, 2, 4 or 6 hours."""

    Q1H = "q1h"
    Q2H = "q2h"
    Q4H = "q4h"
    Q6H = "q6h"


DEFAULT_TURNING = {TurnInterval.Q1H: timedelta(hours=1), TurnInterval.Q2H: timedelta(hours=2),
                   TurnInterval.Q4H: timedelta(hours=4), TurnInterval.Q6H: timedelta(hours=6)}
# Mains-powered kinds report every few minutes; battery sensors check in about hourly.
DEFAULT_OFFLINE_BY_KIND = {DeviceKind.POWER_PLUG: timedelta(minutes=10), DeviceKind.BED_SENSOR: timedelta(minutes=10),
                           DeviceKind.PRESENCE_SENSOR: timedelta(minutes=10)}


class Thresholds(Strict):
    """Rule thresholds of a site; devices and care profiles may override some."""

    bed_exit_confirm: Duration = timedelta(seconds=10)
    out_of_bed_max: Duration = timedelta(minutes=45)
    bathroom_max: Duration = timedelta(minutes=15)
    turning: dict[TurnInterval, Duration] = DEFAULT_TURNING
    heart_rate: Limits = Limits(min=40, max=120, margin=3, for_=timedelta(seconds=180), clear_for=timedelta(seconds=60))
    respiration: Limits = Limits(min=8, max=28, margin=1, for_=timedelta(seconds=180), clear_for=timedelta(seconds=60))
    appliance_on_w: float = Field(default=30, gt=0)
    kitchen_unattended: Duration = timedelta(minutes=10)
    after_hours_for: Duration = timedelta(minutes=1)
    overload_for: Duration = timedelta(seconds=30)
    abnormal_power_for: Duration = timedelta(minutes=2)
    fridge: Limits = Limits(min=0, max=8, margin=0.5, for_=timedelta(minutes=15), clear_for=timedelta(minutes=2))
    freezer: Limits = Limits(max=-12, margin=1, for_=timedelta(minutes=30), clear_for=timedelta(minutes=2))
    hot_water: Limits = Limits(max=49, margin=1, for_=timedelta(minutes=1), clear_for=timedelta(minutes=1))
    room_temperature: Limits = Limits(min=18, max=28, margin=0.5, for_=timedelta(minutes=30),
                                      clear_for=timedelta(minutes=5))
    battery_low: Limits = Limits(min=15, margin=5)
    offline_after: Duration = timedelta(minutes=60)
    offline_after_kind: dict[DeviceKind, Duration] = DEFAULT_OFFLINE_BY_KIND

    _confirm = field_validator("bed_exit_confirm")(_between(timedelta(seconds=3), timedelta(minutes=60)))
    _out = field_validator("out_of_bed_max")(_between(timedelta(seconds=10), timedelta(hours=12)))
    _bath = field_validator("bathroom_max")(_between(timedelta(seconds=10), timedelta(hours=4)))
    _kitchen = field_validator("kitchen_unattended")(_between(timedelta(seconds=10), timedelta(hours=4)))
    _offline = field_validator("offline_after")(_between(timedelta(seconds=10), timedelta(days=2)))

    @field_validator("turning")
    @classmethod
    def _turns(cls, value: dict[TurnInterval, timedelta]) -> dict[TurnInterval, timedelta]:
        """Every protocol keeps an interval (a profile may shorten them all for a demo)."""
        check = _between(timedelta(seconds=10), timedelta(hours=12))
        return {**DEFAULT_TURNING, **{k: check(v) for k, v in value.items()}}


class CareProfile(Strict):
    """What the rules must watch for one resident, by id: never a name."""

    id: Id
    risks: list[str] = []
    bed_exit_alert: bool | None = None
    bed_exit_confirm: Duration | None = None
    out_of_bed_max: Duration | None = None
    wake: Window | None = None
    not_up_alert: bool = True
    turning: TurnInterval | None = None
    heart_rate: LimitsOverride | None = None
    respiration: LimitsOverride | None = None

    _confirm = field_validator("bed_exit_confirm")(_between(timedelta(seconds=3), timedelta(minutes=60)))
    _out = field_validator("out_of_bed_max")(_between(timedelta(seconds=10), timedelta(hours=12)))

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
    limits: LimitsOverride | None = None
    exit: bool | None = None
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
        problems.append("a temperature_sensor needs `role` (fridge, freezer, room, hot_water or other)")
    if device.sees and not camera:
        problems.append("only a camera `sees` zones")
    if device.exit is not None and device.kind is not DeviceKind.DOOR_CONTACT:
        problems.append("only a door_contact is an `exit`")
    if device.limits is not None and device.kind is not DeviceKind.TEMPERATURE_SENSOR:
        problems.append("only a temperature_sensor has `limits`")
    if device.role is not None and device.kind is not DeviceKind.TEMPERATURE_SENSOR:
        problems.append("only a temperature_sensor has a `role`")
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
    watches: list["Watch"] = []

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in _zones():
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)")
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The site's time zone (ZoneInfo keeps its own cache; a cached property here would survive a
        `model_copy` that changes the zone)."""
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
        """How long a device may stay silent before it counts as offline: its own, its kind's, the site's."""
        kinds = self.thresholds.offline_after_kind
        return device.offline_after or kinds.get(device.kind) or self.thresholds.offline_after

    def limits_of(self, device: Device) -> Limits | None:
        """Temperature limits of a sensor: the site's for its role, with the device's own values over them."""
        if device.kind is not DeviceKind.TEMPERATURE_SENSOR:
            return None
        base = {TemperatureRole.FRIDGE: self.thresholds.fridge, TemperatureRole.FREEZER: self.thresholds.freezer,
                TemperatureRole.ROOM: self.thresholds.room_temperature,
                TemperatureRole.HOT_WATER: self.thresholds.hot_water}.get(device.role or TemperatureRole.OTHER)
        return base.merged(device.limits) if base else None

    def is_exit(self, device: Device) -> bool:
        """Whether a door contact guards a way out: said in the file, else any door of an entrance or of a
        room with an exit zone."""
        if device.kind is not DeviceKind.DOOR_CONTACT:
            return False
        if device.exit is not None:
            return device.exit
        room = self.room_by_id.get(device.location.room)
        return room is not None and (room.type is RoomType.ENTRANCE or any(z.type is ZoneType.EXIT for z in room.zones))


class Watch(Strict):
    """A site's own threshold rule on any numeric field of some devices (a humidity sensor, a medicine fridge)."""

    id: Id
    name: Names
    field: str
    devices: list[Id] = []
    kind: DeviceKind | None = None
    limits: Limits
    window: Window | None = None
    severity: Severity = Severity.MEDIUM

    @field_validator("field")
    @classmethod
    def _numeric(cls, value: str) -> str:
        numeric = _numeric_fields()
        if value not in numeric:
            raise ValueError(f"{value!r} is not a numeric reading field (one of {', '.join(sorted(numeric))})")
        return value

    @model_validator(mode="after")
    def _targets(self) -> Self:
        if not self.devices and self.kind is None:
            raise ValueError("name the `devices` to watch, or a device `kind`")
        return self

    def applies_to(self, device: Device) -> bool:
        """Whether the watch looks at this device."""
        return device.id in self.devices or (self.kind is not None and device.kind is self.kind)


def _numeric_fields() -> set[str]:
    """Reading fields that hold numbers."""
    from devices.messages import Reading

    return {name for name, f in Reading.model_fields.items() if f.annotation in (float | None,)
            or "float" in str(f.annotation)}


class ProfileOverrides(Strict):
    """Settings a named profile (such as `demo`) replaces in every site: schedules, thresholds, and keys of
    the site's own watches by watch id."""

    schedules: dict[str, Any] = {}
    thresholds: dict[str, Any] = {}
    watches: dict[str, dict[str, Any]] = {}


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
