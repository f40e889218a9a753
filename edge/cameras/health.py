"""A camera's health from its frames: ok, frozen, covered, blurred or moved, each raised and cleared with hysteresis.

The judge compares every frame with a baseline learned per light mode (colour or infrared, told apart by the
picture's saturation), so the day/night switch only teaches it the other mode's normal picture. Per frame:
- covered: brightness and detail (contrast of the large shapes) both collapse against the baseline, or the
  picture is blank (almost no detail, or dark and hardly any: whatever the baseline);
- blurred: the Laplacian's variance, relative to the contrast, falls far below the baseline's;
- moved: every few seconds ORB features are matched with the learned reference picture: the features that
  agree on one homography moved by more than a few percent of the width, or hardly any are found in place;
- frozen: nothing new for `frozen_s` (see health_still: a codec's byte-identical repeats are not enough).
Time to raise (defaults): covered and blurred `raise_s` (10 s) after the fault, moved `raise_s` plus up to one
check (12 s), frozen `frozen_s` (60 s) after the last new picture (so up to one codec GOP sooner after the
freeze itself); each clears `clear_s` (5 s) after it ends (moved: plus up to one check), all plus one frame.
Pure and deterministic: the caller gives each frame with its time, nothing sleeps, nothing is global.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from edge.cameras.health_baseline import Baseline, Learner
from edge.cameras.health_measure import Measures, measure
from edge.cameras.health_still import StillWatch
from edge.cameras.health_view import ViewMatch

__all__ = ["Health", "HealthJudge", "HealthSettings", "HealthState"]

Health = Literal["ok", "frozen", "covered", "blurred", "moved"]
Problem = Literal["frozen", "covered", "blurred", "moved"]
PRIORITY: tuple[Problem, ...] = ("covered", "frozen", "moved", "blurred")


@dataclass(frozen=True)
class HealthSettings:
    """How the judge decides; times in seconds, ratios against the light mode's baseline."""

    analysis_size: tuple[int, int] = (320, 180)  # (width, height) every frame is judged at
    covered_raise_s: float = 10.0
    blurred_raise_s: float = 10.0
    moved_raise_s: float = 10.0
    frozen_s: float = 60.0  # no new picture this long: frozen (raised at once, the wait is the evidence)
    clear_s: float = 5.0  # a raised problem clears after this long without it
    learn_s: float = 4.0  # a light mode's baseline is learned from `learn_frames` frames over this long
    learn_frames: int = 5
    infrared_saturation: float = 10.0  # mean saturation (0..255) below this: infrared (gray) pictures
    mode_switch_s: float = 2.0  # the other light mode must last this long before the judge switches
    covered_brightness: float = 0.35  # covered: brightness below this share of the baseline's ...
    covered_detail: float = 0.25  # ... and detail below this share of the baseline's
    blank_detail: float = 2.5  # detail (gray levels) below this, or below twice this in a picture darker than
    dark_brightness: float = 30.0  # this: nothing to see, covered whatever the baseline, and never learned from
    blurred_ratio: float = 0.35  # focus below this share of the baseline's: blurred
    moved_check_s: float = 2.0  # ORB costs a few milliseconds: the view is checked this often
    moved_shift: float = 0.04  # features in place moved by more than this share of the width: moved
    moved_match: float = 0.3  # fewer features in place than this share of the baseline's: moved
    orb_features: int = 300
    orb_ratio: float = 0.8
    still_level: float = 0.3  # gray levels of mean change in a cell that make it changed (see health_still)
    still_cells: float = 0.05  # share of changed cells that make a frame new
    still_kept: int = 6
    adapt_s: float = 900.0  # the baseline follows the light on clean frames with this time constant

    def raise_s(self, problem: Problem) -> float:
        """How long a problem must hold before it is raised."""
        return {"covered": self.covered_raise_s, "blurred": self.blurred_raise_s, "moved": self.moved_raise_s,
                "frozen": 0.0}[problem]


@dataclass(frozen=True)
class HealthState:
    """The camera's health after a frame; `changed` when it differs from the previous frame's."""

    state: Health
    changed: bool
    metrics: dict[str, float]
    suspect: bool = False  # this very frame looks covered, turned or blurred (before any hysteresis)


class Hysteresis:
    """One problem: raised after holding `raise_s`, cleared after `clear_s` without; None leaves it as it is."""

    def __init__(self, raise_s: float, clear_s: float) -> None:
        self.raise_s, self.clear_s = raise_s, clear_s
        self.raised = False
        self._bad_since: float | None = None
        self._good_since: float | None = None

    def update(self, holds: bool | None, t: float) -> bool:
        """Whether the problem is raised after this frame's evidence."""
        if holds:
            self._good_since = None
            self._bad_since = t if self._bad_since is None else self._bad_since
            self.raised = self.raised or t - self._bad_since >= self.raise_s
        elif holds is not None:
            self._bad_since = None
            self._good_since = t if self._good_since is None else self._good_since
            self.raised = self.raised and t - self._good_since < self.clear_s
        return self.raised


class LightMode:
    """Colour or infrared, by saturation, switching only when the other mode has lasted `switch_s`."""

    def __init__(self, *, level: float, switch_s: float) -> None:
        self.level, self.switch_s = level, switch_s
        self.mode: str | None = None
        self._other_since: float | None = None

    def update(self, saturation: float, t: float) -> str:
        """The light mode after this frame."""
        seen = "infrared" if saturation < self.level else "colour"
        if self.mode is None or seen == self.mode:
            self.mode, self._other_since = seen, None
        elif self._other_since is None:
            self._other_since = t
        elif t - self._other_since >= self.switch_s:
            self.mode, self._other_since = seen, None
        return self.mode


class HealthJudge:
    """The health of one camera, frame by frame."""

    def __init__(self, settings: HealthSettings = HealthSettings()) -> None:  # noqa: B008 (frozen: shared safely)
        s = self.settings = settings
        self._still = StillWatch(cell_level=s.still_level, changed_cells=s.still_cells, kept=s.still_kept)
        self._light = LightMode(level=s.infrared_saturation, switch_s=s.mode_switch_s)
        self._baselines: dict[str, Baseline] = {}
        self._last_base: Baseline | None = None  # judges "covered" while a new light mode is being learned
        self._learner: Learner | None = None
        self._problems = {p: Hysteresis(s.raise_s(p), s.clear_s) for p in PRIORITY}
        self._state: Health = "ok"
        self._view: tuple[str, float, ViewMatch, bool | None] | None = None  # mode, time, match, verdict
        self._last_t: float | None = None

    def relearn(self) -> None:
        """Forget the baselines (staff re-aimed or replaced the camera): the next frames teach the new view."""
        self._baselines.clear()
        self._last_base, self._learner, self._view = None, None, None

    def update(self, frame: np.ndarray, t: float) -> HealthState:
        """The camera's health after this frame (BGR or gray, any size), seen at time `t` (seconds)."""
        s = self.settings
        m = measure(frame, s.analysis_size)
        still_s = self._still.update(m.gray, t)
        mode = self._light.update(m.saturation, t)
        base = self._baselines.get(mode)
        covered = self._covered(m, base or self._last_base)
        if base is None and not covered:
            base = self._learn(mode, m, t)
        focus = m.focus / max(base.focus, 1e-6) if base else None
        blurred = None if focus is None or covered else focus < s.blurred_ratio
        holds: dict[Problem, bool | None] = {"covered": covered, "frozen": still_s >= s.frozen_s,
                                              "moved": self._moved(mode, m, base, covered, blurred, t),
                                              "blurred": blurred}
        for problem, evidence in holds.items():
            self._problems[problem].update(evidence, t)
        previous, self._state = self._state, next((p for p in PRIORITY if self._problems[p].raised), "ok")
        if base is not None:
            self._last_base = base
            if self._state == "ok" and not any(holds.values()) and self._last_t is not None:
                base.adapt(m, min(1.0, max(0.0, t - self._last_t) / s.adapt_s))
        self._last_t = t
        suspect = bool(covered or holds["moved"] or blurred)
        return HealthState(self._state, self._state != previous, self._metrics(m, mode, focus, still_s), suspect)

    def _covered(self, m: Measures, base: Baseline | None) -> bool:
        """Whether the lens looks covered: a blank picture, or brightness and detail collapsed together."""
        s = self.settings
        if m.detail < s.blank_detail or (m.brightness < s.dark_brightness and m.detail < 2 * s.blank_detail):
            return True  # also when no baseline is known yet: a camera started behind a hand learns nothing
        return base is not None and (m.brightness < s.covered_brightness * base.brightness
                                     and m.detail < s.covered_detail * base.detail)

    def _learn(self, mode: str, m: Measures, t: float) -> Baseline | None:
        """Feed the learner of this light mode; its baseline once learned."""
        s = self.settings
        if self._learner is None or self._learner.mode != mode:
            self._learner = Learner(mode, frames=s.learn_frames, span_s=s.learn_s, features=s.orb_features,
                                    ratio=s.orb_ratio)
        base = self._learner.add(m, t)
        if base is not None:
            self._baselines[mode], self._learner = base, None
        return base

    def _moved(self, mode: str, m: Measures, base: Baseline | None, covered: bool, blurred: bool | None,
               t: float) -> bool | None:
        """The last view check's verdict (None: cannot tell), checking again every `moved_check_s`."""
        s = self.settings
        if base is None or covered or self._problems["blurred"].raised:
            return None  # features of a blurred picture match badly and at odd places: that is no turn
        if self._view is not None and self._view[0] == mode and t - self._view[1] < s.moved_check_s:
            return self._view[3]
        match = base.view.compare(m.gray)
        if match.shift is not None and match.shift > s.moved_shift:
            verdict: bool | None = True
        elif match.score >= s.moved_match * base.match:
            verdict = False
        else:
            verdict = None if blurred else True  # a defocused lens loses its features without moving
        self._view = (mode, t, match, verdict)
        return verdict

    def _metrics(self, m: Measures, mode: str, focus: float | None, still_s: float) -> dict[str, float]:
        """A few numbers for the camera's stats and for debugging; ratios only once a baseline is known."""
        metrics = {"brightness": round(m.brightness, 1), "detail": round(m.detail, 2),
                   "sharpness": round(m.sharpness, 1), "saturation": round(m.saturation, 1),
                   "infrared": float(mode == "infrared"), "still_s": round(still_s, 1)}
        if focus is not None:
            metrics["sharpness_ratio"] = round(focus, 3)
        if self._view is not None and self._view[0] == mode:
            base = self._baselines.get(mode)
            metrics["match"] = round(self._view[2].score / max(base.match, 1e-6), 3) if base else 0.0
            metrics["shift"] = round(self._view[2].shift, 4) if self._view[2].shift is not None else -1.0
        return metrics
