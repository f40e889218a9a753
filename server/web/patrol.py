"""The page a patrol checkpoint's QR code opens: after a login, one button records the check-in as the person
logged in. A GET never checks in (a phone's link preview opens links too); the button is the check-in."""

import asyncio
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from devices.records import Checkpoint
from server.api.deps import Ctx, Db
from server.auth.users import ACTORS
from server.live import broadcast_alerts
from server.records import patrols
from server.web.i18n import texts
from server.web.records_texts import records_texts
from server.web.routes import TEMPLATES, who

router = APIRouter(include_in_schema=False)


@router.get("/patrol/{site}/{checkpoint}", response_class=HTMLResponse)
def patrol_page(site: str, checkpoint: str, request: Request, ctx: Ctx, db: Db, k: str = "") -> Response:
    """The checkpoint's name and the button."""
    return _page(request, ctx, db, site, checkpoint, k, act=False)


@router.post("/patrol/{site}/{checkpoint}", response_class=HTMLResponse)
async def patrol_check_in(site: str, checkpoint: str, request: Request, ctx: Ctx, db: Db, k: str = "") -> Response:
    """Record the check-in (and the checklist as ticked) as the logged-in member of staff."""
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    return await asyncio.to_thread(_page, request, ctx, db, site, checkpoint, k, act=True, form=form)


def _page(request: Request, ctx: Ctx, db: Db, site_id: str, checkpoint: str, key: str, *, act: bool,
          form: dict[str, str] | None = None) -> Response:
    """Check the link, ask for a login, check in when the button was pressed."""
    site = ctx.facility.site_by_id.get(site_id)
    point = next((c for c in site.patrols.checkpoints if c.id == checkpoint), None) if site else None
    language = site.language.value if site else ctx.language
    t = {**texts(language), **records_texts(language)}
    if site is None or point is None or not patrols.genuine(ctx.settings.signing_key(), site_id, checkpoint, key):
        return _render(request, t, language, problem=t["bad_checkpoint"], status=404)
    user = who(request, ctx, db)
    if user is None:
        return RedirectResponse(f"/login?next={quote(f'{request.url.path}?k={key}', safe='/')}", status_code=303)
    if user.role not in ACTORS:
        return _render(request, t, language, problem=t["not_allowed"], status=403)
    done, hazards = None, 0
    if act:
        # Only a form that showed the checklist answers it (an unticked box sends nothing, a script sends nothing too).
        answers = _answers(point, form) if point.checks and form and "checklist" in form else None
        row = patrols.check_in(db, site_id, checkpoint, user.username, ctx.clock(), answers)
        raised = patrols.hazards(db, row)
        db.commit()
        broadcast_alerts(ctx, raised)
        done, hazards = f"{site.local(row.at).strftime('%H:%M')} · {user.username}", len(raised)
    checks = [{"id": c.id, "text": c.text.get(language)} for c in point.checks]
    return _render(request, t, language, name=point.name.get(language), done=done, checks=checks, hazards=hazards)


def _answers(point: Checkpoint, form: dict[str, str]) -> list[dict[str, Any]]:
    """The checklist as ticked: a box left unticked is a hazard, with the note written next to it."""
    return [{"check": c.id, "ok": form.get(f"ok-{c.id}") == "on", "note": (form.get(f"note-{c.id}") or "").strip()
             or None} for c in point.checks]


def _render(request: Request, t: dict[str, str], language: str, *, status: int = 200, **context: object) -> Response:
    """The check-in page."""
    return TEMPLATES.TemplateResponse(request, "patrol.html", {"t": t, "lang": language, **context},
                                      status_code=status)
