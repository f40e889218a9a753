"""The error responses the API documents, so a client (and the schema's fuzzing) knows every answer it can get."""

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.auth.tokens import COOKIE


class Problem(BaseModel):
    """A refusal, said in one line: `{"detail": "no site x"}`."""

    detail: str


class FieldError(BaseModel):
    """One problem with one input, as FastAPI reports it."""

    model_config = ConfigDict(extra="allow")  # `input` and `ctx` come along

    loc: list[str | int]
    msg: str
    type: str


class Refused(BaseModel):
    """422: the input's field errors, or (one line) the facility rule it breaks, such as an unknown form id."""

    detail: list[FieldError] | str


WHY = {
    400: "the body could not be parsed", 401: "no valid login", 403: "the role or the site grant does not allow it",
    404: "no such site, device, alert or record", 409: "not possible in the record's current state",
    413: "the upload is too large", 422: "invalid input", 429: "too many failed logins: wait and try again",
    503: "a part the answer needs is down",
}
# What every API route that reads a login and parameters can answer besides its success.
API = (400, 401, 403, 404, 422)


def documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a router or route: each status code with its body model and why it happens."""
    return {code: {"model": Refused if code == 422 else Problem, "description": WHY[code]} for code in codes}


def documented_beside(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route whose success is not JSON (an event stream): its refusals still are."""
    # FastAPI would file a `model` under the route's own media type; the refusal is JSON whatever the route streams.
    schema = Problem.model_json_schema()
    return {code: {"description": WHY[code], "content": {"application/json": {"schema": schema}}} for code in codes}


def _anonymous_api(request: Request) -> bool:
    """A call of a private API route that carries no login at all (the token route is the one public one)."""
    return (request.url.path.startswith("/api/") and request.url.path != "/api/v1/auth/token"
            and "authorization" not in request.headers and COOKIE not in request.cookies)


def _not_logged_in() -> JSONResponse:
    """What every private route answers without a login."""
    return JSONResponse({"detail": "Not authenticated"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})


async def _invalid(request: Request, exc: Exception) -> Response:
    """FastAPI reads the body before any dependency: without a login, say so rather than judge the body."""
    if _anonymous_api(request):
        return _not_logged_in()
    return await request_validation_exception_handler(request, exc)  # type: ignore[arg-type]


async def _http(request: Request, exc: Exception) -> Response:
    """The same for a body that does not even parse (400)."""
    if getattr(exc, "status_code", None) == 400 and _anonymous_api(request):
        return _not_logged_in()
    return await http_exception_handler(request, exc)  # type: ignore[arg-type]


def install(app: FastAPI) -> None:
    """Answer 401 before judging the input of an anonymous call."""
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http)
