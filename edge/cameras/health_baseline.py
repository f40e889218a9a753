"""What a camera's picture normally looks like in one light mode, learned from its first frames in that mode."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.cameras.health_measure import Measures
from edge.cameras.health_view import ViewReference


@dataclass
class Baseline:
    """The normal brightness, detail and focus of a camera in one light mode, and its reference view."""

    brightness: float
    detail: float
    focus: float
    view: ViewReference
    match: float  # what a picture in place scores against the reference in this light (noise lowers it)

    def adapt(self, m: Measures, weight: float) -> None:
        """Follow slow changes of the light (the sun moving round, lamps on): `weight` 0..1 of the new frame."""
        self.brightness += weight * (m.brightness - self.brightness)
        self.detail += weight * (m.detail - self.detail)
        self.focus += weight * (m.focus - self.focus)


class Learner:
    """A few frames spread over `span_s`, made into a baseline: medians, so a person passing by is left out."""

    def __init__(self, mode: str, *, frames: int, span_s: float, features: int, ratio: float) -> None:
        self.mode = mode
        self.frames = max(2, frames)
        self.step_s = span_s / (self.frames - 1)
        self.features, self.ratio = features, ratio
        self._samples: list[Measures] = []
        self._next_t: float | None = None

    def add(self, m: Measures, t: float) -> Baseline | None:
        """Take the frame if it is time for the next sample; the baseline once there are enough."""
        if self._next_t is not None and t < self._next_t:
            return None
        self._samples.append(m)
        self._next_t = t + self.step_s
        if len(self._samples) < self.frames:
            return None
        samples = self._samples
        reference = np.median(np.stack([s.gray for s in samples]), axis=0).astype(np.uint8)
        view = ViewReference(reference, features=self.features, ratio=self.ratio)
        return Baseline(brightness=float(np.median([s.brightness for s in samples])),
                        detail=float(np.median([s.detail for s in samples])),
                        focus=float(np.median([s.focus for s in samples])),
                        view=view, match=float(np.median([view.compare(s.gray).score for s in samples])))
