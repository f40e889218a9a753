"""Pages: login, logout, language switch, and the monitoring screen."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import update

from devices.equipment import Device
from devices.facility import Room, Site
from devices.kinds import DeviceKind, RoomType
from devices.thresholds import Limits
from server.api.deps import Ctx, Db, Lang, LoginRequired, principal
from server.auth.tokens import COOKIE, Principal
from server.auth.users import ACTORS, MANAGERS, authenticate
from server.models import User
from server.rules.cameras import covered_zones
from server.suppressions import ALLOWED_SCOPES, RULE_NAMES, zone_rooms
from server.texts import rule_title
from server.views import device_name, zone_name
from server.web import login_limit
from server.web.i18n import texts

LANGUAGES = ("zh-CN", "en")
LOCKED_OUT = {"zh-CN": "登录失败次数过多，请 {minutes} 分钟后再试",
              "en": "Too many failed logins: try again in {minutes} min"}
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
    """The monitoring screen of the first site (or `?site=`); `?kiosk=1` for a wall display."""
    user = who(request, ctx, db)
    if user is None:  # a wall display whose login ran out comes back to its own URL, kiosk and all
        query = request.url.query
        return RedirectResponse(f"/login?next={quote('/?' + query, safe='')}" if query else "/login", status_code=303)
    site_id = request.query_params.get("site")
    site = ctx.facility.site_by_id.get(site_id or "") or ctx.facility.sites[0]
    t = texts(lang)
    return TEMPLATES.TemplateResponse(request, "screen.html", {
        "site": site, "lang": lang, "t": t, "user": user, "can_act": user.role in ACTORS,
        "can_manage": user.role in MANAGERS, "kiosk": request.query_params.get("kiosk") in ("1", "true", "yes"),
        "demo": ctx.settings.demo, "layout": layout(site, lang, t),
    })


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, lang: Lang, error: bool = False, next: str = "/") -> Response:
    """The login form; `next` is where to go after it (only a page of this site)."""
    return TEMPLATES.TemplateResponse(request, "login.html", {"lang": lang, "t": texts(lang), "error": error,
                                                              "next": _local(next)})


@router.post("/login")
def login(request: Request, ctx: Ctx, db: Db, lang: Lang, username: Annotated[str, Form()],
          password: Annotated[str, Form()], next: Annotated[str, Form()] = "/") -> Response:
    """Check the password, set the session cookie, go to the screen (or back to the page that asked)."""
    wait = login_limit.too_many_logins(ctx, request, username)
    if wait:
        return _locked_out(request, lang, next, wait)
    user = authenticate(db, username, password)
    login_limit.count_login(ctx, request, username, ok=user is not None)
    if user is None:
        return RedirectResponse(f"/login?error=1&next={quote(_local(next), safe='/')}", status_code=303)
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(COOKIE, ctx.signer.issue(Principal(user.username, user.role)),
                        max_age=int(ctx.signer.max_age_s), **_cookie_flags(request))
    if user.language:
        response.set_cookie("carewatch_lang", user.language, **_cookie_flags(request))
    return response


def _locked_out(request: Request, lang: str, next: str, wait: int) -> Response:
    """The login form again, saying how long to wait (429: too many failed logins)."""
    minutes = max(1, -(-wait // 60))
    t = {**texts(lang), "login_failed": LOCKED_OUT[lang].format(minutes=minutes)}
    return TEMPLATES.TemplateResponse(request, "login.html", {"lang": lang, "t": t, "error": True,
                                                              "next": _local(next)},
                                      status_code=429, headers={"Retry-After": str(wait)})


def _cookie_flags(request: Request) -> dict[str, Any]:
    """Cookies scripts cannot read, not sent along from other sites' pages, https-only when served so (the
    scheme is the browser's one behind a trusted proxy: see CAREWATCH_TRUST_PROXY)."""
    return {"httponly": True, "samesite": "lax", "secure": request.url.scheme == "https"}


def _local(target: str) -> str:
    """A path on this site, never another site (an open redirect would help phishing)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


@router.post("/logout")
def logout(request: Request) -> Response:
    """Forget the session cookie."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, **_cookie_flags(request))
    return response


@router.get("/lang/{code}")
def switch_language(code: str, request: Request, ctx: Ctx, db: Db) -> Response:
    """Remember the chosen language in a cookie and, for a logged-in user, on their user row (it follows them to
    another device at the next login); then go back."""
    response = RedirectResponse(request.headers.get("referer") or "/", status_code=303)
    if code in LANGUAGES:
        response.set_cookie("carewatch_lang", code, max_age=365 * 86400, **_cookie_flags(request))
        user = who(request, ctx, db)
        if user is not None:
            db.execute(update(User).where(User.username == user.username).values(language=code))
            db.commit()
    return response


# Screen layout, rendered from the facility file so every bed and device shows even before it reports.

# The order devices take inside a room's box: what people act on first (alarms, exits), then the rest.
PLAN_ORDER = (DeviceKind.SOS_BUTTON, DeviceKind.SMOKE_DETECTOR, DeviceKind.DOOR_CONTACT, DeviceKind.LEAK_SENSOR,
              DeviceKind.POWER_PLUG, DeviceKind.TEMPERATURE_SENSOR, DeviceKind.PRESENCE_SENSOR)
# A room of these types runs the length of a floor: the plan draws it as a full-width strip between the rows.
STRIP_ROOMS = (RoomType.CORRIDOR,)


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
    exit: bool = False  # a door that is a way out: marked in words on the plan


@dataclass(frozen=True)
class BedTile:
    """A bed and the sensor under it (None: the bed has no sensor)."""

    id: str
    name: str
    sensor: str | None


@dataclass(frozen=True)
class ZoneChip:
    """A zone a camera should see, named as people say it inside its room ("Floor", "Courtyard gate")."""

    id: str
    name: str


@dataclass(frozen=True)
class PlanRoom:
    """A room's box on the floor plan: its beds, devices, cameras and zones, in facility-file order."""

    id: str
    name: str
    type: str
    exit: bool
    beds: list[BedTile]
    devices: list[Tile]
    cameras: list[Tile]
    zones: list[ZoneChip]


@dataclass(frozen=True)
class PlanFloor:
    """A floor of the plan as rows of rooms; a corridor is a row of its own between them."""

    id: str
    name: str
    rows: list[list[PlanRoom]]


def layout(site: Site, lang: str, t: dict[str, str]) -> dict[str, Any]:
    """The floor plan, the cameras' zones and the names the JS needs."""
    return {
        "floors": _floors(site, lang, t),
        "camera_zones": covered_zones(site),
        "zone_names": {z: zone_name(site, z, lang) for z in covered_zones(site)},
        "names": _names(site, lang, t),
        "targets": _targets(site, lang),
        "zone_rooms": zone_rooms(site),  # a drill of a zone covers its room: the pipeline judges by room
        "shift_names": {s.id: s.name.get(lang) for s in site.roster.shifts} if site.roster else {},
    }


def _floors(site: Site, lang: str, t: dict[str, str]) -> list[PlanFloor]:
    """Every floor of every building; the building is named too when the site has more than one."""
    many = len(site.buildings) > 1
    return [PlanFloor(f.id, f"{b.name.get(lang)} · {f.name.get(lang)}" if many else f.name.get(lang),
                      _rows([_plan_room(site, r, lang, t) for r in f.rooms]))
            for b in site.buildings for f in b.floors]


def _rows(rooms: list[PlanRoom]) -> list[list[PlanRoom]]:
    """Rooms in file order, cut into rows at each corridor: the rooms listed before it face the rooms after."""
    rows: list[list[PlanRoom]] = [[]]
    for room in rooms:
        if room.type in STRIP_ROOMS:
            rows += [[room], []]
        else:
            rows[-1].append(room)
    return [row for row in rows if row]


def _plan_room(site: Site, room: Room, lang: str, t: dict[str, str]) -> PlanRoom:
    """One room's box: beds with their sensors, other devices by kind, cameras, and the zones cameras see."""
    here = [d for d in site.devices if d.location.room == room.id]
    sensors = {d.location.bed: d.id for d in here if d.kind is DeviceKind.BED_SENSOR and d.location.bed}
    beds = [BedTile(b.id, b.name.get(lang) if b.name else b.id, sensors.get(b.id)) for b in room.beds]
    devices = sorted((d for d in here if d.kind in PLAN_ORDER), key=lambda d: PLAN_ORDER.index(d.kind))
    seen = set(covered_zones(site))
    zones = [ZoneChip(z.id, z.name.get(lang) if z.name else t.get(f"zone_{z.type.value}", z.id))
             for z in room.zones if z.id in seen]
    exits = room.type is RoomType.ENTRANCE or any(site.is_exit(d) for d in here)
    return PlanRoom(room.id, room.name.get(lang), room.type.value, exits, beds,
                    [_tile(site, d, lang, t) for d in devices],
                    [_camera_tile(site, d, lang, t) for d in here if d.kind is DeviceKind.CAMERA], zones)


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
    if site.is_exit(device):
        return Tile(device.id, device.kind.value, name, place, t["exit"], room=device.location.room, exit=True)
    return Tile(device.id, device.kind.value, name, place, room=device.location.room)


def _camera_tile(site: Site, camera: Device, lang: str, t: dict[str, str]) -> Tile:
    """A camera tile: the zones it sees, so the screen can count coverage from the cameras' states."""
    room = site.room_by_id.get(camera.location.room)
    place = room.name.get(lang) if room else camera.location.room
    zones = " · ".join(dict.fromkeys(zone_name(site, z, lang) for z in camera.sees))
    return Tile(camera.id, camera.kind.value, device_name(site, camera, lang), place, f"{t['sees']} {zones}",
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
