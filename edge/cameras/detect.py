"""Finding people in a camera frame: the pluggable `PersonDetector` and the built-in foreground detector.

A site can plug a stronger detector (a person model it ships itself) with the site's `cameras.detector`
setting, "package.module:factory": `load_detector` imports the module, calls the factory with no arguments
and checks that what it returns has `detect(frame, foreground) -> list[Box]`. Boxes are in the frame's
pixels; `foreground` is the background model's mask (uint8, 255 = moving), possibly smaller than the frame:
a detector that does not need it ignores it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

Frame = np.ndarray  # uint8 BGR (H, W, 3)
Bitmap = np.ndarray  # uint8 (H, W), 0 or 255


@dataclass(frozen=True)
class Box:
    """A person's box in frame pixels; `angle` is the figure's main axis in degrees from horizontal, if known."""

    x: int
    y: int
    w: int
    h: int
    score: float = 1.0
    angle: float | None = None

    @property
    def centre(self) -> tuple[float, float]:
        """The middle of the box."""
        return self.x + self.w / 2, self.y + self.h / 2

    @property
    def foot(self) -> tuple[float, float]:
        """The middle of the bottom edge: where a standing person touches the floor."""
        return self.x + self.w / 2, float(self.y + self.h)

    @property
    def aspect(self) -> float:
        """Height over width: > 1 upright, < 1 lying."""
        return self.h / max(self.w, 1)

    def scaled(self, factor: float) -> Box:
        """The same box in a picture `factor` times as large."""
        return Box(round(self.x * factor), round(self.y * factor), max(1, round(self.w * factor)),
                   max(1, round(self.h * factor)), self.score, self.angle)

    def overlap(self, other: Box) -> float:
        """Intersection over union."""
        ix = max(0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        return inter / float(self.w * self.h + other.w * other.h - inter or 1)


@runtime_checkable
class PersonDetector(Protocol):
    """Anything that finds people: boxes in the frame's pixels, best first."""

    def detect(self, frame: Frame, foreground: Bitmap) -> list[Box]: ...


def load_detector(path: str) -> PersonDetector:
    """The detector a site names as "package.module:factory" (the factory is called with no arguments)."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"detector {path!r} must look like 'package.module:factory'")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"detector {path!r} cannot be loaded: {exc}") from exc
    try:
        detector = factory()
    except Exception as exc:  # a site's own code: say which setting failed, whatever it raised
        raise ValueError(f"detector {path!r} failed to start: {exc!r}") from exc
    if not isinstance(detector, PersonDetector):
        raise ValueError(f"detector {path!r} made a {type(detector).__name__}, which has no detect(frame, foreground)")
    return detector


class BackgroundModel:
    """MOG2 on a downscaled frame: a foreground mask without shadows, re-learned after a global light change."""

    def __init__(self, *, global_change: float = 0.45, relearn_frames: int = 3) -> None:
        self.global_change = global_change  # this share of the picture changing at once is the light, not a person
        self.relearn_frames = relearn_frames
        self._mog: cv2.BackgroundSubtractorMOG2 = self._new()
        self._fresh = True  # MOG2 calls all of its first frame foreground: that is no light change
        self._settling = 0
        self.relearned = 0  # how many times the light changed (for stats and tests)

    @staticmethod
    def _new() -> cv2.BackgroundSubtractorMOG2:
        # A higher variance threshold than the default 16 keeps infrared noise and codec blocks out.
        return cv2.createBackgroundSubtractorMOG2(history=500, varThreshold=32, detectShadows=True)

    def apply(self, small: Frame, valid: Bitmap | None) -> tuple[Bitmap, bool]:
        """Foreground mask (255 = moving, shadows dropped) and whether the model is re-learning the scene."""
        raw = self._mog.apply(small)
        if valid is not None:
            raw = cv2.bitwise_and(raw, valid)
        # Shadows (127) count as change here: lights going off darken everything into "shadow".
        share = cv2.countNonZero(raw) / max(1, cv2.countNonZero(valid) if valid is not None else raw.size)
        if self._fresh:
            self._fresh = False
        elif share > self.global_change:
            # The lights switched (or the camera went to infrared): learn the new scene from this frame.
            self._mog = self._new()
            self._mog.apply(small, learningRate=1.0)
            self._settling = self.relearn_frames
            self.relearned += 1
        if self._settling:
            self._settling -= 1
            return np.zeros(raw.shape, np.uint8), True
        # MOG2 calls a darker pixel of the same colour a shadow; in a gray (infrared) picture every darker pixel
        # is "the same colour", so a person in dark clothes would be nothing but shadow: keep shadows there.
        level = 100 if _is_gray(small) else 200
        return cv2.threshold(raw, level, 255, cv2.THRESH_BINARY)[1], False


def _is_gray(small: Frame) -> bool:
    """Whether a BGR picture is gray (an infrared camera's): its colour channels hardly differ."""
    b, g, r = cv2.split(small)
    # A codec's chroma noise leaves a few levels between the channels of a gray picture; colour gives 40+.
    return float(cv2.mean(cv2.absdiff(b, g))[0]) + float(cv2.mean(cv2.absdiff(g, r))[0]) < 12.0


class ForegroundDetector:
    """Person-sized blobs of the foreground mask: morphology, contours, nearby pieces merged."""

    def __init__(self, *, min_height: float = 0.12, min_area: float = 0.004, max_area: float = 0.6) -> None:
        self.min_height = min_height  # fractions of the picture's height / area
        self.min_area = min_area
        self.max_area = max_area
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))

    def detect(self, frame: Frame, foreground: Bitmap) -> list[Box]:
        """Boxes of the person-sized blobs, largest first, in the frame's pixels."""
        fg = cv2.morphologyEx(foreground, cv2.MORPH_OPEN, self._open)
        fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, self._close)  # joins a body split by clothes like the wall
        contours, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        mh, mw = fg.shape
        pieces = [c for c in contours if cv2.contourArea(c) >= 0.0005 * mh * mw]
        boxes = []
        for group in _groups(pieces, gap=max(2, mw // 40)):
            points = np.concatenate(group)
            x, y, w, h = cv2.boundingRect(points)
            area = sum(cv2.contourArea(c) for c in group)
            if h < self.min_height * mh and w < self.min_height * mh:
                continue
            if not self.min_area * mh * mw <= area <= self.max_area * mh * mw:
                continue
            score = min(1.0, area / (w * h) + 0.25)
            boxes.append((area, Box(x, y, w, h, score, _angle(fg[y:y + h, x:x + w]))))
        factor = frame.shape[1] / mw
        return [b.scaled(factor) for _, b in sorted(boxes, key=lambda ab: -ab[0])]


def _groups(contours: list[np.ndarray], gap: int) -> list[list[np.ndarray]]:
    """Contours whose boxes touch (within `gap` pixels) put together: legs, torso and head of one person."""
    rects = [cv2.boundingRect(c) for c in contours]
    owner = list(range(len(rects)))

    def root(i: int) -> int:
        while owner[i] != i:
            i = owner[i]
        return i

    for i, (ax, ay, aw, ah) in enumerate(rects):
        for j in range(i):
            bx, by, bw, bh = rects[j]
            if ax - gap < bx + bw and bx - gap < ax + aw and ay - gap < by + bh and by - gap < ay + ah:
                owner[root(i)] = root(j)
    groups: dict[int, list[np.ndarray]] = {}
    for i, c in enumerate(contours):
        groups.setdefault(root(i), []).append(c)
    return list(groups.values())


def _angle(blob: Bitmap) -> float | None:
    """The blob's main axis in degrees from horizontal (0 lying, 90 upright), from its second moments."""
    m = cv2.moments(blob, binaryImage=True)
    if m["m00"] < 5:
        return None
    mu20, mu02, mu11 = m["mu20"] / m["m00"], m["mu02"] / m["m00"], m["mu11"] / m["m00"]
    return float(abs(0.5 * np.degrees(np.arctan2(2 * mu11, mu20 - mu02))))  # main axis, folded to 0..90
