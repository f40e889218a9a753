"""Camera safety analytics: person down, night activity, no activity, masks, on simulated cameras.

The scenes come from `devices.sim.cameras` through its real mp4v round trip, so the analytics see codec
artefacts; the clock is the frame's time (no sleeping). A few pure parts are checked on drawn frames.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import cv2
import numpy as np
import pytest

from devices.cameras import Mask
from devices.sim.cameras.scene import BED_AREA, FALL_S, Conditions, Room, render
from devices.sim.cameras.scene import Figure as SimFigure
from devices.sim.cameras.script import SCRIPTS, Script, compose, labels
from devices.sim.cameras.stream import SimCamera
from edge.cameras.analytics import AnalyticsSettings, CameraAnalytics, Event
from edge.cameras.detect import Box, ForegroundDetector, load_detector
from edge.cameras.figure import FallJudge, Figure
from edge.cameras.zones import ActivityJudge, blur_privacy, view_zones

BX0, BY0, BX1, BY1 = BED_AREA
VIEW = {  # the sim's room as cam-08 sees it (facility file `view`)
    "z103-floor": [[0, 0.55], [1, 0.55], [1, 1], [0, 1]],
    "z103-beds": [[BX0, BY0], [BX1, BY0], [BX1, BY1], [BX0, BY1]],
    "z103-door": [[0.25, 0.5], [0.5, 0.5], [0.5, 1], [0.25, 1]],
}
TYPES = {"z103-floor": "floor", "z103-beds": "bed", "z103-door": "passage", "z103-lounge": "day_room"}
ZONES = view_zones(VIEW, TYPES)
DOWN_AFTER = 20.0
FALL_LANDS = 8.7  # the `fall` scripts land on the floor at 2 + 6 + 0.7 s


@pytest.fixture(scope="module")
def room() -> Room:
    """One simulated room for the module (drawing its panorama is the costly part)."""
    return Room(seed=1)


def infrared(camera: SimCamera) -> Callable[[float], bool]:
    """Night is when the camera's lights are infrared (the site's night window, as the sim plays it)."""
    return lambda t: camera.state_at(t)[1].lights == "infrared"


def frames(room: Room, script: Script, end_s: float | None = None,
           start_s: float = 0.0) -> Iterator[tuple[float, np.ndarray, SimCamera]]:
    """The script's decoded frames (the codec works in segments of 24 frames: start at a multiple of 4.8 s)."""
    camera = SimCamera(room, script)
    try:
        for t, frame in camera.frames(start_s, end_s):
            assert frame is not None
            yield t, frame, camera
    finally:
        camera.close()


def events_of(room: Room, script: Script, end_s: float | None = None, start_s: float = 0.0,
              **kwargs: Any) -> list[tuple[float, Event]]:
    """Every event change of one camera's analytics over the script, with its time."""
    out: list[tuple[float, Event]] = []
    analytics: CameraAnalytics | None = None
    for t, frame, camera in frames(room, script, end_s, start_s):
        if analytics is None:
            analytics = CameraAnalytics(ZONES, [], AnalyticsSettings(down_after_s=DOWN_AFTER),
                                        is_night=infrared(camera), **kwargs)
        out += [(t, e) for e in analytics.update(frame, t)]
    return out


class TruthDetector:
    """A 'stronger model' a site could plug in: here it simply knows where the sim drew the person."""

    def __init__(self) -> None:
        self.box: Box | None = None
        self.calls: list[tuple[tuple[int, ...], tuple[int, ...]]] = []

    def detect(self, frame: np.ndarray, foreground: np.ndarray) -> list[Box]:
        self.calls.append((frame.shape, foreground.shape))
        return [self.box] if self.box else []


def test_a_fall_raises_person_down_within_the_delay_with_a_box_around_the_figure(room: Room) -> None:
    assert labels(SCRIPTS["fall"])[0].start_s == pytest.approx(FALL_LANDS)
    plugged = TruthDetector()
    settings = AnalyticsSettings(down_after_s=DOWN_AFTER)
    runs = {"builtin": CameraAnalytics(ZONES, [], settings), "plugged": CameraAnalytics(ZONES, [], settings,
                                                                                        detector=plugged)}
    seen: dict[str, list[tuple[float, Event, Box]]] = {name: [] for name in runs}
    for t, frame, camera in frames(room, SCRIPTS["fall"], end_s=FALL_LANDS + DOWN_AFTER + 6):
        truth = camera.truth(t).box
        assert truth is not None or t < 3
        plugged.box = Box(*truth) if truth else None
        for name, analytics in runs.items():
            seen[name] += [(t, e, Box(*truth)) for e in analytics.update(frame, t) if truth]
    for name, events in seen.items():
        assert [(e.kind, e.zone, e.active) for _, e, _ in events] == [("person_down", "z103-floor", True)], name
        t, event, truth_box = events[0]
        assert DOWN_AFTER <= t - FALL_LANDS <= DOWN_AFTER + 3, (name, t)
        assert event.box is not None and event.box.w > 2 * event.box.h  # lying
        assert event.box.overlap(truth_box) > 0.6, (name, event.box, truth_box)
    assert plugged.calls[0] == ((360, 640, 3), (180, 320))  # the full frame, and MOG2's downscaled mask


def test_a_fall_in_infrared_is_found_too(room: Room) -> None:
    # By infrared light a person in dark clothes is only darker than the room: MOG2 calls that a shadow.
    night_fall = compose("fall_night", [(2.0, "absent", 0.5), (6.0, "walking", (-0.12, 0.3)), (FALL_S, "falling", 0.3),
                                        (61.3, "lying", 0.3)], base=Conditions(lights="infrared"))
    analytics = CameraAnalytics(ZONES, [], AnalyticsSettings(down_after_s=DOWN_AFTER), is_night=lambda t: True)
    found = []
    for t, frame, camera in frames(room, night_fall, end_s=FALL_LANDS + DOWN_AFTER + 6):
        found += [(t, e) for e in analytics.update(frame, t) if e.kind == "person_down"]
        truth, figure = camera.truth(t).box, analytics.figure
        if truth is not None and t == 6.0:  # walking in: the whole body is tracked, not only the legs
            assert figure is not None and figure.box.h > 0.8 * truth[3], (figure, truth)
    assert [(e.zone, e.active) for _, e in found] == [("z103-floor", True)]
    assert DOWN_AFTER <= found[0][0] - FALL_LANDS <= DOWN_AFTER + 3


def test_getting_up_after_eight_seconds_is_not_person_down(room: Room) -> None:
    # Up at 16.7 s; a judge that missed it would alarm at 28.7 s.
    assert events_of(room, SCRIPTS["fall_get_up"], end_s=FALL_LANDS + DOWN_AFTER + 3) == []


@pytest.mark.parametrize(("name", "start_s", "end_s"), [
    ("empty_night", 0.0, 30.0),
    ("day_night_switch", 24.0, 60.0),  # dim at 30 s, infrared at 40 s
    ("walk_through", 0.0, None),
    ("sit_down", 0.0, 32.0),  # seated from 8 s: longer than the person_down delay
    ("in_bed", 0.0, 30.0),
])
def test_ordinary_scenes_raise_nothing(room: Room, name: str, start_s: float, end_s: float | None) -> None:
    analytics: CameraAnalytics | None = None
    changes = []
    for t, frame, camera in frames(room, SCRIPTS[name], end_s, start_s):
        analytics = analytics or CameraAnalytics(ZONES, [], is_night=infrared(camera))
        changes += analytics.update(frame, t)
    assert changes == []
    assert analytics is not None
    if name == "day_night_switch":
        assert analytics.background.relearned >= 1  # the switch to infrared was re-learned, not seen as a person
    if name == "sit_down":
        assert analytics.figure is not None and analytics.figure.held  # seated still: kept, though MOG2 forgot
    if name in ("empty_night", "day_night_switch", "walk_through"):
        assert analytics.figure is None  # nobody left behind in an empty room


def test_a_night_walk_through_the_passage_is_night_activity_but_not_by_day(room: Room) -> None:
    night = day = None
    changes: dict[str, list[tuple[float, Event]]] = {"night": [], "day": []}
    entered = None
    for t, frame, camera in frames(room, SCRIPTS["night_walk"], end_s=16.0):  # walks from 5 s to 15 s
        night = night or CameraAnalytics(ZONES, [], is_night=lambda t: True)
        day = day or CameraAnalytics(ZONES, [], is_night=lambda t: False)
        changes["night"] += [(t, e) for e in night.update(frame, t)]
        changes["day"] += [(t, e) for e in day.update(frame, t)]
        box = camera.truth(t).box
        if entered is None and box and 0.25 * 640 <= box[0] + box[2] / 2 <= 0.5 * 640:
            entered = t
    assert [(e.kind, e.zone, e.active) for _, e in changes["night"]] == [("night_activity", "z103-door", True)]
    assert entered is not None and entered <= changes["night"][0][0] <= entered + 1.5
    assert changes["day"] == []


def test_an_empty_day_room_for_hours_is_no_activity_until_someone_walks_in(room: Room) -> None:
    quiet_s, hour = 10.0, 3600.0
    script = compose("quiet_lounge", [(quiet_s, "absent", 0.5), (4.0, "walking", (0.0, 0.4))])
    lounge = view_zones({"z103-lounge": [[0, 0.4], [1, 0.4], [1, 1], [0, 1]]}, TYPES)
    settings = AnalyticsSettings(no_activity_after_s=1 * hour)
    by_day = CameraAnalytics(lounge, [], settings, is_activity_hours=lambda t: True)
    at_night = CameraAnalytics(lounge, [], settings, is_activity_hours=lambda t: False)
    changes: dict[str, list[tuple[float, Event]]] = {"day": [], "night": []}
    for t, frame, _camera in frames(room, script):
        # The empty part is played as two hours: one frame every 144 s of site time (analytics only see t).
        site_t = t * 2 * hour / quiet_s if t < quiet_s else 2 * hour + (t - quiet_s)
        changes["day"] += [(site_t, e) for e in by_day.update(frame, site_t)]
        changes["night"] += [(site_t, e) for e in at_night.update(frame, site_t)]
    (start, on), (end, off) = changes["day"]
    assert (on.kind, on.zone, on.active, off.kind, off.zone, off.active) == (
        "no_activity", "z103-lounge", True, "no_activity", "z103-lounge", False)
    assert hour <= start <= hour + 60
    assert 2 * hour <= end <= 2 * hour + 1  # cleared as soon as someone comes in
    assert changes["night"] == []


def test_privacy_blur_changes_the_masked_pixels_and_nothing_else(room: Room) -> None:
    frame = render(room, SimFigure(), Conditions(), 0.0)
    mask = Mask(kind="privacy", polygon=[(0.05, 0.1), (0.3, 0.1), (0.3, 0.45), (0.05, 0.45)])
    ignored = Mask(kind="ignore", polygon=[(0.6, 0.1), (0.9, 0.1), (0.9, 0.3), (0.6, 0.3)])
    before = frame.copy()
    blurred = blur_privacy(frame, [mask, ignored])
    assert np.array_equal(frame, before)  # the input is left alone
    inside = np.zeros(frame.shape[:2], bool)
    inside[36:163, 32:193] = True  # the polygon in pixels, edges included (0.05..0.3 of 640, 0.1..0.45 of 360)
    assert np.array_equal(blurred[~inside], frame[~inside])
    core = (slice(40, 158), slice(36, 188))
    assert np.abs(blurred[core].astype(int) - frame[core]).mean() > 3
    sharp = cv2.Laplacian(cv2.cvtColor(frame[core], cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()
    soft = cv2.Laplacian(cv2.cvtColor(blurred[core], cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()
    assert soft < sharp / 20  # detail (a face, a name) is gone, not just softened


def test_a_plugged_detector_is_loaded_by_name_and_bad_names_are_refused() -> None:
    assert isinstance(load_detector("edge.cameras.detect:ForegroundDetector"), ForegroundDetector)
    for bad in ("edge.cameras.detect", "edge.cameras.nothing:X", "edge.cameras.detect:Missing",
                "edge.cameras.detect:Box", "edge.cameras.zones:Event"):
        with pytest.raises(ValueError, match="detector"):
            load_detector(bad)


# Drawn frames and pure judges


def textured(seed: int = 0, level: int = 140) -> np.ndarray:
    """A textured 640x360 frame (MOG2 needs something to model)."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(0, 60, (45, 80, 3), np.uint8), (640, 360), interpolation=cv2.INTER_NEAREST)
    return cv2.add(base, np.full_like(base, level - 30))


def test_lights_going_off_is_re_learned_not_a_person() -> None:
    analytics = CameraAnalytics(ZONES, [], is_night=lambda t: True)
    bright = textured()
    dark = cv2.convertScaleAbs(bright, alpha=0.35)
    changes = [analytics.update(bright if i < 25 else dark, i / 5) for i in range(60)]
    assert sum(changes, []) == [] and analytics.figure is None
    assert analytics.background.relearned == 1


def test_motion_in_an_ignored_area_is_not_a_person() -> None:
    tv = Mask(kind="ignore", polygon=[(0.3, 0.55), (0.6, 0.55), (0.6, 1.0), (0.3, 1.0)])
    analytics = CameraAnalytics(ZONES, [tv], is_night=lambda t: True)
    plain = CameraAnalytics(ZONES, [], is_night=lambda t: True)
    seen = []
    for i in range(40):
        frame = textured()
        if i >= 10:  # a flickering picture on the TV, person-sized and in the passage zone
            x = 200 + 4 * (i % 10)  # someone walking on the screen
            cv2.rectangle(frame, (x, 210), (x + 70, 350), (40 + 50 * (i % 4),) * 3, -1)
        assert analytics.update(frame, i / 5) == []
        seen += plain.update(frame, i / 5)
    assert analytics.figure is None
    assert [e.kind for e in seen] == ["night_activity"]  # without the mask it would have counted


def figure(x: int, y: int, w: int, h: int, motion: float = 0.0) -> Figure:
    """A tracked figure with a box in a 640x360 frame."""
    return Figure(Box(x, y, w, h), held=False, motion=motion, present=0.5)


def feed(judge: FallJudge, steps: list[tuple[float, Figure | None]]) -> list[tuple[float, Event]]:
    """Run a fall judge over (t, figure) steps."""
    return [(t, e) for t, f in steps for e in judge.update(f, (640, 360), t)]


UPRIGHT = figure(200, 130, 60, 190, motion=0.3)
LYING = figure(170, 285, 200, 40, motion=0.01)


def test_fall_judge_lying_still_on_the_floor_then_rising() -> None:
    judge = FallJudge(ZONES, down_after_s=DOWN_AFTER)
    steps: list[tuple[float, Figure | None]] = [(i / 5, UPRIGHT) for i in range(10)]
    steps += [(2 + i / 5, LYING) for i in range(125)]  # breathing-size motion only
    steps += [(27 + i / 5, UPRIGHT) for i in range(5)]
    events = feed(judge, steps)
    assert [(t, e.kind, e.zone, e.active) for t, e in events] == [
        (22.0, "person_down", "z103-floor", True), (27.2, "person_down", "z103-floor", False)]


def test_fall_judge_big_motion_restarts_the_stillness_and_leaving_clears() -> None:
    judge = FallJudge(ZONES, down_after_s=DOWN_AFTER)
    moving = figure(170, 285, 200, 40, motion=0.4)
    steps: list[tuple[float, Figure | None]] = [(i / 5, UPRIGHT) for i in range(10)]
    steps += [(2 + i / 5, moving if i == 50 else LYING) for i in range(190)]  # moved at 12 s
    steps += [(40.0, None)]
    assert [(t, e.active) for t, e in feed(judge, steps)] == [(32.0, True), (40.0, False)]


@pytest.mark.parametrize("case", ["in_bed", "bending", "no_drop", "slow"])
def test_fall_judge_ignores_what_is_not_a_fall(case: str) -> None:
    in_bed = figure(400, 170, 200, 45)  # lying across the bed zone
    bending = figure(190, 200, 110, 120, motion=0.2)  # wider but not lying
    high = figure(170, 205, 200, 40)  # a lying shape with its centre where the standing one's was
    by_the_bed = figure(420, 40, 40, 120, motion=0.3)  # upright further away, then lies down in bed
    before = [(i / 5, by_the_bed if case == "in_bed" else UPRIGHT) for i in range(10)]
    after = {"in_bed": in_bed, "bending": bending, "no_drop": high, "slow": LYING}[case]
    start = 2 + (5 if case == "slow" else 0)  # lying only 5 s after being upright: not a fall
    gap = [(2 + i / 5, figure(190, 230, 90, 95)) for i in range(25)] if case == "slow" else []
    steps = before + gap + [(start + i / 5, after) for i in range(150)]
    assert feed(FallJudge(ZONES, down_after_s=DOWN_AFTER), steps) == []


def test_activity_judge_confirms_night_sightings_and_counts_quiet_only_in_activity_hours() -> None:
    zones = view_zones({"z103-door": VIEW["z103-door"], "z103-lounge": [[0, 0], [1, 0], [1, 1], [0, 1]]}, TYPES)
    hours = {"open": True}
    judge = ActivityJudge(zones, is_night=lambda t: t < 100, is_activity_hours=lambda t: hours["open"],
                          no_activity_after_s=50, night_clear_s=30)
    assert judge.update({"z103-door"}, 0) == []  # one frame is not enough
    assert judge.update(set(), 1) == []
    assert judge.update({"z103-door"}, 2) == []
    assert judge.update({"z103-door"}, 2.2) == []  # nor two: a codec's key frame can fake that many
    assert judge.update({"z103-door"}, 2.4) == [Event("night_activity", "z103-door", True)]
    assert judge.update(set(), 31) == []
    assert judge.update(set(), 32.4) == [Event("night_activity", "z103-door", False)]
    assert judge.update(set(), 49) == []
    assert judge.update(set(), 50) == [Event("no_activity", "z103-lounge", True)]
    assert judge.update({"z103-lounge"}, 51) == [Event("no_activity", "z103-lounge", False)]
    hours["open"] = False
    assert judge.update(set(), 200) == []  # closed: quiet time does not count
    hours["open"] = True
    assert judge.update(set(), 220) == []
    assert judge.update(set(), 250) == [Event("no_activity", "z103-lounge", True)]
    assert judge.update({"z103-door"}, 260) == []  # by day nobody at the door is news


def test_zones_need_types_and_normalised_polygons() -> None:
    with pytest.raises(ValueError, match="no known type"):
        view_zones({"z9": [[0, 0], [1, 0], [1, 1]]}, {})
    with pytest.raises(ValueError, match="between 0 and 1"):
        view_zones({"z9": [[0, 0], [640, 0], [640, 360]]}, {"z9": "floor"})
