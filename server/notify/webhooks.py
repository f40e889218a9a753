"""The generic webhook: signed JSON for a facility's own systems, and the check their receiver makes."""

import hashlib
import hmac
import re
from datetime import UTC, datetime

from server.notify.message import DEFAULT_TIMEOUT, Clock, Message, utc_now
from server.notify.transport import checked_url, dumps, host_of, post_json

TIMESTAMP_HEADER = "X-Carewatch-Timestamp"
SIGNATURE_HEADER = "X-Carewatch-Signature"
_UNIX_SECONDS = re.compile(r"\d{1,12}", re.ASCII)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of `<timestamp>.<raw body>`."""
    # The timestamp is inside the MAC so that a captured request cannot be replayed later with a new one.
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str | int, body: bytes, signature: str, now: datetime | float,
                     tolerance: float = 300) -> bool:
    """True if `signature` is `secret`'s signature of `body` at `timestamp`, and that is within `tolerance` s of
    `now` (a datetime, or unix seconds)."""
    stamp = str(timestamp)
    if not _UNIX_SECONDS.fullmatch(stamp):
        return False
    now_s = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(now_s - int(stamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, stamp, body).encode(), signature.encode())


def rfc3339(at: datetime) -> str:
    """A timezone-aware time as RFC 3339 UTC with a Z, to the second."""
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class WebhookChannel:
    """POSTs each message as signed JSON to a URL of the facility's choosing."""

    def __init__(self, url: str, secret: str, timeout: float = DEFAULT_TIMEOUT, *, name: str = "webhook",
                 clock: Clock = utc_now) -> None:
        self.url = checked_url(url, name)
        if not secret:
            raise ValueError(f"{name}: a webhook needs a secret to sign with")
        self.name, self._secret, self.timeout, self._clock = name, secret, timeout, clock

    def __repr__(self) -> str:
        return f"WebhookChannel({self.name!r}, host={host_of(self.url)!r})"

    def send(self, message: Message) -> None:
        """POST the message; a 2xx answer is delivery, anything else raises DeliveryError."""
        now = self._clock()
        body = dumps({
            "alert_id": message.alert_id, "title": message.title, "text": message.text, "link": message.link,
            "severity": message.severity, "idempotency_key": message.idempotency_key, "sent_at": rfc3339(now),
        })
        stamp = str(int(now.timestamp()))
        headers = {
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(self._secret, stamp, body),
            # A Structured Fields string, as draft-ietf-httpapi-idempotency-key-header specifies: in quotes.
            "Idempotency-Key": f'"{message.idempotency_key}"',
        }
        post_json(self.url, body, headers=headers, timeout=self.timeout, channel=self.name)
