"""The login rate limit: failed logins per username and per client address inside a sliding window, counted in
the database so that several servers count together and a restart forgets nothing."""

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from fastapi import HTTPException, Request, status
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from server.context import Context
from server.models import LoginFailure

LOGIN_LIMIT = 5  # failed logins of one username ...
ADDRESS_LIMIT = 20  # ... or from one address (a whole home's staff may share one address behind its router)
LOGIN_WINDOW = timedelta(minutes=5)  # ... inside this window


class LoginLimiter:
    """Counts failures in `login_failures`; a login is held back while a counter holds a full window."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime], *, limit: int = LOGIN_LIMIT,
                 address_limit: int = ADDRESS_LIMIT, window: timedelta = LOGIN_WINDOW) -> None:
        self.sessions, self.clock, self.window = sessions, clock, window
        self.limits = {"user": limit, "address": address_limit}

    def retry_after(self, username: str, address: str) -> int:
        """Seconds until this username may try again from this address; 0 when it may now."""
        now = self.clock()
        with self.sessions() as db:
            return max(self._wait(db, kind, key, now) for kind, key in _keys(username, address))

    def failed(self, username: str, address: str) -> None:
        """Count a failed login, and forget failures that have left the window (the table stays small)."""
        now = self.clock()
        with self.sessions.begin() as db:
            db.execute(delete(LoginFailure).where(LoginFailure.at <= now - self.window))
            db.add_all(LoginFailure(kind=kind, key=key, at=now) for kind, key in _keys(username, address))

    def succeeded(self, username: str) -> None:
        """Forget the username's failures (its owner got it right); the address's stay: one account's login must
        not wipe the count of guesses at other accounts from the same address."""
        with self.sessions.begin() as db:
            db.execute(delete(LoginFailure).where(LoginFailure.kind == "user", LoginFailure.key == _name(username)))

    def _wait(self, db: Session, kind: str, key: str, now: datetime) -> int:
        """Seconds until the oldest of a full window's failures leaves it."""
        limit = self.limits[kind]
        recent = db.scalars(select(LoginFailure.at).where(
            LoginFailure.kind == kind, LoginFailure.key == key, LoginFailure.at > now - self.window)
            .order_by(LoginFailure.at.desc()).limit(limit)).all()
        if len(recent) < limit:
            return 0
        return max(0, math.ceil((recent[-1] + self.window - now).total_seconds()))


def _keys(username: str, address: str) -> list[tuple[str, str]]:
    """The counters a login attempt touches."""
    return [("user", _name(username)), ("address", _storable(address))]


def _name(username: str) -> str:
    """A username as counted: "Admin" and "admin " are guesses at the same account."""
    return _storable(username.strip().casefold())


def _storable(text: str) -> str:
    """Text PostgreSQL can keep (no NUL) in the key column's 200 characters."""
    return text.replace("\x00", "\ufffd")[:200]


def install(ctx: Context) -> None:
    """Give the server its limiter."""
    ctx.extras["login_limiter"] = LoginLimiter(ctx.sessions, ctx.clock)


def login_limiter(ctx: Context) -> LoginLimiter:
    """The server's limiter (made by `install`)."""
    limiter: LoginLimiter = ctx.extras["login_limiter"]
    return limiter


def client_address(request: Request) -> str:
    """The client's address as the rate limit counts it (the proxy's view when it is trusted)."""
    return request.client.host if request.client else "unknown"


def too_many_logins(ctx: Context, request: Request, username: str) -> int:
    """Seconds to wait before this login may be tried (0: go ahead)."""
    return login_limiter(ctx).retry_after(username, client_address(request))


def count_login(ctx: Context, request: Request, username: str, ok: bool) -> None:
    """Record a login's outcome."""
    limiter = login_limiter(ctx)
    if ok:
        limiter.succeeded(username)
    else:
        limiter.failed(username, client_address(request))


def rate_limited(seconds: int) -> HTTPException:
    """The API's answer to one login too many."""
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, f"too many failed logins: try again in {seconds} s",
                         {"Retry-After": str(seconds)})
