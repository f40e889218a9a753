"""SQLite file behind the outbox: queued messages and the per-device seq counters."""

import fcntl
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    -- AUTOINCREMENT: rowids must never be reused, even after the table empties, or the
    -- send cursor (highest rowid handed to paho) would skip new rows.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    device TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS seq (
    device TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class Row:
    """One message waiting in the outbox."""

    id: int
    topic: str
    payload: bytes


@dataclass(frozen=True)
class NewRow:
    """A message to store: where it goes, what it says, and the seq it carries."""

    topic: str
    payload: bytes
    device: str
    seq: int


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

    def seqs(self) -> dict[str, int]:
        """Last seq used per device."""
        return dict(self._db.execute("SELECT device, last FROM seq").fetchall())

    def count(self) -> int:
        """Messages still waiting for their PUBACK."""
        return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def write(self, rows: Iterable[NewRow], delete: Iterable[int]) -> None:
        """Insert new rows, raise their devices' seq and delete acked rows, in one transaction."""
        rows = list(rows)
        last: dict[str, int] = {}
        for row in rows:
            last[row.device] = max(row.seq, last.get(row.device, 0))
        self._db.execute("BEGIN")
        try:
            self._db.executemany(
                "INSERT INTO outbox (topic, payload, device, seq) VALUES (?, ?, ?, ?)",
                [(r.topic, r.payload, r.device, r.seq) for r in rows],
            )
            self._db.executemany(
                "INSERT INTO seq (device, last) VALUES (?, ?) "
                "ON CONFLICT (device) DO UPDATE SET last = max(last, excluded.last)",
                list(last.items()),
            )
            self._db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in delete])
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

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
