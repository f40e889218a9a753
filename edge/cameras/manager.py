"""All cameras of a site on the edge: one capture (reader thread) and one worker (analysis thread) each.

Built from the facility file: the camera's `stream` and protocol say what to open, its `view` and `masks`
where its zones are, the site's `cameras:` settings how often to analyse and when it is offline, the site's
schedules (in its time zone) when it is night and when the activity hours are.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from devices.cameras import CameraSettings
from devices.equipment import Device
from devices.facility import Site
from devices.kinds import DeviceKind
from edge.cameras.analytics import AnalyticsSettings, CameraAnalytics
from edge.cameras.capture import Capture, source_of
from edge.cameras.detect import PersonDetector, load_detector
from edge.cameras.health import HealthJudge
from edge.cameras.reporter import CameraReporter
from edge.cameras.worker import CameraWorker, Clock
from edge.cameras.zones import ViewZone, view_zones
from edge.outbox import Outbox

log = logging.getLogger(__name__)

WHOLE_PICTURE = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


class Cameras:
    """Starts, stops and reports on every camera of one site."""

    def __init__(self, site: Site, outbox: Outbox, *, clock: Clock = Clock(),  # noqa: B008 (frozen)
                 settings: CameraSettings | None = None, open_timeout_s: float = 10.0,
                 read_timeout_s: float = 5.0, backoff: tuple[float, float] = (1.0, 30.0),
                 state_every_s: float = 60.0) -> None:
        self.site, self.clock = site, clock
        self.settings = settings or site.cameras
        self._options: dict[str, Any] = {"open_timeout_s": open_timeout_s, "read_timeout_s": read_timeout_s,
                                         "backoff": backoff}
        self._state_every_s = state_every_s
        self.workers: dict[str, CameraWorker] = {}
        for device in site.devices:
            if device.kind is DeviceKind.CAMERA and device.stream:
                try:
                    self.workers[device.id] = self._worker(device, outbox)
                except ValueError as exc:
                    # One badly described camera must not take the others (or the SOS buttons) down.
                    log.error("camera %s: not started: %s", device.id, exc)
        self._started = False

    def start(self) -> None:
        """Start every camera's reader and worker."""
        for worker in self.workers.values():
            worker.start()
        self._started = True
        if self.workers:
            log.info("edge for site %s: %d cameras", self.site.id, len(self.workers))

    def stop(self, timeout: float = 3.0, *, readers_s: float = 0.5) -> bool:
        """Stop them all at once: the workers (which write to the outbox) within `timeout` s, then give the
        readers up to `readers_s`; False when something still runs."""
        if not self._started:
            return True
        for worker in self.workers.values():
            worker.halt()
        deadline = time.monotonic() + timeout
        busy = [n for n, w in self.workers.items() if not w.join(max(0.0, deadline - time.monotonic()))]
        if busy:
            log.error("camera workers %s did not stop within %.1f s", busy, timeout)
        deadline = time.monotonic() + min(readers_s, max(0.0, deadline - time.monotonic()))
        # A reader inside an FFmpeg open or read ends by itself within its timeout, touching nothing but its
        # own capture (and the process waits for it at exit): no need to hold the agent's stop for it.
        reading = [n for n, w in self.workers.items() if not w.capture.stop(max(0.0, deadline - time.monotonic()))]
        if reading:
            log.debug("camera readers %s end within their FFmpeg timeouts", reading)
        return not busy and not reading

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per camera: state and counters."""
        return {name: worker.summary() for name, worker in self.workers.items()}

    def _worker(self, device: Device, outbox: Outbox) -> CameraWorker:
        """The capture, judges and reporter of one camera."""
        s = self.settings
        assert device.stream is not None
        capture = Capture(device.id, source_of(device.protocol.value, device.stream), clock=self.clock.monotonic,
                          max_fps=s.analyse_fps, replay=device.protocol.value == "file", **self._options)
        analytics = CameraAnalytics(self._zones(device), device.masks, AnalyticsSettings.of_site(s),
                                    is_night=self._is_night, is_activity_hours=self._is_activity_hours,
                                    detector=self._detector(device))
        reporter = CameraReporter(self.site.id, device.id, outbox, masks=device.masks,
                                  state_every_s=self._state_every_s)
        return CameraWorker(capture, HealthJudge(), analytics, reporter, analyse_fps=s.analyse_fps,
                            offline_after_s=s.offline_after.total_seconds(), clock=self.clock)

    def _zones(self, device: Device) -> list[ViewZone]:
        """The zones the camera sees, placed by its `view`; a single zone without one is the whole picture."""
        types = {z.id: z.type.value for r in self.site.rooms() for z in r.zones}
        view: dict[str, Any] = dict(device.view)
        if not view and len(device.sees) == 1:
            view = {device.sees[0]: WHOLE_PICTURE}
        unplaced = sorted(set(device.sees) - set(view))
        if unplaced:
            log.warning("camera %s: zones %s have no place in its `view`; not analysed", device.id, unplaced)
        return view_zones(view, types)

    def _detector(self, device: Device) -> PersonDetector | None:
        """The site's own person detector (one per camera: detectors keep state), or None for the built-in."""
        if not self.settings.detector:
            return None
        try:
            return load_detector(self.settings.detector)
        except Exception as exc:
            # The built-in detector still finds falls: better than a camera without analytics.
            log.error("camera %s: %s; using the built-in detector", device.id, exc)
            return None

    def _local(self) -> datetime:
        """The site's wall-clock time now."""
        return self.site.local(self.clock.now())

    def _is_night(self, t: float) -> bool:
        """Whether it is night at the site now (the analytics ask about the frame it is judging: now)."""
        return self.site.schedules.night.contains(self._local().time())

    def _is_activity_hours(self, t: float) -> bool:
        """Whether the site's camera activity hours are on now."""
        return self.settings.activity_hours.contains(self._local().time())
