"""Receiver process → pipeline thread. Messages are acknowledged only after their batch is committed, so a
server killed mid-stream gets them again from the broker (persistent session) and loses nothing."""

import contextlib
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError

from devices import mqtt as cw_mqtt
from devices import topics
from devices.facility import Facility
from server import metrics
from server.ingest import Message
from server.pipeline import Changes, Pipeline
from server.receiver import ReceiverConfig, run

log = logging.getLogger(__name__)

MAX_WAIT = 0.5  # seconds between timer checks when no message comes: timers fire within 1 s


def subscriptions(facility: Facility, shared_group: str) -> list[str]:
    """Each site's observations (shared between servers with MQTT 5) and edge topics (not shared:
    retained edge status is never delivered to shared subscriptions)."""
    subs = []
    for site in facility.sites:
        obs = f"{topics.PREFIX}/{site.id}/obs/+"
        subs.append(topics.shared(shared_group, obs) if shared_group else obs)
        subs.append(f"{topics.PREFIX}/{site.id}/edge/+")
    return subs


class Consumer:
    """Owns the receiver process and the pipeline thread."""

    def __init__(self, pipeline: Pipeline, facility: Facility, *, url: str, protocol: cw_mqtt.ProtocolVersion,
                 client_id: str, shared_group: str, session_expiry: int, batch_size: int,
                 on_changes: Callable[[Changes], None], clock: Callable[[], datetime]) -> None:
        self.pipeline = pipeline
        self.facility = facility
        group = shared_group if protocol == "5" else ""
        self.config = ReceiverConfig(url=url, protocol=protocol, client_id=client_id,
                                     subscriptions=tuple(subscriptions(facility, group)),
                                     session_expiry=session_expiry, batch_size=batch_size,
                                     log_level=logging.getLogger().getEffectiveLevel())
        self.batch_size = batch_size
        self.on_changes = on_changes
        self.clock = clock
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="carewatch-pipeline", daemon=True)
        self._process: Any = None
        self._conn: Connection | None = None

    def subscriptions(self) -> list[str]:
        """What the receiver subscribes to."""
        return list(self.config.subscriptions)

    def start(self) -> None:
        """Start the receiver process and the pipeline thread."""
        self._spawn()
        self._thread.start()

    def stop(self) -> None:
        """Finish the batch in hand, then stop the receiver; unacked messages come back next start."""
        self._stop.set()
        self._thread.join(timeout=15)
        self._end_receiver()

    def _spawn(self) -> None:
        """A fresh receiver process (spawned, not forked: this process has threads)."""
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=run, args=(self.config, child), name="carewatch-receiver",
                                        daemon=True)
        self._process.start()
        child.close()

    def _end_receiver(self) -> None:
        """Ask the receiver to disconnect cleanly; make sure it is gone."""
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.send(("stop", None))
        if self._process is not None:
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        self.connected.clear()
        metrics.MQTT_CONNECTED.set(0)

    def _run(self) -> None:
        """Pipeline thread: take a batch, store it, ack it, broadcast; fire timers in between."""
        while not self._stop.is_set():
            batch = self._take_batch()
            if batch:
                self._store(batch)
            self._tick()

    def _take_batch(self) -> list[Message]:
        """Wait for messages (no longer than the next timer), then take what is already there."""
        due = self.pipeline.next_due()
        wait = MAX_WAIT if due is None else max(0.0, min(MAX_WAIT, (due - self.clock()).total_seconds()))
        batch: list[Message] = []
        try:
            while len(batch) < self.batch_size and self._conn is not None and self._conn.poll(wait):
                kind, items = self._conn.recv()
                batch += self._messages(items)
                wait = 0
        except (EOFError, OSError):
            log.error("the MQTT receiver process died; starting a new one")
            self._end_receiver()
            if not self._stop.is_set():
                self._spawn()
        return batch

    def _messages(self, items: list[tuple[Any, ...]]) -> list[Message]:
        """Messages from the receiver's items; connection markers update `connected`."""
        out = []
        for item in items:
            if len(item) == 2:
                (self.connected.set if item[1] else self.connected.clear)()
                metrics.MQTT_CONNECTED.set(1 if item[1] else 0)
                continue
            topic, payload, mid, qos, generation, received = item
            out.append(Message(topic, payload, datetime.fromtimestamp(received, UTC), mid, qos, generation))
        return out

    def _store(self, batch: list[Message]) -> None:
        """Commit the batch, retrying while the database is away; then acknowledge and broadcast."""
        delay, conflicts = 0.5, 0
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                changes = self.pipeline.process(batch)
            except IntegrityError as exc:
                # Someone else committed the same thing first (an alert raised as staff resolved its twin, a
                # shard's previous holder): read the database again and redo the batch, rather than lose it.
                conflicts += 1
                self.pipeline.reload_quietly()
                if conflicts <= 3:
                    log.warning("batch conflicted with another writer (%s); retrying", exc.orig.__class__.__name__)
                    continue
                self._isolate(batch, exc)
                return
            except OperationalError as exc:
                log.warning("database unavailable (%s); retrying the batch in %.1f s", exc.__class__.__name__, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 10)
                self.pipeline.reload_quietly()
                continue
            except Exception as exc:  # noqa: BLE001 - one bad message must not stop the others
                self.pipeline.reload_quietly()
                self._isolate(batch, exc)
                return
            metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
            self._ack(batch)
            self._emit(changes)
            return

    def _isolate(self, batch: list[Message], exc: Exception) -> None:
        """Store the messages one by one; the one that still fails becomes a dead letter."""
        if len(batch) > 1:
            for message in batch:
                self._store([message])
            return
        log.error("message on %s could not be processed: %r", batch[0].topic, exc)
        try:
            self.pipeline.poison(batch[0], f"could not be processed: {exc.__class__.__name__}")
        except Exception:  # noqa: BLE001 - the database is gone too: the broker redelivers later
            log.exception("could not keep the dead letter either")
            return
        self._ack(batch)

    def _ack(self, batch: list[Message]) -> None:
        """PUBACK after commit: only now may the broker forget the messages."""
        acks = [(m.mid, m.qos, m.generation) for m in batch if m.qos > 0]
        if acks and self._conn is not None:
            try:
                self._conn.send(("ack", acks))
            except OSError:
                log.warning("receiver gone before the acks; the broker will redeliver (ingest is idempotent)")

    def _tick(self) -> None:
        """Fire due timers and offline checks."""
        try:
            self._emit(self.pipeline.tick())
        except Exception as exc:  # noqa: BLE001 - retried on the next pass
            log.warning("timer transaction failed (%r); will retry", exc)
            self._stop.wait(MAX_WAIT)
            self.pipeline.reload_quietly()

    def _emit(self, changes: Changes) -> None:
        """Tell the screen (and later notifications) what changed; a failing listener never stops ingest."""
        if not changes:
            return
        try:
            self.on_changes(changes)
        except Exception:  # noqa: BLE001 - the pipeline must keep running
            log.exception("broadcasting changes failed")
