"""Whether a camera's picture still shows anything new: the evidence for a frozen stream.

Equality of consecutive frames proves nothing: an inter-frame codec repeats a still scene byte for byte
between its keyframes, and a frozen encoder may alternate between a few near-copies of one picture
(keyframe, refined P-frame). What a live sensor cannot do is show no *new* picture for a minute: each
keyframe carries a fresh draw of sensor noise. So the watch keeps the last few distinct pictures it saw and
calls a frame new only when it differs from all of them in more than a few cells of a grid (a ticking
on-screen clock or a blinking LED changes a few cells only). `still_s` is the time since the last new frame.
"""

from __future__ import annotations

import cv2
import numpy as np

GRID = (16, 9)  # cells of 20 x 20 pixels at the 320 x 180 analysis size


class StillWatch:
    """Seconds since the picture last showed something new."""

    def __init__(self, *, cell_level: float, changed_cells: float, kept: int) -> None:
        self.cell_level = cell_level  # mean absolute difference of a cell, gray levels, that counts as a change
        self.changed_cells = changed_cells  # share of cells that must change for a frame to be new
        self.kept = kept  # distinct pictures remembered
        self._seen: list[np.ndarray] = []  # the most recently matched first
        self._new_at = 0.0

    def update(self, gray: np.ndarray, t: float) -> float:
        """Seconds since the last new picture, this frame included (0.0 when this one is new)."""
        for i, seen in enumerate(self._seen):
            if self._same(gray, seen):
                if i:
                    self._seen.insert(0, self._seen.pop(i))
                return max(0.0, t - self._new_at)
        self._seen.insert(0, gray.copy())
        del self._seen[self.kept:]
        self._new_at = t
        return 0.0

    def _same(self, gray: np.ndarray, seen: np.ndarray) -> bool:
        """Whether `gray` shows the picture `seen` again, up to codec re-encoding and a few changed cells."""
        if gray.shape != seen.shape:
            return False
        diff = cv2.absdiff(gray, seen)
        if not cv2.countNonZero(diff):
            return True
        # Means per cell in float: uint8 resizing would round away the sub-level differences we count.
        cells = cv2.resize(diff.astype(np.float32), GRID, interpolation=cv2.INTER_AREA)
        return int(np.count_nonzero(cells > self.cell_level)) <= self.changed_cells * cells.size
