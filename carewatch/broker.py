"""Brokers for the demo and the tests: a private Mosquitto, or the embedded amqtt broker."""

import asyncio
import contextlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

from amqtt.plugins.base import BaseAuthPlugin


class OpenAuthPlugin(BaseAuthPlugin):
    """Lets every client in without marking it anonymous, so persistent sessions survive disconnects."""

    @dataclass
    class Config:
        """No options."""

    async def authenticate(self, *, session: Any) -> bool:
        """Accept the client (the demo broker listens on loopback only)."""
        return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f} s")


def port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on host:port now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class EmbeddedBroker:
    """amqtt on its own thread and event loop: MQTT 3.1.1, QoS 0/1, retained, Will, persistent sessions."""

    host: str = "127.0.0.1"
    port: int = 1883
    _loop: asyncio.AbstractEventLoop | None = dc_field(default=None, init=False)
    _thread: threading.Thread | None = dc_field(default=None, init=False)
    _broker: Any = dc_field(default=None, init=False)

    def config(self) -> dict[str, Any]:
        """amqtt configuration: one TCP listener, few plugins (the default loggers halve throughput)."""
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "session_expiry_interval": 3600,
            "plugins": {"carewatch.broker.OpenAuthPlugin": {}},
        }

    def start(self) -> "EmbeddedBroker":
        """Start the broker thread and wait until it accepts connections."""
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(ready, errors), name="amqtt", daemon=True)
        self._thread.start()
        ready.wait(15)
        if errors:
            raise RuntimeError(f"embedded broker did not start: {errors[0]}") from errors[0]
        wait_for_port(self.host, self.port)
        return self

    def _run(self, ready: threading.Event, errors: list[BaseException]) -> None:
        """Thread body: own loop, broker start, run until stopped."""
        from amqtt.broker import Broker

        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._broker = Broker(self.config(), loop=self._loop)
            self._loop.run_until_complete(self._broker.start())
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            errors.append(exc)
            ready.set()
            return
        ready.set()
        self._loop.run_forever()
        self._loop.close()

    def stop(self) -> None:
        """Shut the broker down and join its thread."""
        if self._loop is None or self._broker is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
        with contextlib.suppress(Exception):
            future.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(timeout=10)


MOSQUITTO_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages {max_queued}
max_inflight_messages 100
log_dest none
"""


@dataclass
class PrivateMosquitto:
    """A Mosquitto of our own on a free port, for the demo, tests of our config and benchmarks."""

    port: int = 0
    max_queued: int = 0  # 0 = unlimited: a burst must not be dropped at the default 1000
    extra_conf: str = ""
    _proc: subprocess.Popen[bytes] | None = dc_field(default=None, init=False)
    _dir: tempfile.TemporaryDirectory[str] | None = dc_field(default=None, init=False)

    @staticmethod
    def available() -> bool:
        """Whether a mosquitto binary is on PATH (or in /usr/sbin)."""
        return mosquitto_binary() is not None

    def start(self) -> "PrivateMosquitto":
        """Write a config, start mosquitto and wait for its port."""
        binary = mosquitto_binary()
        if binary is None:
            raise FileNotFoundError("mosquitto is not installed")
        self.port = self.port or free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="carewatch-mosquitto-")
        conf = Path(self._dir.name) / "mosquitto.conf"
        conf.write_text(MOSQUITTO_CONF.format(port=self.port, max_queued=self.max_queued) + self.extra_conf)
        # Its own session: a Ctrl-C in the terminal must not kill the broker before the parts using it stop.
        self._proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for_port("127.0.0.1", self.port)
        return self

    def stop(self) -> None:
        """Stop mosquitto and remove its config."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


def mosquitto_binary() -> str | None:
    """Path of the mosquitto broker binary, if installed (Debian puts it in /usr/sbin)."""
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
