"""paho-mqtt 2 clients configured the one right way: VERSION2 callbacks, explicit protocol, TCP_NODELAY."""

import socket
import ssl
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

ProtocolVersion = Literal["5", "3.1.1"]


@dataclass(frozen=True)
class BrokerAddress:
    """Where and how to reach a broker, from `mqtt://user:pass@host:port` or `mqtts://...`."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    def __str__(self) -> str:
        # Never print the password.
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_url(url: str) -> BrokerAddress:
    """Read a broker URL; raises ValueError with the reason when it is not one."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"broker URL must start with mqtt:// or mqtts://, got {url!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    if not parts.hostname:
        raise ValueError(f"broker URL has no host: {url!r}")
    return BrokerAddress(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def _nodelay(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    """Disable Nagle: on loopback it cuts p99.9 latency from ~33 ms to ~2 ms."""
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def make_client(
    client_id: str,
    address: BrokerAddress,
    *,
    protocol: ProtocolVersion = "5",
    persistent: bool = False,
    will: tuple[str, bytes] | None = None,
) -> mqtt.Client:
    """A paho client with VERSION2 callbacks, TCP_NODELAY, credentials, TLS and an optional retained Will."""
    version = mqtt.MQTTv5 if protocol == "5" else mqtt.MQTTv311
    kwargs: dict[str, Any] = {} if protocol == "5" else {"clean_session": not persistent}
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=version, **kwargs)
    client.on_socket_open = _nodelay
    client.max_queued_messages_set(0)
    # paho's default of 20 unacknowledged QoS 1 publishes caps a publisher's rate at 20 per round trip.
    client.max_inflight_messages_set(100)
    client.reconnect_delay_set(min_delay=1, max_delay=10)
    if address.username:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    if will is not None:
        client.will_set(will[0], will[1], qos=1, retain=True)
    return client


def connect(client: mqtt.Client, address: BrokerAddress, *, session_expiry: int = 0) -> None:
    """Start connecting in the background; paho reconnects with backoff.

    With MQTT 5 a `session_expiry` > 0 asks the broker to keep the session (and queue QoS 1
    messages) that long while we are away; with 3.1.1 `make_client(persistent=True)` does it.
    """
    if client.protocol == mqtt.MQTTv5:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = session_expiry
        client.connect_async(address.host, address.port, keepalive=30, clean_start=session_expiry == 0,
                             properties=props)
    else:
        client.connect_async(address.host, address.port, keepalive=30)
    client.loop_start()


def stop(client: mqtt.Client) -> None:
    """Disconnect cleanly and stop the network thread."""
    client.disconnect()
    client.loop_stop()
