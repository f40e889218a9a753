"""Facility model: sites with their rooms, beds, care profiles, devices, staff, schedules and thresholds.

The parts live in their own modules: `basics` (strict models, names, windows), `thresholds` (schedules,
limits, watches), `equipment` (devices); this one puts them together.
"""

from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from pydantic import Field, field_validator

from devices.basics import Id, Language, Names, Strict, Window, between
from devices.cameras import CameraSettings
from devices.durations import Duration
from devices.duty import Digest, Escalation, Roster, Shift
from devices.equipment import Device
from devices.kinds import DeviceKind, RoomType, TemperatureRole, ZoneType
from devices.records import DrillPlan, Epidemic, FoodSafety, InspectionTemplate, Patrols
from devices.thresholds import Limits, LimitsOverride, Schedules, Thresholds, TurnInterval, Watch


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

    _confirm = field_validator("bed_exit_confirm")(between(timedelta(seconds=3), timedelta(minutes=60)))
    _out = field_validator("out_of_bed_max")(between(timedelta(seconds=10), timedelta(hours=12)))

    @property
    def watch_bed_exit(self) -> bool:
        """Bed exits at night alert for fall-risk and dementia residents unless said otherwise."""
        if self.bed_exit_alert is not None:
            return self.bed_exit_alert
        return bool({"fall", "dementia", "wandering"} & set(self.risks))


# The edge reports each camera's health every minute: three missed reports and the camera counts as offline.
CAMERA_REPORTS_SILENT = timedelta(minutes=3)


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
    watches: list[Watch] = []
    roster: Roster | None = None
    escalation: Escalation = Escalation()
    channels: dict[Id, dict[str, Any]] = {}
    digest: Digest | None = None
    cameras: CameraSettings = CameraSettings()
    drills: DrillPlan = DrillPlan()
    patrols: Patrols = Patrols()
    inspections: list[InspectionTemplate] = []
    food: FoodSafety = FoodSafety()
    epidemic: Epidemic = Epidemic()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """An IANA zone name this machine knows."""
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
    def zone_by_id(self) -> dict[str, Zone]:
        """Zones by id."""
        return {z.id: z for r in self.rooms() for z in r.zones}

    @cached_property
    def room_of_zone(self) -> dict[str, Room]:
        """The room each zone is in, by zone id."""
        return {z.id: r for r in self.rooms() for z in r.zones}

    def cameras_of(self) -> list[Device]:
        """The site's cameras."""
        return [d for d in self.devices if d.kind is DeviceKind.CAMERA]

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
        if device.kind is DeviceKind.CAMERA and not device.offline_after and device.kind not in kinds:
            return CAMERA_REPORTS_SILENT  # the edge reports every camera each minute, frames or not
        return device.offline_after or kinds.get(device.kind) or self.thresholds.offline_after

    def limits_of(self, device: Device) -> Limits | None:
        """Temperature limits of a sensor: the site's for its role, with the device's own values over them."""
        if device.kind is not DeviceKind.TEMPERATURE_SENSOR:
            return None
        base = {TemperatureRole.FRIDGE: self.thresholds.fridge, TemperatureRole.FREEZER: self.thresholds.freezer,
                TemperatureRole.ROOM: self.thresholds.room_temperature,
                TemperatureRole.HOT_WATER: self.thresholds.hot_water}.get(device.role or TemperatureRole.OTHER)
        return base.merged(device.limits) if base else None

    def on_duty(self, at: datetime) -> Shift | None:
        """The shift on duty at an instant, in the site's time zone (None without a roster)."""
        return self.roster.shift_at(self.local(at).time()) if self.roster else None

    def managers(self) -> list[Staff]:
        """Staff with the role manager."""
        return [s for s in self.staff if StaffRole.MANAGER in s.roles]

    def is_exit(self, device: Device) -> bool:
        """Whether a door contact guards a way out: said in the file, else any door of an entrance or of a
        room with an exit zone."""
        if device.kind is not DeviceKind.DOOR_CONTACT:
            return False
        if device.exit is not None:
            return device.exit
        room = self.room_by_id.get(device.location.room)
        return room is not None and (room.type is RoomType.ENTRANCE or any(z.type is ZoneType.EXIT for z in room.zones))


class ProfileOverrides(Strict):
    """Settings a named profile (such as `demo`) replaces in every site: schedules, thresholds, keys of the
    site's own watches by watch id, channels it adds, escalation policies by severity, and camera settings."""

    schedules: dict[str, Any] = {}
    thresholds: dict[str, Any] = {}
    watches: dict[str, dict[str, Any]] = {}
    channels: dict[str, dict[str, Any]] = {}
    escalation: dict[str, Any] = {}
    cameras: dict[str, Any] = {}


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
