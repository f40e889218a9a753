"""MQTT side of the ingest benchmark: persistent sessions, and the publisher and bare subscriber processes."""

import contextlib
import ctypes
import multiprocessing as mp
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from devices.facility import Site
from devices.mqtt import connect, make_client, parse_url, stop
from server.consumer import subscriptions as server_subscriptions

INFLIGHT = 100  # PrivateMosquitto's max_inflight_messages, as config/mosquitto/mosquitto.conf
SESSION_EXPIRY = 3600
STALL = 60.0  # seconds without progress (server start included) before a phase is declared failed
PUBLISH_WINDOW = 20000  # unacknowledged publishes at most, well under the 65535 message ids


class BenchError(RuntimeError):
    """A phase could not be measured; the message says why."""


def subscriptions(site: Site, group: str) -> list[tuple[str, int]]:
    """The server's own subscriptions, from server.consumer.subscriptions itself, so (a) and (b) subscribe alike."""
    facility = SimpleNamespace(sites=[site])
    return [(topic, 1) for topic in server_subscriptions(facility, group)]  # type: ignore[arg-type]


def prime_session(url: str, client_id: str, subs: list[tuple[str, int]]) -> None:
    """Create the persistent session the consumer will resume, so the broker queues the backlog for it."""
    address = parse_url(url)
    client = make_client(client_id, address, persistent=True)
    subscribed = threading.Event()
    client.on_connect = lambda c, *_: c.subscribe(subs)
    client.on_subscribe = lambda *_: subscribed.set()
    connect(client, address, session_expiry=SESSION_EXPIRY)
    ok = subscribed.wait(10)
    stop(client)
    if not ok:
        raise BenchError(f"could not subscribe {client_id} on {address}")


def drop_session(url: str, client_id: str) -> None:
    """Clean start without expiry: the broker forgets the session, so it queues nothing for later phases."""
    address = parse_url(url)
    client = make_client(client_id, address)
    connected = threading.Event()
    client.on_connect = lambda *_: connected.set()
    connect(client, address, session_expiry=0)
    connected.wait(10)
    stop(client)


def child_setup() -> None:
    """In a child: die with the parent, and leave Ctrl-C to the parent, which stops us in order."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def publisher(url: str, messages: list[tuple[str, bytes]], result: Any) -> None:
    """Child process: publish every message at QoS 1 and wait for every PUBACK (the broker holds them)."""
    child_setup()
    address = parse_url(url)
    client = make_client(f"cw-bench-pub-{os.getpid()}", address)
    client.max_inflight_messages_set(INFLIGHT)  # the prefill is not measured: let it go as fast as it can
    connected = threading.Event()
    client.on_connect = lambda *_: connected.set()
    connect(client, address)
    if not connected.wait(10):
        result.put({"error": f"publisher could not connect to {address}"})
        return
    deadline = time.monotonic() + STALL + len(messages) / 500
    infos = []
    for i, (topic, payload) in enumerate(messages):
        if i >= PUBLISH_WINDOW:  # message ids are 16 bits: paho refuses one still unacknowledged
            infos[i - PUBLISH_WINDOW].wait_for_publish(max(0.1, deadline - time.monotonic()))
        infos.append(client.publish(topic, payload, qos=1))
    for info in infos:
        info.wait_for_publish(max(0.1, deadline - time.monotonic()))
    acked = sum(info.is_published() for info in infos)
    stop(client)
    result.put({"acked": acked})


def bare_subscriber(url: str, client_id: str, n: int, result: Any) -> None:
    """Child process: resume the primed session and count messages (paho acks each on return) until n."""
    child_setup()
    address = parse_url(url)
    client = make_client(client_id, address, persistent=True)
    done = threading.Event()
    count, first, last = 0, 0.0, 0.0

    def on_message(*_: Any) -> None:
        nonlocal count, first, last
        count += 1
        if count == 1:
            first = time.perf_counter()
        if count == n:
            last = time.perf_counter()
            done.set()

    client.on_message = on_message
    connect(client, address, session_expiry=SESSION_EXPIRY)
    seen, progress = -1, time.monotonic()
    while not done.wait(0.5):
        if count != seen:
            seen, progress = count, time.monotonic()
        elif time.monotonic() - progress > STALL:
            break
    stop(client)
    result.put({"count": count, "first": first, "last": last, "rss": peak_rss_mb(os.getpid())})


def run_child(target: Callable[..., None], *args: Any) -> dict[str, Any]:
    """Run a function in a spawned process (its own GIL) and return what it reports."""
    ctx = mp.get_context("spawn")
    result = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, result), daemon=True)
    proc.start()
    try:
        while True:
            with contextlib.suppress(Exception):
                return dict(result.get(timeout=1))
            if not proc.is_alive():
                raise BenchError(f"{target.__name__} exited with code {proc.exitcode} without a result")
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()


def tree_peak_rss_mb(pid: int) -> tuple[float, list[float]]:
    """Peak RSS of a process plus its children (the server's MQTT receiver runs in a child process),
    and each one's. A sum of peaks: an upper bound of the tree's peak at any one moment."""
    import psutil

    parts = [peak_rss_mb(pid)] + [peak_rss_mb(c.pid) for c in psutil.Process(pid).children(recursive=True)]
    return sum(parts), parts


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size of a process (VmHWM), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else float("nan")
