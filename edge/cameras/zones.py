"""Where things are in a camera's picture: zones, masks, the privacy blur, and the zone activity events.

Polygons are normalised (x, y) points, fractions of the picture's width and height, as in the facility file's
`view` and `masks`; they become pixel masks once the picture's size is known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from edge.cameras.detect import Bitmap, Box, Frame

Polygon = Sequence[Sequence[float]]
NIGHT_TYPES = frozenset({"exit", "kitchen", "passage"})  # where someone up at night is worth a look
QUIET_TYPES = frozenset({"day_room"})  # where nobody for hours during the day is worth a look


@dataclass(frozen=True)
class ViewZone:
    """A zone of the facility as one camera sees it."""

    id: str
    type: str  # a devices.kinds.ZoneType value: floor, bed, exit, kitchen, day_room, outdoor, passage
    polygon: tuple[tuple[float, float], ...]

    def contains(self, x: float, y: float, size: tuple[int, int]) -> bool:
        """Whether the pixel point (x, y) of a picture of `size` (width, height) lies in the zone."""
        w, h = size
        return _inside(self.polygon, x / w, y / h)


@dataclass(frozen=True)
class Event:
    """A change of one analytics event: `active` True when it starts, False when it ends."""

    kind: str  # person_down | night_activity | no_activity
    zone: str | None
    active: bool
    box: Box | None = None


def view_zones(view: Mapping[str, Polygon], types: Mapping[str, Any]) -> list[ViewZone]:
    """The zones of a camera's `view` with their types (zone id -> ZoneType, from the facility's rooms)."""
    missing = sorted(set(view) - set(types))
    if missing:
        raise ValueError(f"the view places zones with no known type: {missing}")
    return [ViewZone(zid, str(types[zid]), _points(poly)) for zid, poly in view.items()]


def mask_image(polygons: Iterable[Polygon], size: tuple[int, int]) -> Bitmap:
    """A uint8 mask (255 inside any polygon) for a picture of `size` (width, height)."""
    w, h = size
    out = np.zeros((h, w), np.uint8)
    for poly in polygons:
        pts = np.array([[round(x * w), round(y * h)] for x, y in _points(poly)], np.int32)
        cv2.fillPoly(out, [pts], 255)
    return out


def masks_of(masks: Iterable[Any], kind: str) -> list[Polygon]:
    """The polygons of the masks of one kind (`privacy` or `ignore`); masks have `.kind` and `.polygon`."""
    return [m.polygon for m in masks if str(m.kind) == kind]


def blur_privacy(frame: Frame, masks: Iterable[Any]) -> Frame:
    """A copy of the frame with its privacy masks blurred beyond recognition; nothing else changes."""
    polygons = masks_of(masks, "privacy")
    if not polygons:
        return frame.copy()
    h, w = frame.shape[:2]
    inside = mask_image(polygons, (w, h))
    x, y, bw, bh = cv2.boundingRect(inside)
    region = frame[y:y + bh, x:x + bw]
    # Pixelate to blocks of ~1/40 of the picture, then smooth the blocks: faces and text are gone.
    block = max(4, min(w, h) // 40)
    tiny = cv2.resize(region, (max(1, bw // block), max(1, bh // block)), interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(cv2.resize(tiny, (bw, bh), interpolation=cv2.INTER_LINEAR), (0, 0), block)
    out = frame.copy()
    sub = out[y:y + bh, x:x + bw]
    keep = inside[y:y + bh, x:x + bw] > 0
    sub[keep] = blurred[keep]
    return out


@dataclass
class _ZoneState:
    """What an ActivityJudge remembers about one zone."""

    active: bool = False
    streak: int = 0  # consecutive sightings (night activity is confirmed over a few frames)
    last_seen: float | None = None
    quiet_since: float | None = None


@dataclass
class ActivityJudge:
    """`night_activity` in exit/kitchen/passage zones at night, `no_activity` in day rooms for hours by day."""

    zones: Sequence[ViewZone]
    is_night: Callable[[float], bool]
    is_activity_hours: Callable[[float], bool]
    no_activity_after_s: float = 3 * 3600.0
    confirm_frames: int = 3  # consecutive frames (0.6 s at 5 fps): a codec's key frame can fake two
    night_clear_s: float = 60.0  # nobody seen this long: the night activity is over
    _state: dict[str, _ZoneState] = field(default_factory=dict)

    def update(self, seen: set[str], t: float) -> list[Event]:
        """Events that start or end now, given the zone ids where a person is seen in this frame."""
        events = []
        for zone in self.zones:
            state = self._state.setdefault(zone.id, _ZoneState(quiet_since=t))
            if zone.type in NIGHT_TYPES:
                change = self._night(state, zone.id in seen, t)
            elif zone.type in QUIET_TYPES:
                change = self._quiet(state, zone.id in seen, t)
            else:
                continue
            if change is not None:
                events.append(Event(change[0], zone.id, change[1]))
        return events

    def _night(self, state: _ZoneState, seen: bool, t: float) -> tuple[str, bool] | None:
        """Someone seen on a few frames in a row at night starts it; nobody for `night_clear_s` ends it."""
        if seen and self.is_night(t):
            state.streak += 1
            state.last_seen = t
            if not state.active and state.streak >= self.confirm_frames:
                state.active = True
                return "night_activity", True
            return None
        state.streak = 0  # a sighting must hold over consecutive frames: one odd frame is not someone up
        if state.active and state.last_seen is not None and t - state.last_seen >= self.night_clear_s:
            state.active = False
            return "night_activity", False
        return None

    def _quiet(self, state: _ZoneState, seen: bool, t: float) -> tuple[str, bool] | None:
        """Nobody seen for `no_activity_after_s` within the activity hours starts it; anyone seen ends it."""
        hours = self.is_activity_hours(t)
        if seen or not hours:
            state.quiet_since = t  # quiet time only counts inside the activity hours
            if state.active:
                state.active = False
                return "no_activity", False
            return None
        assert state.quiet_since is not None
        if not state.active and t - state.quiet_since >= self.no_activity_after_s:
            state.active = True
            return "no_activity", True
        return None


def zones_at(zones: Iterable[ViewZone], box: Box, size: tuple[int, int]) -> list[ViewZone]:
    """The zones where a person's box stands: its foot point or, failing that, its centre."""
    fx, fy = box.foot
    fy = min(fy, size[1] - 1)  # a box touching the bottom edge has its foot one pixel outside
    hits = [z for z in zones if z.contains(fx, fy, size)]
    if hits:
        return hits
    cx, cy = box.centre
    return [z for z in zones if z.contains(cx, cy, size)]


def _points(poly: Polygon) -> tuple[tuple[float, float], ...]:
    """A polygon as a tuple of (x, y) floats, checked to be normalised."""
    pts = tuple((float(p[0]), float(p[1])) for p in poly)
    if len(pts) < 3 or not all(0.0 <= v <= 1.0 for p in pts for v in p):
        raise ValueError(f"a polygon needs 3+ points with x and y between 0 and 1, got {list(poly)}")
    return pts


def _inside(poly: Sequence[tuple[float, float]], x: float, y: float) -> bool:
    """Point in polygon by ray casting (normalised coordinates)."""
    hit = False
    j = len(poly) - 1
    for i, (xi, yi) in enumerate(poly):
        xj, yj = poly[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            hit = not hit
        j = i
    return hit
