"""The page a patrol checkpoint's QR code opens: after a login, one button records the check-in as the person
logged in. A GET never checks in (a phone's link preview opens links too); the button is the check-in."""

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from server.api.deps import Ctx, Db
from server.auth.users import ACTORS
from server.records import patrols
from server.web.i18n import texts
from server.web.routes import TEMPLATES, who

router = APIRouter(include_in_schema=False)


@router.get("/patrol/{site}/{checkpoint}", response_class=HTMLResponse)
def patrol_page(site: str, checkpoint: str, request: Request, ctx: Ctx, db: Db, k: str = "") -> Response:
    """The checkpoint's name and the button."""
    return _page(request, ctx, db, site, checkpoint, k, act=False)


@router.post("/patrol/{site}/{checkpoint}", response_class=HTMLResponse)
def patrol_check_in(site: str, checkpoint: str, request: Request, ctx: Ctx, db: Db, k: str = "") -> Response:
    """Record the check-in as the logged-in member of staff."""
    return _page(request, ctx, db, site, checkpoint, k, act=True)


def _page(request: Request, ctx: Ctx, db: Db, site_id: str, checkpoint: str, key: str, *, act: bool) -> Response:
    """Check the link, ask for a login, check in when the button was pressed."""
    site = ctx.facility.site_by_id.get(site_id)
    point = next((c for c in site.patrols.checkpoints if c.id == checkpoint), None) if site else None
    language = site.language.value if site else ctx.language
    t = texts(language)
    if site is None or point is None or not patrols.genuine(ctx.settings.signing_key(), site_id, checkpoint, key):
        return _render(request, t, language, problem=t["bad_checkpoint"], status=404)
    user = who(request, ctx, db)
    if user is None:
        return RedirectResponse(f"/login?next={quote(f'{request.url.path}?k={key}', safe='/')}", status_code=303)
    if user.role not in ACTORS:
        return _render(request, t, language, problem=t["not_allowed"], status=403)
    done = None
    if act:
        row = patrols.check_in(db, site_id, checkpoint, user.username, ctx.clock())
        db.commit()
        done = f"{site.local(row.at).strftime('%H:%M')} · {user.username}"
    return _render(request, t, language, name=point.name.get(language), done=done)


def _render(request: Request, t: dict[str, str], language: str, *, status: int = 200, **context: object) -> Response:
    """The check-in page."""
    return TEMPLATES.TemplateResponse(request, "patrol.html", {"t": t, "lang": language, **context},
                                      status_code=status)
