"""Camera throughput bench, the processes: the sim MJPEG server and one edge phase (see camera_throughput.py)."""

import contextlib
import cProfile
import io
import logging
import pstats
import tempfile
import threading
import time
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import psutil
from ingest_clients import child_setup

from devices.equipment import Protocol
from devices.facility import Site
from devices.kinds import DeviceKind
from devices.loader import load_facility
from devices.sim.cameras.scene import Room
from devices.sim.cameras.script import SCRIPTS
from devices.sim.cameras.server import MjpegServer
from devices.sim.cameras.stream import SimCamera
from edge.cameras.manager import Cameras
from edge.cameras.worker import CameraWorker, Clock
from edge.outbox import Outbox

FACILITY_FILE = Path(__file__).resolve().parent.parent / "config" / "facility.yaml"
NIGHT = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)  # 01:00 at the site: night, so night_activity is judged too
QUALITY = 80  # the sim server's JPEG quality
# Per camera: the scene and, when serving clips, how many seconds of it loop (the fall lies > 20 s: person_down).
SCENES = {"cam-01": ("walk_through", 25.0), "cam-02": ("empty_day", 10.0), "cam-03": ("sit_down", 49.0),
          "cam-04": ("empty_day", 10.0), "cam-05": ("walk_through", 25.0), "cam-06": ("walk_through", 25.0),
          "cam-07": ("empty_day", 10.0), "cam-08": ("fall", 45.0), "cam-09": ("in_bed", 10.0),
          "cam-10": ("empty_night", 10.0), "cam-11": ("walk_through", 25.0), "cam-12": ("empty_day", 10.0)}
FALL_CAMERA = "cam-08"  # live serving: a fall is also staged here inside the analytics window (see stage_fall)
FALL_WALK_S = 2.5  # the staged fall: walk in from x = 0.1 for this long, then fall
STAGES = ("health", "background", "detect", "track", "fall", "activity", "analytics", "report")


class ClipCamera(SimCamera):
    """A sim camera whose first `clip_s` seconds are rendered and JPEG-encoded once, then served in a loop."""

    def __init__(self, room: Room, script: Any, fps: float, size: tuple[int, int], clip_s: float) -> None:
        super().__init__(room, script, fps, size)
        self.clip = [cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])[1].tobytes()
                     for _, f in self.frames(0.0, clip_s)]
        self.close()

    def prepare(self, start_s: float, end_s: float, quality: int = QUALITY) -> None:
        """Nothing to make: the clip is ready."""

    def cached_jpeg(self, t: float, quality: int = QUALITY) -> tuple[int, bytes | None] | None:
        index = self.index(t)
        return index, self.clip[index % len(self.clip)]


def sim_cameras(serve: str, fps: float, size: tuple[int, int]) -> dict[str, SimCamera]:
    """The 12 sim cameras: scripts looped (live) or pre-rendered clips (clip)."""
    cameras: dict[str, SimCamera] = {}
    for i, (cam, (name, clip_s)) in enumerate(sorted(SCENES.items())):
        room = Room(i + 1, size)
        if serve == "clip":
            cameras[cam] = ClipCamera(room, SCRIPTS[name], fps, size, clip_s)
        else:
            cameras[cam] = SimCamera(room, replace(SCRIPTS[name], loop=True), fps, size)
    return cameras


def sim_server(serve: str, fps: float, size: tuple[int, int], result: Any, stop: Any) -> None:
    """Child process: serve the 12 sim cameras over HTTP MJPEG until `stop` is set."""
    child_setup()
    started = time.perf_counter()
    cameras = sim_cameras(serve, fps, size)
    prepared = time.perf_counter() - started
    with MjpegServer(cameras, quality=QUALITY) as server:
        result.put({"urls": {cam: server.url(cam) for cam in cameras}, "prepare_s": prepared,
                    "fall_url": server.condition_url(FALL_CAMERA)})
        stop.wait()


def bench_site(urls: dict[str, str]) -> Site:
    """The reference site, its cameras pointed at the sim server (zones, views and masks as in the file)."""
    site = load_facility(FACILITY_FILE).site()
    devices = [d.model_copy(update={"protocol": Protocol.MJPEG, "stream": urls[d.id]})
               if d.kind is DeviceKind.CAMERA else d for d in site.devices]
    return site.model_copy(update={"devices": devices})


class Probe:
    """Counts one worker's analysed frames and times its stages in its own thread's CPU time."""

    def __init__(self, worker: CameraWorker, analyse: bool, profile: bool) -> None:
        self.analysed = 0
        self.profile = cProfile.Profile(time.thread_time) if profile else None  # one per thread: not shareable
        self.cpu = dict.fromkeys(STAGES, 0.0)
        self.events: list[str] = []  # kinds of the events that started
        original = worker._analyse

        def analysed(image: Any, t: float) -> None:
            if analyse:
                original(image, t)
            else:  # decode only: the frame is taken at analyse_fps and dropped
                worker._meter.tick(worker.clock.monotonic())
            self.analysed += 1

        worker._analyse = analysed  # type: ignore[method-assign]
        if analyse:
            a = worker.analytics
            for key, obj, name in (("health", worker.judge, "update"), ("background", a.background, "apply"),
                                   ("detect", a.detector, "detect"), ("track", a.tracker, "update"),
                                   ("fall", a.fall, "update"), ("activity", a.activity, "update"),
                                   ("analytics", a, "update"), ("report", worker.reporter, "event"),
                                   ("report", worker.reporter, "state")):
                setattr(obj, name, self._timed(key, getattr(obj, name)))
            event = worker.reporter.event

            def counted(ev: Any, *args: Any) -> None:
                event(ev, *args)
                if ev.active:
                    self.events.append(ev.kind)

            worker.reporter.event = counted  # type: ignore[method-assign]
        if self.profile is not None:
            step, prof = worker.step, self.profile
            worker.step = lambda: prof.runcall(step)  # type: ignore[method-assign]

    def _timed(self, key: str, fn: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.cpu[key] += time.thread_time() - t0
        return timed


def thread_cpu(proc: psutil.Process) -> dict[str, float]:
    """CPU seconds so far of the process's threads, by kind: camera readers, camera workers, the rest."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    out = {"readers": 0.0, "workers": 0.0, "other": 0.0}
    for t in proc.threads():
        name = names.get(t.id, "")
        kind = "readers" if name.endswith("-reader") else "workers" if name.endswith("-worker") else "other"
        out[kind] += t.user_time + t.system_time
    return out


def snapshot(cams: Cameras, probes: dict[str, Probe], proc: psutil.Process) -> dict[str, Any]:
    """Counters and CPU times now."""
    cpu = proc.cpu_times()
    caps = {n: w.capture.stats() for n, w in cams.workers.items()}
    return {"wall": time.perf_counter(), "cpu": cpu.user + cpu.system, "threads": thread_cpu(proc),
            "frames": {n: c.frames for n, c in caps.items()}, "skipped": sum(c.skipped for c in caps.values()),
            "decode_errors": sum(c.decode_errors for c in caps.values()),
            "reconnects": sum(c.reconnects for c in caps.values()),
            "analysed": sum(p.analysed for p in probes.values()),
            "stages": {k: sum(p.cpu[k] for p in probes.values()) for k in STAGES},
            "published": sum(w.reporter.published for w in cams.workers.values()),
            "worker_errors": sum(w.errors for w in cams.workers.values()),
            "states": sorted({str(w.state) for w in cams.workers.values()})}


def warm_up(cams: Cameras, probes: dict[str, Probe], warm_s: float, limit_s: float = 40.0) -> float:
    """Wait until every camera has analysed a frame, then `warm_s` more (bounded by `limit_s`)."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s and not all(p.analysed for p in probes.values()):
        time.sleep(0.1)
    time.sleep(warm_s)
    return time.monotonic() - started


def change(url: str, body: str) -> None:
    """A live change to a sim camera (POST /cam/<id>/condition)."""
    request = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def stage_fall(url: str | None, seconds: float) -> None:
    """Sleep through the window; with a live server, someone walks in and falls at its start (person_down is
    due 20 s after the fall, inside a window of ~23 s or more)."""
    if url is None:
        time.sleep(seconds)
        return
    change(url, '{"pose": "walk", "x": 0.1}')
    time.sleep(FALL_WALK_S)
    change(url, '{"pose": "fall"}')
    time.sleep(seconds - FALL_WALK_S)


def edge_phase(mode: str, urls: dict[str, str], fall_url: str | None, warm_s: float, seconds: float,
               profile: bool, result: Any) -> None:
    """Child process: the edge's cameras of the site, with analytics ("analytics") or decode only ("decode")."""
    child_setup()
    logging.basicConfig(level=logging.WARNING, format=f"[edge {mode}] %(levelname)s %(name)s: %(message)s")
    proc = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="cw-bench-cam-") as tmp:
        outbox = Outbox(Path(tmp) / "outbox.db")
        outbox.start(lambda topic, payload: None)  # the uplink takes nothing: envelopes stay in the file
        cams = Cameras(bench_site(urls), outbox, clock=Clock(now=lambda: NIGHT))
        probes = {n: Probe(w, mode == "analytics", profile) for n, w in cams.workers.items()}
        rss_peak, stop = [0], threading.Event()

        def sample_rss() -> None:
            while not stop.wait(0.25):
                rss_peak[0] = max(rss_peak[0], proc.memory_info().rss)

        sampler = threading.Thread(target=sample_rss, name="rss-sampler", daemon=True)
        sampler.start()
        try:
            cams.start()
            warmed = warm_up(cams, probes, warm_s)
            first = snapshot(cams, probes, proc)
            stage_fall(fall_url, seconds)
            last = snapshot(cams, probes, proc)
        finally:
            if fall_url:
                change(fall_url, '{"reset": true}')
            cams.stop(readers_s=3.0)
            stop.set()
            sampler.join()
            outbox.close()
    hwm = next(int(line.split()[1]) * 1024 for line in Path("/proc/self/status").read_text().splitlines()
               if line.startswith("VmHWM:"))
    result.put({"first": first, "last": last, "warm_s": warmed, "rss_sampled": rss_peak[0], "rss_hwm": hwm,
                "events": {n: p.events for n, p in probes.items() if p.events},
                "profile": profile_text([p.profile for p in probes.values() if p.profile])})


def profile_text(profiles: list[cProfile.Profile], top: int = 18) -> str:
    """The workers' hottest functions by own CPU time, all workers together (empty without --profile)."""
    if not profiles:
        return ""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        stats = pstats.Stats(profiles[0], stream=out)
        for prof in profiles[1:]:
            stats.add(prof)
        stats.strip_dirs().sort_stats("tottime").print_stats(top)
    return out.getvalue()
