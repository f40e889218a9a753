"""Helpers shared by the vendor formats: text and JSON decoding with clear reasons."""

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from devices.messages import MAX_PAYLOAD_BYTES, Reading
from devices.protocols import Outgoing, ProtocolError

M = TypeVar("M", bound=BaseModel)
Fields = dict[str, Any]


def _no_constants(name: str) -> float:
    """NaN and Infinity are not JSON, whatever Python's decoder tolerates."""
    raise ProtocolError(f"payload holds {name}, which is not a JSON number")


def text(payload: bytes) -> str:
    """Decode a payload that must be UTF-8 text under the size limit, or raise ProtocolError saying why not."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"payload of {len(payload)} bytes is over the {MAX_PAYLOAD_BYTES} byte limit")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("payload is not UTF-8") from None


def json_object(payload: bytes) -> dict[str, Any]:
    """Decode a payload that must be one JSON object, or raise ProtocolError saying why not."""
    decoded = text(payload)
    try:
        value = json.loads(decoded, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"payload is not JSON: {exc.msg} at char {exc.pos}") from None
    except RecursionError:
        # `[[[[...` under 64 KiB is enough to exhaust the decoder's stack: a bad payload, not a crash.
        raise ProtocolError("payload is JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"payload is JSON {type(value).__name__}, an object was expected")
    return value


def availability(payload: bytes, online: str, offline: str) -> Reading | None:
    """Reading(online=...) from a plain-text availability message that must be exactly `online` or `offline`.

    An empty payload says nothing: it is how a retained message is deleted (a device renamed or removed).
    """
    said = text(payload)
    if not said:
        return None
    if said not in (online, offline):
        raise ProtocolError(f"availability must be {online!r} or {offline!r}")
    return Reading(online=said == online)


def reports(reading: Reading) -> bool:
    """Whether `reading` says more than availability: a device announced gone publishes no state."""
    return reading.online is None or len(reading.fields()) > 1


def in_order(online: bool | None, announce: Outgoing, state: list[Outgoing]) -> list[Outgoing]:
    """State and availability as a device sends them: back online before it reports, gone after its last report."""
    if online is None:
        return state
    return [announce, *state] if online else [*state, announce]


def reading(fields: dict[str, Any]) -> Reading | None:
    """Reading from normalized fields (None values dropped); None when nothing is left."""
    present = {k: v for k, v in fields.items() if v is not None}
    if not present:
        return None
    try:
        return Reading.model_validate(present)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProtocolError(f"{where}: {first['msg']}") from None


def dumps(value: dict[str, Any]) -> bytes:
    """Compact JSON bytes, as devices send them."""
    return json.dumps(value, separators=(",", ":")).encode()


def strict(model: type[M], data: Fields, *where: str) -> M:
    """`model` from `data`, or ProtocolError naming the key (under `where`) and the type, never the value."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join([*where, *(str(p) for p in first["loc"])])
        raise ProtocolError(f"{path}: {first['msg']} (got {type(first['input']).__name__})") from None
