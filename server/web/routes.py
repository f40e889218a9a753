"""Pages: login, logout, language switch, and the monitoring screen."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from server.api.deps import Ctx, Db, Lang, LoginRequired, principal
from server.auth.tokens import COOKIE, Principal
from server.auth.users import ACTORS, authenticate
from server.web.i18n import texts

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
router = APIRouter(include_in_schema=False)


def _who(request: Request, ctx: Ctx, db: Db) -> Principal | None:
    """The logged-in user of a page request, or None."""
    try:
        return principal(request, ctx, db, None)
    except LoginRequired:
        return None


@router.get("/", response_class=HTMLResponse)
def screen(request: Request, ctx: Ctx, db: Db, lang: Lang) -> Response:
    """The monitoring screen of the first site (or `?site=`)."""
    user = _who(request, ctx, db)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    site_id = request.query_params.get("site")
    site = ctx.facility.site_by_id.get(site_id or "") or ctx.facility.sites[0]
    return TEMPLATES.TemplateResponse(request, "screen.html", {
        "site": site, "lang": lang, "t": texts(lang), "user": user, "can_act": user.role in ACTORS,
        "demo": ctx.settings.demo,
    })


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, lang: Lang, error: bool = False) -> Response:
    """The login form."""
    return TEMPLATES.TemplateResponse(request, "login.html", {"lang": lang, "t": texts(lang), "error": error})


@router.post("/login")
def login(request: Request, ctx: Ctx, db: Db, username: Annotated[str, Form()],
          password: Annotated[str, Form()]) -> Response:
    """Check the password, set the session cookie, go to the screen."""
    user = authenticate(db, username, password)
    if user is None:
        return RedirectResponse("/login?error=1", status_code=303)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, ctx.signer.issue(Principal(user.username, user.role)),
                        max_age=int(ctx.signer.max_age_s), httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
    if user.language:
        response.set_cookie("carewatch_lang", user.language, samesite="lax")
    return response


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
