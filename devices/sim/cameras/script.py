"""Scripted camera scenarios: timed segments of pose, position and conditions, and their ground-truth labels.

Public API:
    Segment(start_s, end_s, pose="absent", x=0.5, conditions=Conditions(), facing=0, since_s=None)
        `x` is a position or an (x0, x1) path walked linearly over the segment (0..1 of the home view's width);
        `facing` 0 = from the path's direction (+1 right / -1 left); `since_s` = when the movement began (falling,
        getting_up and sitting progress count from it; defaults to start_s).
    Script(name, segments, loop=False)         `.duration`, `.at(t) -> (Figure, Conditions)`; after the last
        segment the final state holds (or, with loop, the script repeats); gaps are an empty room, default conditions.
    compose(name, moves, changes=(), base=Conditions()) -> Script
        moves: [(duration_s, pose, x)] back to back from t = 0; changes: [(start_s, end_s, {field: value})] laid
        over `base`; segments are split wherever anything changes.
    Label(kind, start_s, end_s);  labels(script) -> list[Label] sorted by start
        kinds: person_down (from the moment the figure lands on the floor until it starts getting up; a judge with
        a 20 s delay should alert only for labels that last longer), offline (dropped stream), frozen, covered,
        blurred (defocus >= BLUR_MIN), moved (|turned| >= MOVED_MIN_DEG), night_activity (someone up, not in bed,
        under infrared lights).
    SCRIPTS: dict[str, Script]   empty_day, empty_night, day_night_switch, walk_through, sit_down, in_bed, fall,
        fall_get_up, covered, defocus, turned, frozen, dropped, night_walk
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from devices.sim.cameras.scene import CHAIR_X, FALL_S, GETUP_S, POSES, SIT_S, Conditions, Figure

BLUR_MIN = 1.5  # defocus sigma (px) from which a person would call the picture blurred
MOVED_MIN_DEG = 5.0
KINDS = ("person_down", "offline", "frozen", "covered", "blurred", "moved", "night_activity")
XPath = float | tuple[float, float]


@dataclass(frozen=True)
class Segment:
    """From start_s to end_s the figure holds `pose` along `x` and the camera has `conditions`."""

    start_s: float
    end_s: float
    pose: str = "absent"
    x: XPath = 0.5
    conditions: Conditions = field(default_factory=Conditions)
    facing: int = 0
    since_s: float | None = None

    def __post_init__(self) -> None:
        if not self.end_s > self.start_s >= 0:
            raise ValueError(f"segment needs 0 <= start_s < end_s, got {self.start_s} .. {self.end_s}")
        if self.pose not in POSES:
            raise ValueError(f"pose must be one of {', '.join(POSES)}, not {self.pose!r}")

    def x_at(self, t: float) -> float:
        """Position at time t (linear along the path)."""
        if not isinstance(self.x, tuple):
            return float(self.x)
        k = min(1.0, max(0.0, (t - self.start_s) / (self.end_s - self.start_s)))
        return self.x[0] + (self.x[1] - self.x[0]) * k

    def figure_at(self, t: float) -> Figure:
        """The figure at time t inside this segment."""
        facing = self.facing or (-1 if isinstance(self.x, tuple) and self.x[1] < self.x[0] else 1)
        since = self.start_s if self.since_s is None else self.since_s
        span = {"falling": FALL_S, "getting_up": GETUP_S, "sitting": SIT_S}.get(self.pose)
        progress = min(1.0, max(0.0, (t - since) / span)) if span else 1.0
        return Figure(self.pose, self.x_at(t), facing, progress)


@dataclass(frozen=True)
class Script:
    """A named, timed scenario for one camera."""

    name: str
    segments: tuple[Segment, ...]
    loop: bool = False

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.segments, key=lambda s: s.start_s))
        for a, b in zip(ordered, ordered[1:], strict=False):
            if b.start_s < a.end_s:
                raise ValueError(f"script {self.name!r}: segments overlap at {b.start_s} s")
        object.__setattr__(self, "segments", ordered)

    @property
    def duration(self) -> float:
        """Seconds until the end of the last segment."""
        return max((s.end_s for s in self.segments), default=0.0)

    def segment_at(self, t: float) -> Segment | None:
        """The segment covering t (the last one after the end), None in a gap."""
        if self.loop and self.duration > 0:
            t %= self.duration
        for seg in self.segments:
            if seg.start_s <= t < seg.end_s:
                return seg
        return self.segments[-1] if self.segments and t >= self.duration else None

    def at(self, t: float) -> tuple[Figure, Conditions]:
        """Figure and conditions at time t."""
        seg = self.segment_at(t)
        if seg is None:
            return Figure(), Conditions()
        if self.loop and self.duration > 0:
            t %= self.duration
        return seg.figure_at(min(t, seg.end_s)), seg.conditions


def compose(name: str, moves: Sequence[tuple[float, str, XPath]],
            changes: Sequence[tuple[float, float, dict[str, Any]]] = (), base: Conditions | None = None,
            loop: bool = False) -> Script:
    """Build a script from back-to-back moves and condition changes, splitting segments where either changes."""
    base = base or Conditions()
    spans = []
    t = 0.0
    for duration, pose, x in moves:
        spans.append((t, t + duration, pose, x))
        t += duration
    cuts = sorted({0.0, t, *(sp[0] for sp in spans), *(c for s, e, _ in changes for c in (s, e) if 0 < c < t)})
    segments = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        start, end, pose, x = next(s for s in spans if s[0] <= a < s[1])
        whole = Segment(start, end, pose, x)
        path = (whole.x_at(a), whole.x_at(b)) if isinstance(x, tuple) else x
        facing = -1 if isinstance(x, tuple) and x[1] < x[0] else 1
        cond = base
        for s, e, change in changes:
            if s <= a < e:
                cond = cond.but(**change)
        segments.append(Segment(a, b, pose, path, cond, facing, since_s=start))
    return Script(name, tuple(segments), loop)


class Label(NamedTuple):
    """Ground truth: `kind` holds from start_s to end_s (seconds from the script's start)."""

    kind: str
    start_s: float
    end_s: float


def labels(script: Script) -> list[Label]:
    """What a careful person watching the camera would report, and when."""
    raw: list[Label] = []
    for seg in script.segments:
        c, a, b = seg.conditions, seg.start_s, seg.end_s
        since = seg.start_s if seg.since_s is None else seg.since_s
        if seg.pose == "lying":
            raw.append(Label("person_down", a, b))
        elif seg.pose == "falling" and since + FALL_S < b:
            raw.append(Label("person_down", max(a, since + FALL_S), b))
        flags = {
            "offline": c.dropped,
            "frozen": c.frozen and not c.dropped,
            "covered": c.covered and not c.dropped,
            "blurred": c.defocus >= BLUR_MIN and not c.covered and not c.dropped,
            "moved": abs(c.turned) >= MOVED_MIN_DEG,
            "night_activity": c.lights == "infrared" and seg.pose not in ("absent", "in_bed"),
        }
        raw += [Label(kind, a, b) for kind, on in flags.items() if on]
    return _merge(raw)


def _merge(raw: list[Label]) -> list[Label]:
    """Join labels of one kind that touch or overlap."""
    out: list[Label] = []
    for lab in sorted(raw, key=lambda x: (x.kind, x.start_s)):
        if out and out[-1].kind == lab.kind and lab.start_s <= out[-1].end_s + 1e-9:
            out[-1] = Label(lab.kind, out[-1].start_s, max(out[-1].end_s, lab.end_s))
        else:
            out.append(lab)
    return sorted(out, key=lambda x: (x.start_s, x.kind))


OFF_LEFT, OFF_RIGHT = -0.12, 1.12  # just outside the home view: the figure walks in and out
NIGHT = Conditions(lights="infrared")


def _walk_through(before: float, after: float) -> list[tuple[float, str, XPath]]:
    """Someone crosses the room left to right in 10 s."""
    return [(before, "absent", 0.5), (10.0, "walking", (OFF_LEFT, OFF_RIGHT)), (after, "absent", 0.5)]


def _fall(lie_s: float) -> list[tuple[float, str, XPath]]:
    """Someone walks in, falls at x = 0.3 and lies on the floor for lie_s seconds."""
    return [(2.0, "absent", 0.5), (6.0, "walking", (OFF_LEFT, 0.3)), (FALL_S, "falling", 0.3), (lie_s, "lying", 0.3)]


SCRIPTS: dict[str, Script] = {
    "empty_day": compose("empty_day", [(60.0, "absent", 0.5)]),
    "empty_night": compose("empty_night", [(60.0, "absent", 0.5)], base=NIGHT),
    "day_night_switch": compose("day_night_switch", [(90.0, "absent", 0.5)],
                                [(30.0, 40.0, {"lights": "dim"}), (40.0, 90.0, {"lights": "infrared"})]),
    "walk_through": compose("walk_through", _walk_through(3.0, 12.0)),
    "sit_down": compose("sit_down", [(2.0, "absent", 0.5), (5.0, "walking", (OFF_LEFT, CHAIR_X)),
                                     (1.0, "standing", CHAIR_X), (30.0, "sitting", CHAIR_X),
                                     (1.0, "standing", CHAIR_X), (6.0, "walking", (CHAIR_X, OFF_RIGHT)),
                                     (5.0, "absent", 0.5)]),
    "in_bed": compose("in_bed", [(60.0, "in_bed", 0.5)], base=NIGHT),
    "fall": compose("fall", _fall(61.3)),
    "fall_get_up": compose("fall_get_up", _fall(8.0) + [(GETUP_S, "getting_up", 0.3), (1.3, "standing", 0.3),
                                                         (6.0, "walking", (0.3, OFF_RIGHT)), (10.0, "absent", 0.5)]),
    "covered": compose("covered", _walk_through(2.0, 48.0), [(20.0, 50.0, {"covered": True})]),
    "defocus": compose("defocus", [(60.0, "absent", 0.5)], [(15.0, 45.0, {"defocus": 6.0})]),
    "turned": compose("turned", [(60.0, "absent", 0.5)], [(15.0, 60.0, {"turned": 25.0})]),
    "frozen": compose("frozen", _walk_through(15.0, 35.0), [(10.0, 40.0, {"frozen": True})]),
    "dropped": compose("dropped", _walk_through(20.0, 40.0), [(10.0, 50.0, {"dropped": True})]),
    "night_walk": compose("night_walk", [(5.0, "absent", 0.5), (10.0, "walking", (0.0, 1.0)), (15.0, "absent", 0.5)],
                          base=NIGHT),
}
