"""The main person in a camera's picture: tracked across frames, and judged fallen and still on the floor.

MOG2 forgets a motionless person within seconds, so the tracker keeps the last box and asks two cheaper
questions of it: does the box still differ from the empty room (a reference that does not learn under the
figure) and how much moved inside it since the last frame (frame differencing).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from edge.cameras.detect import Box
from edge.cameras.zones import Event, ViewZone, zones_at


@dataclass(frozen=True)
class Figure:
    """The tracked person in one frame."""

    box: Box  # frame pixels
    held: bool  # the detector did not see it this frame: the box is the last one kept
    motion: float  # share of the box's pixels that changed since the last frame
    present: float  # share of the box's pixels that differ from the empty room


class FigureTracker:
    """One figure across frames, kept while it lies still and MOG2 has absorbed it into the background."""

    def __init__(self, *, lost_after_s: float = 2.0, present_min: float = 0.12, diff_level: int = 20,
                 ref_rate: float = 0.02, big_motion: float = 0.15, confirm_frames: int = 3) -> None:
        self.lost_after_s = lost_after_s
        # A new figure must be detected on this many frames in a row: a codec's new key frame sharpens a
        # detailed corner for a frame or two, which MOG2 reports as a person-sized change.
        self.confirm_frames = confirm_frames
        self._candidate: tuple[Box, int] | None = None  # a detection not yet confirmed, and on how many frames
        self.big_motion = big_motion  # less of the box moving than this: the figure kept its posture
        self.present_min = present_min
        self.diff_level = diff_level  # levels of any colour channel: above codec noise and infrared grain
        self.ref_rate = ref_rate  # the empty-room reference follows slow light changes (~10 s at 5 fps)
        self.figure: Figure | None = None
        self._prev: np.ndarray | None = None
        self._ref: np.ndarray | None = None
        self._ref_trusted = True  # False after a global light change while a figure was in view
        self._absent_since: float | None = None

    def update(self, boxes: Sequence[Box], small: np.ndarray, factor: float, t: float, relearn: bool) -> Figure | None:
        """The figure in this frame; `small` is the downscaled frame, `factor` frame pixels per small pixel."""
        if self._ref is None or self._prev is None or self._prev.shape != small.shape or relearn:
            self._restart(small)
        assert self._prev is not None and self._ref is not None
        moved = _differs(small, self._prev, self.diff_level)
        changed = _differs(small, cv2.convertScaleAbs(self._ref), self.diff_level)
        self._prev = small
        self.figure = self._follow(boxes, moved, changed, factor, t)
        self._learn(small, factor)
        return self.figure

    def _restart(self, small: np.ndarray) -> None:
        """A new empty-room reference (first frame, new size, or the lights changed)."""
        self._ref_trusted = self.figure is None  # a figure in view is now part of the reference
        self._ref = small.astype(np.float32)
        self._prev = small

    def _follow(self, boxes: Sequence[Box], moved: np.ndarray, changed: np.ndarray, factor: float,
                t: float) -> Figure | None:
        """Match a detection to the figure, or keep the figure's last box while it is still there."""
        old = self.figure
        if old is None:
            return self._acquire(boxes, moved, changed, factor)
        match = _closest(old.box, boxes)
        if match is None and boxes and old.present < self.present_min:
            match = boxes[0]  # the old box is empty and someone is elsewhere: follow them
        if match is not None:
            motion = _share(moved, match, factor)
            if _absorbed(old.box, match) and motion < self.big_motion:
                match = old.box  # MOG2 eating a still figure away leaves fragments: keep the whole box
            self._absent_since = None
            return Figure(match, False, motion, _share(changed, match, factor))
        present = _share(changed, old.box, factor) if self._ref_trusted else 1.0
        if present >= self.present_min:
            self._absent_since = None
        elif self._absent_since is None:
            self._absent_since = t
        elif t - self._absent_since >= self.lost_after_s:
            self._absent_since = None
            return None  # the box looks like the empty room again: the person has left
        return Figure(old.box, True, _share(moved, old.box, factor), present)

    def _acquire(self, boxes: Sequence[Box], moved: np.ndarray, changed: np.ndarray,
                 factor: float) -> Figure | None:
        """A figure once the same detection has lasted `confirm_frames` frames; None until then."""
        previous = self._candidate
        match = (_closest(previous[0], boxes) if previous else None) or (boxes[0] if boxes else None)
        if match is None:
            self._candidate = None
            return None
        frames = previous[1] + 1 if previous and _closest(previous[0], [match]) else 1
        self._candidate = (match, frames)
        if frames < self.confirm_frames:
            return None
        self._candidate, self._absent_since = None, None
        return Figure(match, False, _share(moved, match, factor), _share(changed, match, factor))

    def _learn(self, small: np.ndarray, factor: float) -> None:
        """Let the reference follow the room everywhere except under (and around) the figure."""
        assert self._ref is not None
        mask = np.full(small.shape[:2], 255, np.uint8)
        if self.figure is not None:
            b = self.figure.box.scaled(1 / factor)
            pad = max(b.w, b.h) // 4
            mask[max(0, b.y - pad):b.y + b.h + pad, max(0, b.x - pad):b.x + b.w + pad] = 0
        else:
            self._ref_trusted = True
        cv2.accumulateWeighted(small, self._ref, self.ref_rate, mask)


def _differs(a: np.ndarray, b: np.ndarray, level: int) -> np.ndarray:
    """Pixels where any colour channel differs by more than `level` (clothes as gray as the floor still count)."""
    diff = cv2.absdiff(a, b)
    if diff.ndim == 3:
        c0, c1, c2 = cv2.split(diff)
        diff = cv2.max(cv2.max(c0, c1), c2)
    return diff > level


def _closest(box: Box, boxes: Sequence[Box]) -> Box | None:
    """The detection that continues `box`: overlapping it, or the nearest within about a body's length."""
    best, best_cost = None, float("inf")
    reach = 0.75 * max(box.w, box.h)
    for b in boxes:
        dist = float(np.hypot(b.centre[0] - box.centre[0], b.centre[1] - box.centre[1]))
        if box.overlap(b) > 0.05 or dist < reach:
            cost = dist - reach * box.overlap(b)
            if cost < best_cost:
                best, best_cost = b, cost
    return best


def _absorbed(old: Box, new: Box) -> bool:
    """Whether `new` is a piece of `old`: mostly inside it and no larger (MOG2 eats a still body from its edges)."""
    ix = max(0, min(old.x + old.w, new.x + new.w) - max(old.x, new.x))
    iy = max(0, min(old.y + old.h, new.y + new.h) - max(old.y, new.y))
    return ix * iy >= 0.8 * new.w * new.h and new.w * new.h <= 1.05 * old.w * old.h


def _share(flags: np.ndarray, box: Box, factor: float) -> float:
    """Share of True pixels of a downscaled boolean map inside a frame-pixel box."""
    b = box.scaled(1 / factor)
    part = flags[max(0, b.y):b.y + b.h, max(0, b.x):b.x + b.w]
    return float(part.mean()) if part.size else 0.0


class FallJudge:
    """Upright, then lying on a floor zone after a drop, then still for `down_after_s`: `person_down`."""

    def __init__(self, zones: Sequence[ViewZone], *, down_after_s: float = 20.0, window_s: float = 2.5,
                 drop: float = 0.25, lying: float = 0.8, upright: float = 1.5, big_motion: float = 0.15) -> None:
        self.zones = list(zones)
        self.down_after_s = down_after_s
        self.window_s = window_s  # the fall itself: upright to lying within this time
        self.drop = drop  # the centre falls by this share of the upright body's height
        self.lying = lying  # height/width at most this: lying
        self.upright = upright  # height/width at least this: upright
        self.big_motion = big_motion  # more of the box than this moving: not lying still (breathing is less)
        self._history: deque[tuple[float, Box]] = deque()
        self._landed: float | None = None
        self._still_since = 0.0
        self._zone: str | None = None
        self._risen = 0
        self.active = False

    def update(self, figure: Figure | None, size: tuple[int, int], t: float) -> list[Event]:
        """The person_down change this frame, if any; `size` is the frame's (width, height)."""
        if figure is None:
            self._history.clear()
            return self._reset()
        box = figure.box
        self._history.append((t, box))
        while self._history[0][0] < t - self.window_s:
            self._history.popleft()
        if self._landed is None:
            self._check_fall(box, size, t)
            return []
        self._risen = self._risen + 1 if box.aspect >= self.upright else 0
        if self._risen >= 2:
            return self._reset()
        if figure.motion >= self.big_motion:
            self._still_since = t
        if not self.active and t - self._still_since >= self.down_after_s:
            self.active = True
            return [Event("person_down", self._zone, True, box)]
        return []

    def _check_fall(self, box: Box, size: tuple[int, int], t: float) -> None:
        """Landing: lying on the floor now, upright and clearly higher a moment ago."""
        if box.aspect > self.lying or (box.angle is not None and box.angle > 45):
            return
        on_floor, zone = self._floor(box, size)
        if not on_floor:
            return
        for _, before in self._history:
            if before.aspect >= self.upright and box.centre[1] - before.centre[1] >= self.drop * before.h:
                self._landed = self._still_since = t
                self._zone = zone
                return

    def _floor(self, box: Box, size: tuple[int, int]) -> tuple[bool, str | None]:
        """Whether the box lies on the floor (never in a bed), and the floor zone's id."""
        at = zones_at(self.zones, box, size)
        if not any(z.type in ("floor", "bed") for z in self.zones):
            # No floor placed in the view (a corridor or day-room camera): its whole picture is floor.
            return True, at[0].id if at else None
        if any(z.type == "bed" and (z in at or z.contains(*box.centre, size)) for z in self.zones):
            return False, None
        floors = [z.id for z in at if z.type == "floor"]
        return bool(floors), floors[0] if floors else None

    def _reset(self) -> list[Event]:
        """The figure rose or left: forget the fall, end the event if it was on."""
        was, zone = self.active, self._zone
        self._landed, self._zone, self._risen, self.active = None, None, 0, False
        return [Event("person_down", zone, False)] if was else []
