"""The whole flow of a batch of observations: record, evaluate, apply to alerts, commit; then notify and broadcast.

One pipeline thread owns the rule engine and the device registry, so rules never race each other.
"""

import base64
import binascii
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from devices.facility import Facility
from devices.messages import truncate_raw
from server import metrics
from server.alerts import service
from server.ingest import Dead, EdgeStatus, Heartbeat, Incoming, Message, decode
from server.models import Alert, DeadLetter, Edge, Observation, Snapshot
from server.registry import Registry, edge_heartbeat, edge_status
from server.rules import ALL
from server.rules.base import Clear, Obs, Raise, Rule
from server.rules.engine import Fired, RuleEngine
from server.suppressions import Mutes

log = logging.getLogger(__name__)

# An edge clock running ahead must not schedule rule timers in the future.
MAX_CLOCK_AHEAD = timedelta(seconds=5)
# An edge clock off by more than this (learnt from its heartbeats) is corrected: a clock running behind would
# otherwise set rule timers in the past (an alert minutes early, a turnover taken for a bed exit) and make
# reporting devices look silent.
MAX_CLOCK_OFFSET = timedelta(seconds=2)
SMALL_BATCH = 16  # observations: up to this many are inserted with RETURNING instead of SELECT + INSERT
OFFSET_SAMPLES = 5  # heartbeats (30 s apart) the offset is estimated from
# Suppressions start and end by the clock too; the API asks for a reload at once when it changes them.
MUTES_RELOAD = timedelta(seconds=30)
# Silence is counted in minutes, and a tick comes after every batch: looking at every device of the shard each
# time saturated the pipelines at a district's own rate (measured: SOS to screen p99 2.65 s, 0.13 s once a second).
OFFLINE_CHECK_EVERY = timedelta(seconds=1)


@dataclass
class Changes:
    """What a committed transaction changed, for the screen and notifications."""

    alerts: list[Alert] = field(default_factory=list)
    devices: set[tuple[str, str]] = field(default_factory=set)
    edges: set[str] = field(default_factory=set)
    observations: int = 0
    duplicates: int = 0
    dead: int = 0

    def __bool__(self) -> bool:
        return bool(self.alerts or self.devices or self.edges)


class Pipeline:
    """Turns messages into stored observations, rule state and alerts, one transaction per batch."""

    def __init__(self, facility: Facility, sessions: sessionmaker[Session], *, clock: Callable[[], datetime],
                 rules: Iterable[Rule] = ALL) -> None:
        self.facility = facility
        self.sessions = sessions
        self.clock = clock
        self.engine = RuleEngine(facility, rules)
        self.registry = Registry(facility, started_at=clock())
        # (site, rule, subject) that may have an unresolved alert: a superset (staff resolve through the
        # API), so a Clear for anything outside it needs no query.
        self.maybe_open: set[tuple[str, str, str]] = set()
        self.mutes = Mutes(facility)
        self.edge_offsets: dict[str, timedelta] = {}  # site -> how far its edge's clock is ahead of ours
        self._offset_samples: dict[str, deque[timedelta]] = {}  # site -> its last heartbeats' edge time - ours
        self._mutes_at: datetime | None = None
        self._offline_checked: datetime | None = None
        self._reload_mutes = threading.Event()
        # Observations made on the screen (a caregiver logging a turn), handed over to this thread.
        self.local: queue.SimpleQueue[Obs] = queue.SimpleQueue()

    def load(self) -> None:
        """Read rule state, timers, suppressions and the device registry; register new devices of the file."""
        with self.sessions.begin() as session:
            self.engine.load(session)
            self.registry.load(session)
            self.maybe_open = service.unresolved_keys(session)
            self._load_offsets(session)
            self._load_mutes(session, self.clock())

    def suppressions_changed(self) -> None:
        """Called from any thread after a suppression was committed: reload them on the next tick."""
        self._reload_mutes.set()

    def submit(self, obs: Obs) -> None:
        """Hand an observation made outside MQTT to the rules; any thread may call it."""
        self.local.put(obs)

    def _load_mutes(self, session: Session, now: datetime) -> None:
        """Read the suppressions in force."""
        self._reload_mutes.clear()
        self.mutes.load(session, now)
        self._mutes_at = now

    def process(self, messages: list[Message]) -> Changes:
        """Store and evaluate one batch in one transaction; raises if the database refuses (nothing is acked)."""
        now = self.clock()
        decoded = [decode(m, self.facility) for m in messages]
        self._learn_offsets(decoded, now)  # before the batch's observations: they are read by it
        changes = Changes()
        with self.sessions.begin() as session:
            if self._reload_mutes.is_set():  # set by the API after its commit: this batch already obeys it
                self._load_mutes(session, now)
            fired = self._observations(session, [d for d in decoded if isinstance(d, Incoming)], now, changes)
            fired += self._others(session, decoded, now, changes)
            self._apply(session, fired, now, changes)
            self.registry.flush(session)
            self.engine.flush(session)
        metrics.observe_batch(changes.observations, changes.duplicates)
        return changes

    def tick(self, now: datetime | None = None) -> Changes:
        """Fire due rule timers and mark silent devices offline, in one transaction."""
        now = now or self.clock()
        changes = Changes()
        stale = self._reload_mutes.is_set() or self._mutes_at is None or now - self._mutes_at >= MUTES_RELOAD
        if stale:
            with self.sessions() as session:
                self._load_mutes(session, now)
        fired = self._local(now) + self.engine.fire_due(now) + self._check_offline(now)
        if not fired and not self.registry.take_changed() and not self.engine.changed():
            return changes  # nothing to write (a timer that only moved on, a logged turn, are written below)
        with self.sessions.begin() as session:
            changes.devices = self.registry.take_changed()
            self._apply(session, fired, now, changes)
            self.registry.flush(session)
            self.engine.flush(session)
        return changes

    def _check_offline(self, now: datetime) -> list[Fired]:
        """Devices gone silent, at most once a second (and again at once if the clock was set back)."""
        last = self._offline_checked
        if last is not None and timedelta(0) <= now - last < OFFLINE_CHECK_EVERY:
            return []
        self._offline_checked = now
        return self.registry.check_offline(now, skip=lambda site, dev: self.mutes.in_maintenance(site, dev, now))

    def _local(self, now: datetime) -> list[Fired]:
        """Run the observations handed over by other threads."""
        fired: list[Fired] = []
        while True:
            try:
                obs = self.local.get_nowait()
            except queue.Empty:
                return fired
            fired += self.engine.observe(obs)

    def next_due(self) -> datetime | None:
        """When the pipeline must wake for a timer, at the latest."""
        return self.engine.next_due()

    def reload(self) -> None:
        """After a failed transaction memory may be ahead of the database: start again from the database."""
        self.engine = RuleEngine(self.facility, self.engine.rules.values())
        self.registry = Registry(self.facility, started_at=self.registry.started_at)
        self.load()

    def reload_quietly(self) -> None:
        """Reload, unless the database is still away (the next attempt reloads again)."""
        try:
            self.reload()
        except Exception as exc:  # noqa: BLE001 - retried by the caller
            log.warning("could not reload rule state yet: %r", exc)

    def poison(self, message: Message, reason: str) -> None:
        """Keep a message that made processing fail as a dead letter, so it is not retried forever."""
        dead = Dead(message.topic, reason, "unprocessable", truncate_raw(message.payload))
        with self.sessions.begin() as session:
            _dead_letter(session, dead, self.clock())

    def _observations(self, session: Session, items: list[Incoming], now: datetime, changes: Changes) -> list[Fired]:
        """Insert new observations (duplicates by id are skipped) and run the rules on them, per device in order."""
        if not items:
            return []
        unique = {i.envelope.id: i for i in items}
        rows = _insert_new(session, unique.values(), now)
        changes.observations, changes.duplicates = len(rows), len(items) - len(rows)
        fresh = sorted(rows, key=lambda r: (r["site"], r["device"], r["seq"]))
        fired: list[Fired] = []
        for row in fresh:
            item = unique[row["id"]]
            env = item.envelope
            offset = self.edge_offsets.get(item.site.id)
            at = min(env.at - offset if offset else env.at, now + MAX_CLOCK_AHEAD)
            fired += self.registry.seen(item.site.id, item.device.id, at, row["data"], env.seq)
            if env.data is not None and not self.mutes.in_maintenance(item.site.id, item.device, at):
                fired += self.engine.observe(Obs(item.site, item.device, at, env.data, env.id))
            changes.devices.add((item.site.id, item.device.id))
        return fired

    def _learn_offsets(self, decoded: list[Any], now: datetime) -> None:
        """Each heartbeat says the edge's time; against our clock that is its clock's offset (heartbeats are QoS 0
        and sent only while connected, so they are never a stale backlog; our clock, not the receiver's stamp,
        because the rules run on it)."""
        for item in decoded:
            if isinstance(item, Heartbeat):
                self._set_offset(item.site, item.info.get("at"), now)

    def _set_offset(self, site: str, said: Any, arrived: datetime | None) -> None:
        """Keep one site's offset if it is large enough to matter."""
        try:
            edge_time = datetime.fromisoformat(said) if isinstance(said, str) else None
        except ValueError:
            edge_time = None
        if edge_time is None or edge_time.tzinfo is None or arrived is None:
            return
        # A heartbeat read late (a busy pipeline) looks like an edge running behind by the delay: a sample is the
        # offset minus a delay that is never negative, so the largest of the last few is the best estimate.
        samples = self._offset_samples.setdefault(site, deque(maxlen=OFFSET_SAMPLES))
        samples.append(edge_time - arrived)
        offset = max(samples)
        if abs(offset) > MAX_CLOCK_OFFSET:
            self.edge_offsets[site] = offset
        else:
            self.edge_offsets.pop(site, None)

    def _load_offsets(self, session: Session) -> None:
        """After a restart: the offsets of the last heartbeats kept."""
        for edge in session.scalars(select(Edge)):
            if edge.site in self.facility.site_by_id and edge.info:
                self._set_offset(edge.site, edge.info.get("at"), edge.heartbeat_at)

    def _others(self, session: Session, decoded: list[Any], now: datetime, changes: Changes) -> list[Fired]:
        """Dead letters, edge statuses and heartbeats."""
        fired: list[Fired] = []
        for item in decoded:
            if isinstance(item, Dead):
                _dead_letter(session, item, now)
                if item.known_device and item.site and item.device:
                    self.registry.rejected(item.site, item.device)
                changes.dead += 1
            elif isinstance(item, EdgeStatus):
                fired += edge_status(session, item.site, item.online, now)
                self.registry.edge_changed(item.site, item.online, now)
                changes.edges.add(item.site)
            elif isinstance(item, Heartbeat):
                edge_heartbeat(session, item.site, item.info, now)
                changes.edges.add(item.site)
        return fired

    def _apply(self, session: Session, fired: list[Fired], now: datetime, changes: Changes) -> None:
        """Turn rule actions into alert changes."""
        for f in fired:
            key = (f.site, f.rule, f.action.subject)
            if isinstance(f.action, Raise):
                muted = self.mutes.muting(f.site, f.rule, f.action, now)
                alert = service.apply_raise(session, site=f.site, rule=f.rule, action=f.action, at=now,
                                            muted=(muted.mode.value, muted.id) if muted else None)
                metrics.ALERTS_RAISED.labels(f.rule).inc()
                changes.alerts.append(alert)
                self.maybe_open.add(key)
            elif isinstance(f.action, Clear) and key in self.maybe_open:
                cleared = service.apply_clear(session, site=f.site, rule=f.rule, action=f.action, at=now)
                if cleared is not None:
                    changes.alerts.append(cleared)


def _insert_new(session: Session, items: Iterable[Incoming], now: datetime) -> list[dict[str, Any]]:
    """Insert the observations not stored yet (and their snapshots); return their rows.

    A large batch (a backlog): one SELECT of the batch's ids, then a plain executemany, measured ~30 % cheaper per
    row than INSERT ... RETURNING through SQLAlchemy's insertmanyvalues. A small one (the normal rate, often a
    single message): INSERT ... RETURNING, one statement instead of two. ON CONFLICT DO NOTHING keeps a concurrent
    writer's copy from failing the batch.
    """
    by_id = {i.envelope.id: i for i in items}
    insert_rows = _insert_ignoring_duplicates(session, Observation)
    if len(by_id) > SMALL_BATCH:
        stored = set(session.scalars(select(Observation.id).where(Observation.id.in_(list(by_id)))))
        rows = [_observation_row(i, now) for key, i in by_id.items() if key not in stored]
        snapshots = [s for row in rows if (s := _snapshot(row, by_id[row["id"]])) is not None]
        if rows:
            session.execute(insert_rows, rows)
    else:
        rows = [_observation_row(i, now) for i in by_id.values()]
        snapshots = [s for row in rows if (s := _snapshot(row, by_id[row["id"]])) is not None]
        new = set(session.scalars(insert_rows.returning(Observation.__table__.c.id), rows))
        rows = [row for row in rows if row["id"] in new]
        snapshots = [s for s in snapshots if s["id"] in new]
    if snapshots:
        session.execute(_insert_ignoring_duplicates(session, Snapshot), snapshots)
    return rows


def _observation_row(item: Incoming, now: datetime) -> dict[str, Any]:
    """The observations table's row of an incoming envelope."""
    env = item.envelope
    return {"id": env.id, "site": item.site.id, "device": item.device.id, "kind": env.kind, "at": env.at,
            "seq": env.seq, "received_at": now, "data": env.data.fields() if env.data else {}}


def _snapshot(row: dict[str, Any], item: Incoming) -> dict[str, Any] | None:
    """Take a camera's snapshot out of the observation's data (the observations table is read for trends: a
    30 kB picture per row would slow every such read); it is filed under the observation's id instead."""
    encoded = row["data"].pop("snapshot", None)
    if encoded is None:
        return None
    try:
        jpeg = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        log.warning("snapshot of %s/%s is not base64; dropped", row["site"], row["device"])
        return None
    return {"id": row["id"], "site": row["site"], "camera": row["device"], "at": row["at"], "jpeg": jpeg,
            "expires_at": row["at"] + timedelta(days=item.site.cameras.snapshot_days)}


def _insert_ignoring_duplicates(session: Session, entity: Any) -> Any:
    """INSERT ... ON CONFLICT (id) DO NOTHING into an entity's table, in the session's dialect."""
    # The Core table, not the ORM entity: the ORM's bulk path costs a few µs more per row.
    table = entity.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["id"])
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=["id"])
    return insert(table)  # pragma: no cover - only SQLite and PostgreSQL are supported


def _dead_letter(session: Session, dead: Dead, now: datetime) -> None:
    """Keep the unusable message and count it; log the reason (never the payload: it may hold health data)."""
    session.add(DeadLetter(received_at=now, site=dead.site, device=dead.device, topic=dead.topic[:256],
                           reason=dead.reason, raw=dead.raw))
    metrics.REJECTED.labels(dead.site or "unknown", dead.device if dead.known_device else "unknown",
                            dead.reason_class).inc()
    metrics.log_rejection_once(log, dead)
