"""The edge's connection to the server's broker: outbox rows out, retained status, heartbeats."""

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from devices import topics
from devices.mqtt import BrokerAddress, ProtocolVersion, connect, make_client
from edge.outbox import Outbox

log = logging.getLogger(__name__)

ONLINE, OFFLINE = b"online", b"offline"
# paho sends this many QoS 1 messages before waiting for PUBACKs; the rest wait in its queue.


class Uplink:
    """One paho client publishing the outbox; its Last Will marks the site's edge `offline`."""

    def __init__(
        self,
        site: str,
        address: BrokerAddress,
        *,
        protocol: ProtocolVersion,
        outbox: Outbox,
        heartbeat_every: float,
        heartbeat: Callable[[], dict[str, Any]],
    ) -> None:
        self.site, self.address, self._outbox = site, address, outbox
        self._heartbeat_every, self._heartbeat = heartbeat_every, heartbeat
        self._status = topics.edge_status(site)
        self.client = make_client(f"carewatch-edge-{site}", address, protocol=protocol,
                                  will=(self._status, OFFLINE))
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.connected = threading.Event()
        self.errors = 0
        self._refusals: set[str] = set()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def start(self) -> None:
        """Connect in the background (paho reconnects with capped backoff) and start heartbeats."""
        # No MQTT session: what must survive an outage or a restart is in the outbox.
        connect(self.client, self.address)
        self._beat = threading.Thread(target=self._beat_loop, name="edge-heartbeat", daemon=True)
        self._beat.start()

    def send(self, topic: str, payload: bytes) -> int | None:
        """Hand one outbox row to paho; its mid, or None when paho did not take it (or the uplink is down)."""
        if not self.connected.is_set():
            # Rows wait in the outbox, not in paho's memory: there they survive a restart and, when the
            # outbox is full, the oldest routine ones can make room for new critical events.
            return None
        info = self.client.publish(topic, payload, qos=1)
        # NO_CONN still queues a QoS 1 message in paho, which sends it after reconnecting.
        if info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            return info.mid
        return None

    def stop(self, timeout: float = 3.0) -> None:
        """Publish retained `offline`, disconnect cleanly and stop the network thread."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout)
        if self.connected.is_set():
            info = self.client.publish(self._status, OFFLINE, qos=1, retain=True)
            info.wait_for_publish(timeout)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        """Announce `online` (retained) on every connect: the Will may have said `offline` meanwhile."""
        try:
            if reason.is_failure:
                log.error("uplink %s refused the connection: %s", self.address, reason)
                return
            log.info("uplink connected to %s", self.address)
            self.connected.set()
            client.publish(self._status, ONLINE, qos=1, retain=True)
            # At once, not at the next beat: the server learns the outbox's depth, fill and drops (and the
            # edge's clock) before the backlog arrives.
            self._beat_now()
            self._outbox.wake()
        except Exception:
            self._failed("on_connect")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        """Note the loss; paho reconnects and re-sends what it was handed."""
        if self.connected.is_set() and not self._stop.is_set():
            log.warning("uplink to %s lost (%s); messages wait in the outbox", self.address, reason)
        self.connected.clear()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        """PUBACK (or QoS 0 sent): let the outbox delete the row."""
        try:
            refused = bool(getattr(reason, "is_failure", False))
            if refused and str(reason) not in self._refusals:
                self._refusals.add(str(reason))  # once per reason: an ACL would refuse every message
                log.error("uplink %s refused a message (%s); refused rows wait in the outbox for a restart",
                          self.address, reason)
            self._outbox.acked(mid, ok=not refused)
        except Exception:
            self._failed("on_publish")

    def _beat_loop(self) -> None:
        """Publish a heartbeat every `heartbeat_every` seconds while connected."""
        while not self._stop.wait(self._heartbeat_every):
            if not self.connected.is_set():
                continue  # QoS 0: a stale heartbeat is worth nothing after an outage
            self._beat_now()

    def _beat_now(self) -> None:
        """Publish one heartbeat (QoS 0)."""
        try:
            body = json.dumps(self._heartbeat()).encode()
            self.client.publish(topics.edge_heartbeat(self.site), body, qos=0)
        except Exception:
            self._failed("heartbeat")

    def _failed(self, where: str) -> None:
        """Count an unexpected error; never let it reach paho's thread."""
        self.errors += 1
        log.exception("uplink: unexpected error in %s", where)
