"""The safety analytics of one camera: frames in, changes of person_down / night_activity / no_activity out.

Pure and deterministic: the caller gives each frame with its time; the night and activity-hours tests are
callables of that time, so the site's clock and time zone stay outside.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from edge.cameras.detect import BackgroundModel, Box, ForegroundDetector, Frame, PersonDetector
from edge.cameras.figure import FallJudge, Figure, FigureTracker
from edge.cameras.zones import ActivityJudge, Event, ViewZone, mask_image, masks_of, zones_at

__all__ = ["AnalyticsSettings", "CameraAnalytics", "Event"]


@dataclass(frozen=True)
class AnalyticsSettings:
    """A site's camera analytics settings, in seconds."""

    down_after_s: float = 20.0
    no_activity_after_s: float = 3 * 3600.0
    night_clear_s: float = 60.0
    analysis_width: int = 320  # MOG2 and differencing run on a picture this wide (cost grows with area)

    @classmethod
    def of_site(cls, cameras: Any) -> AnalyticsSettings:
        """From a site's `cameras:` settings (devices.cameras.CameraSettings: durations as timedeltas)."""
        return cls(down_after_s=cameras.person_down_after.total_seconds(),
                   no_activity_after_s=cameras.no_activity_after.total_seconds())


class CameraAnalytics:
    """Person down, night activity and no activity for one camera, from its frames."""

    def __init__(self, zones: Sequence[ViewZone], masks: Iterable[Any], settings: AnalyticsSettings | None = None,
                 is_night: Callable[[float], bool] = lambda t: False,
                 is_activity_hours: Callable[[float], bool] = lambda t: True,
                 detector: PersonDetector | None = None) -> None:
        self.settings = settings or AnalyticsSettings()
        self.zones = list(zones)
        self.masks = list(masks)  # for blur_privacy before a snapshot is encoded
        # Privacy areas are blurred in pictures and, as the facility file says, not analysed either.
        self._hidden = masks_of(self.masks, "ignore") + masks_of(self.masks, "privacy")
        self.detector: PersonDetector = detector or ForegroundDetector()
        self.background = BackgroundModel()
        self.tracker = FigureTracker()
        self.fall = FallJudge(self.zones, down_after_s=self.settings.down_after_s)
        self.activity = ActivityJudge(self.zones, is_night, is_activity_hours,
                                      no_activity_after_s=self.settings.no_activity_after_s,
                                      night_clear_s=self.settings.night_clear_s)
        self._size: tuple[int, int] | None = None
        self._small: tuple[int, int] = (0, 0)
        self._valid: np.ndarray | None = None  # 255 where analytics may look, at the analysis size

    @property
    def figure(self) -> Figure | None:
        """The tracked person in the last frame (its box frames the snapshot of a person_down)."""
        return self.tracker.figure

    def update(self, frame: Frame, t: float) -> list[Event]:
        """The events that started or ended with this frame."""
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError("a frame is a uint8 BGR array of shape (height, width, 3)")
        h, w = frame.shape[:2]
        if self._size != (w, h):
            self._resize((w, h))
        small = cv2.resize(frame, self._small, interpolation=cv2.INTER_AREA)
        foreground, relearn = self.background.apply(small, self._valid)
        boxes = [b for b in self.detector.detect(frame, foreground) if self._visible(b, w / self._small[0])]
        figure = self.tracker.update(boxes, small, w / self._small[0], t, relearn)
        events = self.fall.update(figure, (w, h), t)
        seen = {z.id for b in boxes + ([figure.box] if figure else []) for z in zones_at(self.zones, b, (w, h))}
        return events + self.activity.update(seen, t)

    def _resize(self, size: tuple[int, int]) -> None:
        """Masks for a new picture size (the first frame, or a camera whose resolution changed)."""
        w, h = size
        aw = min(w, self.settings.analysis_width)
        self._size, self._small = size, (aw, max(1, round(h * aw / w)))
        self._valid = None if not self._hidden else cv2.bitwise_not(mask_image(self._hidden, self._small))

    def _visible(self, box: Box, factor: float) -> bool:
        """Whether a box's centre lies outside the ignored and private areas."""
        if self._valid is None:
            return True
        cx, cy = box.centre
        x = min(self._small[0] - 1, max(0, int(cx / factor)))
        y = min(self._small[1] - 1, max(0, int(cy / factor)))
        return bool(self._valid[y, x])
