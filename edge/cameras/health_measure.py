"""What the health judge measures in one frame: brightness, detail, sharpness and colour, on a small gray picture."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

THUMB = (80, 45)  # detail and colour are judged this small: averaging removes sensor grain and codec noise


@dataclass(frozen=True)
class Measures:
    """One frame's measures; `gray` is the frame downscaled to the analysis size."""

    gray: np.ndarray
    brightness: float  # mean gray level, 0..255
    detail: float  # contrast of the scene's large shapes: std of the gray thumbnail, gray levels
    sharpness: float  # variance of the Laplacian of `gray`
    saturation: float  # mean chroma (max - min of B, G, R) of the thumbnail, 0..255: infrared pictures have none

    @property
    def focus(self) -> float:
        """Sharpness relative to contrast: a dimmer light lowers both alike, a defocused lens only the sharpness."""
        return self.sharpness / (self.detail * self.detail + 1.0)


def measure(frame: np.ndarray, size: tuple[int, int]) -> Measures:
    """The measures of a BGR (or gray) frame, downscaled to `size` (width, height)."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.size == 0 or not (
            frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 3)):
        what = f"{frame.dtype} array of shape {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
        raise ValueError(f"a frame is a uint8 BGR (H, W, 3) or gray (H, W) array, not a {what}")
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA) if frame.shape[1::-1] != size else frame
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    thumb = cv2.resize(small, THUMB, interpolation=cv2.INTER_AREA)
    b, g, r = cv2.split(thumb)
    mean, std = cv2.meanStdDev(cv2.cvtColor(thumb, cv2.COLOR_BGR2GRAY))
    # Chroma, not HSV saturation: HSV divides by the value, so the codec's colour noise in dark corners of an
    # infrared picture would look saturated.
    saturation = cv2.mean(cv2.subtract(cv2.max(cv2.max(b, g), r), cv2.min(cv2.min(b, g), r)))[0]
    # Sharpness at half the analysis size: there the Laplacian still sees the scene's edges a lens loses when
    # defocused, while infrared grain (one-pixel noise that no defocus removes) is mostly averaged away.
    half = cv2.resize(gray, (size[0] // 2, size[1] // 2), interpolation=cv2.INTER_AREA)
    _, lap_std = cv2.meanStdDev(cv2.Laplacian(half, cv2.CV_16S))
    return Measures(gray=gray, brightness=float(mean[0, 0]), detail=float(std[0, 0]),
                    sharpness=float(lap_std[0, 0]) ** 2, saturation=float(saturation))
