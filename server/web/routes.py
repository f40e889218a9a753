"""Pages: login, logout, language switch, and the monitoring screen."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from devices.equipment import Device
from devices.facility import Site
from devices.kinds import DeviceKind, RoomType, TemperatureRole
from devices.thresholds import Limits
from server.api.deps import Ctx, Db, Lang, LoginRequired, principal
from server.auth.tokens import COOKIE, Principal
from server.auth.users import ACTORS, MANAGERS, authenticate
from server.rules.cameras import covered_zones
from server.suppressions import ALLOWED_SCOPES, RULE_NAMES, zone_rooms
from server.texts import rule_title
from server.views import device_name, zone_name
from server.web.i18n import texts

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
router = APIRouter(include_in_schema=False)


def who(request: Request, ctx: Ctx, db: Db) -> Principal | None:
    """The logged-in user of a page request, or None."""
    try:
        return principal(request, ctx, db, None)
    except LoginRequired:
        return None


@router.get("/", response_class=HTMLResponse)
def screen(request: Request, ctx: Ctx, db: Db, lang: Lang) -> Response:
    """The monitoring screen of the first site (or `?site=`)."""
    user = who(request, ctx, db)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    site_id = request.query_params.get("site")
    site = ctx.facility.site_by_id.get(site_id or "") or ctx.facility.sites[0]
    t = texts(lang)
    return TEMPLATES.TemplateResponse(request, "screen.html", {
        "site": site, "lang": lang, "t": t, "user": user, "can_act": user.role in ACTORS,
        "can_manage": user.role in MANAGERS,
        "demo": ctx.settings.demo, "layout": layout(site, lang, t),
    })


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, lang: Lang, error: bool = False, next: str = "/") -> Response:
    """The login form; `next` is where to go after it (only a page of this site)."""
    return TEMPLATES.TemplateResponse(request, "login.html", {"lang": lang, "t": texts(lang), "error": error,
                                                              "next": _local(next)})


@router.post("/login")
def login(request: Request, ctx: Ctx, db: Db, username: Annotated[str, Form()],
          password: Annotated[str, Form()], next: Annotated[str, Form()] = "/") -> Response:
    """Check the password, set the session cookie, go to the screen (or back to the page that asked)."""
    user = authenticate(db, username, password)
    if user is None:
        return RedirectResponse(f"/login?error=1&next={quote(_local(next), safe='/')}", status_code=303)
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(COOKIE, ctx.signer.issue(Principal(user.username, user.role)),
                        max_age=int(ctx.signer.max_age_s), httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
    if user.language:
        response.set_cookie("carewatch_lang", user.language, samesite="lax")
    return response


def _local(target: str) -> str:
    """A path on this site, never another site (an open redirect would help phishing)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


@router.post("/logout")
def logout() -> Response:
    """Forget the session cookie."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/lang/{code}")
def switch_language(code: str, request: Request) -> Response:
    """Remember the chosen language in a cookie and go back."""
    response = RedirectResponse(request.headers.get("referer") or "/", status_code=303)
    if code in ("zh-CN", "en"):
        response.set_cookie("carewatch_lang", code, max_age=365 * 86400, samesite="lax")
    return response


# Screen layout, rendered from the facility file so every bed shows even before its sensor reports.

KITCHEN_KINDS = (DeviceKind.POWER_PLUG, DeviceKind.TEMPERATURE_SENSOR, DeviceKind.PRESENCE_SENSOR,
                 DeviceKind.LEAK_SENSOR)
OTHER_KINDS = (DeviceKind.SMOKE_DETECTOR, DeviceKind.DOOR_CONTACT, DeviceKind.SOS_BUTTON,
               DeviceKind.LEAK_SENSOR, DeviceKind.PRESENCE_SENSOR, DeviceKind.TEMPERATURE_SENSOR)


COLD_ROLES = (TemperatureRole.FRIDGE, TemperatureRole.FREEZER)


@dataclass(frozen=True)
class Tile:
    """One device on the screen; the JS fills in its live state from `data`."""

    id: str
    kind: str
    name: str
    place: str
    note: str = ""
    data: dict[str, str] = field(default_factory=dict)
    room: str = ""  # the room it is in, so a drill or silence of the room can mark it


@dataclass(frozen=True)
class BedTile:
    """A bed and the sensor under it (None: the bed has no sensor)."""

    id: str
    name: str
    sensor: str | None


@dataclass(frozen=True)
class RoomBeds:
    """A bedroom with its beds, in facility-file order."""

    id: str
    name: str
    beds: list[BedTile]


def layout(site: Site, lang: str, t: dict[str, str]) -> dict[str, Any]:
    """Beds by room, kitchen devices, other devices, and the cameras."""
    kitchen = [d for d in site.devices if _in_kitchen(site, d)]
    other = [d for d in site.devices if d.kind in OTHER_KINDS and d not in kitchen]
    return {
        "rooms": _bed_rooms(site, lang),
        "kitchen": [_tile(site, d, lang, t) for d in _by_kind(kitchen, KITCHEN_KINDS)],
        "other": [_tile(site, d, lang, t) for d in _by_kind(other, OTHER_KINDS)],
        "cameras": [_camera_tile(site, d, lang) for d in site.cameras_of()],
        "camera_zones": covered_zones(site),
        "zone_names": {z: zone_name(site, z, lang) for z in covered_zones(site)},
        "names": _names(site, lang, t),
        "targets": _targets(site, lang),
        "zone_rooms": zone_rooms(site),  # a drill of a zone covers its room: the pipeline judges by room
        "shift_names": {s.id: s.name.get(lang) for s in site.roster.shifts} if site.roster else {},
    }


def _bed_rooms(site: Site, lang: str) -> list[RoomBeds]:
    """Every room that has beds, each bed with the id of its sensor."""
    sensors = {d.location.bed: d.id for d in site.devices
               if d.kind is DeviceKind.BED_SENSOR and d.location.bed}
    return [RoomBeds(r.id, r.name.get(lang), [BedTile(b.id, b.name.get(lang) if b.name else b.id,
                                                     sensors.get(b.id)) for b in r.beds])
            for r in site.rooms() if r.beds]


def _in_kitchen(site: Site, device: Device) -> bool:
    """Appliances and cold stores belong to the kitchen wherever they are; sensors when they are in it."""
    if device.kind is DeviceKind.POWER_PLUG:
        return True
    if device.kind is DeviceKind.TEMPERATURE_SENSOR and device.role in COLD_ROLES:
        return True
    room = site.room_by_id.get(device.location.room)
    return device.kind in KITCHEN_KINDS and room is not None and room.type is RoomType.KITCHEN


def _by_kind(devices: list[Device], order: tuple[DeviceKind, ...]) -> list[Device]:
    """Devices grouped by kind in `order`, file order within a kind."""
    return sorted(devices, key=lambda d: order.index(d.kind))


def _tile(site: Site, device: Device, lang: str, t: dict[str, str]) -> Tile:
    """A device tile with what the JS needs to judge its readings."""
    room = site.room_by_id.get(device.location.room)
    place = room.name.get(lang) if room else device.location.room
    name = device_name(site, device, lang)
    if device.kind is DeviceKind.POWER_PLUG and device.appliance is not None:
        role = t.get(f"role_{device.appliance.role.value}", "")
        on_w = f"{site.thresholds.appliance_on_w:g}"
        return Tile(device.id, device.kind.value, name, place, role, {"on-w": on_w}, room=device.location.room)
    limits = site.limits_of(device) if device.kind is DeviceKind.TEMPERATURE_SENSOR else None
    if limits is not None:
        return Tile(device.id, device.kind.value, name, place, f"{t['limits']} {_range(limits)}",
                    {k: f"{v:g}" for k, v in (("min", limits.min), ("max", limits.max)) if v is not None},
                    room=device.location.room)
    return Tile(device.id, device.kind.value, name, place, room=device.location.room)


def _camera_tile(site: Site, camera: Device, lang: str) -> Tile:
    """A camera tile: the zones it sees, so the screen can count coverage from the cameras' states."""
    room = site.room_by_id.get(camera.location.room)
    place = room.name.get(lang) if room else camera.location.room
    zones = " · ".join(dict.fromkeys(zone_name(site, z, lang) for z in camera.sees))
    return Tile(camera.id, camera.kind.value, device_name(site, camera, lang), place, zones,
                {"sees": " ".join(camera.sees)}, room=camera.location.room)


def _range(limits: Limits) -> str:
    """Allowed range as people write it: 0–8 °C, ≤ -12 °C."""
    if limits.min is not None and limits.max is not None:
        return f"{limits.min:g}–{limits.max:g} °C"
    if limits.max is not None:
        return f"≤ {limits.max:g} °C"
    return f"≥ {limits.min:g} °C"


def _targets(site: Site, lang: str) -> dict[str, Any]:
    """What a silence, maintenance window or drill can cover, with display names, for the screen's dialog."""
    rooms = site.rooms()
    zones = [(z, r) for r in rooms for z in r.zones]
    return {
        "room": [{"id": r.id, "name": r.name.get(lang)} for r in rooms],
        "zone": [{"id": z.id, "name": f"{r.name.get(lang)} · {z.name.get(lang)}" if z.name else r.name.get(lang)}
                 for z, r in zones],
        "device": [{"id": d.id, "name": device_name(site, d, lang)} for d in site.devices
                   if d.kind is not DeviceKind.CAMERA],
        "rule": [{"id": name, "name": rule_title(name, lang)} for name in RULE_NAMES],
        "scopes": {mode.value: sorted(s.value for s in scopes) for mode, scopes in ALLOWED_SCOPES.items()},
    }


def _names(site: Site, lang: str, t: dict[str, str]) -> dict[str, str]:
    """Display names by bed or device id, so alerts name unnamed devices as the tiles do."""
    names = {b.id: b.name.get(lang) if b.name else b.id for b in site.bed_by_id.values()}
    names.update({d.id: device_name(site, d, lang) for d in site.devices})
    names["edge"] = t["gateway"]
    return names
