"""The inspector's pages: one site's records (chain check, calendar, drills, inspections, rectifications,
exports) and the district view across the sites the user is granted. Read-only for every role."""

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from devices.facility import Site
from server.api.deps import Ctx, Db, Lang, chosen_site, visible_sites
from server.records import calendar, drills, food, inspections, patrols
from server.records.district import site_summary
from server.records.inspection_calendar import site_dues
from server.records.verify import verify
from server.views import subject_name
from server.web.i18n import texts
from server.web.records_texts import records_texts
from server.web.routes import TEMPLATES, who

router = APIRouter(include_in_schema=False)
EXPORT_KINDS = ("drills", "patrols", "inspections", "rectifications", "food-samples", "cold-storage", "alerts")
RECENT = 20  # rows per table: the exports hold the rest


@router.get("/records", response_class=HTMLResponse)
def records_page(request: Request, ctx: Ctx, db: Db, lang: Lang, site: str | None = None) -> Response:
    """One site's records as an inspector reads them (`?site=`, default: the first the user may see)."""
    user = who(request, ctx, db)
    if user is None:
        return RedirectResponse("/login?next=/records", status_code=303)
    found = chosen_site(ctx, user, site)
    now = ctx.clock()
    today = found.local(now).date()
    return TEMPLATES.TemplateResponse(request, "records.html", {
        "t": {**texts(lang), **records_texts(lang)}, "lang": lang, "site": found, "user": user,
        "sites": [ctx.facility.site_by_id[s] for s in visible_sites(user, ctx)],
        "chain": verify(db, found.id)[0].as_dict(), "calendar": _calendar(db, found, now, lang),
        "rounds": [r.as_dict(lang) for r in patrols.day_status(db, found, today, now)],
        "meals": _meals(db, found, today, lang), "drills": [v.as_dict() for v in drills.drills(db, found.id)[:RECENT]],
        "tasks": [inspections.task_body(t) for t in inspections.tasks(db, found.id, "open")],
        "names": {s.id: s.name.get(lang) for s in found.staff},
        "now": now, "export_kinds": EXPORT_KINDS, "export_from": (today - timedelta(days=30)).isoformat(),
        "export_to": today.isoformat(), "local": lambda at: found.local(at).strftime("%Y-%m-%d %H:%M") if at else "—",
    })


@router.get("/district", response_class=HTMLResponse)
def district_page(request: Request, ctx: Ctx, db: Db, lang: Lang, days: int = 30) -> Response:
    """Every site the user may see on one page, over the last `days`."""
    user = who(request, ctx, db)
    if user is None:
        return RedirectResponse("/login?next=/district", status_code=303)
    days = max(1, min(days, 366))
    now = ctx.clock()
    rows = [(ctx.facility.site_by_id[s], site_summary(db, ctx.facility.site_by_id[s], now, days))
            for s in visible_sites(user, ctx)]
    return TEMPLATES.TemplateResponse(request, "district.html", {
        "t": {**texts(lang), **records_texts(lang)}, "lang": lang, "rows": rows, "days": days, "user": user})


def _calendar(db: Db, site: Site, now: Any, lang: str) -> list[dict[str, Any]]:
    """What falls due: each drill obligation and each inspection form's current and previous period."""
    held = [(v.record.started_at, v.record.shift) for v in drills.drills(db, site.id)]
    rows = [{"what": subject_name(site, d.subject, lang), "last": d.last, "due": d.due, "state": d.state}
            for d in calendar.drill_dues(site, held, now)]
    rows += [{"what": subject_name(site, d.subject, lang), "last": d.done, "due": d.period.end, "state": d.state}
             for d in site_dues(db, site, now)]
    return rows


def _meals(db: Db, site: Site, day: Any, lang: str) -> list[dict[str, Any]]:
    """Today's meals with their samples."""
    kept = food.samples(db, site.id, day)
    return [{"name": m.name.get(lang), "at": m.at, "samples": [s for s in kept if s.meal == m.id]}
            for m in site.food.meals]
