"""Request dependencies: the server context, a database session, the logged-in user and their language."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.facility import Site
from server.auth.tokens import COOKIE, Principal
from server.auth.users import ACTORS, Role
from server.context import Context
from server.models import User

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def context(request: Request) -> Context:
    """The running server's context."""
    ctx: Context = request.app.state.ctx
    return ctx


Ctx = Annotated[Context, Depends(context)]


def session(ctx: Ctx) -> Iterator[Session]:
    """A session for one request; the route commits what it changes."""
    with ctx.sessions() as db:
        yield db


Db = Annotated[Session, Depends(session)]


class LoginRequired(HTTPException):
    """No valid login: 401 for the API, a redirect to /login for pages."""

    def __init__(self) -> None:
        super().__init__(status.HTTP_401_UNAUTHORIZED, "login required", {"WWW-Authenticate": "Bearer"})


def principal(request: Request, ctx: Ctx, db: Db, token: Annotated[str | None, Depends(oauth2)]) -> Principal:
    """The logged-in user from the bearer token or the session cookie, re-checked against the users table."""
    raw = token or request.cookies.get(COOKIE)
    found = ctx.signer.check(raw) if raw else None
    if found is None:
        raise LoginRequired()
    user = db.scalar(select(User).where(User.username == found.username))
    # End the read at once: the connection goes back to the pool. A screen's SSE request lasts for hours and
    # would otherwise hold one of the pool's few connections the whole time (50 screens starved the ingest).
    db.commit()
    if user is None or not user.active:
        raise LoginRequired()
    return Principal(user.username, user.role, frozenset(user.sites.split()) if user.sites else None)


User_ = Annotated[Principal, Depends(principal)]


def actor(user: User_) -> Principal:
    """A user allowed to change alerts (inspectors only read)."""
    if user.role not in ACTORS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role} may not change alerts")
    return user


Actor = Annotated[Principal, Depends(actor)]


def visible_site(user: Principal, site: str | None, ctx: Context) -> str | None:
    """`site` checked against the facility (404) and the user's grant (403); None stays None ("every site I
    may see", narrowed by `visible_sites`)."""
    if site is None:
        return None
    if site not in ctx.facility.site_by_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {site}")
    if not user.may_see(site):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{user.username} is not granted site {site}")
    return site


def visible_sites(user: Principal, ctx: Context) -> list[str]:
    """The facility's sites this user may see, in the facility file's order."""
    return [site.id for site in ctx.facility.sites if user.may_see(site.id)]


def chosen_site(ctx: Context, user: Principal, site: str | None) -> Site:
    """The named site (404 unknown, 403 not granted), or the first one the user may see (403 when none)."""
    chosen = visible_site(user, site, ctx) if site else next(iter(visible_sites(user, ctx)), None)
    if chosen is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{user.username} is granted no site of this facility")
    return ctx.facility.site_by_id[chosen]


def admin(user: User_) -> Principal:
    """Administrators only."""
    if user.role != Role.ADMIN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "administrators only")
    return user


def language(request: Request, ctx: Ctx, lang: str | None = None) -> str:
    """`?lang=` if given, else the `carewatch_lang` cookie, else the facility's language."""
    chosen = lang or request.cookies.get("carewatch_lang") or ctx.language
    return chosen if chosen in ("zh-CN", "en") else ctx.language


Lang = Annotated[str, Depends(language)]
