"""MQTT subscription → queue → pipeline thread. Messages are acknowledged only after their batch is committed,
so a server killed mid-stream gets them again from the broker (persistent session) and loses nothing."""

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy.exc import OperationalError

from devices import mqtt as cw_mqtt
from devices import topics
from devices.facility import Facility
from server import metrics
from server.ingest import Message
from server.pipeline import Changes, Pipeline

log = logging.getLogger(__name__)

MAX_WAIT = 0.5  # seconds between timer checks when no message comes: timers fire within 1 s


class Consumer:
    """Owns the server's MQTT client and the pipeline thread."""

    def __init__(self, pipeline: Pipeline, facility: Facility, *, url: str, protocol: cw_mqtt.ProtocolVersion,
                 client_id: str, shared_group: str, session_expiry: int, batch_size: int,
                 on_changes: Callable[[Changes], None], clock: Callable[[], datetime]) -> None:
        self.pipeline = pipeline
        self.facility = facility
        self.address = cw_mqtt.parse_url(url)
        self.protocol = protocol
        self.shared_group = shared_group if protocol == "5" else ""
        self.batch_size = batch_size
        self.on_changes = on_changes
        self.clock = clock
        self.queue: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="carewatch-pipeline", daemon=True)
        self.client = cw_mqtt.make_client(client_id, self.address, protocol=protocol, persistent=True)
        self.client.manual_ack_set(True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.session_expiry = session_expiry

    def subscriptions(self) -> list[str]:
        """Each site's observations (shared between servers with MQTT 5) and edge topics (not shared:
        retained edge status is never delivered to shared subscriptions)."""
        subs = []
        for site in self.facility.sites:
            obs = f"{topics.PREFIX}/{site.id}/obs/+"
            subs.append(topics.shared(self.shared_group, obs) if self.shared_group else obs)
            subs.append(f"{topics.PREFIX}/{site.id}/edge/+")
        return subs

    def start(self) -> None:
        """Start the pipeline thread and connect (paho keeps reconnecting with backoff)."""
        self._thread.start()
        cw_mqtt.connect(self.client, self.address, session_expiry=self.session_expiry)

    def stop(self) -> None:
        """Stop taking messages, finish the batch in hand, disconnect; unacked ones come back next start."""
        self._stop.set()
        self._thread.join(timeout=15)
        cw_mqtt.stop(self.client)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        """Subscribe on every connect, so a broker restart without our session still works."""
        if reason.is_failure:
            log.error("broker %s refused the connection: %s", self.address, reason)
            return
        client.subscribe([(topic, 1) for topic in self.subscriptions()])
        self.connected.set()
        metrics.MQTT_CONNECTED.set(1)
        log.info("connected to %s (MQTT %s), subscribed to %d topics", self.address, self.protocol,
                 len(self.subscriptions()))

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        """Note it; paho reconnects by itself."""
        self.connected.clear()
        metrics.MQTT_CONNECTED.set(0)
        if not self._stop.is_set():
            log.warning("lost the broker %s (%s); reconnecting", self.address, reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        """Hand the message to the pipeline thread; never block paho's network thread."""
        self.queue.put(Message(msg.topic, msg.payload, self.clock(), msg.mid, msg.qos))
        metrics.QUEUE_DEPTH.inc()

    def _run(self) -> None:
        """Pipeline thread: take a batch, store it, ack it, broadcast; fire timers in between."""
        while not self._stop.is_set():
            batch = self._take_batch()
            if batch:
                self._store(batch)
            self._tick()

    def _take_batch(self) -> list[Message]:
        """Wait for the first message (no longer than the next timer), then take what is already there."""
        due = self.pipeline.next_due()
        wait = MAX_WAIT if due is None else max(0.0, min(MAX_WAIT, (due - self.clock()).total_seconds()))
        try:
            batch = [self.queue.get(timeout=wait)]
        except queue.Empty:
            return []
        while len(batch) < self.batch_size:
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                break
        metrics.QUEUE_DEPTH.dec(len(batch))
        return batch

    def _store(self, batch: list[Message]) -> None:
        """Commit the batch, retrying while the database is away; then acknowledge and broadcast."""
        delay = 0.5
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                changes = self.pipeline.process(batch)
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
        for message in batch:
            if message.qos > 0:
                self.client.ack(message.mid, message.qos)

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
