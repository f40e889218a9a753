"""Helpers for the edge tests: an MQTT collector, a device publisher, a Mosquitto we can restart."""

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from carewatch.broker import PrivateMosquitto, port_open
from devices import topics
from devices.mqtt import BrokerAddress, ProtocolVersion, connect, make_client, parse_url
from edge.agent import EdgeAgent


@dataclass(frozen=True)
class Received:
    """One message a collector got."""

    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        """The payload as JSON."""
        return json.loads(self.payload)


class Collector:
    """A paho subscriber recording some topics; with `persistent` the broker queues for it while away."""

    def __init__(self, url: str, topics: list[str], *, protocol: ProtocolVersion = "5",
                 persistent: bool = False) -> None:
        self.address, self.topics, self.persistent = parse_url(url), topics, persistent
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = make_client(f"test-collector-{uuid.uuid4().hex[:8]}", self.address,
                                  protocol=protocol, persistent=persistent)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_message = self._on_message

    def start(self) -> "Collector":
        """Connect and wait until the subscription is in place."""
        connect(self.client, self.address, session_expiry=300 if self.persistent else 0)
        assert self._subscribed.wait(5), "collector did not subscribe"
        return self

    def stop(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()

    def on(self, topic: str) -> list[Received]:
        """Messages received so far on one topic."""
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        client.subscribe([(t, 1) for t in self.topics])

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain)))


class Device:
    """Publishes as a device would, QoS 1, waiting for each PUBACK."""

    def __init__(self, url: str, *, protocol: ProtocolVersion = "5") -> None:
        self.address = parse_url(url)
        self.client = make_client(f"test-device-{uuid.uuid4().hex[:8]}", self.address, protocol=protocol)
        connected = threading.Event()
        self.client.on_connect = lambda *args: connected.set()
        connect(self.client, self.address)
        assert connected.wait(5), "device publisher did not connect"

    def publish(self, topic: str, payload: bytes | str) -> None:
        """Publish one message and wait until the broker has it."""
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def stop(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def restartable_mosquitto(state: Path) -> PrivateMosquitto:
    """A private Mosquitto that saves sessions on stop and restores them on start (in `state`).

    The test's collector keeps its subscription across the restart that way, so it cannot miss
    what the edge sends the moment it reconnects.
    """
    return PrivateMosquitto(extra_conf=f"persistence true\npersistence_location {state}/\n")


def envelopes(messages: list[Received]) -> list[dict[str, Any]]:
    """Decoded envelopes, first copy of each id only (QoS 1 may deliver twice), in arrival order."""
    seen: set[str] = set()
    out = []
    for message in messages:
        env = message.json()
        if env["id"] not in seen:
            seen.add(env["id"])
            out.append(env)
    return out


def forget(agent: EdgeAgent) -> None:
    """Leave the shared broker as we found it after an agent ran."""
    protocol: ProtocolVersion = "5" if agent.devices.protocol == mqtt.MQTTv5 else "3.1.1"
    forget_site(agent.site.id, agent.uplink.address, agent.device_address, protocol)


def forget_site(site: str, uplink: BrokerAddress, devices: BrokerAddress, protocol: ProtocolVersion) -> None:
    """Clear a site's retained edge status and drop its edge's persistent device session."""
    status = topics.edge_status(site)
    _visit(uplink, f"test-forget-{uuid.uuid4().hex[:8]}", protocol,
           lambda c: c.publish(status, b"", qos=1, retain=True).wait_for_publish(2))
    # Same client id with a clean start: the broker drops the session the agent kept.
    _visit(devices, f"carewatch-edge-{site}-devices", protocol, lambda c: None)


def _visit(address: BrokerAddress, client_id: str, protocol: ProtocolVersion,
           act: Callable[[mqtt.Client], Any]) -> None:
    """Connect (if the broker is up), do something, disconnect."""
    if not port_open(address.host, address.port):
        return
    client = make_client(client_id, address, protocol=protocol)
    connected = threading.Event()
    client.on_connect = lambda *args: connected.set()
    connect(client, address)
    if connected.wait(3):
        act(client)
    client.disconnect()
    client.loop_stop()


class Sent:
    """Records what the outbox hands over, as decoded envelopes."""

    def __init__(self) -> None:
        self.envelopes: list[dict[str, Any]] = []

    def send(self, topic: str, payload: bytes) -> int:
        """The outbox's sender: keep the envelope, return a message id."""
        self.envelopes.append(json.loads(payload))
        return len(self.envelopes)
