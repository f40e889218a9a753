"""Simulated cameras: scenes with ground truth, a real codec round trip, and the MJPEG server an edge reads."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from devices.sim.cameras.scene import Conditions, Figure, Room, render, truth_box
from devices.sim.cameras.script import SCRIPTS, Label, compose, labels
from devices.sim.cameras.server import MjpegServer
from devices.sim.cameras.stream import SimCamera

SMALL = (320, 180)


def sharpness(frame: np.ndarray) -> float:
    """Laplacian variance of the gray picture: what a blur check computes."""
    return float(cv2.Laplacian(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def drawn_box(room: Room, figure: Figure, conditions: Conditions, t: float) -> tuple[int, int, int, int] | None:
    """Where pixels change when the figure is added to the same noise-free view."""
    quiet = conditions.but(noise=0.0)
    diff = cv2.absdiff(render(room, figure, quiet, t), render(room, Figure(), quiet, t)).max(axis=2)
    ys, xs = np.nonzero(diff > 0)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def post(url: str, body: bytes) -> tuple[int, dict]:
    """POST bytes as JSON; (status, decoded answer) also for 4xx."""
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def open_capture(url: str) -> cv2.VideoCapture:
    """Open a network stream the way the edge does (FFmpeg backend), with timeouts."""
    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 60000,
                                                 cv2.CAP_PROP_READ_TIMEOUT_MSEC, 60000])
    assert cap.isOpened(), f"cv2.VideoCapture could not open {url}"
    return cap


@pytest.fixture
def server() -> Iterator[MjpegServer]:
    """A small camera served on a clock running 2x real time (10 frames a second)."""
    start = time.monotonic()
    cams = {"cam-01": SimCamera(Room(1, SMALL), None, fps=5, size=SMALL, segment_frames=12)}
    srv = MjpegServer(cams, clock=lambda: start + 2 * (time.monotonic() - start))
    yield srv
    srv.close()
    for cam in cams.values():
        cam.close()


# -- scenes and ground truth ---------------------------------------------------------------------------------------


def test_same_seed_and_script_give_the_same_frames_and_another_seed_does_not() -> None:
    script = SCRIPTS["walk_through"]
    runs = []
    for seed in (5, 5, 6):
        cam = SimCamera(Room(seed, SMALL), script, size=SMALL, segment_frames=12)
        runs.append([(t, f.tobytes()) for t, f in cam.frames(3.0, 6.0)])
        cam.close()
    assert len(runs[0]) == 15
    assert runs[0] == runs[1]
    assert [f for _, f in runs[0]] != [f for _, f in runs[2]]


@pytest.mark.parametrize(("pose", "x", "conditions"), [
    ("standing", 0.3, Conditions()), ("walking", 0.6, Conditions()), ("sitting", 0.47, Conditions()),
    ("lying", 0.3, Conditions()), ("in_bed", 0.5, Conditions()), ("falling", 0.4, Conditions()),
    ("standing", 0.5, Conditions(turned=20.0)), ("walking", 0.02, Conditions(lights="infrared")),
])
def test_ground_truth_box_is_where_the_figure_is_drawn(pose: str, x: float, conditions: Conditions) -> None:
    room = Room(3)
    figure = Figure(pose, x, progress=0.5 if pose == "falling" else 1.0)
    truth = truth_box(room, figure, conditions, 2.3)
    drawn = drawn_box(room, figure, conditions, 2.3)
    assert truth is not None and drawn is not None
    assert np.allclose(truth, drawn, atol=2), (truth, drawn)


def test_a_standing_figure_is_about_half_the_frame_high_and_lying_it_is_wide() -> None:
    room = Room(0)
    _, _, w, h = truth_box(room, Figure("standing", 0.4), Conditions(), 0.0)
    assert 0.45 * 360 <= h <= 0.6 * 360 and w < h / 2
    _, y, w, h = truth_box(room, Figure("lying", 0.3), Conditions(), 0.0)
    assert w > 2.5 * h and y > 0.5 * 360  # on the floor, in the lower half


def test_breathing_moves_a_lying_figure_by_at_most_a_pixel() -> None:
    room = Room(0)
    boxes = {truth_box(room, Figure("lying", 0.3), Conditions(), t) for t in np.arange(0.0, 4.0, 0.2)}
    ys = [b[1] for b in boxes]
    assert max(ys) - min(ys) <= 1


def test_infrared_frames_are_gray_also_after_the_codec() -> None:
    cam = SimCamera(Room(2, SMALL), SCRIPTS["night_walk"], size=SMALL, segment_frames=12)
    sensor = cam.sensor_frame(8.0)
    assert np.array_equal(sensor[:, :, 0], sensor[:, :, 1]) and np.array_equal(sensor[:, :, 1], sensor[:, :, 2])
    for _, frame in cam.frames(7.0, 8.0):
        spread = frame.max(axis=2).astype(int) - frame.min(axis=2).astype(int)
        assert spread.max() <= 3  # chroma rounding only
    day = render(Room(2), Figure(), Conditions(), 0.0)
    night = render(Room(2), Figure(), Conditions(lights="infrared"), 0.0)
    assert night.std() < day.std()  # lower contrast
    cam.close()


def test_covered_frames_are_dark_and_uncovering_brings_the_room_back() -> None:
    cam = SimCamera(Room(1, SMALL), SCRIPTS["covered"], size=SMALL, segment_frames=12)
    means = {t: float(f.mean()) for t, f in cam.frames(18.0, 23.0)}
    assert all(m > 80 for t, m in means.items() if t < 20.0)
    assert all(m < 25 for t, m in means.items() if t >= 20.0)
    assert cam.frame_at(52.0).mean() > 80
    cam.close()


def test_defocus_lowers_laplacian_variance_after_the_codec() -> None:
    cam = SimCamera(Room(4, SMALL), SCRIPTS["defocus"], size=SMALL, segment_frames=12)
    sharp = sharpness(cam.frame_at(10.0))
    blurred = sharpness(cam.frame_at(20.0))
    assert blurred < 0.2 * sharp, (sharp, blurred)
    cam.close()


def test_turning_the_camera_moves_the_picture() -> None:
    room = Room(1)
    home, turned = (render(room, Figure(), Conditions(turned=deg), 0.0) for deg in (0.0, 25.0))
    shift = round(25.0 * room.px_per_degree())
    assert np.abs(home[:, shift:].astype(int) - turned[:, :-shift].astype(int)).mean() < 2
    assert np.abs(home.astype(int) - turned.astype(int)).mean() > 20


def test_sensor_noise_changes_a_still_scene_before_the_codec() -> None:
    cam = SimCamera(Room(1, SMALL), SCRIPTS["empty_day"], size=SMALL)
    assert not np.array_equal(cam.sensor_frame(1.0), cam.sensor_frame(1.2))
    assert np.abs(cam.sensor_frame(1.0).astype(int) - cam.sensor_frame(1.2).astype(int)).max() <= 3


# -- the codec -----------------------------------------------------------------------------------------------------


def test_codec_repeats_frames_of_a_still_scene_but_not_of_a_walking_figure() -> None:
    still = SimCamera(Room(1, SMALL), SCRIPTS["empty_day"], size=SMALL)
    frames = [f for _, f in still.frames(0.0, 9.6)]
    repeats = sum(np.array_equal(a, b) for a, b in zip(frames, frames[1:], strict=False))
    assert 5 <= repeats < len(frames) - 1  # often, not always (I-frames refresh)
    walker = SimCamera(Room(1, SMALL), SCRIPTS["walk_through"], size=SMALL)
    walking = [f for t, f in walker.frames(4.0, 12.0) if truth_box(walker.room, *walker.state_at(t), t)]
    assert len(walking) >= 35
    assert not any(np.array_equal(a, b) for a, b in zip(walking, walking[1:], strict=False))
    still.close()
    walker.close()


def test_frozen_repeats_one_decoded_frame_and_dropped_gives_none() -> None:
    frozen = SimCamera(Room(1, SMALL), SCRIPTS["frozen"], size=SMALL, segment_frames=12)
    during = [f for _, f in frozen.frames(10.0, 30.0)]
    assert all(np.array_equal(during[0], f) for f in during)  # even while someone walks through
    dropped = SimCamera(Room(1, SMALL), SCRIPTS["dropped"], size=SMALL, segment_frames=12)
    got = list(dropped.frames(8.0, 12.0, gaps=True))
    assert [t for t, f in got if f is None] == pytest.approx([t for t, _ in got if t >= 10.0])
    assert [t for t, _ in dropped.frames(8.0, 12.0)] == pytest.approx([8.0 + 0.2 * i for i in range(10)])
    frozen.close()
    dropped.close()


# -- scripts and labels --------------------------------------------------------------------------------------------


def test_person_down_starts_when_the_figure_lands_on_the_floor() -> None:
    script = SCRIPTS["fall"]
    (down,) = labels(script)
    assert down.kind == "person_down" and down.end_s == script.duration
    assert script.at(down.start_s - 0.2)[0].pose == "falling"
    assert script.at(down.start_s)[0].on_floor
    short = [lab for lab in labels(SCRIPTS["fall_get_up"]) if lab.kind == "person_down"]
    assert len(short) == 1 and short[0].end_s - short[0].start_s == pytest.approx(8.0)
    assert SCRIPTS["fall_get_up"].at(20.0)[0].pose in ("standing", "walking")


def test_every_scenario_has_the_labels_a_watcher_would_give() -> None:
    kinds = {name: {lab.kind for lab in labels(script)} for name, script in SCRIPTS.items()}
    assert kinds["empty_day"] == kinds["empty_night"] == kinds["day_night_switch"] == set()
    assert kinds["walk_through"] == kinds["sit_down"] == kinds["in_bed"] == set()
    assert kinds["covered"] == {"covered"} and kinds["defocus"] == {"blurred"} and kinds["turned"] == {"moved"}
    assert kinds["frozen"] == {"frozen"} and kinds["dropped"] == {"offline"}
    assert labels(SCRIPTS["night_walk"]) == [Label("night_activity", 5.0, 15.0)]


def test_compose_splits_moves_where_conditions_change() -> None:
    script = compose("x", [(10.0, "walking", (0.0, 1.0))], [(4.0, 6.0, {"covered": True})])
    assert [(s.start_s, s.end_s, s.conditions.covered) for s in script.segments] == [
        (0.0, 4.0, False), (4.0, 6.0, True), (6.0, 10.0, False)]
    assert script.at(5.0)[0].x == pytest.approx(0.5)
    with pytest.raises(ValueError, match="lights"):
        Conditions(lights="disco")


# -- the MJPEG server ----------------------------------------------------------------------------------------------


def test_edge_reads_the_stream_and_a_condition_post_changes_it(server: MjpegServer) -> None:
    cap = open_capture(server.url("cam-01"))
    ok, frame = cap.read()
    assert ok and frame.shape == (180, 320, 3) and frame.mean() > 80
    status, state = post(server.condition_url("cam-01"), b'{"covered": true}')
    assert status == 200 and state["conditions"]["covered"] is True
    for _ in range(100):  # frames already on their way arrive first
        ok, frame = cap.read()
        assert ok
        if frame.mean() < 25:
            break
    else:
        pytest.fail("the stream never showed the covered lens")
    cap.release()
    with urllib.request.urlopen(server.jpg_url("cam-01"), timeout=60) as resp:
        still = cv2.imdecode(np.frombuffer(resp.read(), np.uint8), cv2.IMREAD_COLOR)
    assert resp.headers["Content-Type"] == "image/jpeg" and still.mean() < 25


def test_bad_condition_posts_get_400_with_a_clear_message(server: MjpegServer) -> None:
    url = server.condition_url("cam-01")
    error = {"error": "lights must be one of day, dim, infrared, not 'disco'"}
    assert post(url, b'{"lights": "disco"}') == (400, error)
    status, body = post(url, b'{"coverd": true}')
    assert status == 400 and "unknown key 'coverd'" in body["error"]
    status, body = post(url, b"{not json")
    assert status == 400 and "not JSON" in body["error"]
    status, body = post(url, b'{"defocus": "lots"}')
    assert status == 400 and "defocus must be a number" in body["error"]
    status, body = post(server.condition_url("cam-99"), b'{"covered": true}')
    assert status == 404 and "cam-99" in body["error"]
    assert server.cameras["cam-01"].state_at(server.now())[1] == Conditions()  # nothing was changed


def test_a_dropped_camera_ends_its_stream_and_refuses_new_ones(server: MjpegServer) -> None:
    cap = open_capture(server.url("cam-01"))
    assert cap.read()[0]
    assert post(server.condition_url("cam-01"), b'{"dropped": true}')[0] == 200
    for _ in range(100):  # frames already on their way arrive first
        if not cap.read()[0]:
            break
    else:
        pytest.fail("the stream went on after the camera dropped")
    cap.release()
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(server.url("cam-01"), timeout=60)
    assert err.value.code == 503


def test_a_client_that_stops_reading_does_not_stall_the_others(server: MjpegServer) -> None:
    stuck = socket.create_connection(("127.0.0.1", server.port))
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.sendall(b"GET /cam/cam-01.mjpg HTTP/1.0\r\n\r\n")  # and never reads
    cap = open_capture(server.url("cam-01"))
    assert all(cap.read()[0] for _ in range(10))  # each read would time out if the stream stalled
    cap.release()
    again = open_capture(server.url("cam-01"))
    assert again.read()[0]
    again.release()
    stuck.close()


def test_close_ends_streams_and_frees_the_port() -> None:
    cam = SimCamera(Room(1, SMALL), None, size=SMALL, segment_frames=12)
    srv = MjpegServer({"cam": cam})
    port = srv.port
    reader = urllib.request.urlopen(srv.url("cam"), timeout=60)
    assert reader.readline().startswith(b"--")
    done = threading.Event()
    threading.Thread(target=lambda: (reader.read(), done.set()), daemon=True).start()
    srv.close()
    assert done.wait(10), "the open stream did not end"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    again = MjpegServer({"cam": cam}, port=port)
    assert again.port == port
    again.close()
    cam.close()


def test_the_server_listens_on_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        MjpegServer({}, host="0.0.0.0")
    with pytest.raises(ValueError, match="loopback"):
        MjpegServer({}, host="192.0.2.1")
