"""POST /api/v1/auth/token: OAuth2 password flow for scripts."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from server.api.deps import Ctx, Db, User_
from server.api.errors import documented
from server.auth.tokens import Principal
from server.auth.users import authenticate
from server.web import login_limit

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=documented(400, 401, 422, 429))


class Token(BaseModel):
    """A bearer token and how long it lasts."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str


class Me(BaseModel):
    """Who the token belongs to."""

    username: str
    role: str


@router.post("/token", response_model=Token)
def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, ctx: Ctx, db: Db) -> Token:
    """Exchange username and password for a bearer token (429 after too many failures, as the login form)."""
    wait = login_limit.too_many_logins(ctx, request, form.username)
    if wait:
        raise login_limit.rate_limited(wait)
    user = authenticate(db, form.username, form.password)
    login_limit.count_login(ctx, request, form.username, ok=user is not None)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password",
                            {"WWW-Authenticate": "Bearer"})
    signed = ctx.signer.issue(Principal(user.username, user.role))
    return Token(access_token=signed, expires_in=int(ctx.signer.max_age_s), role=user.role)


@router.get("/me", response_model=Me)
def me(user: User_) -> Me:
    """The logged-in user."""
    return Me(username=user.username, role=user.role)
