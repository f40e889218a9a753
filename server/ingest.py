"""From MQTT message to something the pipeline can use: an observation, an edge status, or a dead letter."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from devices import topics
from devices.equipment import Device
from devices.facility import Facility, Site
from devices.messages import MAX_PAYLOAD_BYTES, Envelope, storable, truncate_raw


@dataclass(frozen=True)
class Message:
    """One MQTT message as received, with what is needed to acknowledge it after commit."""

    topic: str
    payload: bytes
    received_at: datetime
    mid: int = 0
    qos: int = 0
    generation: int = 0  # which broker connection it came on: acks go back on that one only


@dataclass(frozen=True)
class Incoming:
    """A valid observation of a known device."""

    envelope: Envelope
    site: Site
    device: Device


@dataclass(frozen=True)
class Dead:
    """A message that cannot be used, with the reason; `reason_class` is a small fixed set for metrics."""

    topic: str
    reason: str
    reason_class: str
    raw: str
    site: str | None = None
    device: str | None = None
    known_device: bool = False


@dataclass(frozen=True)
class EdgeStatus:
    """A site's edge is online or offline (retained status, Last Will)."""

    site: str
    online: bool


@dataclass(frozen=True)
class Heartbeat:
    """A site's edge heartbeat with its counters."""

    site: str
    info: dict[str, Any]


Decoded = Incoming | Dead | EdgeStatus | Heartbeat


def decode(message: Message, facility: Facility) -> Decoded:
    """Classify one message; never raises."""
    parts = topics.parse(message.topic)
    if parts is None:
        return _dead(message, "not a carewatch uplink topic", "unknown_topic")
    site_id, channel, name = parts
    site = facility.site_by_id.get(site_id)
    if site is None:
        return _dead(message, f"unknown site {site_id!r}", "unknown_site", site=site_id)
    if channel == "edge":
        return _edge(message, site_id, name)
    return _observation(message, site, name)


def _observation(message: Message, site: Site, name: str) -> Decoded:
    """An observation envelope, checked against its topic and the facility file."""
    device = site.device_by_id.get(name)
    known = device is not None
    if len(message.payload) > MAX_PAYLOAD_BYTES:
        reason = f"payload of {len(message.payload)} bytes is over the {MAX_PAYLOAD_BYTES} byte limit"
        return _dead(message, reason, "too_large", site=site.id, device=name, known=known)
    if device is None:
        return _dead(message, f"unknown device {name!r} in site {site.id!r}", "unknown_device", site=site.id,
                     device=name)
    try:
        envelope = Envelope.model_validate_json(message.payload)
    except ValidationError as exc:
        return _dead(message, _first_error(exc), "invalid", site=site.id, device=name, known=True)
    mismatch = _mismatch(envelope, site, device)
    if mismatch:
        return _dead(message, mismatch, "mismatch", site=site.id, device=name, known=True)
    if envelope.error is not None:
        reason = storable(f"edge could not read the device: {envelope.error.reason}")
        return Dead(message.topic, reason[:300], "edge_rejected", storable(envelope.error.raw), site.id, name, True)
    if envelope.data is None:
        return _dead(message, "observation without data", "invalid", site=site.id, device=name, known=True)
    return Incoming(envelope, site, device)


def _mismatch(envelope: Envelope, site: Site, device: Device) -> str | None:
    """Why an envelope does not belong on its topic, if it does not."""
    if envelope.site != site.id or envelope.device != device.id:
        return f"envelope is for {envelope.site}/{envelope.device} but came on the topic of {site.id}/{device.id}"
    if envelope.kind != device.kind.value:
        return f"envelope kind {envelope.kind!r} but the facility file says {device.kind.value!r}"
    return None


def _edge(message: Message, site: str, name: str) -> Decoded:
    """Edge status (`online`/`offline`) or heartbeat (JSON object)."""
    if name == "status":
        text = message.payload.strip().lower()
        if text in (b"online", b"offline"):
            return EdgeStatus(site, text == b"online")
        return _dead(message, "edge status must be online or offline", "invalid", site=site)
    if name == "heartbeat":
        try:
            info = json.loads(message.payload[:MAX_PAYLOAD_BYTES], parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError, RecursionError):
            # `[[[[...` under 64 KiB exhausts the decoder's stack: a bad heartbeat, not a failed batch.
            info = None
        if isinstance(info, dict):
            return Heartbeat(site, info)
        return _dead(message, "edge heartbeat is not a JSON object", "invalid", site=site)
    return _dead(message, f"unknown edge topic {name!r}", "unknown_topic", site=site)


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON, and PostgreSQL refuses to store them: the whole batch would fail."""
    raise ValueError(f"{name} is not a JSON number")


def _first_error(exc: ValidationError) -> str:
    """The first validation problem, readable: `data.power_w: Input should be a valid number`."""
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    message = err["msg"]
    if err["type"] == "json_invalid":
        message = f"not valid JSON ({err.get('ctx', {}).get('error', 'parse error')})"
    elif err["type"] == "extra_forbidden":
        message = "unknown field"
    return f"{where}: {message}" if where else message


def _dead(message: Message, reason: str, reason_class: str, *, site: str | None = None, device: str | None = None,
          known: bool = False) -> Dead:
    """A dead letter with the raw payload kept, truncated."""
    return Dead(storable(message.topic), storable(reason)[:300], reason_class, truncate_raw(message.payload), site,
                device, known)
