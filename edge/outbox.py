"""Durable outbox: every upstream message is committed to SQLite before paho sees it, deleted on PUBACK.

One worker thread owns the database. It groups writes and deletes into one transaction per
`commit_every` (a burst of thousands of messages costs a few commits, not one each), then hands
committed rows to paho in row order, at most `window` at a time. paho keeps and re-sends what it
was handed across reconnects, so a row is handed at most once per process; on start, whatever a
previous process left is handed first, oldest first.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from edge.store import NewRow, OutboxStore

log = logging.getLogger(__name__)

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


class Outbox:
    """Store-and-forward queue of QoS 1 messages, with the per-device seq counters."""

    def __init__(self, path: Path, *, window: int = 1000, commit_every: float = 0.01) -> None:
        self._store = OutboxStore(path)
        self._window, self._commit_every = window, commit_every
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
            self._new.append(NewRow(topic, payload, device, seq))
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
        try:
            self._store.write(new, self._deletes)
        except BaseException:
            with self._lock:
                self._new[:0] = new  # put them back in front, order kept
            raise
        self._deletes = []
        with self._lock:
            self._written += len(new)

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
