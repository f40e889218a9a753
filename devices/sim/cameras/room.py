"""A seeded, textured room drawn once into a wide panorama that the camera crops (and pans across).

Public API:
    Room(seed=0, size=(640, 360))      the room; `room.view(lights, turned)` -> a fresh BGR crop (no figure, no noise)
    BED_AREA, FLOOR_AREA, CHAIR_X      fixed layout in normalised home-view coordinates (x0, y0, x1, y1) / x
    PAN_DEG_MAX, LIGHTS                limits: |turned| <= 45 degrees; lights are "day" | "dim" | "infrared"

The layout (bed, floor, chair, window, door) is the same for every seed, so scripts and zone polygons can name
places; the seed changes colours, textures and the small details that give ORB corners and Laplacian sharpness.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from devices.sim.cameras.furniture import (
    Color,
    bed,
    cabinet,
    chair,
    door,
    jitter,
    picture,
    rug,
    shade,
    shelf,
    wardrobe,
    window,
)

LIGHTS = ("day", "dim", "infrared")
PAN_DEG_MAX = 45.0
HFOV_DEG = 90.0  # a typical wide care-room camera: 90 degrees across the home view
FLOOR_Y = 0.55  # wall meets floor here (normalised); everything below is floor
BED_AREA = (0.58, 0.38, 0.97, 0.66)  # the bed as seen from the home position, normalised (x0, y0, x1, y1)
FLOOR_AREA = (0.0, FLOOR_Y, 1.0, 1.0)
CHAIR_X = 0.47  # the chair someone sits on in `sit_down`



def light_image(img: np.ndarray, lights: str) -> np.ndarray:
    """Apply a light mode to a BGR image: dim is darker and warmer, infrared is low-contrast gray in 3 channels."""
    if lights == "day":
        return img
    if lights == "dim":
        out = cv2.convertScaleAbs(img, alpha=0.42, beta=6)
        out[:, :, 0] = cv2.convertScaleAbs(out[:, :, 0], alpha=0.85)  # tungsten light: less blue
        return out
    if lights == "infrared":
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        gray = cv2.convertScaleAbs(gray, alpha=0.55, beta=48)  # IR flattens colours: lower contrast
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    raise ValueError(f"lights must be one of {', '.join(LIGHTS)}, not {lights!r}")


def light_color(color: Color, lights: str) -> Color:
    """The colour a painted BGR colour takes under a light mode (so the figure matches the room)."""
    px = light_image(np.array([[color]], dtype=np.uint8), lights)
    return int(px[0, 0, 0]), int(px[0, 0, 1]), int(px[0, 0, 2])


class Room:
    """A seeded room; draws lazily and keeps one panorama per light mode (never shared between rooms)."""

    def __init__(self, seed: int = 0, size: tuple[int, int] = (640, 360)) -> None:
        self.seed = int(seed)
        self.size = (int(size[0]), int(size[1]))
        self.margin = self.size[0] // 2  # panorama = margin + home view + margin, enough for a 45 degree pan
        self._panoramas: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def px_per_degree(self) -> float:
        """Pixels the view shifts per degree of pan."""
        return self.size[0] / HFOV_DEG

    def pan_offset(self, turned: float) -> int:
        """Left edge of the view in the panorama for a pan of `turned` degrees (positive = turned right)."""
        turned = max(-PAN_DEG_MAX, min(PAN_DEG_MAX, float(turned)))
        return self.margin + round(turned * self.px_per_degree())

    def view(self, lights: str, turned: float = 0.0) -> np.ndarray:
        """A fresh copy of the room as the camera sees it (no figure, no noise)."""
        x0 = self.pan_offset(turned)
        return self.panorama(lights)[:, x0 : x0 + self.size[0]].copy()

    def panorama(self, lights: str) -> np.ndarray:
        """The whole drawn panorama under a light mode (cached; do not modify)."""
        with self._lock:
            if lights not in self._panoramas:
                base = self._panoramas.get("day")
                if base is None:
                    base = self._panoramas["day"] = _draw_room(self.seed, self.size, self.margin)
                self._panoramas[lights] = light_image(base, lights)
            return self._panoramas[lights]


def _draw_room(seed: int, size: tuple[int, int], margin: int) -> np.ndarray:
    """Draw the panorama: walls, floor, window, door, bed, chair, furniture and seeded clutter."""
    w, h = size
    pw = w + 2 * margin
    rng = np.random.default_rng(seed)
    img = np.empty((h, pw, 3), np.uint8)
    wall = jitter(rng, (200, 214, 222), 14)
    floor = jitter(rng, (120, 160, 190), 18)
    fy = int(FLOOR_Y * h)
    img[:fy] = wall
    img[fy:] = floor
    img[: int(0.05 * h)] = shade(wall, 0.8)
    _wallpaper(img, rng, fy, wall)
    _floorboards(img, rng, fy, floor, margin, w)
    cv2.rectangle(img, (0, fy - max(3, h // 60)), (pw, fy), shade(wall, 0.6), -1)  # skirting board

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        return int(margin + x0 * w), int(y0 * h), int(margin + x1 * w), int(y1 * h)

    window(img, rng, box(0.06, 0.12, 0.24, 0.40))
    window(img, rng, box(-0.42, 0.12, -0.22, 0.40))
    door(img, rng, box(0.30, 0.13, 0.42, fy / h))
    door(img, rng, box(1.20, 0.13, 1.33, fy / h))
    for x0 in (0.46, -0.12, 1.05):
        picture(img, rng, box(x0, 0.16, x0 + 0.07, 0.30))
    shelf(img, rng, box(0.44, 0.34, 0.56, 0.37))
    shelf(img, rng, box(1.36, 0.25, 1.47, 0.28))
    wardrobe(img, rng, box(-0.18, 0.10, -0.02, 0.62))
    bed(img, rng, box(*BED_AREA))
    cabinet(img, rng, box(0.53, 0.46, 0.575, 0.62))
    chair(img, rng, box(CHAIR_X - 0.055, 0.50, CHAIR_X - 0.035, 0.91), box(CHAIR_X - 0.06, 0.74, CHAIR_X + 0.05, 0.77))
    rug(img, rng, box(-0.35, 0.80, -0.05, 0.97))
    rug(img, rng, box(1.08, 0.78, 1.40, 0.96))
    texture = rng.normal(0.0, 3.0, (h // 2, pw // 2, 1)).astype(np.float32)
    texture = cv2.resize(texture, (pw, h), interpolation=cv2.INTER_LINEAR)[:, :, None]
    return np.clip(img.astype(np.float32) + texture, 0, 255).astype(np.uint8)  # plaster and wood are never flat


def _wallpaper(img: np.ndarray, rng: np.random.Generator, fy: int, wall: Color) -> None:
    """Faint stripes and flecks at irregular spacing: edges everywhere on the wall, but no repeating pattern
    (a regular one lets the codec's motion search flip between equally good matches, frame after frame)."""
    top = int(0.05 * img.shape[0])
    x = int(rng.integers(0, 20))
    while x < img.shape[1]:
        cv2.line(img, (x, top), (x, fy), shade(wall, float(rng.uniform(0.9, 0.96))), int(rng.integers(1, 3)))
        x += int(rng.integers(14, 40))
    for _ in range(img.shape[1] * (fy - top) // 900):
        p = (int(rng.integers(0, img.shape[1])), int(rng.integers(top + 4, fy - 4)))
        cv2.circle(img, p, int(rng.integers(1, 3)), shade(wall, float(rng.uniform(0.82, 0.92))), -1)


def _floorboards(img: np.ndarray, rng: np.random.Generator, fy: int, floor: Color, margin: int, w: int) -> None:
    """Boards in perspective toward a vanishing point above the room's centre, with staggered joints."""
    h, pw = img.shape[:2]
    vx, vy = margin + w // 2, int(-0.6 * h)
    for i in range(-40, 41):
        xb = vx + i * w // 14
        xt = vx + (xb - vx) * (fy - vy) / (h - vy)
        cv2.line(img, (int(xt), fy), (xb, h), shade(floor, 0.78), 1, cv2.LINE_AA)
    y = fy
    k = 0
    while y < h:
        k += 1
        gap = max(6, int((y - vy) * 0.09))
        cv2.line(img, (0, y), (pw, y), shade(floor, 0.85), 1)
        for x in range(int(rng.integers(0, 80)), pw, int(rng.integers(70, 130))):
            cv2.line(img, (x, y), (x, min(h, y + gap)), shade(floor, 0.72), 1)
        y += gap
