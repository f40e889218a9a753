"""A real inter-frame codec round trip: frames are written to short mp4v segments and read back in order.

Public API:
    FOURCC = "mp4v", SUFFIX = ".mp4"
    codec_works(fourcc=FOURCC, suffix=SUFFIX, size=(64, 48)) -> bool   can this OpenCV build write and read it back
    GOP = 12                                    OpenCV's FFmpeg writer puts an I-frame every 12 frames
    SegmentReader(source, fps, size, segment_frames=24, fourcc=FOURCC, skip_below=SKIP_BELOW)
        .frame(index) -> decoded BGR frame      `source(index)` gives the sensor frame; frames are encoded one
                                                segment at a time (cv2.VideoWriter into a temp file) and decoded
                                                with cv2.VideoCapture; reading forward is cheap, going back re-opens
        .invalidate(from_index)                 the source changed from that index on: re-encode when read
        .close()                                removes the temp directory

Skipped blocks. Measured here: on a detailed room mp4v never decodes two consecutive frames of a still scene
byte-identically (0 of 23 per segment, even without sensor noise: its motion search keeps flipping between equally
good matches, and OPENCV_FFMPEG_WRITER_OPTIONS cannot tune it; VP9 does repeat frames but costs ~1 s a frame).
Real cameras' H.264 encoders skip macroblocks that barely change, so their still scenes do repeat frames. We model
that encoder decision after the round trip: an 8x8 block whose mean change from the previously delivered frame is
below `skip_below` gray levels keeps the previous pixels; I-frames refresh every block. skip_below=0 turns it off.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Callable

import cv2
import numpy as np

FOURCC = "mp4v"
SUFFIX = ".mp4"
GOP = 12
SKIP_BELOW = 4.0  # still-scene flicker after the round trip is ~1-3 levels per block; a walking figure ~100


def _workdir() -> str:
    """A private temp directory, in RAM (/dev/shm) when the machine has one."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return tempfile.mkdtemp(prefix="carewatch-simcam-", dir=base)


def codec_works(fourcc: str = FOURCC, suffix: str = SUFFIX, size: tuple[int, int] = (64, 48)) -> bool:
    """True when this OpenCV build can encode `fourcc` into `suffix` files and decode them again."""
    workdir = _workdir()
    try:
        path = os.path.join(workdir, "probe" + suffix)
        writer = cv2.VideoWriter(path, cv2.CAP_FFMPEG, cv2.VideoWriter.fourcc(*fourcc), 5.0, size)
        if not writer.isOpened():
            return False
        for i in range(3):
            writer.write(np.full((size[1], size[0], 3), 40 * i, np.uint8))
        writer.release()
        cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
        count = 0
        while cap.read()[0]:
            count += 1
        cap.release()
        return count == 3
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class SegmentReader:
    """Decoded frames for consecutive indices, produced through an mp4v file round trip per segment."""

    def __init__(self, source: Callable[[int], np.ndarray], fps: float, size: tuple[int, int],
                 segment_frames: int = 24, fourcc: str = FOURCC, suffix: str = SUFFIX,
                 skip_below: float = SKIP_BELOW) -> None:
        if segment_frames <= 0 or segment_frames % GOP:
            raise ValueError(f"segment_frames must be a positive multiple of {GOP} (the writer's GOP)")
        self.source = source
        self.skip_below = float(skip_below)
        self._last: np.ndarray | None = None  # the previously delivered frame (what skipped blocks keep)
        self.fps = float(fps)
        self.size = size
        self.segment_frames = int(segment_frames)
        self.fourcc = fourcc
        self._dir = _workdir()
        self._path = os.path.join(self._dir, "segment" + suffix)
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._dir, True)
        self._cap: cv2.VideoCapture | None = None
        self._segment = -1  # index of the segment in the file
        self._next = 0  # index of the frame the capture reads next

    def frame(self, index: int) -> np.ndarray:
        """The decoded frame at `index` (>= 0)."""
        if index < 0:
            raise ValueError(f"frame index must be >= 0, not {index}")
        segment = index // self.segment_frames
        if segment != self._segment:
            self._encode(segment)
        if self._cap is None or index < self._next:
            self._open()
        while self._next < index:
            self._read()  # decode and drop: inter frames need their predecessors
        return self._read()

    def invalidate(self, from_index: int) -> None:
        """Forget the encoded segment if it holds frames from `from_index` on."""
        if (self._segment + 1) * self.segment_frames > from_index:
            self._release()
            self._segment = -1

    def close(self) -> None:
        """Release the capture and remove the temp files."""
        self._release()
        self._cleanup()

    def _encode(self, segment: int) -> None:
        """Write the segment's sensor frames to the temp file with a real inter-frame codec."""
        self._release()
        self._segment = -1
        writer = cv2.VideoWriter(self._path, cv2.CAP_FFMPEG, cv2.VideoWriter.fourcc(*self.fourcc), self.fps,
                                 self.size)
        if not writer.isOpened():
            raise RuntimeError(f"this OpenCV build cannot write {self.fourcc!r} video (see cv2.getBuildInformation())")
        try:
            first = segment * self.segment_frames
            for index in range(first, first + self.segment_frames):
                writer.write(self.source(index))
        finally:
            writer.release()
        self._segment = segment

    def _open(self) -> None:
        """(Re)open the segment file at its first frame."""
        self._release()
        # one decoding thread: a pool per segment costs more than it saves on a 24-frame file
        self._cap = cv2.VideoCapture(self._path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
        if not self._cap.isOpened():
            raise RuntimeError(f"cannot read back the {self.fourcc!r} segment {self._path}")
        self._next = self._segment * self.segment_frames

    def _read(self) -> np.ndarray:
        """Decode the next frame (and skip the blocks an encoder would have skipped)."""
        assert self._cap is not None
        ok, frame = self._cap.read()
        if not ok:
            raise RuntimeError(f"the {self.fourcc!r} segment ended early at frame {self._next}")
        if self._next % GOP and self._last is not None and self.skip_below > 0:
            frame = skip_blocks(frame, self._last, self.skip_below)
        self._next += 1
        self._last = frame
        return frame.copy()  # callers may draw on theirs; skipped blocks must come from what was decoded

    def _release(self) -> None:
        """Close the capture, if open."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def skip_blocks(frame: np.ndarray, previous: np.ndarray, below: float) -> np.ndarray:
    """`frame` with every 8x8 block whose mean absolute change from `previous` is below `below` taken from
    `previous` (an encoder's skipped macroblocks)."""
    h, w = frame.shape[:2]
    change = cv2.resize(cv2.absdiff(frame, previous), (max(1, w // 8), max(1, h // 8)), interpolation=cv2.INTER_AREA)
    still = (change.astype(np.float32).mean(axis=2) < below).astype(np.uint8)
    if not still.any():
        return frame
    mask = cv2.resize(still, (w, h), interpolation=cv2.INTER_NEAREST)
    out = frame.copy()
    cv2.copyTo(previous, mask, out)
    return out
