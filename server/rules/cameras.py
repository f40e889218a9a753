"""Camera rules: a camera's health, the site's coverage, and what the edge's video analytics saw.

The edge judges the pictures; these rules only turn its verdicts into alerts: one per camera for its health,
one per site for zones left without a working camera, one per zone for a person down, activity at night or
no activity in a day room (two cameras seeing the same zone make one alert, not two).
"""

from datetime import datetime
from typing import ClassVar

from devices.equipment import Device
from devices.facility import Site
from devices.kinds import DeviceKind, RoomType, Severity
from server.rules.base import Clear, Obs, Raise, State, Step, in_night

OK = "ok"
COVERAGE = "coverage"  # the subject of a site's coverage alert


def watches_bedroom(site: Site, device: Device) -> bool:
    """Whether a camera looks into a bedroom (its room, or a zone it sees)."""
    rooms = [site.room_by_id.get(device.location.room or "")] + [site.room_of_zone.get(z) for z in device.sees]
    return any(r is not None and r.type is RoomType.BEDROOM for r in rooms)


class CameraHealth:
    """A camera that is offline, frozen, covered, blurred or turned away: Medium; High for a bedroom at night."""

    name: ClassVar[str] = "camera_health"

    def key(self, site: Site, device: Device) -> str | None:
        """Every camera."""
        return device.id if device.kind is DeviceKind.CAMERA else None

    def observe(self, obs: Obs, state: State, due: datetime | None) -> Step:
        """Raise when the state turns bad, update the alert when it turns bad another way, clear when ok."""
        new = obs.reading.camera_state
        old = state.get("state")
        if new is None or new == old:
            return Step(state, due)
        device = obs.device
        if new == OK:
            return Step({"state": OK}, None, [Clear(device.id)] if old not in (None, OK) else [])
        night = watches_bedroom(obs.site, device) and in_night(obs.site, obs.at)
        severity = Severity.HIGH if night else Severity.MEDIUM
        # covered after frozen is the same fault seen anew, not another occurrence.
        raise_ = Raise(device.id, severity, device.location.room, {"state": new}, count=old in (None, OK))
        return Step({"state": new}, None, [raise_])

    def fire(self, site: Site, key: str, state: State, now: datetime) -> Step:
        """No timers."""
        return Step(state)


class Coverage:
    """Zones that no working camera sees: one alert per site naming them, so a dead camera is not ten alarms."""

    name: ClassVar[str] = "coverage"

    def key(self, site: Site, device: Device) -> str | None:
        """Every camera of a site shares one state."""
        return COVERAGE if device.kind is DeviceKind.CAMERA and device.sees else None

    def observe(self, obs: Obs, state: State, due: datetime | None) -> Step:
        """Recount the zones after a camera's state changes; raise, update or clear the site's alert."""
        new = obs.reading.camera_state
        cams = dict(state.get("cams", {}))
        if new is None or cams.get(obs.device.id) == new:
            return Step(state, due)
        cams[obs.device.id] = new
        dark = uncovered(obs.site, cams)
        before = state.get("dark", [])
        step_state = {"cams": cams, "dark": dark}
        if dark == before:
            return Step(step_state, due)
        if not dark:
            return Step(step_state, None, [Clear(COVERAGE)])
        severity = Severity.HIGH if _bedroom_zone(obs.site, dark) and in_night(obs.site, obs.at) else Severity.MEDIUM
        details = {"zones": dark, "zones_total": len(covered_zones(obs.site))}
        return Step(step_state, None, [Raise(COVERAGE, severity, None, details, count=not before)])

    def fire(self, site: Site, key: str, state: State, now: datetime) -> Step:
        """No timers."""
        return Step(state)


def covered_zones(site: Site) -> list[str]:
    """The zones some camera is meant to see."""
    return sorted({z for cam in site.cameras_of() for z in cam.sees})


def uncovered(site: Site, states: dict[str, str]) -> list[str]:
    """Zones whose every camera has reported and none is ok. A camera not heard from yet is not counted either
    way: before the edge first reports, coverage is unknown, not lost."""
    dark = []
    for zone in covered_zones(site):
        seen_by = [states.get(cam.id) for cam in site.cameras_of() if zone in cam.sees]
        if seen_by and all(s is not None and s != OK for s in seen_by):
            dark.append(zone)
    return dark


def _bedroom_zone(site: Site, zones: list[str]) -> bool:
    """Whether any of the zones is in a bedroom."""
    return any((room := site.room_of_zone.get(z)) is not None and room.type is RoomType.BEDROOM for z in zones)


class _CameraEvent:
    """An event the edge's analytics report as started and ended, one alert per zone."""

    name: ClassVar[str]
    event: ClassVar[str]
    severity: ClassVar[Severity]

    def key(self, site: Site, device: Device) -> str | None:
        """Every camera."""
        return device.id if device.kind is DeviceKind.CAMERA else None

    def observe(self, obs: Obs, state: State, due: datetime | None) -> Step:
        """Start raises (with the snapshot, when the edge sent one); end clears."""
        reading = obs.reading
        if reading.event != self.event or reading.zone is None or reading.active is None:
            return Step(state, due)
        zone = reading.zone
        active = sorted(set(state.get("active", [])) - {zone} | ({zone} if reading.active else set()))
        room = obs.site.room_of_zone.get(zone)
        if not reading.active:
            return Step({"active": active} if active else None, None, [Clear(zone)])
        details = {"camera": obs.device.id, "zone": zone}
        if reading.snapshot and obs.ident:
            details["snapshot"] = obs.ident
        return Step({"active": active}, None, [Raise(zone, self.severity, room.id if room else None, details)])

    def fire(self, site: Site, key: str, state: State, now: datetime) -> Step:
        """No timers."""
        return Step(state)


class PersonDown(_CameraEvent):
    """Someone fell and lies still on the floor: critical, with the edge's snapshot."""

    name = "person_down"
    event = "person_down"
    severity = Severity.CRITICAL


class NightActivity(_CameraEvent):
    """Someone moving at an exit, in a corridor or the kitchen at night: high."""

    name = "night_activity"
    event = "night_activity"
    severity = Severity.HIGH


class NoActivity(_CameraEvent):
    """Nobody seen in a day room for hours while it should be in use: medium."""

    name = "no_activity"
    event = "no_activity"
    severity = Severity.MEDIUM

