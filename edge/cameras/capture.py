"""Reading one camera: a reader thread around `cv2.VideoCapture` that keeps only the newest frame.

The reader opens the stream with FFmpeg's open and read timeouts, so a stream that stalls fails its read
instead of blocking for ever; it then reopens with backoff (1, 2, 4 … 30 s). Backends without those timeouts
(a local V4L2 device) are covered by `check`, the watchdog: a reader stuck in one call for longer than
`stall_s` (real seconds) is abandoned (it releases its capture and ends when the call returns) and a fresh
one takes over. Frame times, rates and `last_frame_t` use the injected `clock`.
A stalled camera can only ever block its own reader thread: `take` and `stats` never wait on OpenCV.

OpenCV's FFmpeg backend opens streams under one process-wide lock: a camera that is switched off or
unreachable, or that accepts connections and then says nothing, would hold every other camera's (re)connection
for the length of its open timeout. So a network stream's server is first asked a plain HEAD (HTTP) or OPTIONS
(RTSP) outside that lock, and OpenCV opens the stream only when something answers (DESIGN.md "Cameras").
"""

from __future__ import annotations

import atexit
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import cv2
import numpy as np

from edge.cameras.rates import RateMeter

log = logging.getLogger(__name__)

Source = str | int  # a URL or file path, or a local device index
Opener = Callable[[Source, float, float], Any]  # (source, open timeout s, read timeout s) -> a VideoCapture
DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443, "rtmp": 1935}


@dataclass(frozen=True)
class Grabbed:
    """One decoded frame: the BGR image, when it arrived (the capture's clock), its number since start."""

    image: np.ndarray
    t: float
    number: int


@dataclass(frozen=True)
class CaptureStats:
    """A reader's counters since start; `skipped` = frames decoded but replaced before anyone took them."""

    fps_in: float
    frames: int
    skipped: int
    decode_errors: int
    reconnects: int
    stalls: int
    connected: bool


def source_of(protocol: str, stream: str) -> Source:
    """What `cv2.VideoCapture` opens for a camera: a device index for `local` "0" or "/dev/video0", else the text."""
    if protocol == "local":
        tail = stream.removeprefix("/dev/video")
        if tail.isdigit():
            return int(tail)
    return stream


def open_capture(source: Source, open_timeout_s: float, read_timeout_s: float) -> Any:
    """A VideoCapture with FFmpeg's open/read timeouts (URLs and files); a device index goes to V4L2."""
    if isinstance(source, int):
        return cv2.VideoCapture(source)  # no timeouts there: the watchdog covers it
    if not answers(source, open_timeout_s):
        return None  # the reader counts a failed open and backs off, having held nobody else up
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(open_timeout_s * 1000),
              cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(read_timeout_s * 1000)]
    return cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)


def answers(source: str, timeout_s: float) -> bool:
    """Whether a network stream's server answers a request within `timeout_s` (True for files and devices)."""
    parts = urlsplit(source)
    scheme = parts.scheme.lower()
    port = DEFAULT_PORTS.get(scheme)
    if port is None or not parts.hostname:
        return True
    # HEAD or OPTIONS: any reply will do, even an error; only silence or a refused connection counts.
    verb, version = ("OPTIONS", "RTSP/1.0") if scheme.startswith("rtsp") else ("HEAD", "HTTP/1.0")
    request = f"{verb} {source} {version}\r\nCSeq: 1\r\n\r\n".encode()
    try:
        with socket.create_connection((parts.hostname, parts.port or port), timeout=timeout_s) as sock:
            if scheme in ("https", "rtsps"):
                return True  # a TLS server says nothing before its handshake: the connect is all we check
            sock.sendall(request)
            return bool(sock.recv(1))
    except (OSError, ValueError):
        return False


class Capture:
    """The newest frame of one camera, read by its own daemon thread; see the module docstring."""

    def __init__(self, name: str, source: Source, *, clock: Callable[[], float] = time.monotonic,
                 open_timeout_s: float = 10.0, read_timeout_s: float = 5.0,
                 backoff: tuple[float, float] = (1.0, 30.0), max_fps: float | None = None,
                 max_width: int | None = 640, replay: bool = False, opener: Opener = open_capture) -> None:
        self.name, self.source, self.clock = name, source, clock
        self.open_timeout_s, self.read_timeout_s, self.backoff = open_timeout_s, read_timeout_s, backoff
        # Frames closer together than this are decoded (the codec needs them) but not converted to BGR.
        self._min_gap = 0.75 / max_fps if max_fps else 0.0
        self.max_width, self._opener = max_width, opener
        self.stall_s = max(open_timeout_s, read_timeout_s) + 5.0
        self.replay = replay  # a recorded file: read at its own pace, looped
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._latest: Grabbed | None = None
        self._taken = True
        self._meter = RateMeter()
        self._frames = self._skipped = self._errors = self._reconnects = self._stalls = 0
        self._connected = False
        self.last_frame_t: float | None = None
        self._generation = 0
        self._busy_since: float | None = None  # when the current reader's open/read call began
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the reader thread."""
        # A daemon thread still inside an FFmpeg read when the interpreter finalizes aborts the process
        # ("terminate called without an active exception"): at exit, give the readers time to leave OpenCV.
        atexit.register(self._finish)
        self._spawn()

    def halt(self) -> None:
        """Ask the readers to end, without waiting (a reader inside OpenCV ends when its call returns)."""
        self._stop.set()

    def stop(self, timeout: float = 2.0) -> bool:
        """Ask the readers to end and wait up to `timeout` s; False when one is still inside OpenCV."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        done = not any(t.is_alive() for t in self._threads)
        if done:
            atexit.unregister(self._finish)
        return done

    def _finish(self) -> None:
        """At interpreter exit: stop and wait for the readers, as long as their timeouts can make them wait."""
        if not self.stop(self.stall_s):
            log.warning("camera %s: a reader is still inside OpenCV at exit", self.name)

    def take(self) -> Grabbed | None:
        """The newest frame if nobody took it yet, else None."""
        with self._lock:
            if self._taken:
                return None
            self._taken = True
            return self._latest

    def stats(self) -> CaptureStats:
        """The counters now."""
        with self._lock:
            return CaptureStats(self._meter.rate(self.clock()), self._frames, self._skipped, self._errors,
                                self._reconnects, self._stalls, self._connected)

    def check(self) -> bool:
        """Watchdog: replace a reader stuck in one OpenCV call for over `stall_s`; True when it did."""
        with self._lock:
            busy = self._busy_since
            if busy is None or self._stop.is_set() or time.monotonic() - busy <= self.stall_s:
                return False
            # At most one abandoned reader at a time: a call that never returns must not pile up threads.
            if sum(t.is_alive() for t in self._threads) > 1:
                return False
            self._stalls += 1
            self._reconnects += 1
            self._connected, self._busy_since = False, None
        log.warning("camera %s: reader stuck for over %.0f s; starting a new one", self.name, self.stall_s)
        self._spawn()
        return True

    def _spawn(self) -> None:
        """Start a reader of a new generation (older ones end when they notice)."""
        with self._lock:
            self._generation += 1
            generation = self._generation
        self._threads = [t for t in self._threads if t.is_alive()]
        thread = threading.Thread(target=self._run, args=(generation,), name=f"camera-{self.name}-reader",
                                  daemon=True)
        self._threads.append(thread)
        thread.start()

    def _current(self, generation: int) -> bool:
        """Whether this reader should go on."""
        return generation == self._generation and not self._stop.is_set()

    def _run(self, generation: int) -> None:
        """Reader: open, read until the stream fails, wait the backoff, reopen; until stopped."""
        low, high = self.backoff
        delay = low
        while self._current(generation):
            try:
                flowed = self._session(generation)
            except Exception:
                log.exception("camera %s: reader failed", self.name)
                flowed = False
            with self._lock:
                self._connected = False
            if flowed and self.replay:
                continue  # a replayed file starts over at once
            delay = low if flowed else delay  # frames flowed: the backoff starts again
            if self._stop.wait(delay) or not self._current(generation):
                return
            delay = min(high, delay * 2)
            with self._lock:
                self._reconnects += 1

    def _session(self, generation: int) -> bool:
        """One open stream, read until it fails; True when at least one frame came."""
        cap = self._call(generation, self._opener, self.source, self.open_timeout_s, self.read_timeout_s)
        try:
            if cap is None or not cap.isOpened():
                return False
            with self._lock:
                self._connected = self._current(generation)
            pace = self._file_pace(cap)
            flowed = False
            while self._current(generation):
                if not self._call(generation, cap.grab):
                    if not (self.replay and flowed):  # the end of a replayed file is not an error
                        with self._lock:
                            self._errors += 1
                    return flowed
                flowed = True
                self._frame(generation, cap)
                if pace:
                    self._stop.wait(pace)
            return flowed
        finally:
            if cap is not None:
                cap.release()

    def _call(self, generation: int, fn: Callable[..., Any], *args: Any) -> Any:
        """Run one blocking OpenCV call, letting the watchdog see how long it takes."""
        with self._lock:
            if generation == self._generation:
                self._busy_since = time.monotonic()  # real time: OpenCV blocks in real seconds
        try:
            return fn(*args)
        finally:
            with self._lock:
                if generation == self._generation:
                    self._busy_since = None

    def _frame(self, generation: int, cap: Any) -> None:
        """Count a grabbed frame; convert it and make it the newest unless it comes too soon after the last."""
        now = self.clock()
        with self._lock:
            if generation != self._generation:
                return
            self._meter.tick(now)
            self._frames += 1
            self.last_frame_t = now
            if self._latest is not None and now - self._latest.t < self._min_gap:
                self._skipped += 1
                return
        ok, image = self._call(generation, cap.retrieve)
        if not ok or image is None:
            with self._lock:
                self._errors += 1
            return
        image = self._fit(image)
        with self._lock:
            if generation != self._generation:
                return
            if not self._taken:
                self._skipped += 1
            self._latest, self._taken = Grabbed(image, now, self._frames), False

    def _fit(self, image: np.ndarray) -> np.ndarray:
        """Shrink frames wider than `max_width` (zones are fractions, so nothing else changes)."""
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        h, w = image.shape[:2]
        if self.max_width and w > self.max_width:
            size = (self.max_width, max(1, round(h * self.max_width / w)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        return image

    def _file_pace(self, cap: Any) -> float:
        """A replayed file is read at its own frame rate, not as fast as it decodes."""
        if not self.replay:
            return 0.0
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        return 1.0 / fps if 0 < fps <= 120 else 0.2
