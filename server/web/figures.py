"""The managers' page: response figures of the last days, and how the latest notifications were delivered."""

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from server.api.deps import Ctx, Db, Lang
from server.figures import figures
from server.models import Alert, Notification
from server.texts import RULE_TITLES, rule_title, word
from server.web.i18n import texts
from server.web.routes import TEMPLATES, who

router = APIRouter(include_in_schema=False)
DELIVERIES = 50


@router.get("/figures", response_class=HTMLResponse)
def figures_page(request: Request, ctx: Ctx, db: Db, lang: Lang, days: int = 7) -> Response:
    """Tables of the response figures, and the last notifications with their status."""
    if who(request, ctx, db) is None:
        return RedirectResponse("/login?next=/figures", status_code=303)
    site = ctx.facility.sites[0]
    days = max(1, min(days, 366))
    now = ctx.clock()
    got = figures(db, ctx.facility, now - timedelta(days=days), now, site.id)
    rows = db.execute(select(Notification, Alert.rule).join(Alert, Alert.id == Notification.alert_id)
                      .where(Notification.site == site.id).order_by(Notification.id.desc()).limit(DELIVERIES))
    deliveries = [(n, rule_title(rule, lang)) for n, rule in rows]
    labels = {**{r: rule_title(r, lang) for r in RULE_TITLES}, **{s: word(s, lang) for s in
                                                                  ("critical", "high", "medium", "low")}}
    if site.roster:
        labels.update({s.id: s.name.get(lang) for s in site.roster.shifts})
    return TEMPLATES.TemplateResponse(request, "figures.html", {
        "t": texts(lang), "lang": lang, "site": site, "got": got, "days": days, "labels": labels,
        "deliveries": deliveries})
