"""The durable outbox on its own: order, persistence, seq, batching, window, acks."""

import threading
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from edge.outbox import Outbox
from edge.store import NewRow, OutboxBusyError, OutboxStore
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

    def counting(rows: Iterable[NewRow], delete: Iterable[int]) -> None:
        rows = list(rows)
        writes.append(len(rows))
        write(rows, delete)

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
