"""A simulated camera: a script rendered frame by frame and passed through a real inter-frame codec.

Public API:
    SimCamera(room=None, script=None, fps=5.0, size=(640, 360), *, segment_frames=24, fourcc="mp4v")
        room defaults to Room(0, size); script None = an empty room in daylight, forever.
        .frames(start_s=0.0, end_s=None, *, gaps=False) -> Iterator[(t, frame)]
            every frame of the script at its fps (t = index / fps), as fast as the CPU allows, through the codec;
            end_s defaults to the script's duration. Dropped frames are skipped, or yielded as (t, None) with gaps.
        .frame_at(t) -> frame | None        the decoded frame at time t (None while the stream is dropped)
        .jpeg_at(t, quality=80) -> bytes | None   that frame as JPEG (cached)
        .prepare(start_s, end_s, quality=80)      make the JPEGs of that span ahead of time
        .cached_jpeg(t, quality=80) -> (index, bytes | None) | None   the newest ready one (what the server sends)
        .state_at(t) -> (Figure, Conditions)      script plus live changes
        .truth(t) -> Truth(t, figure, conditions, box)   ground truth of the scene in front of the lens at t
        .change(body, t) -> dict            a live change (see live.py); ValueError on a bad one
        .close()
Frozen = the decoded frame from the moment it froze, repeated (byte-identical); dropped = no frame.
Deterministic: the same room seed, script, fps, size and live changes give byte-identical frames.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple

import cv2
import numpy as np

from devices.sim.cameras.codec import FOURCC, SegmentReader
from devices.sim.cameras.live import Overrides, parse_change
from devices.sim.cameras.scene import Box, Conditions, Figure, Room, render, truth_box
from devices.sim.cameras.script import Script


class Truth(NamedTuple):
    """What is really in front of the lens at t (the box is where the figure is drawn before the codec)."""

    t: float
    figure: Figure
    conditions: Conditions
    box: Box | None


class SimCamera:
    """One simulated camera: script + live changes -> rendered -> mp4v round trip -> frames."""

    def __init__(self, room: Room | None = None, script: Script | None = None, fps: float = 5.0,
                 size: tuple[int, int] = (640, 360), *, segment_frames: int = 24, fourcc: str = FOURCC) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, not {fps}")
        self.room = room or Room(0, size)
        if self.room.size != tuple(size):
            raise ValueError(f"room size {self.room.size} differs from the camera size {tuple(size)}")
        self.script = script
        self.fps = float(fps)
        self.size = self.room.size
        self.segment_frames = segment_frames
        self.fourcc = fourcc
        self._live = Overrides()
        self._lock = threading.RLock()
        self._reader = self._new_reader()
        self._frozen: dict[int, np.ndarray] = {}  # freeze start index -> the frame it shows
        self._jpegs: dict[tuple[int, int], bytes | None] = {}
        self._jpeg_lock = threading.Lock()
        self._epoch = 0  # bumped by every live change: JPEGs made before it are not cached
        self._blank = np.zeros((self.size[1], self.size[0], 3), np.uint8)

    def index(self, t: float) -> int:
        """The frame index showing at time t."""
        return max(0, math.floor(t * self.fps + 1e-6))

    def state_at(self, t: float) -> tuple[Figure, Conditions]:
        """Figure and conditions at t: the script's, with live changes laid over."""
        figure, conditions = self.script.at(t) if self.script else (Figure(), Conditions())
        return self._live.apply(t, figure, conditions)

    def truth(self, t: float) -> Truth:
        """Ground truth at t: the figure, the conditions, and where the figure is drawn."""
        figure, conditions = self.state_at(t)
        return Truth(t, figure, conditions, truth_box(self.room, figure, conditions, t))

    def sensor_frame(self, t: float) -> np.ndarray:
        """The frame before the codec (no frozen/dropped)."""
        figure, conditions = self.state_at(t)
        return render(self.room, figure, conditions, t)

    def frame_at(self, t: float) -> np.ndarray | None:
        """The decoded frame at t, None while dropped."""
        with self._lock:
            return self._output(self._reader, self.index(t))

    def jpeg_at(self, t: float, quality: int = 80) -> bytes | None:
        """The frame at t as JPEG bytes (cached: many viewers, one encode; `prepare` fills the cache ahead)."""
        key = (self.index(t), quality)
        with self._jpeg_lock:  # a separate lock: a cached frame never waits for codec work
            if key in self._jpegs:
                return self._jpegs[key]
        with self._lock:  # changes happen under this lock too: the frame matches `epoch`
            with self._jpeg_lock:
                if key in self._jpegs:  # another thread made it while we waited
                    return self._jpegs[key]
            epoch = self._epoch
            frame = self._output(self._reader, key[0])
        jpeg = None if frame is None else cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()
        with self._jpeg_lock:
            if epoch == self._epoch:  # not made stale by a live change meanwhile
                self._jpegs[key] = jpeg
                while len(self._jpegs) > 3 * self.segment_frames:
                    self._jpegs.pop(min(self._jpegs))
        return jpeg

    def cached_jpeg(self, t: float, quality: int = 80) -> tuple[int, bytes | None] | None:
        """The newest JPEG already made for a frame at or before t, as (index, bytes or None when dropped);
        None when nothing is ready. Never runs the codec."""
        index = self.index(t)
        with self._jpeg_lock:
            ready = [k for k in self._jpegs if k[1] == quality and k[0] <= index]
            if not ready:
                return None
            key = max(ready)
            return key[0], self._jpegs[key]

    def prepare(self, start_s: float, end_s: float, quality: int = 80) -> None:
        """Encode the JPEGs from start_s to end_s ahead of time and forget older ones (the server keeps a
        segment ready, so a viewer never waits for the codec)."""
        first = self.index(start_s)
        with self._jpeg_lock:
            for key in [k for k in self._jpegs if k[0] < first - 2]:
                del self._jpegs[key]
        for index in range(first, self.index(end_s) + 1):
            self.jpeg_at(index / self.fps, quality)

    def frames(self, start_s: float = 0.0, end_s: float | None = None, *,
               gaps: bool = False) -> Iterator[tuple[float, np.ndarray | None]]:
        """Every frame from start_s up to end_s at the camera's fps, through the codec, without waiting."""
        end = (self.script.duration if self.script else 0.0) if end_s is None else end_s
        reader = self._new_reader()  # its own codec state: iterating does not disturb frame_at
        try:
            for i in range(max(0, math.ceil(start_s * self.fps - 1e-6)), math.floor(end * self.fps + 1e-6)):
                with self._lock:
                    frame = self._output(reader, i)
                if frame is not None or gaps:
                    yield i / self.fps, frame
        finally:
            reader.close()

    def change(self, body: Any, t: float) -> dict[str, Any]:
        """Apply a live change at time t (validated; ValueError names what is wrong); returns the state at t."""
        change = parse_change(body)
        with self._lock:
            self._live.add(change, t, self.state_at(t)[0])
            self._reader.invalidate(self.index(t))
            self._frozen = {k: v for k, v in self._frozen.items() if k < self.index(t)}
            with self._jpeg_lock:
                self._epoch += 1
                self._jpegs = {k: v for k, v in self._jpegs.items() if k[0] < self.index(t)}
            figure, conditions = self.state_at(t)
        return {"t": t, "pose": figure.pose, "x": round(figure.x, 3), "conditions": conditions.as_dict()}

    def close(self) -> None:
        """Free the codec's temp files."""
        with self._lock:
            self._reader.close()

    def _new_reader(self) -> SegmentReader:
        """A codec round trip fed by this camera's sensor."""
        return SegmentReader(self._sensor, self.fps, self.size, self.segment_frames, self.fourcc)

    def _sensor(self, index: int) -> np.ndarray:
        """Sensor frame by index; a dropped stream's frames are never seen, so they cost nothing to draw."""
        t = index / self.fps
        figure, conditions = self.state_at(t)
        return self._blank if conditions.dropped else render(self.room, figure, conditions, t)

    def _output(self, reader: SegmentReader, index: int) -> np.ndarray | None:
        """What the stream delivers at an index: nothing, the frozen picture, or the decoded frame."""
        conditions = self.state_at(index / self.fps)[1]
        if conditions.dropped:
            return None
        if not conditions.frozen:
            return reader.frame(index)
        start = self._freeze_start(index)
        if start not in self._frozen:
            if len(self._frozen) >= 4:
                self._frozen.clear()
            self._frozen[start] = reader.frame(start)
        return self._frozen[start].copy()

    def _freeze_start(self, index: int) -> int:
        """First index of the frozen run holding `index`."""
        known = [s for s in self._frozen if s <= index]
        floor = max(known) if known else -1
        i = index
        while i > 0 and i - 1 > floor and self._is_frozen(i - 1):
            i -= 1
        return floor if i - 1 == floor and floor >= 0 and self._is_frozen(floor) else i

    def _is_frozen(self, index: int) -> bool:
        """Is the stream frozen (and not dropped) at this index?"""
        conditions = self.state_at(index / self.fps)[1]
        return conditions.frozen and not conditions.dropped
