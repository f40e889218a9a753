"""The simulated person: a jointed, clothed figure in one of a few poses, with its exact bounding box.

Public API:
    POSES                              absent, walking, standing, sitting, in_bed, falling, lying, getting_up
    Figure(pose, x, facing, progress)  state of the person (frozen dataclass)
    FALL_S, GETUP_S, SIT_S             how long the falling, getting-up and sitting-down movements take
    draw_figure(img, figure, t, x_offset, lights) -> box | None     draws into the view, returns the box
    figure_box(figure, t, size, x_offset) -> (x, y, w, h) | None      the same box without drawing

Geometry is in "body units" (1 = the standing figure's height), converted to pixels with the frame height, so a
standing figure is BODY_H (0.55) of the frame high. `x` is where the feet stand (walking, standing), the pelvis
(sitting) or the feet the body fell from (falling, lying, getting_up), as a fraction of the home view's width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from devices.sim.cameras.room import BED_AREA, Color, light_color

POSES = ("absent", "walking", "standing", "sitting", "in_bed", "falling", "lying", "getting_up")
FALL_S = 0.7  # upright to lying on the floor
GETUP_S = 2.0
SIT_S = 1.0
BODY_H = 0.55  # standing height as a fraction of the frame height
FEET_Y = 0.9  # where feet touch the floor, as a fraction of the frame height
BED_SCALE = 0.75  # the bed is further away: the body in it looks smaller
SHIFT = 4  # sub-pixel drawing (1/16 px) so breathing can move by less than a pixel
Box = tuple[int, int, int, int]

# limb: (name, from joint, to joint, thickness in body units, colour key, far side?)
_LIMBS = (
    ("upper_arm_far", "neck", "elbow_far", 0.05, "shirt", True),
    ("forearm_far", "elbow_far", "hand_far", 0.042, "skin", True),
    ("thigh_far", "pelvis", "knee_far", 0.075, "trousers", True),
    ("shin_far", "knee_far", "ankle_far", 0.06, "trousers", True),
    ("thigh_near", "pelvis", "knee_near", 0.078, "trousers", False),
    ("shin_near", "knee_near", "ankle_near", 0.062, "trousers", False),
    ("neck", "neck", "head", 0.05, "skin", False),
    ("upper_arm_near", "neck", "elbow_near", 0.052, "shirt", False),
    ("forearm_near", "elbow_near", "hand_near", 0.044, "skin", False),
)
_TORSO_AFTER = 3  # draw the torso after the far limbs and before the near ones
_HEAD_R = 0.065
_SHOULDER_W, _HIP_W = 0.19, 0.15


@dataclass(frozen=True)
class Figure:
    """The person in the scene: pose, position (0..1 of the home view's width), facing (+1 right), progress."""

    pose: str = "absent"
    x: float = 0.5
    facing: int = 1
    progress: float = 1.0  # 0..1 through falling / getting_up / sitting down; ignored by the other poses
    shirt: Color = (60, 60, 175)
    trousers: Color = (95, 55, 40)
    skin: Color = (135, 165, 205)
    hair: Color = (40, 45, 55)

    def __post_init__(self) -> None:
        if self.pose not in POSES:
            raise ValueError(f"pose must be one of {', '.join(POSES)}, not {self.pose!r}")

    @property
    def on_floor(self) -> bool:
        """True when the body lies on the floor (landed after a fall, or not yet up)."""
        return self.pose == "lying" or (self.pose == "falling" and self.progress >= 1.0) or (
            self.pose == "getting_up" and self.progress <= 0.0)


def _angles(figure: Figure, t: float) -> dict[str, float]:
    """Pose parameters (degrees, body units) for an upright or sitting body facing right."""
    stand = dict(px=0.0, py=-0.5, torso=0.0, thigh_near=0.0, shin_near=0.0, thigh_far=0.0, shin_far=0.0,
                 arm_near=6.0, fore_near=4.0, arm_far=-4.0, fore_far=2.0)
    if figure.pose == "walking":
        s = math.sin(2 * math.pi * 0.9 * t)  # ~0.9 strides a second, an elderly pace
        stand.update(thigh_near=24 * s, thigh_far=-24 * s, shin_near=24 * s - 18 * max(0.0, -s),
                     shin_far=-24 * s - 18 * max(0.0, s), arm_near=-18 * s, fore_near=-10 * s + 8,
                     arm_far=18 * s, fore_far=10 * s + 8, py=-0.5 + 0.008 * abs(s), torso=4.0)
    if figure.pose == "sitting":
        sit = dict(px=0.0, py=-0.27, torso=-6.0, thigh_near=88.0, shin_near=0.0, thigh_far=84.0, shin_far=-4.0,
                   arm_near=22.0, fore_near=80.0, arm_far=18.0, fore_far=75.0)
        k = _ease(figure.progress)
        return {key: stand[key] + (sit[key] - stand[key]) * k for key in stand}
    return stand


def _ease(p: float) -> float:
    """Smooth 0..1 ramp."""
    p = min(1.0, max(0.0, p))
    return p * p * (3 - 2 * p)


def _direction(deg: float, up: bool = False) -> tuple[float, float]:
    """Unit vector for an angle from straight down (or straight up), positive toward +x."""
    r = math.radians(deg)
    return (math.sin(r), -math.cos(r)) if up else (math.sin(r), math.cos(r))


def _joints(figure: Figure, t: float) -> dict[str, tuple[float, float]]:
    """Joint positions in body units relative to the anchor (feet / pelvis), image axes (y down), facing right."""
    a = _angles(figure, t)
    j: dict[str, tuple[float, float]] = {"pelvis": (a["px"], a["py"])}

    def step(name: str, frm: str, length: float, deg: float, up: bool = False) -> None:
        dx, dy = _direction(deg, up)
        j[name] = (j[frm][0] + length * dx, j[frm][1] + length * dy)

    step("neck", "pelvis", 0.30, a["torso"], up=True)
    step("head", "neck", 0.04 + _HEAD_R, a["torso"], up=True)
    for side in ("near", "far"):
        step(f"knee_{side}", "pelvis", 0.25, a[f"thigh_{side}"])
        step(f"ankle_{side}", f"knee_{side}", 0.25, a[f"shin_{side}"])
        step(f"elbow_{side}", "neck", 0.17, a[f"arm_{side}"])
        step(f"hand_{side}", f"elbow_{side}", 0.16, a[f"fore_{side}"])
    if figure.pose in ("falling", "lying", "getting_up", "in_bed"):
        j = _topple(j, figure, t)
    return j


def _topple(j: dict[str, tuple[float, float]], figure: Figure, t: float) -> dict[str, tuple[float, float]]:
    """Rotate the standing body about its feet toward the floor (falling, lying, getting up, in bed)."""
    if figure.pose == "falling":
        k = min(1.0, max(0.0, figure.progress)) ** 2  # gravity: slow start, fast landing
        buckle = 18 * math.sin(math.pi * k)
    elif figure.pose == "getting_up":
        k = 1.0 - _ease(figure.progress)
        buckle = 35 * math.sin(math.pi * k)
    else:
        k, buckle = 1.0, 0.0
    phi = math.radians(90 * k)
    lift = (_HIP_W / 2) * math.sin(phi)  # rest on the floor, not sink through it
    breath = _breath(t) if k >= 1.0 else 0.0
    out = {}
    for name, (x, y) in j.items():
        if name.startswith(("knee", "ankle")):
            x += 0.02 * buckle / 18 * (1 if "near" in name else 0.6)
        rx = x * math.cos(phi) - y * math.sin(phi)
        ry = x * math.sin(phi) + y * math.cos(phi) - lift
        if name in ("neck", "head", "elbow_near", "elbow_far"):
            ry -= breath  # the chest rises a little
        out[name] = (rx, ry)
    return out


def _breath(t: float) -> float:
    """Chest rise in body units: at most ~0.9 px at 360 px high, one breath every 3.5 s."""
    return 0.0045 * (0.5 - 0.5 * math.cos(2 * math.pi * t / 3.5))


def _placement(figure: Figure, size: tuple[int, int], x_offset: int) -> tuple[float, float, float]:
    """Pixel anchor (x, y) and scale (px per body unit) for the figure in the view."""
    w, h = size
    if figure.pose == "in_bed":
        scale = BODY_H * h * BED_SCALE
        # feet at the foot end of the mattress, head toward the pillow (right)
        bx0, by0, _bx1, by1 = BED_AREA
        top = by0 + (by1 - by0) / 4
        return (bx0 + 0.08) * w - x_offset, top * h + 0.06 * scale, scale
    return figure.x * w - x_offset, FEET_Y * h, BODY_H * h


def _parts(figure: Figure, t: float, size: tuple[int, int], x_offset: int) -> list[tuple]:
    """Drawable parts in pixels: ("line", p, q, thickness, colour key, far) / ("poly", pts, key) / ("circle", ...)."""
    if figure.pose == "absent":
        return []
    ax, ay, scale = _placement(figure, size, x_offset)
    f = 1 if figure.facing >= 0 else -1
    j = {n: (ax + f * x * scale, ay + y * scale) for n, (x, y) in _joints(figure, t).items()}
    parts: list[tuple] = []
    for i, (_name, a, b, thick, key, far) in enumerate(_LIMBS):
        if i == _TORSO_AFTER:
            parts.append(("poly", _torso(j["pelvis"], j["neck"], scale), "shirt", False))
        parts.append(("line", j[a], j[b], max(2, round(thick * scale)), key, far))
    parts.append(("circle", j["head"], _HEAD_R * scale, "skin", False))
    hx, hy = j["head"]
    nx, ny = j["neck"]
    d = math.hypot(hx - nx, hy - ny) or 1.0
    parts.append(("circle", (hx + (hx - nx) / d * 0.3 * _HEAD_R * scale, hy + (hy - ny) / d * 0.3 * _HEAD_R * scale),
                  0.8 * _HEAD_R * scale, "hair", False))
    return parts


def _torso(pelvis: tuple[float, float], neck: tuple[float, float], scale: float) -> np.ndarray:
    """The torso as a quadrilateral: shoulders wider than hips."""
    (px, py), (nx, ny) = pelvis, neck
    d = math.hypot(nx - px, ny - py) or 1.0
    ux, uy = -(ny - py) / d, (nx - px) / d  # perpendicular to the spine
    sw, hw = _SHOULDER_W * scale / 2, _HIP_W * scale / 2
    return np.array([(nx + ux * sw, ny + uy * sw), (nx - ux * sw, ny - uy * sw),
                     (px - ux * hw, py - uy * hw), (px + ux * hw, py + uy * hw)])


def _box_of(parts: list[tuple], size: tuple[int, int]) -> Box | None:
    """Bounding box (x, y, w, h) of the parts, clipped to the frame; None when nothing is inside."""
    xs: list[float] = []
    ys: list[float] = []
    for part in parts:
        if part[0] == "line":
            r = part[3] / 2
            for px, py in (part[1], part[2]):
                xs += [px - r, px + r]
                ys += [py - r, py + r]
        elif part[0] == "poly":
            xs += list(part[1][:, 0])
            ys += list(part[1][:, 1])
        else:
            (cx, cy), r = part[1], part[2]
            xs += [cx - r, cx + r]
            ys += [cy - r, cy + r]
    if not xs:
        return None
    w, h = size
    x0, y0 = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
    x1, y1 = min(w, math.ceil(max(xs)) + 1), min(h, math.ceil(max(ys)) + 1)
    return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None


def figure_box(figure: Figure, t: float, size: tuple[int, int], x_offset: int = 0) -> Box | None:
    """Where the figure is drawn in the frame, (x, y, w, h) pixels; None when absent or out of view."""
    return _box_of(_parts(figure, t, size, x_offset), size)


def draw_figure(img: np.ndarray, figure: Figure, t: float, x_offset: int = 0, lights: str = "day") -> Box | None:
    """Draw the figure into the view (BGR, modified in place) under a light mode; returns its box."""
    size = (img.shape[1], img.shape[0])
    parts = _parts(figure, t, size, x_offset)
    colors = {key: light_color(getattr(figure, key), lights) for key in ("shirt", "trousers", "skin", "hair")}
    m = 1 << SHIFT
    for part in parts:
        color = colors[part[-2]]
        if part[-1]:  # far-side limbs are in shadow
            color = tuple(int(c * 0.78) for c in color)
        if part[0] == "line":
            p, q = (round(part[1][0] * m), round(part[1][1] * m)), (round(part[2][0] * m), round(part[2][1] * m))
            cv2.line(img, p, q, color, part[3], cv2.LINE_AA, SHIFT)
        elif part[0] == "poly":
            cv2.fillConvexPoly(img, np.round(part[1] * m).astype(np.int32), color, cv2.LINE_AA, SHIFT)
        else:
            c = (round(part[1][0] * m), round(part[1][1] * m))
            cv2.circle(img, c, round(part[2] * m), color, -1, cv2.LINE_AA, SHIFT)
    return _box_of(parts, size)
