"""Resident pages: every bed of a site tonight in one table, and one bed's night in detail. Read-only for every
role; care staff (ACTORS) get a button that logs a turn through the same code as the turns API."""

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from devices.facility import Site
from server.api.care import TurnIn, log_turn
from server.api.deps import Ctx, Db, Lang, chosen_site
from server.api.residents import site_of_bed
from server.auth.tokens import Principal
from server.auth.users import ACTORS
from server.residents import bed_night
from server.web.i18n import texts
from server.web.resident_texts import duration, resident_texts
from server.web.routes import TEMPLATES, who

router = APIRouter(include_in_schema=False)


@router.get("/residents", response_class=HTMLResponse)
def residents_page(request: Request, ctx: Ctx, db: Db, lang: Lang, site: str | None = None) -> Response:
    """Every bed of a site (`?site=`, default: the first the user may see), one row each."""
    user = who(request, ctx, db)
    if user is None:
        return RedirectResponse("/login?next=/residents", status_code=303)
    found = chosen_site(ctx, user, site)
    now = ctx.clock()
    rows = [bed_night(db, site=found, bed=bed, now=now, language=lang, snapshots=False) for bed in found.bed_by_id]
    return TEMPLATES.TemplateResponse(request, "residents.html", _context(found, lang, user, now, rows=rows))


@router.get("/residents/{bed}", response_class=HTMLResponse)
def resident_page(bed: str, request: Request, ctx: Ctx, db: Db, lang: Lang, site: str | None = None,
                  turned: str | None = None) -> Response:
    """One bed's night: exits, turns, vitals, alerts (with snapshots for the roles that may see them)."""
    user = who(request, ctx, db)
    if user is None:
        return RedirectResponse(f"/login?next={quote(f'/residents/{bed}', safe='/')}", status_code=303)
    found = site_of_bed(ctx, user, site, bed)
    now = ctx.clock()
    night = bed_night(db, site=found, bed=bed, now=now, language=lang,
                      snapshots=user.role in ctx.settings.snapshot_roles)
    return TEMPLATES.TemplateResponse(request, "resident.html", _context(
        found, lang, user, now, b=night, can_turn=user.role in ACTORS, turned=turned))


@router.post("/residents/{bed}/turn")
def resident_turn(bed: str, request: Request, ctx: Ctx, db: Db, site: Annotated[str, Form()],
                  note: Annotated[str, Form(max_length=500)] = "") -> Response:
    """The "Log a turn" button: the turn is logged as the turns API logs it, then back to the bed's page."""
    user = who(request, ctx, db)
    if user is None:
        return RedirectResponse(f"/login?next={quote(f'/residents/{bed}', safe='/')}", status_code=303)
    found = site_of_bed(ctx, user, site, bed)
    if user.role not in ACTORS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role} may not log turns")
    row = log_turn(bed, db, ctx, user, TurnIn(site=found.id, note=note.strip() or None))
    at = found.local(row.at).strftime("%H:%M")
    return RedirectResponse(f"/residents/{quote(bed)}?site={quote(found.id)}&turned={quote(at)}", status_code=303)



def _context(site: Site, lang: str, user: Principal, now: datetime, **more: Any) -> dict[str, Any]:
    """What both pages need: texts, the site, and formatters in the site's time and the reader's language."""
    return {"t": {**texts(lang), **resident_texts(lang)}, "lang": lang, "site": site, "user": user, "now": now,
            "hm": lambda at: site.local(at).strftime("%H:%M") if at else "—",
            "day_hm": lambda at: site.local(at).strftime("%m-%d %H:%M") if at else "—",
            "dur": lambda seconds: duration(seconds, lang), **more}
