"""The carewatch envelope: one observation of one device, as the edge sends it upstream."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# Payloads above this are refused before parsing: no real observation is this big.
MAX_PAYLOAD_BYTES = 64 * 1024
# Rejected raw payloads are kept truncated so a flood of garbage cannot fill the disk.
RAW_KEEP_CHARS = 1024

Percent = Annotated[float, Field(ge=0, le=100)]
# A snapshot is a small JPEG (640x360 at quality ~70 is 20-35 kB), base64 inside the JSON envelope.
MAX_SNAPSHOT_CHARS = 48_000

CameraState = Literal["ok", "offline", "frozen", "covered", "blurred", "moved"]
CameraEvent = Literal["person_down", "night_activity", "no_activity"]


class CameraStats(BaseModel):
    """A camera's counters since the edge started, like a recorder's."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    fps_in: float = Field(ge=0, le=1000)
    fps_analysed: float = Field(ge=0, le=1000)
    skipped: int = Field(ge=0)
    decode_errors: int = Field(ge=0)
    reconnects: int = Field(ge=0)
    published: int = Field(ge=0)


class Reading(BaseModel):
    """Normalized observation data; a device reports only the fields of its kind.

    A field left out means "not in this message", not "off" or "unknown": a Shelly notification may
    carry only the power, and rules keep what they knew of the rest.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    occupied: bool | None = None  # bed mat or presence sensor
    movement: bool | None = None  # bed mat felt the resident move
    heart_rate_bpm: float | None = Field(default=None, ge=0, le=300)
    respiration_rpm: float | None = Field(default=None, ge=0, le=120)
    open: bool | None = None  # door contact
    leak: bool | None = None
    smoke: bool | None = None
    pressed: bool | None = None  # SOS button
    action: str | None = Field(default=None, max_length=64)
    on: bool | None = None  # plug relay
    power_w: float | None = Field(default=None, ge=0, le=100_000)
    voltage_v: float | None = Field(default=None, ge=0, le=1000)
    current_a: float | None = Field(default=None, ge=0, le=1000)
    energy_wh: float | None = Field(default=None, ge=0)
    temperature_c: float | None = Field(default=None, ge=-80, le=200)
    humidity_pct: Percent | None = None
    battery_pct: Percent | None = None
    # The device's own availability message (MQTT Last Will, or the bridge's verdict for it): False means the
    # vendor or bridge says the device is offline now, without waiting for its silence.
    online: bool | None = None
    # Cameras (kind camera): health on every change and every minute; events as they start and end.
    camera_state: CameraState | None = None
    stats: CameraStats | None = None
    event: CameraEvent | None = None
    zone: str | None = Field(default=None, min_length=1, max_length=64)
    active: bool | None = None  # the event started (True) or ended (False)
    snapshot: str | None = Field(default=None, max_length=MAX_SNAPSHOT_CHARS, pattern=r"^[A-Za-z0-9+/=]+$")

    def fields(self) -> dict[str, Any]:
        """The fields the device actually reported."""
        return self.model_dump(exclude_none=True)


class Rejection(BaseModel):
    """Why the edge could not read a device's payload, with the raw text truncated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str = Field(max_length=300)
    raw: str = Field(default="", max_length=RAW_KEEP_CHARS)


class Envelope(BaseModel):
    """One observation, as on `carewatch/v1/{site}/obs/{device}`; `id` makes ingest idempotent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1
    id: str = Field(min_length=8, max_length=64)
    site: str = Field(min_length=1, max_length=64)
    device: str = Field(min_length=1, max_length=64)
    kind: str = Field(min_length=1, max_length=32)
    at: AwareDatetime
    seq: int = Field(ge=0)
    data: Reading | None = None
    error: Rejection | None = None


def new_id() -> str:
    """A globally unique observation id."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def truncate_raw(payload: bytes) -> str:
    """Printable, bounded form of a payload that could not be read (bytes that are not UTF-8 as \\xNN)."""
    # Cut after escaping: one undecodable byte becomes four characters.
    return storable(payload[:RAW_KEEP_CHARS].decode("utf-8", errors="backslashreplace"))[:RAW_KEEP_CHARS]


def storable(text: str) -> str:
    """Text any database accepts: PostgreSQL refuses NUL characters in text."""
    return text.replace("\x00", "\\x00")


def to_json(envelope: Envelope) -> bytes:
    """Compact JSON of an envelope, without the fields nobody set."""
    return envelope.model_dump_json(exclude_none=True).encode()
