"""What one server process committed, told to the others through PostgreSQL NOTIFY.

A screen is connected to one process, but its alerts may be raised by the process holding the site's shard,
and acknowledged on a third. Every process announces the ids of what it changed after commit; the others
read those rows and pass them to their own screens (and the leader's notifier wakes for new alerts).
NOTIFY is not a queue: a process that is reconnecting misses what was said meanwhile, as a screen does
while its connection is down; screens resync when they reconnect.
"""

import contextlib
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg

log = logging.getLogger(__name__)

CHANNEL = "carewatch"
# Device changes are gathered for this long and sent as one set: under load every batch changes hundreds of
# devices, and a tile a quarter of a second late costs nobody anything (alerts are never held back).
GATHER = 0.25
MAX_PAYLOAD = 7000  # PostgreSQL refuses payloads of 8000 bytes or more
LISTEN_POLL = 1.0  # seconds between checks of the stop flag while nothing is said


class Bus:
    """Announce (a sender thread, so callers never wait on the database) and listen (a listener thread)."""

    def __init__(self, url: str, on_message: Callable[[dict[str, Any]], None]) -> None:
        self.url = url
        self.on_message = on_message
        self.origin = uuid.uuid4().hex[:12]
        self._out: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._gathered: dict[str, set[Any]] = {}
        self._gather_lock = threading.Lock()
        self._flushed_at = time.monotonic()
        self._stop = threading.Event()
        self.listening = threading.Event()
        self._threads = [threading.Thread(target=self._send_loop, name="carewatch-bus-send", daemon=True),
                         threading.Thread(target=self._listen_loop, name="carewatch-bus-listen", daemon=True)]

    def start(self) -> None:
        """Start both threads."""
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Send what is queued, then stop."""
        self._stop.set()
        self._out.put(None)
        for thread in self._threads:
            thread.join(timeout=5)

    def announce(self, kind: str, items: list[Any]) -> None:
        """Tell the other processes about `items` (ids, keys) of one kind, in as many messages as it takes."""
        chunk: list[Any] = []
        for item in items:
            chunk.append(item)
            if len(json.dumps(chunk)) > MAX_PAYLOAD - 100:
                self._out.put(self._payload(kind, chunk[:-1]))
                chunk = chunk[-1:]
        if chunk or not items:
            self._out.put(self._payload(kind, chunk))

    def gather(self, kind: str, items: list[Any]) -> None:
        """Announce `items` within GATHER seconds, together with whatever else of the kind comes meanwhile."""
        with self._gather_lock:
            self._gathered.setdefault(kind, set()).update(tuple(i) if isinstance(i, list) else i for i in items)

    def _flush_gathered(self) -> None:
        """Queue what was gathered."""
        with self._gather_lock:
            gathered, self._gathered = self._gathered, {}
        for kind, items in gathered.items():
            self.announce(kind, sorted(items))

    def _payload(self, kind: str, items: list[Any]) -> str:
        """One message: who said it, what kind, which."""
        return json.dumps({"o": self.origin, "k": kind, "i": items}, separators=(",", ":"))

    def _send_loop(self) -> None:
        """NOTIFY each queued message; reconnect when the database comes back (a message in hand is retried)."""
        conn: psycopg.Connection | None = None
        payload = self._next()
        while payload is not None:
            try:
                if payload:
                    conn = conn or psycopg.connect(self.url, autocommit=True, connect_timeout=5)
                    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                payload = self._next()
            except psycopg.Error as exc:
                log.warning("could not announce to the other servers (%r); retrying", exc)
                conn = _closed(conn)
                if self._stop.wait(1.0):
                    break
        _closed(conn)

    def _next(self) -> str | None:
        """The next message to send, or "" when it is time to queue what was gathered (every GATHER seconds)."""
        wait = self._flushed_at + GATHER - time.monotonic()
        if wait <= 0:
            self._flushed_at = time.monotonic()
            self._flush_gathered()
            wait = GATHER
        try:
            return self._out.get(timeout=wait)
        except queue.Empty:
            return ""

    def _listen_loop(self) -> None:
        """LISTEN and hand what the others say to `on_message`."""
        while not self._stop.is_set():
            conn: psycopg.Connection | None = None
            try:
                conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
                conn.execute(f"LISTEN {CHANNEL}")
                self.listening.set()
                while not self._stop.is_set():
                    for note in conn.notifies(timeout=LISTEN_POLL):
                        self._deliver(note.payload)
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning("lost the other servers' announcements (%r); reconnecting", exc)
                self._stop.wait(1.0)
            finally:
                _closed(conn)

    def _deliver(self, payload: str) -> None:
        """One message from another process; ours come back too and are skipped."""
        try:
            message = json.loads(payload)
            if message.get("o") != self.origin:
                self.on_message(message)
        except Exception:  # noqa: BLE001 - one bad message must not stop the listener
            log.exception("could not handle an announcement")


def _closed(conn: psycopg.Connection | None) -> None:
    """Close a connection, ignoring that it is broken."""
    if conn is not None:
        with contextlib.suppress(psycopg.Error):
            conn.close()
