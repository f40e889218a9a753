"""Rendered camera scenes with ground truth: a room, a figure and the camera's conditions at time t.

Public API (frames are uint8 BGR, shape (H, W, 3); boxes are (x, y, w, h) pixels in the frame):
    Room(seed=0, size=(640, 360))                 seeded textured room (see room.py); `room.size` is (W, H)
    Figure(pose="absent", x=0.5, facing=1, progress=1.0)   the person (see body.py); POSES lists the poses
    Conditions(lights="day", covered=False, defocus=0.0, turned=0.0, noise=0.3, frozen=False, dropped=False)
    render(room, figure, conditions, t) -> frame  deterministic for (room.seed, figure, conditions, t)
    truth_box(room, figure, conditions, t) -> box | None   where the figure is drawn (None: absent/out of view/covered)
    BED_AREA, FLOOR_AREA, CHAIR_X, LIGHTS, PAN_DEG_MAX, FALL_S, GETUP_S, SIT_S

Conditions: `lights` day | dim | infrared (infrared = gray in 3 equal channels, lower contrast, more noise);
`covered` = something over the lens (near black, faint glow, noise); `defocus` = Gaussian blur sigma in pixels
(0 = sharp); `turned` = pan in degrees from the home position (the view shifts, |turned| <= 45); `noise` = sensor
noise standard deviation in gray levels (small: 0.3 keeps a still scene changing by a few levels on ~10% of the
pixels, which an inter-frame codec mostly flattens); `frozen` / `dropped` are stream faults applied by
`stream.SimCamera` (render ignores them).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from functools import lru_cache
from statistics import NormalDist
from typing import Any

import cv2
import numpy as np

from devices.sim.cameras.body import FALL_S, GETUP_S, POSES, SIT_S, Box, Figure, draw_figure, figure_box
from devices.sim.cameras.room import BED_AREA, CHAIR_X, FLOOR_AREA, LIGHTS, PAN_DEG_MAX, Room

__all__ = ["BED_AREA", "CHAIR_X", "FALL_S", "FLOOR_AREA", "GETUP_S", "LIGHTS", "PAN_DEG_MAX", "POSES", "SIT_S", "Box",
           "Conditions", "Figure", "Room", "render", "truth_box"]

EXTRA_NOISE = {"day": 0.0, "dim": 0.15, "infrared": 0.5}  # higher sensor gain in the dark


@dataclass(frozen=True)
class Conditions:
    """What the camera suffers: lights, a covered lens, defocus, a pan, sensor noise, stream faults."""

    lights: str = "day"
    covered: bool = False
    defocus: float = 0.0
    turned: float = 0.0
    noise: float = 0.3
    frozen: bool = False
    dropped: bool = False

    def __post_init__(self) -> None:
        if self.lights not in LIGHTS:
            raise ValueError(f"lights must be one of {', '.join(LIGHTS)}, not {self.lights!r}")
        for name in ("covered", "frozen", "dropped"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, not {getattr(self, name)!r}")
        _check_number("defocus", self.defocus, 0.0, 30.0)
        _check_number("turned", self.turned, -PAN_DEG_MAX, PAN_DEG_MAX)
        _check_number("noise", self.noise, 0.0, 30.0)

    def but(self, **changes: Any) -> Conditions:
        """A copy with some fields changed (validated)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able fields."""
        return asdict(self)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The names a condition change may use."""
        return tuple(f.name for f in fields(cls))


def _check_number(name: str, value: Any, lo: float, hi: float) -> None:
    """Refuse a non-number or an out-of-range number with a message that names the field."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number, not {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo:g} and {hi:g}, not {value:g}")


def render(room: Room, figure: Figure, conditions: Conditions, t: float) -> np.ndarray:
    """The frame the camera's sensor produces at time t (before any codec)."""
    if conditions.covered:
        frame = _covered(room.seed, room.size, conditions.lights).copy()
    else:
        offset = room.pan_offset(conditions.turned) - room.margin
        frame = room.view(conditions.lights, conditions.turned)
        draw_figure(frame, figure, t, offset, conditions.lights)
        if conditions.defocus > 0:
            kernel = _blur_kernel(round(conditions.defocus, 2))
            frame = cv2.sepFilter2D(frame, -1, kernel, kernel, borderType=cv2.BORDER_REFLECT)
    sigma = conditions.noise + EXTRA_NOISE[conditions.lights] + (0.6 if conditions.covered else 0.0)
    _add_noise(frame, sigma, room.seed + _frame_key(t), gray=conditions.lights == "infrared")
    return frame


def truth_box(room: Room, figure: Figure, conditions: Conditions, t: float) -> Box | None:
    """Where `render` draws the figure: (x, y, w, h) in frame pixels, or None when nothing of it is visible."""
    if conditions.covered:
        return None
    return figure_box(figure, t, room.size, room.pan_offset(conditions.turned) - room.margin)


def _frame_key(t: float) -> int:
    """A stable integer for a time (ms), so the noise of a frame depends only on the seed and t."""
    return max(0, round(t * 1000))


@lru_cache(maxsize=16)  # pure in its arguments; callers copy before adding noise
def _covered(seed: int, size: tuple[int, int], lights: str) -> np.ndarray:
    """A hand or tape over the lens: near black, with faint light leaking in at one edge."""
    w, h = size
    rng = np.random.default_rng([seed, 7])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = float(rng.uniform(0, w)), float(rng.choice([0.0, h]))
    glow = 14.0 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (0.3 * w) ** 2)) + 5.0
    tint = np.array([0.8, 0.95, 1.2] if lights != "infrared" else [1.0, 1.0, 1.0], np.float32)
    return np.clip(glow[:, :, None] * tint, 0, 255).astype(np.uint8)


@lru_cache(maxsize=32)  # a pure function of sigma: memoising it shares no state
def _luts_for(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Lookup tables turning uniform random bytes into the positive and negative parts of Gaussian noise."""
    dist = NormalDist(0.0, sigma)
    values = np.array([round(dist.inv_cdf((b + 0.5) / 256)) for b in range(256)], np.int16)
    return np.clip(values, 0, 255).astype(np.uint8), np.clip(-values, 0, 255).astype(np.uint8)


NOISE_BANK = 13  # prime: frame times 40, 50, 100, 200, 500 ms ... apart never pick the same plane twice in a row


@lru_cache(maxsize=4)  # pure in `size`: seeded planes of random bytes, shared by every camera of that size
def _noise_bank(size: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Planes of uniform random bytes (drawing fresh ones costs ~1 ms a frame; a lookup is ~0.2 ms)."""
    rng = np.random.default_rng(20260101)
    return tuple(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8) for _ in range(NOISE_BANK))


@lru_cache(maxsize=16)  # pure in sigma
def _blur_kernel(sigma: float) -> np.ndarray:
    """A 1-D Gaussian kernel for the defocus blur (sepFilter2D with it is ~4x cheaper than GaussianBlur here)."""
    return cv2.getGaussianKernel(2 * math.ceil(3 * sigma) + 1, sigma)


def _add_noise(frame: np.ndarray, sigma: float, key: int, gray: bool = False) -> None:
    """Add sensor noise in place: a noise plane chosen by `key` mapped through Gaussian lookup tables
    (the same in all channels for a gray, infrared picture)."""
    if sigma <= 0:
        return
    plus, minus = _luts_for(round(sigma, 2))
    raw = _noise_bank((frame.shape[1], frame.shape[0]))[key % NOISE_BANK]
    if gray:
        raw = cv2.cvtColor(raw[:, :, 0], cv2.COLOR_GRAY2BGR)
    cv2.add(frame, cv2.LUT(raw, plus), dst=frame)
    cv2.subtract(frame, cv2.LUT(raw, minus), dst=frame)
