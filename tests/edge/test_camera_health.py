"""Camera health on simulated cameras through a real mp4v codec: each problem raised and cleared in its time,
and none raised by ordinary life (a still room at night, the day/night switch, people walking, sitting, in bed).

Simulated time only: frames carry their script time, nothing sleeps. Each stream is judged once per test run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np
import pytest

from devices.sim.cameras.codec import SegmentReader, codec_works
from devices.sim.cameras.scene import Conditions, Figure, Room, render
from devices.sim.cameras.script import SCRIPTS, Script, compose
from devices.sim.cameras.stream import SimCamera
from edge.cameras.health import HealthJudge, HealthSettings, HealthState, Hysteresis
from tests.conftest import missing

FPS = 5.0
FRAME = 1 / FPS
SETTINGS = HealthSettings()
NIGHT = Conditions(lights="infrared")
OFF_LEFT, OFF_RIGHT = -0.12, 1.12  # just outside the view: the figure walks in and out


@pytest.fixture(autouse=True, scope="module")
def _codec() -> None:
    if not codec_works():
        missing("an OpenCV build that writes and reads mp4v")


@dataclass(frozen=True)
class Run:
    """What the judge said about one stream: its changes of state, and every frame's metrics."""

    changes: tuple[tuple[float, str], ...]
    metrics: tuple[tuple[float, dict[str, float]], ...]

    def at(self, state: str, after: float = 0.0) -> float:
        """When the judge first changed to `state` at or after `after` (fails if it never did)."""
        times = [t for t, s in self.changes if s == state and t >= after - 1e-9]
        assert times, f"never {state} after {after} s: {self.changes}"
        return times[0]

    def most(self, key: str, start: float = 0.0, end: float = float("inf")) -> float:
        """The largest value of a metric between two times."""
        return max(m[key] for t, m in self.metrics if start <= t <= end and key in m)


@cache
def judged(script: Script, settings: HealthSettings = SETTINGS, room: int = 3) -> Run:
    """Judge a script's stream (5 fps, 640 x 360, mp4v round trip) with a fresh judge."""
    camera = SimCamera(Room(room), script, fps=FPS)
    judge = HealthJudge(settings)
    changes, metrics = [], []
    try:
        for t, frame in camera.frames():
            state = judge.update(frame, t)
            if state.changed:
                changes.append((round(t, 3), state.state))
            metrics.append((t, state.metrics))
    finally:
        camera.close()
    return Run(tuple(changes), tuple(metrics))


def script(name: str, moves: Sequence[tuple[float, str, float | tuple[float, float]]],
           changes: Sequence[tuple[float, float, dict[str, object]]] = (), base: Conditions | None = None) -> Script:
    """A scenario of our own, composed the way the sim composes its named ones."""
    return compose(name, moves, list(changes), base=base)


QUIET_NIGHT = script("quiet_night", [(240.0, "absent", 0.5)], base=NIGHT)
DAY_NIGHT_DAY = script("day_night_day", [(120.0, "absent", 0.5)],
                       [(30.0, 40.0, {"lights": "dim"}), (40.0, 90.0, {"lights": "infrared"})])
COVERED_AT_NIGHT = script("covered_at_night", [(60.0, "absent", 0.5)], [(20.0, 50.0, {"covered": True})], base=NIGHT)
DEFOCUS_AT_NIGHT = script("defocus_at_night", [(60.0, "absent", 0.5)], [(15.0, 45.0, {"defocus": 6.0})],
                          base=NIGHT)
TURNED_AND_BACK = script("turned_and_back", [(60.0, "absent", 0.5)], [(15.0, 40.0, {"turned": 25.0})])
FROZEN_LONG = script("frozen_long", [(15.0, "absent", 0.5), (10.0, "walking", (OFF_LEFT, OFF_RIGHT)),
                                     (95.0, "absent", 0.5)], [(10.0, 100.0, {"frozen": True})])
STARTED_COVERED = script("started_covered", [(60.0, "absent", 0.5)],
                         [(0.0, 20.0, {"covered": True}), (35.0, 43.0, {"covered": True})])
BLURRED_THEN_COVERED = script("blurred_then_covered", [(55.0, "absent", 0.5)],
                              [(5.0, 55.0, {"defocus": 6.0}), (25.0, 40.0, {"covered": True})])


# --- each problem on a simulated camera, and the time it takes -------------------------------------------------

@pytest.mark.parametrize("scenario", [SCRIPTS["covered"], COVERED_AT_NIGHT], ids=["day", "night"])
def test_a_covered_lens_is_raised_after_raise_s_and_dropped_after_clear_s(scenario: Script) -> None:
    run = judged(scenario)  # covered from 20 s to 50 s (by day a person walks through before)
    raised, cleared = run.at("covered"), run.at("ok", after=20.0)
    assert [s for _, s in run.changes] == ["covered", "ok"]
    assert 20.0 + SETTINGS.covered_raise_s <= raised <= 20.0 + SETTINGS.covered_raise_s + FRAME
    assert 50.0 + SETTINGS.clear_s <= cleared <= 50.0 + SETTINGS.clear_s + FRAME
    # The bound, end to end: alerted and dropped within 30 s (the judge leaves ~15 s to the pipeline).
    assert raised - 20.0 <= 15.0 and cleared - 50.0 <= 15.0


@pytest.mark.parametrize(("scenario", "room"), [(SCRIPTS["defocus"], 3), (DEFOCUS_AT_NIGHT, 8)], ids=["day", "night"])
def test_a_defocused_lens_is_blurred_after_raise_s(scenario: Script, room: int) -> None:
    # In room 8 by infrared light the blurred picture's features once matched 'moved' 3 s after 'blurred'.
    run = judged(scenario, room=room)  # defocus sigma 6 px from 15 s to 45 s
    assert [s for _, s in run.changes] == ["blurred", "ok"]
    assert 15.0 + SETTINGS.blurred_raise_s <= run.at("blurred") <= 15.0 + SETTINGS.blurred_raise_s + FRAME
    assert 45.0 + SETTINGS.clear_s <= run.at("ok", after=15.0) <= 45.0 + SETTINGS.clear_s + FRAME


def test_a_turned_camera_is_moved_within_raise_s_plus_one_check_and_ok_once_turned_back() -> None:
    run = judged(TURNED_AND_BACK)  # panned 25 degrees from 15 s to 40 s
    assert [s for _, s in run.changes] == ["moved", "ok"]
    bound = SETTINGS.moved_check_s + FRAME
    assert 15.0 + SETTINGS.moved_raise_s <= run.at("moved") <= 15.0 + SETTINGS.moved_raise_s + bound
    assert 40.0 + SETTINGS.clear_s <= run.at("ok", after=15.0) <= 40.0 + SETTINGS.clear_s + bound


def test_a_frozen_stream_is_raised_once_nothing_new_was_seen_for_frozen_s() -> None:
    run = judged(FROZEN_LONG)  # frozen from 10 s to 100 s; someone walks by unseen at 15-25 s
    assert [s for _, s in run.changes] == ["frozen", "ok"]
    # The last new picture is at most one codec segment (24 frames) before the freeze.
    segment = 24 * FRAME
    assert 10.0 + SETTINGS.frozen_s - segment <= run.at("frozen") <= 10.0 + SETTINGS.frozen_s + FRAME
    assert 100.0 + SETTINGS.clear_s <= run.at("ok", after=70.0) <= 100.0 + SETTINGS.clear_s + FRAME


def test_the_sims_short_freeze_needs_a_shorter_window() -> None:
    shorter = HealthSettings(frozen_s=20.0)
    run = judged(SCRIPTS["frozen"], shorter)  # frozen from 10 s to 40 s: under the default 60 s window
    assert [s for _, s in run.changes] == ["frozen", "ok"]
    assert 10.0 + shorter.frozen_s - 24 * FRAME <= run.at("frozen") <= 10.0 + shorter.frozen_s + FRAME
    assert run.at("ok", after=30.0) <= 40.0 + shorter.clear_s + FRAME


def test_a_frozen_sensor_reencoded_with_a_ticking_clock_is_frozen_too() -> None:
    """The camera's encoder keeps encoding one stuck picture: GOP refinements and an on-screen clock differ."""
    still = render(Room(3), Figure(), NIGHT, 1.0)

    def sensor(index: int) -> np.ndarray:
        frame = still.copy()
        seconds = int(index / FPS)
        cv2.putText(frame, f"{seconds // 60:02d}:{seconds % 60:02d}", (540, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                    (255, 255, 255), 2)
        return frame

    reader = SegmentReader(sensor, FPS, (640, 360))
    judge = HealthJudge()
    try:
        states = [judge.update(reader.frame(i), i * FRAME) for i in range(int((SETTINGS.frozen_s + 3) * FPS))]
    finally:
        reader.close()
    frozen_at = next(i * FRAME for i, s in enumerate(states) if s.state == "frozen")
    assert SETTINGS.frozen_s - 24 * FRAME <= frozen_at <= SETTINGS.frozen_s + FRAME


# --- ordinary life raises nothing ------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", [QUIET_NIGHT, SCRIPTS["empty_day"], SCRIPTS["walk_through"],
                                      SCRIPTS["sit_down"], SCRIPTS["in_bed"], SCRIPTS["night_walk"], SCRIPTS["fall"]],
                         ids=lambda s: s.name)
def test_ordinary_life_is_ok_throughout(scenario: Script) -> None:
    run = judged(scenario)
    assert run.changes == ()
    assert all(m.get("match", 1.0) > 1.5 * SETTINGS.moved_match for _, m in run.metrics)  # well clear of "moved"
    assert run.most("still_s") < SETTINGS.frozen_s / 4  # live pictures keep coming, codec repeats or not


def test_a_still_infrared_room_keeps_showing_new_pictures_for_minutes() -> None:
    run = judged(QUIET_NIGHT)  # four minutes of an empty room under infrared, nobody moving
    assert run.changes == ()
    assert run.most("still_s") <= 2 * 24 * FRAME  # at most two codec segments without a new picture
    assert all(m["infrared"] == 1.0 for _, m in run.metrics)


def test_the_day_night_switch_learns_the_night_baseline_and_keeps_the_day_one() -> None:
    run = judged(DAY_NIGHT_DAY)  # day, dim at 30 s, infrared at 40 s, day again at 90 s
    assert run.changes == ()
    metrics = dict(run.metrics)
    assert metrics[38.0]["infrared"] == 0.0 and "sharpness_ratio" in metrics[38.0]  # dim: the colour baseline
    night_learned = 40.0 + SETTINGS.mode_switch_s + SETTINGS.learn_s + 1.0
    assert metrics[round(night_learned * FPS) / FPS]["infrared"] == 1.0
    assert "sharpness_ratio" in metrics[round(night_learned * FPS) / FPS]
    back = 90.0 + SETTINGS.mode_switch_s + FRAME  # back to day: the day baseline at once, nothing relearned
    assert metrics[round(back * FPS) / FPS]["infrared"] == 0.0
    assert 0.8 < metrics[round(back * FPS) / FPS]["sharpness_ratio"] < 1.25


# --- hysteresis and priority -----------------------------------------------------------------------------------

def test_a_camera_started_behind_a_hand_is_covered_and_a_short_cover_raises_nothing() -> None:
    run = judged(STARTED_COVERED)  # covered 0-20 s (no baseline yet), then 35-43 s: shorter than raise_s
    assert [s for _, s in run.changes] == ["covered", "ok"]
    assert run.at("covered") <= SETTINGS.covered_raise_s + FRAME
    assert run.at("ok") <= 20.0 + SETTINGS.clear_s + FRAME
    # Nothing was learned from the covered picture: the baseline came from the room.
    assert dict(run.metrics)[30.0]["sharpness_ratio"] > 0.8


def test_covered_outranks_blurred_and_blurred_returns_when_uncovered() -> None:
    run = judged(BLURRED_THEN_COVERED)  # defocused from 5 s, covered from 25 s to 40 s
    assert [s for _, s in run.changes] == ["blurred", "covered", "blurred"]
    assert run.at("covered") <= 25.0 + SETTINGS.covered_raise_s + FRAME
    assert run.at("blurred", after=26.0) <= 40.0 + SETTINGS.clear_s + FRAME


def test_hysteresis_raises_after_raise_s_and_clears_after_clear_s() -> None:
    h = Hysteresis(raise_s=10.0, clear_s=5.0)
    assert not h.update(True, 0.0) and not h.update(True, 9.8)
    assert not h.update(False, 9.9)  # a good frame restarts the wait
    assert not h.update(True, 10.0) and not h.update(True, 19.9)
    assert not h.update(None, 25.0)  # no evidence (e.g. the view cannot be judged) changes nothing ...
    assert h.update(True, 30.0)  # ... and the problem held since 10 s: raised
    assert h.update(False, 31.0) and h.update(False, 35.9)
    assert not h.update(False, 36.0)


# --- the judge as a component ----------------------------------------------------------------------------------

def test_the_judge_is_deterministic() -> None:
    first = judged.__wrapped__(SCRIPTS["walk_through"])
    assert first == judged(SCRIPTS["walk_through"])


def test_bad_frames_are_refused_with_a_clear_error() -> None:
    judge = HealthJudge()
    with pytest.raises(ValueError, match="uint8 BGR"):
        judge.update(np.zeros((360, 640, 3), np.float32), 0.0)
    with pytest.raises(ValueError, match="uint8 BGR"):
        judge.update(np.zeros((360, 640, 4), np.uint8), 0.0)


def test_any_frame_size_and_gray_frames_are_judged() -> None:
    frame = render(Room(3), Figure(), Conditions(), 1.0)
    for picture in (cv2.resize(frame, (1280, 720)), cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)):
        state = HealthJudge().update(picture, 0.0)
        assert isinstance(state, HealthState) and state.state == "ok" and not state.changed
        assert set(state.metrics) >= {"brightness", "detail", "sharpness", "still_s"}
