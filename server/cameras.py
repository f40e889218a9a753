"""What the screen and the API say about cameras: each camera's health and the site's live coverage."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.facility import Site
from devices.kinds import DeviceKind
from server.models import DeviceState
from server.rules.cameras import OK, covered_zones
from server.views import device_name, zone_name


@dataclass(frozen=True)
class Coverage:
    """Zones a site's cameras are meant to see: how many a working camera sees now, which not, which unknown."""

    total: int
    covered: list[str]
    uncovered: list[str]
    unknown: list[str]

    def as_dict(self) -> dict[str, Any]:
        """For the API."""
        return {"zones": self.total, "covered": len(self.covered), "uncovered": self.uncovered,
                "unknown": self.unknown, "share": round(len(self.covered) / self.total, 3) if self.total else None}


def camera_states(site: Site, registry_states: dict[str, dict[str, Any]]) -> dict[str, str | None]:
    """Each camera's last reported state (None: not heard from); a camera the registry counts offline is
    'offline' whatever it said last (its edge or its reporter has gone quiet)."""
    states: dict[str, str | None] = {}
    for cam in site.cameras_of():
        entry = registry_states.get(cam.id)
        if entry is None or entry.get("last_seen") is None:
            states[cam.id] = None
        elif not entry.get("online"):
            states[cam.id] = "offline"
        else:
            states[cam.id] = entry.get("state", {}).get("camera_state")
    return states


def coverage(site: Site, states: dict[str, str | None]) -> Coverage:
    """A zone is covered when at least one camera that sees it is working; unknown when none is known to work
    and some have not reported yet."""
    covered, uncovered, unknown = [], [], []
    for zone in covered_zones(site):
        seen_by = [states.get(cam.id) for cam in site.cameras_of() if zone in cam.sees]
        if OK in seen_by:
            covered.append(zone)
        elif None in seen_by:
            unknown.append(zone)
        else:
            uncovered.append(zone)
    return Coverage(len(covered_zones(site)), covered, uncovered, unknown)


def cameras_out(site: Site, rows: dict[str, Any], language: str) -> dict[str, Any]:
    """A site's cameras with their health and counters, and its coverage."""
    states = camera_states(site, rows)
    cams = []
    for cam in site.cameras_of():
        row = rows.get(cam.id) or {}
        cams.append({"id": cam.id, "name": device_name(site, cam, language), "room": cam.location.room,
                     "sees": [{"id": z, "name": zone_name(site, z, language)} for z in cam.sees],
                     "state": states[cam.id], "last_seen": row.get("last_seen"),
                     "stats": (row.get("state") or {}).get("stats")})
    return {"site": site.id, "cameras": cams, "coverage": coverage(site, states).as_dict()}


def stored_rows(session: Session, site: Site) -> dict[str, dict[str, Any]]:
    """The device registry's rows of a site's cameras (as the pipeline last wrote them), as plain dicts."""
    query = select(DeviceState).where(DeviceState.site == site.id, DeviceState.kind == DeviceKind.CAMERA.value)
    return {row.device: {"last_seen": row.last_seen, "online": row.online, "state": dict(row.state or {})}
            for row in session.scalars(query)}
