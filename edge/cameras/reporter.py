"""A camera's envelopes into the edge outbox: its state on change and every minute, events with a snapshot.

Envelopes are made exactly like the intake makes a device's (same `Envelope`, topic and per-device seq from
the outbox), with kind `camera`. Pictures leave the edge only as one JPEG per started event, privacy masks
blurred before the encoder ever sees the frame; never as video.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import cv2
import numpy as np

from devices import topics
from devices.kinds import DeviceKind
from devices.messages import MAX_SNAPSHOT_CHARS, CameraState, CameraStats, Envelope, Reading, new_id, to_json
from edge.cameras.detect import Box
from edge.cameras.zones import Event, blur_privacy
from edge.outbox import Outbox

log = logging.getLogger(__name__)

# Tried in order until the base64 text fits: the quality drops first, then the picture shrinks.
QUALITIES = (75, 60, 45, 30)
WIDTHS = (640, 480, 320, 240, 160)
BOX_COLOUR = (0, 0, 255)  # BGR red


def snapshot(frame: np.ndarray, masks: Iterable[Any], box: Box | None = None, *,
             limit: int = MAX_SNAPSHOT_CHARS) -> str:
    """Base64 JPEG of the frame, privacy masks blurred first, the box drawn, under `limit` characters."""
    picture = blur_privacy(frame, list(masks))  # before anything is encoded, and before the box is drawn
    h, w = picture.shape[:2]
    for width in (x for x in WIDTHS if x <= max(w, WIDTHS[-1])):
        scale = min(1.0, width / w)
        small = picture if scale == 1.0 else cv2.resize(picture, (width, max(1, round(h * scale))),
                                                         interpolation=cv2.INTER_AREA)
        if box is not None:
            small = small.copy() if small is picture else small
            b = box.scaled(scale)
            cv2.rectangle(small, (b.x, b.y), (b.x + b.w, b.y + b.h), BOX_COLOUR, max(1, round(2 * scale)))
        for quality in QUALITIES:
            ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
            text = base64.b64encode(jpeg.tobytes()).decode("ascii") if ok else ""
            if ok and len(text) <= limit:
                return text
    raise ValueError(f"no JPEG of a {w}x{h} frame fits in {limit} characters")


class CameraReporter:
    """Puts one camera's envelopes in the outbox; `published` counts them."""

    def __init__(self, site: str, camera: str, outbox: Outbox, *, masks: Iterable[Any] = (),
                 state_every_s: float = 60.0) -> None:
        self.site, self.camera, self._outbox = site, camera, outbox
        self.masks, self.state_every_s = list(masks), state_every_s
        self.topic = topics.observation(site, camera)
        self.published = 0
        self.last_state: CameraState | None = None
        self._last_sent: float | None = None

    def due(self, state: CameraState, t: float) -> bool:
        """Whether `state` is to be sent at monotonic time t: it changed, or the last one is a minute old."""
        return state != self.last_state or self._last_sent is None or t - self._last_sent >= self.state_every_s

    def state(self, state: CameraState, stats: CameraStats, t: float, at: datetime) -> None:
        """Send the camera's state with its counters."""
        self._put(Reading(camera_state=state, stats=stats), at)
        self.last_state, self._last_sent = state, t

    def event(self, event: Event, frame: np.ndarray, at: datetime) -> None:
        """Send an event's start (with a snapshot) or end."""
        picture = None
        if event.active:
            try:
                picture = snapshot(frame, self.masks, event.box)
            except Exception as exc:
                # The alert matters more than its picture: send the event without one.
                log.error("camera %s: no snapshot for %s (%s)", self.camera, event.kind, type(exc).__name__)
        self._put(Reading(event=event.kind, zone=event.zone, active=event.active, snapshot=picture), at)

    def _put(self, reading: Reading, at: datetime) -> None:
        """Queue one envelope with the camera's next seq."""

        def render(seq: int) -> bytes:
            return to_json(Envelope(id=new_id(), site=self.site, device=self.camera, kind=DeviceKind.CAMERA.value,
                                    at=at, seq=seq, data=reading))

        self._outbox.put(self.camera, self.topic, render)
        self.published += 1
