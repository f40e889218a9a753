"""Shards and leases of several server processes, in one test process on a real PostgreSQL: fair shares, one
leader, takeover when a holder goes, a lost lease stopping everything; and a batch meeting another writer's
alert is redone, not lost."""

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import select

from devices.facility import Facility
from devices.kinds import Severity
from server.alerts import service
from server.cluster import Coordinator, facility_subset, libpq_url, shard_of, sites_of
from server.consumer import Consumer
from server.db import make_engine, make_sessions, upgrade
from server.models import Alert, DeadLetter, Observation
from server.pipeline import Pipeline
from server.rules.base import Raise
from tests.helpers import wait_until
from tests.server.conftest import T0, Clock, envelope, message

SHARDS = 8


def test_sites_spread_over_the_shards_and_every_process_agrees(reference_facility: Facility) -> None:
    sites = [f"home{i:03d}" for i in range(200)]
    per_shard = Counter(shard_of(site, SHARDS) for site in sites)
    assert set(per_shard) == set(range(SHARDS))
    assert min(per_shard.values()) >= 200 / SHARDS / 2 and max(per_shard.values()) <= 200 / SHARDS * 2
    assert [shard_of(site, SHARDS) for site in sites] == [shard_of(site, SHARDS) for site in sites]
    hq = sites_of(reference_facility, shard_of("hq", SHARDS), SHARDS)
    assert hq == ["hq"]
    assert all(sites_of(reference_facility, k, SHARDS) == [] for k in range(SHARDS) if k != shard_of("hq", SHARDS))


def test_a_shards_facility_holds_its_sites_only(reference_facility: Facility) -> None:
    hq = reference_facility.sites[0]
    fields = {name: getattr(reference_facility, name) for name in Facility.model_fields}
    two = Facility.model_construct(**{**fields, "sites": [hq, hq.model_copy(update={"id": "b"})]})
    assert set(two.site_by_id) == {"hq", "b"}
    part = facility_subset(two, ["b"])
    assert [s.id for s in part.sites] == ["b"] and set(part.site_by_id) == {"b"}
    assert set(two.site_by_id) == {"hq", "b"}  # the whole facility is untouched


class Member:
    """A coordinator whose shards and leadership are only recorded."""

    def __init__(self, url: str) -> None:
        self.shards: set[int] = set()
        self.leading = False
        self.starts: list[int] = []
        self.coordinator = Coordinator(url, SHARDS, start_shard=self._start, stop_shard=self.shards.discard,
                                       start_leader=lambda: setattr(self, "leading", True),
                                       stop_leader=lambda: setattr(self, "leading", False),
                                       interval=0.1, settle=0.1)

    def _start(self, shard: int) -> None:
        self.starts.append(shard)
        self.shards.add(shard)


@pytest.fixture
def lease_url(postgres_url: str) -> str:
    return libpq_url(postgres_url)


@pytest.fixture
def members(lease_url: str) -> Iterator[list[Member]]:
    made: list[Member] = []
    yield made
    for member in made:
        member.coordinator.stop()


def split(members: list[Member]) -> bool:
    """Every shard held by exactly one member, shares within one of each other, exactly one leader."""
    held = [m.shards for m in members]
    every = [s for shards in held for s in shards]
    sizes = [len(s) for s in held]
    return (sorted(every) == list(range(SHARDS)) and max(sizes) - min(sizes) <= 1
            and sum(m.leading for m in members) == 1)


def test_processes_split_the_shards_fairly_and_one_leads(members: list[Member], lease_url: str) -> None:
    for _ in range(3):
        members.append(Member(lease_url))
        members[-1].coordinator.start()
    wait_until(lambda: split(members), 15, interval=0.05, what="8 shards split 3/3/2 with one leader")
    assert sorted(len(m.shards) for m in members) == [2, 3, 3]


def test_a_stopped_process_shards_and_leadership_are_taken_over(members: list[Member], lease_url: str) -> None:
    for _ in range(2):
        members.append(Member(lease_url))
        members[-1].coordinator.start()
    wait_until(lambda: split(members), 15, interval=0.05, what="4/4 with one leader")
    leader = next(m for m in members if m.leading)
    other = next(m for m in members if m is not leader)
    gone = set(leader.shards)
    leader.coordinator.stop()
    started = time.monotonic()
    members.remove(leader)
    wait_until(lambda: split(members) and other.shards == set(range(SHARDS)), 10, interval=0.05,
               what="the survivor holding every shard and leading")
    assert leader.shards == set() and not leader.leading
    assert gone <= set(other.starts)
    print(f"taken over in {time.monotonic() - started:.2f} s")


def test_a_lost_lease_connection_stops_every_shard_until_it_is_back(members: list[Member], lease_url: str) -> None:
    member = Member(lease_url)
    members.append(member)
    member.coordinator.start()
    wait_until(lambda: split(members), 15, interval=0.05, what="all 8 shards and leadership")
    stopped = threading.Event()
    watch = threading.Thread(target=lambda: wait_until(lambda: not member.shards and stopped.set() is None, 10,
                                                       interval=0.005), daemon=True)
    watch.start()
    with psycopg.connect(lease_url, autocommit=True) as admin:  # as when PostgreSQL drops the connection
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE "
                      "'carewatch-lease-%%' AND datname = current_database()")
    watch.join(12)
    assert stopped.is_set(), "the shards kept running without their locks"
    wait_until(lambda: split(members), 15, interval=0.05, what="everything taken again after reconnecting")
    assert len(member.starts) == 2 * SHARDS


# ---------------------------------------------------------------- two writers of one alert

def test_a_batch_meeting_another_writers_open_alert_is_redone_not_lost(
        reference_facility: Facility, postgres_url: str) -> None:
    upgrade(postgres_url)
    sessions = make_sessions(make_engine(postgres_url))
    pipeline = Pipeline(reference_facility, sessions, clock=Clock())
    pipeline.load()
    consumer = Consumer(pipeline, reference_facility, url="mqtt://127.0.0.1:1", protocol="5",
                        client_id=f"unused-{uuid.uuid4().hex[:6]}", shared_group="", session_expiry=0, batch_size=10,
                        on_changes=lambda changes: None, clock=Clock())
    inserted, release = threading.Event(), threading.Event()

    def other_writer() -> None:
        """Another process raising the same SOS, its transaction still open while ours runs."""
        with sessions.begin() as db:
            service.apply_raise(db, site="hq", rule="sos", action=Raise("sos-r101", Severity.CRITICAL, "r101"),
                                at=T0)
            db.flush()
            inserted.set()
            release.wait(10)

    writer = threading.Thread(target=other_writer)
    writer.start()
    assert inserted.wait(10)
    press = message(envelope("sos-r101", T0, pressed=True, action="emergency"))
    ours = threading.Thread(target=consumer._store, args=([press],))  # noqa: SLF001 - the retry is under test
    ours.start()
    time.sleep(0.5)  # ours is now waiting on the other transaction's row of the unique index
    release.set()
    writer.join(10)
    ours.join(30)
    with sessions() as db:
        alerts = list(db.scalars(select(Alert).where(Alert.rule == "sos")))
        stored = db.scalars(select(Observation)).all()
        dead = db.scalars(select(DeadLetter)).all()
    assert [(a.subject, a.occurrences) for a in alerts] == [("sos-r101", 2)]
    assert len(stored) == 1 and dead == []
