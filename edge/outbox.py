"""Durable outbox: every upstream message is committed to SQLite before paho sees it, deleted on PUBACK.

One worker thread owns the database. It groups writes and deletes into one transaction per
`commit_every` (a burst of thousands of messages costs a few commits, not one each), then hands
committed rows to paho in row order, at most `window` at a time. paho keeps and re-sends what it
was handed across reconnects, so a row is handed at most once per process; on start, whatever a
previous process left is handed first, oldest first.

The outbox is bounded (`OutboxLimits`): nearly full, it says so once per episode (log, counts); full, it
drops the oldest rows paho does not hold yet, routine readings before critical events, and counts them.
"""

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from devices.kinds import DeviceKind
from edge.store import Dropped, NewRow, OutboxStore

log = logging.getLogger(__name__)

MB = 1024 * 1024
# Kinds whose every message may raise a critical alert (SOS, smoke, leak) or a person-safety one (an exit
# door at night): rare, and never dropped while a routine reading remains.
CRITICAL_KINDS = frozenset({DeviceKind.SOS_BUTTON, DeviceKind.SMOKE_DETECTOR, DeviceKind.LEAK_SENSOR,
                            DeviceKind.DOOR_CONTACT})
# Kinds whose occupancy changes start bed-exit, out-of-bed and bathroom alerts; their repeats are routine.
OCCUPANCY_KINDS = frozenset({DeviceKind.BED_SENSOR, DeviceKind.PRESENCE_SENSOR})


@dataclass(frozen=True)
class OutboxLimits:
    """How far the outbox may grow: bytes of its rows, and the space it must leave free on its filesystem."""

    max_bytes: int = 512 * MB
    min_free_bytes: int = 64 * MB
    warn_at: float = 0.9  # nearly full from this fill...
    calm_at: float = 0.8  # ...until back under this one: one warning per episode, not one per row

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "OutboxLimits":
        """`CAREWATCH_OUTBOX_MAX_MB` (default 512) and `CAREWATCH_OUTBOX_MIN_FREE_MB` (default 64)."""
        return cls(max_bytes=_megabytes(environ, "CAREWATCH_OUTBOX_MAX_MB", 512, least=1),
                   min_free_bytes=_megabytes(environ, "CAREWATCH_OUTBOX_MIN_FREE_MB", 64, least=0))


def _megabytes(environ: Mapping[str, str], name: str, default: float, *, least: float) -> int:
    """A size in MB from the environment, in bytes; ValueError naming the variable when it is not one."""
    text = environ.get(name, "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a number of megabytes") from None
    if not value >= least:  # also refuses nan
        raise ValueError(f"{name}={text!r} must be at least {least:g} MB")
    return int(value * MB)


def _size(n: float) -> str:
    """Bytes for a log line: MB, or kB below one MB."""
    return f"{n / MB:.1f} MB" if n >= MB else f"{n / 1024:.1f} kB"


def disk_free(path: Path) -> int:
    """Bytes an unprivileged writer may still use on the filesystem holding `path`."""
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


class Triage:
    """Tells critical envelopes from routine readings; an occupancy counts as critical only when it changes."""

    def __init__(self) -> None:
        self._occupied: dict[str, Any] = {}

    def critical(self, device: str, payload: bytes) -> bool:
        """Whether the envelope may raise an alert that matters more than any routine reading."""
        try:
            envelope = json.loads(payload)
        except ValueError:
            return False
        data = envelope.get("data") if isinstance(envelope, dict) else None
        if not isinstance(data, dict):
            return False  # a rejection (dead letter to be) or not an envelope
        kind = envelope.get("kind")
        if kind in CRITICAL_KINDS:
            return True
        if kind == DeviceKind.CAMERA:
            return data.get("event") is not None  # person down, night activity; health and stats are routine
        if kind in OCCUPANCY_KINDS and "occupied" in data:
            was = self._occupied.get(device)
            self._occupied[device] = data["occupied"]
            return was != data["occupied"]
        return False

# Hands one message to the MQTT client: returns its message id, or None when the client refused it.
Send = Callable[[str, bytes], int | None]


@dataclass(frozen=True)
class OutboxCounts:
    """Messages waiting for a PUBACK, handed to paho and acked since start, refused by the broker."""

    pending: int
    published: int
    acked: int
    refused: int

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain dict, for stats and heartbeats."""
        return asdict(self)


@dataclass(frozen=True)
class OutboxSpace:
    """How full the outbox is (bytes of its rows against what it may hold now) and the rows it ever dropped."""

    bytes: int
    limit_bytes: int
    fill_pct: float
    nearly_full: bool
    dropped: int  # routine readings
    dropped_critical: int

    def as_dict(self) -> dict[str, Any]:
        """The figures as a plain dict, for stats and heartbeats."""
        return asdict(self)


class Outbox:
    """Store-and-forward queue of QoS 1 messages, with the per-device seq counters."""

    def __init__(self, path: Path, *, window: int = 1000, commit_every: float = 0.01,
                 limits: OutboxLimits | None = None, free: Callable[[], int] | None = None) -> None:
        self._store = OutboxStore(path)
        self._window, self._commit_every = window, commit_every
        self.limits = limits or OutboxLimits()
        self._free = free or (lambda: disk_free(path.parent))
        self._triage = Triage()
        self._dropped = self._store.dropped()
        self._capacity = self._fill = 0.0
        self._nearly_full = self._dropping = self._dropping_critical = False
        self._seq = self._store.seqs()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._new: list[NewRow] = []
        self._put = self._written = 0
        self._pending = self._store.count()
        self._published = self._acked = self._refused = 0
        self._acks: queue.SimpleQueue[tuple[int, bool]] = queue.SimpleQueue()
        self._deletes: list[int] = []
        self._inflight: dict[int, int] = {}  # paho mid -> row id; worker thread only
        self._cursor = 0  # highest row id handed to paho by this process
        self._wake = threading.Event()
        self._stopping = False
        self._send: Send | None = None
        self._thread: threading.Thread | None = None
        self._measure(Dropped())

    def start(self, send: Send) -> None:
        """Start the worker thread, which hands rows to `send`."""
        self._send = send
        self._wake.set()  # hand over what a previous process left without waiting for new work
        self._thread = threading.Thread(target=self._run, name="edge-outbox", daemon=True)
        self._thread.start()

    def put(self, device: str, topic: str, render: Callable[[int], bytes]) -> int:
        """Queue a message whose payload `render(seq)` builds with the device's next seq; returns the seq."""
        with self._lock:
            seq = self._seq.get(device, 0) + 1
            payload = render(seq)
            self._seq[device] = seq
            self._new.append(NewRow(topic, payload, device, seq, self._triage.critical(device, payload)))
            self._put += 1
            self._pending += 1
        self._wake.set()
        return seq

    def acked(self, mid: int, ok: bool = True) -> None:
        """The broker answered message `mid` (from paho's on_publish thread; ids not ours are ignored)."""
        self._acks.put((mid, ok))
        self._wake.set()

    def counts(self) -> OutboxCounts:
        """Current counters."""
        with self._lock:
            return OutboxCounts(self._pending, self._published, self._acked, self._refused)

    def space(self) -> OutboxSpace:
        """How full the outbox is and what it dropped to make room."""
        with self._lock:
            return OutboxSpace(self._store.bytes, int(self._capacity), round(100 * self._fill, 1),
                               self._nearly_full, self._dropped.routine, self._dropped.critical)

    def wake(self) -> None:
        """Look for work now (the uplink is back: hand rows over without waiting for the next round)."""
        self._wake.set()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every message put so far is committed; False on timeout."""
        with self._lock:
            target = self._put
        return self._wait(lambda: self._written >= target, timeout)

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every row handed or to hand has its PUBACK (refused ones excepted); False on timeout."""
        return self._wait(lambda: self._pending <= self._refused, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Commit what is queued, stop the worker and close the file (once)."""
        if self._stopping:
            return
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        else:
            self._cycle(hand_over=False)
        self._store.close()

    def _wait(self, done: Callable[[], bool], timeout: float) -> bool:
        """Block until `done()` holds (checked under the lock after each worker cycle)."""
        with self._changed:
            return self._changed.wait_for(done, timeout)

    def _run(self) -> None:
        """Worker: wait for work, at most one commit per `commit_every`, hand rows to paho."""
        last = 0.0
        while True:
            self._wake.wait(0.5)
            pause = last + self._commit_every - time.monotonic()
            if pause > 0 and not self._stopping:
                time.sleep(pause)  # let a burst gather into one transaction
            self._wake.clear()
            stopping = self._stopping
            self._cycle(hand_over=not stopping)  # the client is gone when stopping: only commit
            last = time.monotonic()
            if stopping:
                return

    def _cycle(self, hand_over: bool = True) -> None:
        """One round: apply acks, commit new rows and deletes, hand rows to paho."""
        try:
            self._commit()
            if hand_over:
                self._hand_over()
        except Exception:
            # The worker must survive a full disk or a locked file: rows stay queued and are retried.
            log.exception("outbox: write failed, will retry")
            time.sleep(0.2)
        with self._changed:
            self._changed.notify_all()

    def _commit(self) -> None:
        """Write new rows and delete acked ones in one transaction."""
        self._take_acks()
        with self._lock:
            new, self._new = self._new, []
        if not new and not self._deletes:
            return
        capacity = self._limit()
        try:
            dropped = self._store.write(new, self._deletes, capacity=capacity, handed=self._cursor)
        except BaseException:
            with self._lock:
                self._new[:0] = new  # put them back in front, order kept
            raise
        self._deletes = []
        with self._lock:
            self._written += len(new)
            self._pending -= dropped.routine + dropped.critical
            self._capacity = capacity
        self._measure(dropped)

    def _limit(self) -> int:
        """Bytes the rows may take now: the configured maximum, or less when the filesystem runs short."""
        room = max(0, self._free() - self.limits.min_free_bytes) + self._store.free_pages()
        return min(self.limits.max_bytes, self._store.bytes + room)

    def _measure(self, dropped: Dropped) -> None:
        """Update the fill and the dropped counts; warn once per episode of nearly full, of dropping."""
        if not self._capacity:
            self._capacity = self._limit()
        fill = self._store.bytes / self._capacity if self._capacity > 0 else 1.0
        with self._lock:
            self._fill = fill
            self._dropped = Dropped(self._dropped.routine + dropped.routine,
                                    self._dropped.critical + dropped.critical)
            warn = fill >= self.limits.warn_at and not self._nearly_full
            calm = fill < self.limits.calm_at and self._nearly_full
            self._nearly_full = (self._nearly_full or warn) and not calm
        limits = f"{_size(self._capacity)} (max {_size(self.limits.max_bytes)}, " \
                 f"{_size(self.limits.min_free_bytes)} kept free on disk)"
        if warn:
            log.warning("outbox %.0f %% full: %s of %s; when full, the oldest routine readings are dropped",
                        100 * fill, _size(self._store.bytes), limits)
        if calm:
            self._dropping = self._dropping_critical = False
            log.info("outbox back to %.0f %% full of %s", 100 * fill, limits)
        if dropped and not self._dropping:
            self._dropping = True  # later drops of this episode are only counted
            log.warning("outbox full (%s): dropped the %d oldest routine readings to make room; further drops "
                        "are counted in the heartbeat", limits, dropped.routine)
        if dropped.critical and not self._dropping_critical:
            self._dropping_critical = True
            log.error("outbox full of critical events (%s): dropped the %d oldest of them; further drops are "
                      "counted in the heartbeat", limits, dropped.critical)

    def _take_acks(self) -> None:
        """Turn the PUBACKs received so far into row deletes."""
        while True:
            try:
                mid, ok = self._acks.get_nowait()
            except queue.Empty:
                return
            row = self._inflight.pop(mid, None)
            if row is None:
                continue  # status or heartbeat, not an outbox row
            with self._lock:
                if ok:
                    self._deletes.append(row)
                    self._acked += 1
                    self._pending -= 1
                else:
                    # Kept: refused rows are retried when the agent next starts, not in a hot loop.
                    self._refused += 1

    def _hand_over(self) -> None:
        """Give paho committed rows it has not had yet, oldest first, keeping at most `window` unacked."""
        free = self._window - len(self._inflight)
        if self._send is None or free <= 0:
            return
        for row in self._store.after(self._cursor, free):
            mid = self._send(row.topic, row.payload)
            if mid is None:
                return  # the client did not take it; try again next cycle
            self._inflight[mid] = row.id
            self._cursor = row.id
            with self._lock:
                self._published += 1
