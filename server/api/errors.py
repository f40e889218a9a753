"""The error responses the API documents, so a client (and the schema's fuzzing) knows every answer it can get."""

from typing import Any

from pydantic import BaseModel, ConfigDict


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
