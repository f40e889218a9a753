"""Device messages in, envelopes out: the topic map, vendor parsing, rejections and counters."""

import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt

from devices import protocols, topics
from devices.equipment import Device
from devices.facility import Site
from devices.kinds import DeviceKind
from devices.messages import (
    MAX_PAYLOAD_BYTES,
    RAW_KEEP_CHARS,
    Envelope,
    Reading,
    Rejection,
    new_id,
    to_json,
    truncate_raw,
)
from devices.protocols import ProtocolError, VendorFormat
from edge.outbox import Outbox

log = logging.getLogger(__name__)

REASON_LIMIT = 300  # Rejection.reason max_length


def subscriptions(site: Site) -> tuple[dict[str, tuple[Device, VendorFormat]], list[str]]:
    """Topic -> (device, format) for every non-camera device, plus the devices whose format is missing."""
    routes: dict[str, tuple[Device, VendorFormat]] = {}
    unsupported: list[str] = []
    for device in site.devices:
        if device.kind is DeviceKind.CAMERA or device.topic is None:
            continue
        try:
            fmt = protocols.get(device.protocol)
            device_topics = fmt.subscriptions(device.topic)
        except Exception as exc:
            # One broken or missing format must not take the SOS buttons of other vendors down with it.
            log.error("device %s: cannot read protocol %s (%s); not subscribed", device.id, device.protocol,
                      type(exc).__name__)
            unsupported.append(device.id)
            continue
        for topic in device_topics:
            if topic in routes:
                log.error("topic %s is claimed by %s and %s; keeping the first", topic,
                          routes[topic][0].id, device.id)
                continue
            routes[topic] = (device, fmt)
    return routes, unsupported


class Intake:
    """Turns each device message into an envelope in the outbox; never raises."""

    def __init__(self, site: Site, outbox: Outbox, *, clock: Callable[[], datetime]) -> None:
        self.site, self._outbox, self._clock = site, outbox, clock
        self.routes, self.unsupported = subscriptions(site)
        self._wild = [t for t in self.routes if "+" in t or "#" in t]
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._rejected: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._logged: set[str] = set()  # devices whose bad payload was logged
        self._logged_errors: set[str] = set()  # exception types logged

    def handle(self, topic: str, payload: bytes) -> None:
        """Parse one device message and queue its envelope (or its rejection)."""
        try:
            self._count("received")
            route = self._route(topic)
            if route is None:
                self._count("unknown_topic")
                return
            device, fmt = route
            self._forward(device, *self._read(device, fmt, topic, payload))
        except Exception as exc:
            self._unexpected(exc, f"handling a message on {topic}")

    def stats(self) -> dict[str, Any]:
        """Counters: totals, rejections per device and reason, devices without a format."""
        with self._lock:
            counts = {k: self._counts[k] for k in ("received", "forwarded", "ignored", "rejected",
                                                   "unknown_topic", "errors")}
            rejected = {d: dict(c) for d, c in self._rejected.items()}
        return {**counts, "rejected_by_device": rejected, "unsupported_devices": list(self.unsupported)}

    def _route(self, topic: str) -> tuple[Device, VendorFormat] | None:
        """The device a topic belongs to, if any."""
        route = self.routes.get(topic)
        if route is None:
            for pattern in self._wild:
                if mqtt.topic_matches_sub(pattern, topic):
                    return self.routes[pattern]
        return route

    def _read(self, device: Device, fmt: VendorFormat, topic: str,
              payload: bytes) -> tuple[Reading | None, Rejection | None]:
        """(reading, None), (None, rejection) or (None, None) when the message says nothing."""
        if len(payload) > MAX_PAYLOAD_BYTES:
            detail = f"payload of {len(payload)} bytes is over the {MAX_PAYLOAD_BYTES} byte limit"
            return None, self._reject(device, "too_large", payload, detail)
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            return None, self._reject(device, "not_utf8", payload, "payload is not UTF-8")
        try:
            return fmt.parse(device.kind, topic, payload), None
        except ProtocolError as exc:
            return None, self._reject(device, "unreadable", payload, str(exc) or "unreadable payload")
        except Exception as exc:
            # A bug in a vendor format: keep the message as a dead letter rather than lose it.
            self._unexpected(exc, f"parsing a {device.protocol} payload of {device.id}")
            return None, self._reject(device, "format_error", payload, f"format error: {type(exc).__name__}")

    def _reject(self, device: Device, reason: str, payload: bytes, detail: str) -> Rejection:
        """Count a refused payload, log the first one per device, and describe it for the dead letter."""
        with self._lock:
            self._rejected[device.id][reason] += 1
            first = device.id not in self._logged
            self._logged.add(device.id)
        if first:
            # Ids and the reason class only: the detail (and the raw payload) go upstream, not to the log.
            log.warning("device %s sent a payload the edge cannot read (%s); further ones are only counted",
                        device.id, reason)
        # Cut again after truncate_raw: escaping bytes that are not UTF-8 makes the text longer.
        return Rejection(reason=detail[:REASON_LIMIT], raw=truncate_raw(payload)[:RAW_KEEP_CHARS])

    def _forward(self, device: Device, reading: Reading | None, rejection: Rejection | None) -> None:
        """Queue the envelope in the outbox with the device's next seq."""
        if reading is None and rejection is None:
            self._count("ignored")
            return
        at = self._clock()

        def render(seq: int) -> bytes:
            return to_json(Envelope(id=new_id(), site=self.site.id, device=device.id, kind=device.kind.value,
                                    at=at, seq=seq, data=reading, error=rejection))

        self._outbox.put(device.id, topics.observation(self.site.id, device.id), render)
        self._count("rejected" if rejection else "forwarded")

    def _unexpected(self, exc: Exception, doing: str) -> None:
        """Count a bug; log the first of each exception type, without its message (it may hold readings)."""
        name = type(exc).__name__
        with self._lock:
            self._counts["errors"] += 1
            first = name not in self._logged_errors
            self._logged_errors.add(name)
        if first:
            log.error("unexpected %s while %s; further ones are only counted", name, doing)
            log.debug("traceback of the %s", name, exc_info=exc)

    def _count(self, name: str) -> None:
        """Add one to a counter."""
        with self._lock:
            self._counts[name] += 1
