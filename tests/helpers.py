"""Test helpers: a live server on a free port, polling instead of sleeping, an MQTT listener."""

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import paho.mqtt.client as mqtt
import uvicorn

from carewatch.broker import free_port
from devices import mqtt as cw_mqtt

T = TypeVar("T")
ADMIN = ("admin", "admin-pass-1")


def wait_until(condition: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, what: str = "") -> T:
    """Poll until `condition()` is truthy and return it; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(interval)


@dataclass
class LiveServer:
    """A carewatch server in this process, on a real port, with ingest from a real broker."""

    app: Any
    port: int
    server: uvicorn.Server
    thread: threading.Thread
    token: str = ""

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> httpx.Client:
        """An HTTP client logged in as the bootstrap admin."""
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10)

    @property
    def ctx(self) -> Any:
        """The server's context (settings, sessions, pipeline...)."""
        return self.app.state.ctx


def server_settings(config: Path, db_url: str, broker: Any, **extra: Any) -> Any:
    """Settings for a test server: its own client id, the test broker, fast and quiet."""
    from server.settings import Settings

    values: dict[str, Any] = {
        "config": config, "database_url": db_url, "mqtt_url": broker.url, "mqtt_protocol": broker.protocol,
        "mqtt_client_id": f"cw-test-{uuid.uuid4().hex[:8]}", "secret_key": "test-secret-key",
        "bootstrap_admin": ":".join(ADMIN), "port": free_port(),
    }
    values.update(extra)
    return Settings(**values)


@contextmanager
def live_server(settings: Any, *, clock: Callable[[], Any] | None = None, ingest: bool = True,
                facility: Any = None) -> Iterator[LiveServer]:
    """Run the app under uvicorn in a thread until the block ends."""
    from server.main import create_app

    kwargs: dict[str, Any] = {"ingest": ingest, "facility": facility}
    if clock is not None:
        kwargs["clock"] = clock
    app = create_app(settings, **kwargs)
    config = uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning",
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 20, what="server start")
    live = LiveServer(app, settings.port, server, thread)
    response = httpx.post(f"{live.url}/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]})
    live.token = response.json()["access_token"]
    if ingest:
        wait_until(lambda: live.ctx.consumer.connected.is_set(), 10, what="server MQTT connect")
    try:
        yield live
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@dataclass
class Listener:
    """Collects messages from a real broker on some topics."""

    client: mqtt.Client
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)

    def payloads(self, topic_part: str = "") -> list[Any]:
        """JSON payloads of the messages whose topic contains `topic_part`."""
        return [json.loads(p) for t, p in list(self.messages) if topic_part in t]


@contextmanager
def listen(broker: Any, topics: list[str]) -> Iterator[Listener]:
    """Subscribe to `topics` (QoS 1) until the block ends."""
    address = cw_mqtt.parse_url(broker.url)
    client = cw_mqtt.make_client(f"cw-listen-{uuid.uuid4().hex[:8]}", address, protocol=broker.protocol)
    listener = Listener(client)
    client.on_message = lambda c, u, m: listener.messages.append((m.topic, m.payload))

    def on_subscribe(c: Any, u: Any, mid: Any, codes: Any, props: Any) -> None:
        listener.ready.set()

    client.on_connect = lambda c, u, f, rc, p: c.subscribe([(t, 1) for t in topics])
    client.on_subscribe = on_subscribe
    cw_mqtt.connect(client, address)
    assert listener.ready.wait(10), "listener did not subscribe"
    try:
        yield listener
    finally:
        cw_mqtt.stop(client)


def publisher(broker: Any) -> mqtt.Client:
    """A connected publisher (caller stops it with devices.mqtt.stop)."""
    address = cw_mqtt.parse_url(broker.url)
    client = cw_mqtt.make_client(f"cw-pub-{uuid.uuid4().hex[:8]}", address, protocol=broker.protocol)
    connected = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: connected.set()
    cw_mqtt.connect(client, address)
    assert connected.wait(10), "publisher did not connect"
    return client


class Mailbox:
    """An aiosmtpd handler that keeps every message the SMTP server accepts."""

    def __init__(self) -> None:
        self.received: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.received.append(envelope)
        return "250 OK"


def add_second_site(facility_file: Path) -> None:
    """Copy the file's one site under another id (its id + "b", device topics prefixed "b-"): another home of
    the same district."""
    body = facility_file.read_text(encoding="utf-8")
    head, rest = body.split("sites:\n", 1)
    block, tail = rest.split("\nprofiles:", 1)
    first = re.search(r"  - id: (\S+)", block)
    assert first is not None
    other = re.sub(r"topic: (\S+?)([,}\n])", r"topic: b-\1\2",
                   block.replace(f"  - id: {first.group(1)}\n", f"  - id: {first.group(1)}b\n", 1))
    facility_file.write_text(f"{head}sites:\n{block}\n{other}\nprofiles:{tail}", encoding="utf-8")


def login_token(live: "LiveServer", username: str, role: Any, sites: list[str] | None = None,
                password: str = "password-123") -> str:
    """Create a user (granted `sites`, or every site) and return a bearer token for it."""
    from devices.messages import utcnow
    from server.auth.users import create_user

    with live.ctx.sessions.begin() as db:
        create_user(db, username=username, password=password, role=role, at=utcnow(), sites=sites)
    response = httpx.post(f"{live.url}/api/v1/auth/token", data={"username": username, "password": password})
    return str(response.json()["access_token"])
