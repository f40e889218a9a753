"""What every channel sends and how it fails: the message, the delivery error, the channel contract."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

DEFAULT_TIMEOUT = 5.0  # seconds; a channel runs in a worker thread, and a stuck receiver must not hold it long
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Message:
    """One notification to one recipient, already worded in the recipient's language."""

    title: str
    text: str
    link: str  # the alert, or a one-tap acknowledge link
    severity: str
    alert_id: int
    recipient: str  # an e-mail address for e-mail, else a label
    idempotency_key: str  # the same on every retry of this notification, so a receiver can drop a duplicate

    def __post_init__(self) -> None:
        if not self.title.strip() or "\n" in self.title or "\r" in self.title:
            raise ValueError("a message title is one non-empty line")
        key = self.idempotency_key
        # Printable ASCII without quote or backslash: it travels in an HTTP header and a Message-ID as is.
        if not key or len(key) > 255 or any(not 0x20 <= ord(c) <= 0x7E or c in '"\\' for c in key):
            raise ValueError("an idempotency key is 1-255 printable ASCII characters, no quote or backslash")


class DeliveryError(Exception):
    """A message did not reach its channel; `retry` says whether sending it again later can help."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.retry = retry

    def __repr__(self) -> str:
        return f"DeliveryError({str(self)!r}, retry={self.retry})"


class Channel(Protocol):
    """A way to reach people: sends synchronously with a short timeout, raises DeliveryError on failure."""

    name: str

    def send(self, message: Message) -> None:
        """Deliver one message or raise DeliveryError."""
        ...
