"""One camera's analysis loop: the newest frame at `analyse_fps`, health and analytics, offline on silence.

Each camera has its own worker thread, so a slow analysis delays only its own camera (the OpenCV and numpy
work releases the GIL much of the time). `step` is one tick and is what tests drive with an injected clock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from devices.messages import CameraState, CameraStats, utcnow
from edge.cameras.analytics import CameraAnalytics
from edge.cameras.capture import Capture
from edge.cameras.health import HealthJudge, HealthState
from edge.cameras.rates import RateMeter
from edge.cameras.reporter import CameraReporter

log = logging.getLogger(__name__)
UNTRUSTED = ("covered", "moved", "blurred")  # pictures the analytics do not judge (a frozen one is still true)


def trusted(health: HealthState) -> bool:
    """Whether the analytics may judge this frame: a hand over the lens or a turned camera changes the whole
    picture, and that change is the fault, not a person."""
    return not health.suspect and health.state not in UNTRUSTED


@dataclass(frozen=True)
class Clock:
    """Time for the cameras: `monotonic` seconds for durations, `now` (aware) for the envelopes."""

    monotonic: Callable[[], float] = field(default=time.monotonic)
    now: Callable[[], datetime] = field(default=utcnow)


class CameraWorker:
    """Judges one camera's newest frame at a fixed rate and reports through its `CameraReporter`."""

    def __init__(self, capture: Capture, judge: HealthJudge, analytics: CameraAnalytics,
                 reporter: CameraReporter, *, analyse_fps: float, offline_after_s: float,
                 clock: Clock = Clock()) -> None:  # noqa: B008 (frozen: shared safely)
        self.capture, self.judge, self.analytics, self.reporter = capture, judge, analytics, reporter
        self.period, self.offline_after_s, self.clock = 1.0 / analyse_fps, offline_after_s, clock
        self.name = capture.name
        self.health: str = "ok"  # the judge's verdict on the last analysed frame
        self.state: CameraState | None = None  # what was last reported (None before the first report)
        self.errors = 0
        self._meter = RateMeter()
        self._started = clock.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._logged: set[str] = set()

    def start(self) -> None:
        """Start the capture and the analysis thread."""
        self._started = self.clock.monotonic()
        self.capture.start()
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.name}-worker", daemon=True)
        self._thread.start()

    def halt(self) -> None:
        """Ask the analysis thread and the reader to stop, without waiting."""
        self._stop.set()
        self.capture.halt()

    def join(self, timeout: float) -> bool:
        """Wait for the analysis thread (the one that writes to the outbox); False when it is still running."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not (self._thread is not None and self._thread.is_alive())

    def step(self) -> None:
        """One tick: analyse the newest frame (if any is new), judge offline, report what changed or is due."""
        self.capture.check()
        grabbed = self.capture.take()
        if grabbed is not None:
            self._analyse(grabbed.image, grabbed.t)
        t = self.clock.monotonic()
        last = self.capture.last_frame_t
        silent_s = t - (last if last is not None else self._started)
        if silent_s >= self.offline_after_s:
            self._report("offline", t)
        elif grabbed is not None or self.state is not None:
            self._report(self.health, t)  # nothing to say before the first frame

    def stats(self) -> CameraStats:
        """The counters of the envelope's `stats` field."""
        c = self.capture.stats()
        return CameraStats(fps_in=c.fps_in, fps_analysed=self._meter.rate(self.clock.monotonic()),
                           skipped=c.skipped, decode_errors=c.decode_errors, reconnects=c.reconnects,
                           published=self.reporter.published)

    def summary(self) -> dict[str, Any]:
        """Stats plus state, for the agent's heartbeat."""
        return {"state": self.state or "starting", **self.stats().model_dump(), "errors": self.errors}

    def _analyse(self, image: Any, t: float) -> None:
        """Health and analytics of one frame; events are reported as they start and end."""
        health = self.judge.update(image, t)
        self.health = health.state
        self._meter.tick(self.clock.monotonic())
        if not trusted(health):
            return
        events = self.analytics.update(image, t)
        figure = self.analytics.figure
        for event in events:
            if event.active and event.box is None and figure is not None:
                event = replace(event, box=figure.box)  # frame whoever set the zone's event off
            self.reporter.event(event, image, self.clock.now())

    def _report(self, state: CameraState, t: float) -> None:
        """Send the state when it changed or is due."""
        if self.reporter.due(state, t):
            self.reporter.state(state, self.stats(), t, self.clock.now())
            self.state = state

    def _run(self) -> None:
        """Tick at `analyse_fps` (real time) until stopped; a slow tick shifts the next, never piles up."""
        due = time.monotonic()
        while not self._stop.is_set():
            try:
                self.step()
            except Exception as exc:
                self._failed(exc)
            due = max(due + self.period, time.monotonic())
            self._stop.wait(max(0.0, due - time.monotonic()))

    def _failed(self, exc: Exception) -> None:
        """Count a bug in a tick; log the first of each exception type (the camera keeps going)."""
        self.errors += 1
        name = type(exc).__name__
        if name not in self._logged:
            self._logged.add(name)
            log.error("camera %s: unexpected %s in the analysis; further ones are only counted", self.name, name,
                      exc_info=exc)
