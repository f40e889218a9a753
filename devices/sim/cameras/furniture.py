"""Furniture and fittings drawn into the room's panorama (window, door, bed, chair, ...), colours varied by a seed."""

from __future__ import annotations

import cv2
import numpy as np

Color = tuple[int, int, int]
Rect = tuple[int, int, int, int]


def jitter(rng: np.random.Generator, color: Color, amount: int) -> Color:
    """A colour varied by the seed."""
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in color)  # type: ignore[return-value]


def shade(color: Color, k: float) -> Color:
    """A darker (k < 1) or lighter (k > 1) version of a colour."""
    return tuple(int(np.clip(c * k, 0, 255)) for c in color)  # type: ignore[return-value]


def window(img: np.ndarray, rng: np.random.Generator, r: Rect) -> None:
    """A window: bright sky, a tree line, bars and curtains."""
    x0, y0, x1, y1 = r
    cv2.rectangle(img, (x0, y0), (x1, y1), jitter(rng, (235, 215, 180), 12), -1)
    for _ in range(6):
        cx, cy = int(rng.integers(x0, x1)), int(y1 - rng.integers(0, (y1 - y0) // 3))
        cv2.circle(img, (cx, cy), int(rng.integers(6, 16)), jitter(rng, (70, 120, 80), 20), -1)
    frame = jitter(rng, (245, 245, 245), 8)
    cv2.rectangle(img, (x0, y0), (x1, y1), frame, 4)
    cv2.line(img, ((x0 + x1) // 2, y0), ((x0 + x1) // 2, y1), frame, 3)
    cv2.line(img, (x0, (y0 + y1) // 2), (x1, (y0 + y1) // 2), frame, 3)
    curtain = jitter(rng, (90, 120, 170), 40)
    cw = (x1 - x0) // 6
    for cx0 in (x0 - cw, x1):
        cv2.rectangle(img, (cx0, y0 - 6), (cx0 + cw, y1 + 10), curtain, -1)
        for fx in range(cx0 + 3, cx0 + cw, 5):
            cv2.line(img, (fx, y0 - 6), (fx, y1 + 10), shade(curtain, 0.8), 1)


def door(img: np.ndarray, rng: np.random.Generator, r: Rect) -> None:
    """A panelled door with a frame and a handle."""
    x0, y0, x1, y1 = r
    wood = jitter(rng, (60, 100, 150), 20)
    cv2.rectangle(img, (x0 - 4, y0 - 4), (x1 + 4, y1), shade(wood, 0.7), -1)
    cv2.rectangle(img, (x0, y0), (x1, y1), wood, -1)
    pw_, ph = (x1 - x0) // 5, (y1 - y0) // 9
    for py0, py1 in ((y0 + ph, y0 + 4 * ph), (y0 + 5 * ph, y1 - ph)):
        cv2.rectangle(img, (x0 + pw_, py0), (x1 - pw_, py1), shade(wood, 0.8), 2)
    cv2.circle(img, (x1 - pw_ // 2 - 2, (y0 + y1) // 2), 3, (40, 170, 200), -1)


def picture(img: np.ndarray, rng: np.random.Generator, r: Rect) -> None:
    """A framed picture of random shapes: strong corners for ORB."""
    x0, y0, x1, y1 = r
    cv2.rectangle(img, (x0, y0), (x1, y1), jitter(rng, (220, 230, 235), 20), -1)
    for _ in range(5):
        p = (int(rng.integers(x0, x1)), int(rng.integers(y0, y1)))
        q = (int(rng.integers(x0, x1)), int(rng.integers(y0, y1)))
        color = tuple(int(c) for c in rng.integers(20, 230, 3))
        cv2.rectangle(img, p, q, color, -1) if rng.random() < 0.6 else cv2.circle(img, p, 4, color, -1)
    cv2.rectangle(img, (x0, y0), (x1, y1), jitter(rng, (40, 60, 80), 20), 3)


def shelf(img: np.ndarray, rng: np.random.Generator, r: Rect) -> None:
    """A shelf with books of random widths and colours."""
    x0, y0, x1, y1 = r
    cv2.rectangle(img, (x0, y0), (x1, y1), jitter(rng, (70, 110, 150), 15), -1)
    x = x0 + 2
    while x < x1 - 4:
        bw, bh = int(rng.integers(3, 8)), int(rng.integers(12, 26))
        cv2.rectangle(img, (x, y0 - bh), (x + bw, y0), tuple(int(c) for c in rng.integers(30, 220, 3)), -1)
        x += bw + 1


def wardrobe(img: np.ndarray, rng: np.random.Generator, r: Rect) -> None:
    """A tall wardrobe with two doors and handles."""
    x0, y0, x1, y1 = r
    wood = jitter(rng, (80, 125, 165), 20)
    cv2.rectangle(img, (x0, y0), (x1, y1), wood, -1)
    cv2.rectangle(img, (x0, y0), (x1, y1), shade(wood, 0.6), 2)
    xm = (x0 + x1) // 2
    cv2.line(img, (xm, y0), (xm, y1), shade(wood, 0.6), 2)
    for hx in (xm - 6, xm + 6):
        cv2.line(img, (hx, (y0 + y1) // 2 - 10), (hx, (y0 + y1) // 2 + 10), (60, 60, 60), 2)


def bed(img: np.ndarray, rng: np.random.Generator, r: Rect) -> None:
    """A bed: frame, headboard on the right, checked blanket, pillow (the `in_bed` figure lies on it)."""
    x0, y0, x1, y1 = r
    top = y0 + (y1 - y0) // 4  # the mattress top (what a body lies on)
    frame = jitter(rng, (60, 90, 120), 15)
    cv2.rectangle(img, (x1 - 12, y0 - 30), (x1, y1), shade(frame, 0.9), -1)  # headboard
    cv2.rectangle(img, (x0, top), (x1 - 12, y1 - 8), jitter(rng, (230, 230, 225), 10), -1)  # sheet
    blanket = jitter(rng, (170, 120, 90), 40)
    bx1 = x1 - (x1 - x0) // 4
    cv2.rectangle(img, (x0, top + 4), (bx1, y1 - 8), blanket, -1)
    for gx in range(x0, bx1, 12):
        cv2.line(img, (gx, top + 4), (gx, y1 - 8), shade(blanket, 0.8), 1)
    for gy in range(top + 4, y1 - 8, 10):
        cv2.line(img, (x0, gy), (bx1, gy), shade(blanket, 0.8), 1)
    cv2.ellipse(img, (x1 - 40, top + 2), (24, 9), 0, 0, 360, (245, 245, 245), -1)  # pillow
    cv2.rectangle(img, (x0, y1 - 8), (x1, y1), frame, -1)
    for lx in (x0 + 2, x1 - 8):
        cv2.rectangle(img, (lx, y1), (lx + 6, y1 + 10), shade(frame, 0.7), -1)


def cabinet(img: np.ndarray, rng: np.random.Generator, r: Rect) -> None:
    """A bedside cabinet with a drawer and a lamp."""
    x0, y0, x1, y1 = r
    wood = jitter(rng, (90, 130, 170), 15)
    cv2.rectangle(img, (x0, y0), (x1, y1), wood, -1)
    cv2.rectangle(img, (x0 + 3, y0 + 5), (x1 - 3, (y0 + y1) // 2), shade(wood, 0.8), 2)
    cx = (x0 + x1) // 2
    cv2.line(img, (cx, y0), (cx, y0 - 16), (50, 50, 50), 2)
    cv2.fillConvexPoly(img, np.array([[cx - 9, y0 - 16], [cx + 9, y0 - 16], [cx + 5, y0 - 28], [cx - 5, y0 - 28]]),
                       jitter(rng, (150, 210, 230), 15))


def chair(img: np.ndarray, rng: np.random.Generator, back: tuple[int, ...], seat: tuple[int, ...]) -> None:
    """A chair seen from the side: a back post and a seat on legs."""
    wood = jitter(rng, (50, 80, 120), 15)
    cv2.rectangle(img, back[:2], back[2:], wood, -1)
    cv2.rectangle(img, seat[:2], seat[2:], shade(wood, 1.2), -1)
    for lx in (seat[0] + 2, seat[2] - 5):
        cv2.rectangle(img, (lx, seat[3]), (lx + 3, back[3]), wood, -1)


def rug(img: np.ndarray, rng: np.random.Generator, r: Rect) -> None:
    """A patterned rug on the floor beside the home view."""
    x0, y0, x1, y1 = r
    color = jitter(rng, (60, 60, 140), 50)
    cv2.rectangle(img, (x0, y0), (x1, y1), color, -1)
    for k in range(3, 30, 6):
        cv2.rectangle(img, (x0 + k, y0 + k // 2), (x1 - k, y1 - k // 2), shade(color, 1.4), 1)
