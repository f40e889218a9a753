"""Cameras in the facility file: where each zone is in the picture, masks, and a site's video settings."""

from datetime import time, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field

from devices.basics import Strict, Window, between
from devices.durations import Duration

Point = Annotated[tuple[float, float], AfterValidator(lambda p: _in_picture(p))]


def _in_picture(point: tuple[float, float]) -> tuple[float, float]:
    """Points are fractions of the picture's width and height, so a polygon survives a change of resolution."""
    if not all(0.0 <= v <= 1.0 for v in point):
        raise ValueError(f"a point is [x, y] with both between 0 and 1 (fractions of the picture), not {list(point)}")
    return point


Polygon = Annotated[list[Point], Field(min_length=3, max_length=64)]


class MaskKind(StrEnum):
    """What a mask does: hide a private area, or keep a moving picture (a TV, a window) out of the analytics."""

    PRIVACY = "privacy"  # blurred before any picture is encoded, and not analysed
    IGNORE = "ignore"  # not analysed (TVs, windows, mirrors)


class Mask(Strict):
    """An area of a camera's picture that is blurred or ignored."""

    kind: MaskKind
    polygon: Polygon


class CameraSettings(Strict):
    """How a site's edge judges its cameras (every camera of the site)."""

    offline_after: Annotated[Duration, AfterValidator(between(timedelta(seconds=5), timedelta(minutes=30)))] = (
        timedelta(seconds=30))
    analyse_fps: float = Field(default=5.0, gt=0, le=30)
    person_down_after: Annotated[Duration, AfterValidator(between(timedelta(seconds=3), timedelta(minutes=10)))] = (
        timedelta(seconds=20))
    no_activity_after: Annotated[Duration, AfterValidator(between(timedelta(minutes=1), timedelta(hours=24)))] = (
        timedelta(hours=3))
    activity_hours: Window = Window(start=time(8), end=time(20))
    snapshot_days: int = Field(default=30, ge=1, le=3650)
    # A stronger person detector than the built-in one: "package.module:factory", called with no arguments.
    detector: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
