"""The demo's cameras: one simulated camera per camera of a site, and a tour of camera events played on them.

Public API:
    site_cameras(site, size=(640, 360), fps=5.0) -> dict[camera id, SimCamera]   an empty room each, own seed
    PLAYS                               the tour's plays: name -> (what it shows, which cameras fit, steps)
    CameraTour(server, site, every=120.0, announce=print, first_after=20.0)
        .start() / .stop()              plays one play every `every` s on a fitting camera, in PLAYS order
        .play(name) -> camera id        starts one play now (KeyError unknown name, LookupError no camera)
A play is a list of (seconds after its start, change) posted to the camera as `MjpegServer.change` does; its
last step puts the camera back to the empty room ({"reset": true}).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devices.facility import Site
from devices.kinds import DeviceKind
from devices.sim.cameras.scene import Room
from devices.sim.cameras.server import MjpegServer
from devices.sim.cameras.stream import SimCamera

log = logging.getLogger(__name__)
Step = tuple[float, dict[str, Any]]


@dataclass(frozen=True)
class Play:
    """One camera event of the tour: what it shows, which zone types a camera must see for it, its steps."""

    en: str
    zone_types: frozenset[str]
    steps: tuple[Step, ...]


RESET: dict[str, Any] = {"reset": True}
PLAYS: dict[str, Play] = {
    # Walks in from the left, stands clear of the bed, falls: the edge must see the upright figure first.
    "person-down": Play("a resident walks in, falls on the floor and lies still for 60 s, then gets up",
                        frozenset({"floor"}),
                        ((0, {"pose": "walk", "x": 0.0}), (2.5, {"pose": "stand"}), (5.5, {"pose": "fall"}),
                         (65.5, {"pose": "get_up"}), (71.5, {"pose": "walk"}), (80, RESET))),
    "lens-covered": Play("the lens is covered for 45 s (its zones lose their camera)", frozenset(),
                         ((0, {"covered": True}), (45, RESET))),
    "night-walk": Play("someone walks through a passage or exit for 20 s (night activity at night)",
                       frozenset({"passage", "exit", "kitchen"}),
                       ((0, {"pose": "walk", "x": 0.1}), (20, RESET))),
    "defocused": Play("the lens is out of focus for 45 s", frozenset(), ((0, {"defocus": 6}), (45, RESET))),
    "turned": Play("the camera is turned 25 degrees away for 45 s", frozenset(), ((0, {"turned": 25}), (45, RESET))),
    "frozen": Play("the picture freezes for 100 s", frozenset(), ((0, {"frozen": True}), (100, RESET))),
    "dropped": Play("the stream stops for 45 s", frozenset(), ((0, {"dropped": True}), (45, RESET))),
}


def site_cameras(site: Site, size: tuple[int, int] = (640, 360), fps: float = 5.0) -> dict[str, SimCamera]:
    """A simulated camera for every camera of the site, each an empty room of its own (seeded by its order)."""
    ids = [d.id for d in site.devices if d.kind is DeviceKind.CAMERA]
    return {cam: SimCamera(Room(seed, size), fps=fps, size=size) for seed, cam in enumerate(ids)}


class CameraTour:
    """Plays PLAYS in turn on the site's simulated cameras, one every `every` seconds, in a thread."""

    def __init__(self, server: MjpegServer, site: Site, *, every: float = 120.0,
                 announce: Callable[[str], None] = print, first_after: float = 20.0) -> None:
        self.server, self.site, self.every, self.announce = server, site, every, announce
        self.first_after = first_after
        self.played = 0
        self._busy: dict[str, float] = {}  # camera -> when its play ends (server time)
        self._pending: list[tuple[float, str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="camera-tour", daemon=True)

    def start(self) -> CameraTour:
        """Start touring."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop touring (the cameras keep their current picture)."""
        self._stop.set()
        self._thread.join(timeout=5)

    def play(self, name: str) -> str:
        """Start the named play now on a free camera that fits it; its camera id."""
        play = PLAYS[name]
        now = self.server.now()
        with self._lock:
            camera = self._camera_for(play, now)
            self._busy[camera] = now + play.steps[-1][0]
            self._pending += [(now + at, camera, change) for at, change in play.steps]
            self._pending.sort(key=lambda p: p[0])
        self.announce(f"camera scenario {name} on {camera}: {play.en}")
        self.post_due(now)
        return camera

    def _camera_for(self, play: Play, now: float) -> str:
        """The first free camera (in facility order, from where the last play left off) that sees a fitting zone."""
        types = {z.id: z.type.value for r in self.site.rooms() for z in r.zones}
        fitting = [d.id for d in self.site.devices if d.kind is DeviceKind.CAMERA and d.id in self.server.cameras
                   and (not play.zone_types or any(types.get(z) in play.zone_types for z in d.sees))
                   and self._busy.get(d.id, 0.0) <= now]
        if not fitting:
            raise LookupError(f"no free camera sees a zone of type {sorted(play.zone_types)}")
        return fitting[self.played % len(fitting)]

    def post_due(self, now: float) -> None:
        """Post every step whose time has come (the tour's thread does it every second)."""
        with self._lock:
            due = [p for p in self._pending if p[0] <= now]
            self._pending = [p for p in self._pending if p[0] > now]
        for _, camera, change in due:
            try:
                self.server.change(camera, change)
            except (KeyError, ValueError) as exc:
                log.error("camera tour: %s on %s: %s", change, camera, exc)

    def _run(self) -> None:
        """Every second: post due steps; every `every` s: start the next play that can run."""
        names = list(PLAYS)
        next_at = self.server.now() + self.first_after
        while not self._stop.wait(1.0):
            now = self.server.now()
            self.post_due(now)
            if now < next_at:
                continue
            next_at = now + self.every
            for _ in names:  # a play with no free camera is skipped, not waited for
                name = names[self.played % len(names)]
                self.played += 1
                try:
                    self.play(name)
                    break
                except LookupError as exc:
                    log.info("camera tour: %s skipped: %s", name, exc)
