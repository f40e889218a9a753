"""Several server processes on one PostgreSQL: the sites are split into shards, each held by one process at a time.

A shard is a set of sites (by a hash of the site id) with its own MQTT client id and persistent session
(`<client id>-shard-<k>`). Whoever holds a shard's PostgreSQL advisory lock runs its pipeline: rule state,
timers and the device registry of those sites live in exactly one process, in order, as with one server.
Why not `$share` round-robin: it splits one device's observations between processes (the rules' state would
race), and Mosquitto 2.0.11 does not queue for a shared subscription restored from its persistence file (a
broker restart lost 10 of 10 messages); a shard's own session keeps queueing while nobody holds it.

The locks live on one dedicated connection: when a process dies, PostgreSQL drops its connection and its
locks with it, and the others take its shards within a few seconds. One more lock elects the leader, which
runs the notifier and the calendar.
"""

import logging
import math
import os
import random
import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from devices.facility import Facility
from server.db import normalize_url

log = logging.getLogger(__name__)

# Advisory locks with two int4 keys: (namespace + kind, key); pg_locks shows them as classid/objid.
NAMESPACE = 0x43570000  # "CW"
MEMBER, SHARD, LEADER = NAMESPACE + 1, NAMESPACE + 2, NAMESPACE + 3


@dataclass(frozen=True)
class Shard:
    """What runs for a shard this process holds."""

    pipeline: Any
    consumer: Any


def shard_of(site_id: str, shards: int) -> int:
    """The shard a site belongs to: stable across processes and restarts."""
    return zlib.crc32(site_id.encode()) % shards


def sites_of(facility: Facility, shard: int, shards: int) -> list[str]:
    """The ids of the sites in one shard."""
    return [s.id for s in facility.sites if shard_of(s.id, shards) == shard]


def facility_subset(facility: Facility, site_ids: Iterable[str]) -> Facility:
    """The same facility with only some sites (a fresh object: the cached lookups must not see the others)."""
    wanted = set(site_ids)
    fields = {name: getattr(facility, name) for name in type(facility).model_fields}
    fields["sites"] = [s for s in facility.sites if s.id in wanted]
    return type(facility).model_construct(**fields)


def libpq_url(database_url: str) -> str:
    """A SQLAlchemy URL as psycopg takes it."""
    return make_url(normalize_url(database_url)).set(drivername="postgresql").render_as_string(hide_password=False)


class Lease:
    """A dedicated connection holding this process's advisory locks; losing it loses them all."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.member = random.randrange(1, 2**31 - 1)
        self.conn: psycopg.Connection | None = None

    def connect(self) -> None:
        """Connect and say we are here (the member lock is how the others count us)."""
        self.conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5,
                                    application_name=f"carewatch-lease-{os.getpid()}")
        if not self.try_lock(MEMBER, self.member):
            raise RuntimeError("member id already taken")  # 1 in 2**31: the caller reconnects with another

    def close(self) -> None:
        """Drop the connection (and so every lock)."""
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None

    def try_lock(self, kind: int, key: int) -> bool:
        """Take a lock if nobody holds it."""
        return bool(self._one("SELECT pg_try_advisory_lock(%s, %s)", (kind, key)))

    def unlock(self, kind: int, key: int) -> None:
        """Give a lock back."""
        self._one("SELECT pg_advisory_unlock(%s, %s)", (kind, key))

    def held(self, kind: int) -> set[int]:
        """The keys of one kind of lock that some process of this database holds."""
        assert self.conn is not None
        rows = self.conn.execute(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2"
            " AND classid = %s AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (kind,)).fetchall()
        return {int(r[0]) for r in rows}

    def _one(self, sql: str, params: tuple[int, int]) -> object:
        """One value of one row."""
        assert self.conn is not None
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None


class Coordinator:
    """Keeps this process's fair share of shards (and tries for leadership), once a second, in a thread."""

    def __init__(self, url: str, shards: int, *, start_shard: Callable[[int], None],
                 stop_shard: Callable[[int], None], start_leader: Callable[[], None],
                 stop_leader: Callable[[], None], interval: float = 1.0, settle: float = 2.0) -> None:
        self.lease = Lease(url)
        self.shards = shards
        self.start_shard, self.stop_shard = start_shard, stop_shard
        self.start_leader, self.stop_leader = start_leader, stop_leader
        self.interval = interval
        self.settle = settle  # after joining, let the others see us before taking shards (less churn at start)
        self.mine: set[int] = set()
        self.leader = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="carewatch-coordinator", daemon=True)

    def start(self) -> None:
        """Start balancing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop every shard and leadership, then give the locks back."""
        self._stop.set()
        self._thread.join(timeout=60)
        self._lose_all()

    def _run(self) -> None:
        """Balance until stopped; a lost database connection stops everything until it is back."""
        delay = 1.0
        while not self._stop.is_set():
            try:
                if self.lease.conn is None:
                    self.lease.connect()
                    log.info("joined the cluster as member %d", self.lease.member)
                    self._stop.wait(self.settle)
                self.step()
                delay = 1.0
            except Exception as exc:  # noqa: BLE001 - whatever failed, our locks may be gone: act as if
                log.warning("cluster lease lost (%r): stopping this process's shards", exc)
                self._lose_all()
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)
                continue
            self._stop.wait(self.interval)

    def step(self) -> None:
        """Give back shards above the fair share, take free ones below it, try for leadership."""
        fair = math.ceil(self.shards / max(1, len(self.lease.held(MEMBER))))
        for shard in sorted(self.mine, reverse=True)[:max(0, len(self.mine) - fair)]:
            self._release(shard)
        if len(self.mine) < fair:
            taken = self.lease.held(SHARD)
            for shard in self._order():
                if len(self.mine) >= fair or self._stop.is_set():
                    break
                if shard not in taken and self.lease.try_lock(SHARD, shard):
                    self._take(shard)
        if not self.leader and self.lease.try_lock(LEADER, 0):
            self.leader = True
            log.info("this process leads: notifier and calendar run here")
            self.start_leader()

    def _order(self) -> list[int]:
        """Shards in an order that starts at a different place for each member, so joiners rarely collide."""
        start = self.lease.member % self.shards
        return [(start + i) % self.shards for i in range(self.shards)]

    def _take(self, shard: int) -> None:
        """Start a shard we just locked; give the lock back if it cannot start."""
        try:
            self.start_shard(shard)
        except Exception:
            self.lease.unlock(SHARD, shard)
            raise
        self.mine.add(shard)
        log.info("took shard %d (%d held)", shard, len(self.mine))

    def _release(self, shard: int) -> None:
        """Stop a shard's pipeline (its last batch committed and acked), then let another process take it."""
        self.stop_shard(shard)
        self.mine.discard(shard)
        self.lease.unlock(SHARD, shard)
        log.info("gave back shard %d (%d held)", shard, len(self.mine))

    def _lose_all(self) -> None:
        """Stop everything this process ran under its locks, and drop the connection holding them."""
        for shard in sorted(self.mine):
            try:
                self.stop_shard(shard)
            except Exception:  # noqa: BLE001 - stop the others all the same
                log.exception("stopping shard %d failed", shard)
        self.mine.clear()
        if self.leader:
            self.leader = False
            try:
                self.stop_leader()
            except Exception:  # noqa: BLE001
                log.exception("stopping the leader's work failed")
        try:
            self.lease.close()
        except Exception:  # noqa: BLE001 - the connection is broken already
            self.lease.conn = None
