"""The durable outbox on its own: order, persistence, seq, batching, window, acks, its bound when nearly full."""

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from edge.outbox import MB, Outbox, OutboxLimits, Triage
from edge.store import Dropped, NewRow, OutboxBusyError, OutboxStore
from tests.helpers import wait_until


class FakeClient:
    """Stands in for paho: records what it is handed and gives out message ids."""

    def __init__(self) -> None:
        self.handed: list[tuple[int, str, bytes]] = []
        self._lock = threading.Lock()
        self._mid = 0

    def send(self, topic: str, payload: bytes) -> int:
        with self._lock:
            self._mid += 1
            self.handed.append((self._mid, topic, payload))
            return self._mid

    def payloads(self) -> list[bytes]:
        with self._lock:
            return [p for _, _, p in self.handed]

    def mids(self) -> list[int]:
        with self._lock:
            return [m for m, _, _ in self.handed]


def put(outbox: Outbox, device: str, text: str) -> int:
    """Queue `text` (with its seq appended) for a device."""
    return outbox.put(device, f"obs/{device}", lambda seq: f"{text}#{seq}".encode())


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "outbox.db"


def test_rows_are_handed_over_in_order_with_per_device_seq(path: Path) -> None:
    outbox, client = Outbox(path), FakeClient()
    seqs = [put(outbox, d, f"m{i}") for i, d in enumerate("aabab")]
    outbox.start(client.send)
    wait_until(lambda: len(client.handed) == 5, what="5 messages handed")
    assert seqs == [1, 2, 1, 3, 2]
    assert client.payloads() == [b"m0#1", b"m1#2", b"m2#1", b"m3#3", b"m4#2"]
    assert [t for _, t, _ in client.handed] == ["obs/a", "obs/a", "obs/b", "obs/a", "obs/b"]
    outbox.close()


def test_unacked_rows_are_replayed_first_after_reopen_and_seq_continues(path: Path) -> None:
    first, client = Outbox(path), FakeClient()
    first.start(client.send)
    for i in range(3):
        put(first, "a", f"old{i}")
    wait_until(lambda: len(client.handed) == 3)
    first.acked(client.mids()[0])
    wait_until(lambda: first.counts().acked == 1)
    first.close()  # two rows handed but never acked: the broker may not have them

    second, client2 = Outbox(path), FakeClient()
    assert second.counts().pending == 2
    assert put(second, "a", "new") == 4  # seq survives the restart
    put(second, "b", "other")
    second.start(client2.send)
    wait_until(lambda: len(client2.handed) == 4)
    assert client2.payloads() == [b"old1#2", b"old2#3", b"new#4", b"other#1"]
    second.close()


def test_ack_deletes_the_row_and_counts(path: Path) -> None:
    outbox, client = Outbox(path), FakeClient()
    outbox.start(client.send)
    for i in range(4):
        put(outbox, "a", f"m{i}")
    wait_until(lambda: outbox.counts().published == 4)
    for mid in client.mids()[:3]:
        outbox.acked(mid)
    outbox.acked(9999)  # a status or heartbeat id: not an outbox row, ignored
    wait_until(lambda: outbox.counts().acked == 3)
    counts = outbox.counts()
    assert (counts.pending, counts.published, counts.acked, counts.refused) == (1, 4, 3, 0)
    outbox.close()
    store = OutboxStore(path)
    assert [r.payload for r in store.after(0, 10)] == [b"m3#4"]
    store.close()


def test_refused_rows_stay_for_the_next_start(path: Path) -> None:
    outbox, client = Outbox(path), FakeClient()
    outbox.start(client.send)
    put(outbox, "a", "m")
    wait_until(lambda: len(client.handed) == 1)
    outbox.acked(client.mids()[0], ok=False)
    wait_until(lambda: outbox.counts().refused == 1)
    assert outbox.counts().pending == 1
    assert outbox.drain(0.5)  # nothing else to wait for
    time.sleep(0.05)
    assert len(client.handed) == 1  # not retried in a hot loop
    outbox.close()
    again, client2 = Outbox(path), FakeClient()
    again.start(client2.send)
    wait_until(lambda: client2.payloads() == [b"m#1"])
    again.close()


def test_window_bounds_what_paho_holds(path: Path) -> None:
    outbox, client = Outbox(path, window=10), FakeClient()
    outbox.start(client.send)
    for i in range(25):
        put(outbox, "a", f"m{i}")
    wait_until(lambda: len(client.handed) == 10)
    time.sleep(0.1)
    assert len(client.handed) == 10
    for mid in client.mids()[:5]:
        outbox.acked(mid)
    wait_until(lambda: len(client.handed) == 15)
    time.sleep(0.1)
    assert len(client.handed) == 15
    assert client.payloads() == [f"m{i}#{i + 1}".encode() for i in range(15)]  # each once, in order
    outbox.close()


def counted(outbox: Outbox) -> list[int]:
    """Record the number of new rows of each transaction the outbox commits."""
    writes: list[int] = []
    write = outbox._store.write

    def counting(rows: Iterable[NewRow], delete: Iterable[int], **kwargs: Any) -> Dropped:
        rows = list(rows)
        writes.append(len(rows))
        return write(rows, delete, **kwargs)

    outbox._store.write = counting  # type: ignore[method-assign]
    return writes


def test_a_steady_stream_is_committed_about_every_10_ms(path: Path) -> None:
    outbox, client = Outbox(path, commit_every=0.01), FakeClient()
    writes = counted(outbox)
    outbox.start(client.send)
    started = time.monotonic()
    while time.monotonic() - started < 0.5:  # ~10 messages per ms, a few thousand per second at least
        for _ in range(10):
            put(outbox, "a", "x")
        time.sleep(0.001)
    assert outbox.flush(5)
    elapsed = time.monotonic() - started
    n = sum(writes)
    assert n == outbox.counts().pending > 500
    # One commit per message would be n transactions; grouped it is about one per 10 ms.
    assert len(writes) <= elapsed / 0.01 + 5, (len(writes), n)
    outbox.close()


def test_burst_throughput(path: Path) -> None:
    outbox, client = Outbox(path, window=100_000), FakeClient()
    writes = counted(outbox)
    outbox.start(client.send)
    n = 20_000
    started = time.perf_counter()
    for i in range(n):
        put(outbox, f"d{i % 7}", "x" * 180)
    assert outbox.flush(10)
    elapsed = time.perf_counter() - started
    wait_until(lambda: len(client.handed) == n)
    print(f"\noutbox: {n} messages committed in {elapsed:.2f} s = {n / elapsed:,.0f} msg/s "
          f"in {len(writes)} transactions")
    assert sum(writes) == n
    outbox.close()


def test_a_second_outbox_on_the_same_directory_is_refused(path: Path) -> None:
    outbox = Outbox(path)
    with pytest.raises(OutboxBusyError):
        Outbox(path)
    outbox.close()
    Outbox(path).close()  # released on close


# The outbox's bound: nearly full it says so, full it drops the oldest routine readings first.

def envelope(kind: str, n: int, **data: Any) -> Callable[[int], bytes]:
    """An envelope's payload as the intake renders it (padded so every row is the same size)."""
    return lambda seq: json.dumps({"kind": kind, "seq": f"{seq:06d}", "n": f"{n:06d}", "data": data}).encode()


def reading(outbox: Outbox, n: int) -> None:
    """A routine fridge temperature."""
    outbox.put("temp-fridge", "obs/temp-fridge", envelope("temperature_sensor", n, temperature_c=4.0))


def sos(outbox: Outbox, n: int) -> None:
    """An SOS press: critical."""
    outbox.put("sos-101", "obs/sos-101", envelope("sos_button", n, pressed=True))


ROW = NewRow("obs/temp-fridge", envelope("temperature_sensor", 0, temperature_c=4.0)(1), "temp-fridge", 1).size


def offline(path: Path, rows: int, *, free: int = 10**12) -> Outbox:
    """A started outbox whose uplink is down (nothing is handed over), bounded to `rows` routine rows."""
    outbox = Outbox(path, limits=OutboxLimits(max_bytes=rows * ROW, min_free_bytes=0), free=lambda: free)
    outbox.start(lambda topic, payload: None)
    return outbox


def kept(path: Path) -> list[dict[str, Any]]:
    """The envelopes left in the outbox file, oldest first."""
    store = OutboxStore(path)
    try:
        return [json.loads(r.payload) for r in store.after(0, 10_000)]
    finally:
        store.close()


def test_limits_come_from_the_environment() -> None:
    assert OutboxLimits.from_env({}) == OutboxLimits(max_bytes=512 * MB, min_free_bytes=64 * MB)
    limits = OutboxLimits.from_env({"CAREWATCH_OUTBOX_MAX_MB": "2.5", "CAREWATCH_OUTBOX_MIN_FREE_MB": "0"})
    assert (limits.max_bytes, limits.min_free_bytes) == (int(2.5 * MB), 0)
    with pytest.raises(ValueError, match="CAREWATCH_OUTBOX_MAX_MB='lots' is not a number"):
        OutboxLimits.from_env({"CAREWATCH_OUTBOX_MAX_MB": "lots"})
    with pytest.raises(ValueError, match="CAREWATCH_OUTBOX_MIN_FREE_MB='-1' must be at least 0 MB"):
        OutboxLimits.from_env({"CAREWATCH_OUTBOX_MIN_FREE_MB": "-1"})


def test_full_outbox_drops_the_oldest_routine_readings_and_keeps_every_critical_event(path: Path) -> None:
    outbox = offline(path, rows=100)
    for n in range(300):
        (sos if n % 10 == 0 else reading)(outbox, n)
        assert outbox.flush(5)
    space = outbox.space()
    outbox.close()
    rows = kept(path)
    critical = [r["n"] for r in rows if r["kind"] == "sos_button"]
    routine = [int(r["n"]) for r in rows if r["kind"] != "sos_button"]
    assert critical == [f"{n:06d}" for n in range(0, 300, 10)]  # all 30 SOS presses, in order
    assert routine == [n for n in range(routine[0], 300) if n % 10]  # the newest readings, none missing between
    assert space.bytes <= space.limit_bytes == 100 * ROW
    assert (space.dropped, space.dropped_critical) == (300 - len(rows), 0)
    assert space.nearly_full and space.fill_pct >= 90


def test_critical_events_are_dropped_only_when_no_routine_reading_is_left_oldest_first(path: Path) -> None:
    outbox = offline(path, rows=20)
    for n in range(10):
        reading(outbox, n)
    for n in range(40):
        sos(outbox, 100 + n)
        assert outbox.flush(5)
    space = outbox.space()
    outbox.close()
    rows = kept(path)
    assert all(r["kind"] == "sos_button" for r in rows)  # every routine reading went first
    assert [r["n"] for r in rows] == [f"{n:06d}" for n in range(140 - len(rows), 140)]  # the newest presses
    assert (space.dropped, space.dropped_critical) == (10, 40 - len(rows))


def test_nearly_full_is_said_once_per_episode(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "edge.outbox")
    client = FakeClient()
    outbox = Outbox(path, limits=OutboxLimits(max_bytes=100 * ROW, min_free_bytes=0), free=lambda: 10**12)
    up = threading.Event()
    outbox.start(lambda topic, payload: client.send(topic, payload) if up.is_set() else None)
    for n in range(95):
        reading(outbox, n)
    assert outbox.flush(5)
    for n in range(95, 98):
        reading(outbox, n)
        assert outbox.flush(5)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "outbox 95 % full" in warnings[0], warnings
    assert outbox.space().nearly_full and outbox.space().dropped == 0
    up.set()  # the uplink is back: everything is acked, the outbox empties
    wait_until(lambda: len(client.handed) == 98)
    for mid in client.mids():
        outbox.acked(mid)
    wait_until(lambda: outbox.counts().pending == 0)
    assert not outbox.space().nearly_full
    assert any("outbox back to" in r.getMessage() for r in caplog.records)
    outbox.close()


def test_free_disk_space_bounds_the_outbox_below_its_maximum(path: Path) -> None:
    free = {"bytes": 100 * MB}
    outbox = Outbox(path, limits=OutboxLimits(max_bytes=512 * MB, min_free_bytes=64 * MB), free=lambda: free["bytes"])
    outbox.start(lambda topic, payload: None)
    reading(outbox, 0)
    assert outbox.flush(5)
    assert outbox.space().limit_bytes == 36 * MB  # the rows there and the disk above the 64 MB kept free
    free["bytes"] = 64 * MB + 10 * ROW  # something else filled the disk
    for n in range(1, 30):
        reading(outbox, n)
    assert outbox.flush(5)
    space = outbox.space()
    assert space.bytes <= 11 * ROW and space.dropped >= 19, space
    outbox.close()


def test_rows_handed_to_paho_are_never_dropped(path: Path) -> None:
    client = FakeClient()
    outbox = Outbox(path, limits=OutboxLimits(max_bytes=10 * ROW, min_free_bytes=0), free=lambda: 10**12)
    outbox.start(client.send)
    for n in range(8):
        reading(outbox, n)
    wait_until(lambda: len(client.handed) == 8)  # in paho's hands, not acked: paho will send them anyway
    handed = outbox._cursor
    outbox._send = lambda topic, payload: None  # the uplink goes down
    for n in range(8, 30):
        reading(outbox, n)
        assert outbox.flush(5)
    outbox.close()
    ns = [int(r["n"]) for r in kept(path)]
    assert ns[:8] == list(range(8)) and handed == 8
    assert ns[8:] == [28, 29]


def test_dropped_counts_survive_a_restart(path: Path) -> None:
    outbox = offline(path, rows=5)
    for n in range(12):
        reading(outbox, n)
        assert outbox.flush(5)
    assert outbox.space().dropped == 7
    outbox.close()
    again = offline(path, rows=5)
    assert (again.space().dropped, again.counts().pending) == (7, 5)
    again.close()


@pytest.mark.parametrize(("kind", "data", "critical"), [
    ("sos_button", {"pressed": True}, True),
    ("smoke_detector", {"smoke": False, "battery_pct": 80}, True),
    ("leak_sensor", {"leak": True}, True),
    ("door_contact", {"open": True}, True),
    ("camera", {"event": "person_down", "zone": "z101-floor", "active": True}, True),
    ("camera", {"camera_state": "ok"}, False),
    ("temperature_sensor", {"temperature_c": 4.0}, False),
    ("power_plug", {"power_w": 1500.0}, False),
    ("bed_sensor", {"heart_rate_bpm": 70.0}, False),
])
def test_what_counts_as_critical(kind: str, data: dict[str, Any], critical: bool) -> None:
    assert Triage().critical("dev", json.dumps({"kind": kind, "data": data}).encode()) is critical


def test_an_occupancy_change_is_critical_its_repeats_are_routine() -> None:
    triage = Triage()
    seen = [triage.critical("bed-1", json.dumps({"kind": "bed_sensor", "data": {"occupied": occupied}}).encode())
            for occupied in (True, True, False, False, True)]
    assert seen == [True, False, True, False, True]
    assert not triage.critical("bed-1", b'{"kind": "bed_sensor", "error": {"reason": "x", "raw": ""}}')
