"""The server's MQTT client, in a process of its own.

paho's packet handling costs about as much CPU per message as the whole pipeline (measured: ~50 µs of
GIL per message), so on two cores they run side by side. Messages go to the pipeline in batches over
a pipe; acknowledgements come back after commit. Only `devices` and paho are imported here, so the
process stays small.
"""

import logging
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import paho.mqtt.client as mqtt

from devices import mqtt as cw_mqtt

log = logging.getLogger(__name__)

# (topic, payload, mid, qos, generation) of one message, or a ("state", connected) marker.
Item = tuple[Any, ...]


@dataclass(frozen=True)
class ReceiverConfig:
    """What the receiver process needs to connect and subscribe."""

    url: str
    protocol: cw_mqtt.ProtocolVersion
    client_id: str
    subscriptions: tuple[str, ...]
    session_expiry: int
    batch_size: int
    log_level: int = logging.INFO


def run(config: ReceiverConfig, conn: Connection) -> None:
    """Process entry point: receive until the server says stop or goes away."""
    # A Ctrl-C or a service manager's SIGTERM reaches the whole process group: the server decides when we
    # stop (it finishes its batch first), and if the server itself dies the pipe's EOF ends us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    Receiver(config, conn).run()


class Receiver:
    """paho client → bounded inbox → batches on the pipe; acks from the pipe → PUBACKs."""

    def __init__(self, config: ReceiverConfig, conn: Connection) -> None:
        self.config = config
        self.conn = conn
        # Bounded: when the pipeline falls behind, paho stops reading and TCP pushes back on the broker,
        # instead of this process buffering the whole backlog in memory.
        self.inbox: queue.Queue[Item] = queue.Queue(maxsize=4 * config.batch_size)
        self.generation = 0  # bumps on every connect: an ack from an older connection must not be sent
        self.stopping = False
        self.address = cw_mqtt.parse_url(config.url)
        self.client = cw_mqtt.make_client(config.client_id, self.address, protocol=config.protocol,
                                          persistent=True)
        self.client.manual_ack_set(True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def run(self) -> None:
        """Connect, forward batches from a thread, and apply acks here until told to stop."""
        threading.Thread(target=self._forward, name="receiver-forward", daemon=True).start()
        cw_mqtt.connect(self.client, self.address, session_expiry=self.config.session_expiry)
        try:
            self._apply_acks()
        finally:
            self.stopping = True
            cw_mqtt.stop(self.client)
        os._exit(0)  # the forward thread may be blocked on the pipe: do not wait for it

    def _apply_acks(self) -> None:
        """Acks arrive only after commit; an EOF means the server process is gone, so we go too."""
        while True:
            try:
                kind, payload = self.conn.recv()
            except (EOFError, OSError):
                return
            if kind == "stop":
                return
            generation = self.generation
            for mid, qos, gen in payload:
                if gen == generation:
                    self.client.ack(mid, qos)

    def _forward(self) -> None:
        """Send what the inbox holds, up to a batch at a time."""
        while True:
            batch = [self.inbox.get()]
            while len(batch) < self.config.batch_size:
                try:
                    batch.append(self.inbox.get_nowait())
                except queue.Empty:
                    break
            try:
                self.conn.send(("batch", batch))
            except (BrokenPipeError, OSError):
                return

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        """Subscribe on every connect (a broker restarted without our session still works)."""
        if reason.is_failure:
            log.error("broker %s refused the connection: %s", self.address, reason)
            return
        self.generation += 1
        client.subscribe([(topic, 1) for topic in self.config.subscriptions])
        self.inbox.put(("state", True))
        log.info("connected to %s (MQTT %s), subscribed to %d topics", self.address, self.config.protocol,
                 len(self.config.subscriptions))

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        """paho reconnects by itself; the server shows the broker as down meanwhile."""
        if self.stopping:
            return
        self.inbox.put(("state", False))
        log.warning("lost the broker %s (%s); reconnecting", self.address, reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        """Queue the message with its connection generation; blocks (pushing back on TCP) when full."""
        self.inbox.put((msg.topic, msg.payload, msg.mid, msg.qos, self.generation, time.time()))
