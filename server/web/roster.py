"""The duty roster page: everyone sees who works which shift; managers change it (recorded with who, when)."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from server.api import duty as duty_api
from server.api.deps import Ctx, Db, Lang
from server.auth.users import MANAGERS
from server.web.i18n import texts
from server.web.routes import TEMPLATES, who

router = APIRouter(include_in_schema=False)


@router.get("/roster", response_class=HTMLResponse)
def roster_page(request: Request, ctx: Ctx, db: Db, lang: Lang) -> Response:
    """The shifts of the first site with their people; forms for managers."""
    user = who(request, ctx, db)
    if user is None:
        return RedirectResponse("/login?next=/roster", status_code=303)
    site = ctx.facility.sites[0]
    current = duty_api.get_roster(db, ctx, user, lang, site.id)
    return TEMPLATES.TemplateResponse(request, "roster.html", {
        "t": texts(lang), "lang": lang, "site": site, "shifts": current["shifts"], "on_duty": current["on_duty"],
        "staff": site.staff, "names": {s.id: s.name.get(lang) for s in site.staff},
        "can_manage": user.role in MANAGERS})


@router.post("/roster/{shift}")
def roster_change(shift: str, request: Request, ctx: Ctx, db: Db, staff: Annotated[list[str], Form()],
                  supervisor: Annotated[str, Form()] = "") -> Response:
    """A manager's form: the same checks as the API."""
    user = who(request, ctx, db)
    if user is None:
        return RedirectResponse("/login?next=/roster", status_code=303)
    duty_api.change_shift(shift, duty_api.ShiftIn(staff=staff, supervisor=supervisor or None), db, ctx,
                          duty_api.manager(user), ctx.facility.sites[0].id)
    return RedirectResponse("/roster", status_code=303)
