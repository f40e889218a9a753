"""SQLite file behind the outbox: queued messages, the per-device seq counters and what was dropped when full."""

import fcntl
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    -- AUTOINCREMENT: rowids must never be reused, even after the table empties, or the
    -- send cursor (highest rowid handed to paho) would skip new rows.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    critical INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS seq (
    device TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);
-- Rows dropped to make room, by class: kept across restarts so the heartbeat never forgets a loss.
CREATE TABLE IF NOT EXISTS dropped (
    class TEXT PRIMARY KEY,
    n INTEGER NOT NULL
);
"""
# Version 1 files have no `critical` column: every row they hold counts as routine.
INDEX = "CREATE INDEX IF NOT EXISTS outbox_by_class ON outbox (critical, id)"

# Bytes a row is counted for: topic and payload plus a fixed overhead, which keeps the file's live pages
# within about 5 % of the count for payloads of 250 bytes to 30 kB (measured).
ROW_OVERHEAD = 64
SIZE = f"(length(CAST(topic AS BLOB)) + length(payload) + {ROW_OVERHEAD})"
CHUNK = 500  # ids per statement: well under SQLite's bound-parameter limit


@dataclass(frozen=True)
class Row:
    """One message waiting in the outbox."""

    id: int
    topic: str
    payload: bytes


@dataclass(frozen=True)
class NewRow:
    """A message to store: where it goes, what it says, the seq it carries and whether it is critical."""

    topic: str
    payload: bytes
    device: str
    seq: int
    critical: bool = False

    @property
    def size(self) -> int:
        """Bytes the row is counted for (see ROW_OVERHEAD)."""
        return len(self.topic.encode()) + len(self.payload) + ROW_OVERHEAD


@dataclass(frozen=True)
class Dropped:
    """Rows one write deleted to stay under its capacity: routine and critical."""

    routine: int = 0
    critical: int = 0

    def __bool__(self) -> bool:
        return bool(self.routine or self.critical)


class OutboxBusyError(RuntimeError):
    """Another edge agent already uses this state directory."""


def _lock(path: Path) -> int:
    """Exclusive lock beside the database: two agents on one outbox would send rows twice and race on seq."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OutboxBusyError(f"another edge agent is using {path.parent}") from None
    return fd


def _open(path: Path) -> sqlite3.Connection:
    """The database in WAL mode with the schema in place."""
    # One worker thread uses the connection after opening; isolation_level=None so
    # transactions are exactly the BEGIN/COMMIT of `write`.
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a commit survives a process crash; only a power cut may lose
    # the last few, which is the price of not fsyncing every message.
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    columns = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
    if "critical" not in columns:
        db.execute("ALTER TABLE outbox ADD COLUMN critical INTEGER NOT NULL DEFAULT 0")
    db.execute(INDEX)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return db


class OutboxStore:
    """The outbox table and seq counters in one SQLite file (WAL, synchronous=NORMAL)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock(path.with_suffix(".lock"))
        try:
            self._db = _open(path)
        except BaseException:
            os.close(self._lock_fd)
            raise
        self.bytes = int(self._db.execute(f"SELECT coalesce(sum({SIZE}), 0) FROM outbox").fetchone()[0])

    def seqs(self) -> dict[str, int]:
        """Last seq used per device."""
        return dict(self._db.execute("SELECT device, last FROM seq").fetchall())

    def count(self) -> int:
        """Messages still waiting for their PUBACK."""
        return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def dropped(self) -> Dropped:
        """Rows dropped to make room since the file was created."""
        counts = dict(self._db.execute("SELECT class, n FROM dropped").fetchall())
        return Dropped(counts.get("routine", 0), counts.get("critical", 0))

    def free_pages(self) -> int:
        """Bytes of pages inside the file that deleted rows left free: new rows reuse them before growing it."""
        count = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        return int(count) * int(self._db.execute("PRAGMA page_size").fetchone()[0])

    def write(self, rows: Iterable[NewRow], delete: Iterable[int], *, capacity: int | None = None,
              handed: int = 0) -> Dropped:
        """Insert new rows, raise their devices' seq and delete acked rows, in one transaction.

        Past `capacity` bytes, drop the oldest rows not yet handed to paho (id above `handed`): routine ones
        first, critical ones only when no routine one is left, and never a critical row of this write.
        """
        rows, delete = list(rows), list(delete)
        last: dict[str, int] = {}
        for row in rows:
            last[row.device] = max(row.seq, last.get(row.device, 0))
        self._db.execute("BEGIN")
        try:
            size = self.bytes - self._delete(delete)
            first = self._insert(rows)
            size += sum(r.size for r in rows)
            self._db.executemany(
                "INSERT INTO seq (device, last) VALUES (?, ?) "
                "ON CONFLICT (device) DO UPDATE SET last = max(last, excluded.last)",
                list(last.items()),
            )
            dropped = Dropped()
            if capacity is not None and size > capacity:
                dropped, freed = self._make_room(size - capacity, handed, first)
                size -= freed
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self.bytes = size
        return dropped

    def _insert(self, rows: list[NewRow]) -> int:
        """Insert rows; the id of the first (or one past the last id when there are none)."""
        cursor = self._db.execute("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'outbox'")
        first = int(cursor.fetchone()[0]) + 1
        self._db.executemany(
            "INSERT INTO outbox (topic, payload, device, seq, critical) VALUES (?, ?, ?, ?, ?)",
            [(r.topic, r.payload, r.device, r.seq, int(r.critical)) for r in rows],
        )
        return first

    def _delete(self, ids: list[int]) -> int:
        """Delete rows by id; the bytes they were counted for."""
        freed = 0
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            marks = ",".join("?" * len(chunk))
            freed += int(self._db.execute(f"SELECT coalesce(sum({SIZE}), 0) FROM outbox WHERE id IN ({marks})",
                                          chunk).fetchone()[0])
            self._db.execute(f"DELETE FROM outbox WHERE id IN ({marks})", chunk)
        return freed

    def _make_room(self, over: int, handed: int, first_new: int) -> tuple[Dropped, int]:
        """Delete the oldest droppable rows until `over` bytes are freed: routine first, then critical."""
        freed, counts = 0, [0, 0]
        for critical, below in ((0, None), (1, first_new)):
            while freed < over:
                query = f"SELECT id, {SIZE} FROM outbox WHERE critical = ? AND id > ?"
                args: list[int] = [critical, handed]
                if below is not None:
                    query, args = query + " AND id < ?", [*args, below]
                found = self._db.execute(query + " ORDER BY id LIMIT ?", [*args, CHUNK]).fetchall()
                take = []
                for row_id, size in found:
                    if freed >= over:
                        break
                    take.append(row_id)
                    freed += int(size)
                if not take:
                    break
                self._db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in take])
                counts[critical] += len(take)
        dropped = Dropped(*counts)
        self._db.executemany(
            "INSERT INTO dropped (class, n) VALUES (?, ?) ON CONFLICT (class) DO UPDATE SET n = n + excluded.n",
            [(name, n) for name, n in (("routine", dropped.routine), ("critical", dropped.critical)) if n],
        )
        return dropped, freed

    def after(self, cursor: int, limit: int) -> list[Row]:
        """Up to `limit` rows with an id above `cursor`, oldest first."""
        found = self._db.execute(
            "SELECT id, topic, payload FROM outbox WHERE id > ? ORDER BY id LIMIT ?", (cursor, limit)
        ).fetchall()
        return [Row(i, t, bytes(p)) for i, t, p in found]

    def close(self) -> None:
        """Close the file and release the lock."""
        self._db.close()
        os.close(self._lock_fd)
