"""Migrations forward on a populated database: rows written at an old revision survive `upgrade head`, read through
the ORM, and survive a downgrade to that revision and an upgrade again (SQLite and PostgreSQL)."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, func, select, text

from server.alerts import service
from server.db import MIGRATIONS, Base, make_engine, make_sessions, normalize_url, upgrade
from server.models import (
    Alert,
    AlertEvent,
    ChainEntry,
    DeadLetter,
    DeviceState,
    DrillRecord,
    Edge,
    FoodSample,
    Inspection,
    Notification,
    Observation,
    PatrolCheckin,
    Suppression,
    User,
)
from server.records import chain

FIRST, OLDER = "0001", "0011"  # the very first schema, and one with users' sites, the audit chain and the records
T0 = datetime(2026, 3, 2, 23, 15, tzinfo=UTC)


def config(url: str) -> Config:
    """Alembic's configuration as server.db.upgrade builds it."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def head() -> str:
    """The newest revision."""
    return str(ScriptDirectory.from_config(config("sqlite://")).get_current_head())


def revision(url: str) -> str:
    """The revision the database is at."""
    engine = make_engine(url)
    with engine.connect() as connection:
        found = str(connection.scalar(text("SELECT version_num FROM alembic_version")))
    engine.dispose()
    return found


class Writer:
    """Plain SQL inserts with values as each engine stores them (SQLite: naive UTC text; PostgreSQL: timestamptz)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.sqlite = connection.dialect.name == "sqlite"

    def at(self, minutes: float) -> str:
        """An instant minutes after T0, as an SQL literal value of this engine."""
        moment = T0 + timedelta(minutes=minutes)
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f") + ("" if self.sqlite else "+00:00")

    def insert(self, table: str, returning: bool = False, **values: Any) -> int | None:
        """INSERT one row; its generated id when asked."""
        columns = ", ".join(f'"{name}"' for name in values)
        params = ", ".join(f":{name}" for name in values)
        sql = f'INSERT INTO "{table}" ({columns}) VALUES ({params})' + (" RETURNING id" if returning else "")
        result = self.connection.execute(text(sql), {k: json.dumps(v) if isinstance(v, dict | list) else v
                                                     for k, v in values.items()})
        return int(result.scalar_one()) if returning else None


def first_revision_rows(w: Writer) -> dict[str, int]:
    """What a home held under the first schema: devices, observations, alerts with their history, a user."""
    w.insert("users", username="nurse-li", password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
             role="staff", display_name="李护士", language="zh-CN", active=True, created_at=w.at(-600))
    w.insert("devices", site="hq", device="bed-r101-a", kind="bed_sensor", room="r101", last_seen=w.at(30),
             online=True, battery_pct=87.0, state={"occupied": False}, last_seq=30, observations=30, rejected=1)
    w.insert("edges", site="hq", online=True, status_at=w.at(0), heartbeat_at=w.at(30), info={"version": "0.1"})
    for seq in range(1, 31):
        w.insert("observations", id=f"obs-{seq:03d}", site="hq", device="bed-r101-a", kind="bed_sensor",
                 at=w.at(seq), seq=seq, received_at=w.at(seq + 0.01), data={"occupied": seq < 20})
    w.insert("dead_letters", received_at=w.at(5), site="hq", device="bed-r101-a", topic="carewatch/v1/hq/obs/x",
             reason="not valid JSON", raw="{oops")
    w.insert("rule_states", site="hq", rule="bed_exit_night", key="bed-r101-a", state={"out_since": None},
             due_at=w.at(45))
    exit_id = w.insert("alerts", returning=True, site="hq", rule="bed_exit_night", subject="bed-r101-a",
                       severity="high", status="resolved", cleared=True, room="r101", details={"bed": "r101-a"},
                       occurrences=1, raised_at=w.at(20), last_raised_at=w.at(20), cleared_at=w.at(24),
                       acked_at=w.at(21), acked_by="nurse-li", resolved_at=w.at(25), resolved_by="nurse-li",
                       resolution="real_event")
    w.insert("alerts", site="hq", rule="water_leak", subject="leak-boiler", severity="critical", status="open",
             cleared=False, room="kitchen", details={}, occurrences=2, raised_at=w.at(28), last_raised_at=w.at(29))
    for minutes, action in ((20, "raised"), (21, "ack"), (25, "resolve")):
        w.insert("alert_events", alert_id=exit_id, at=w.at(minutes), action=action,
                 actor="system" if action == "raised" else "nurse-li", note=None)
    return {"users": 1, "devices": 1, "edges": 1, "observations": 30, "dead_letters": 1, "alerts": 2,
            "alert_events": 3}


def older_revision_rows(w: Writer) -> dict[str, int]:
    """The first schema's rows plus what came by 0011: site grants, silences, the audit chain, safety records."""
    counts = first_revision_rows(w)
    w.connection.execute(text("UPDATE users SET sites = 'hq' WHERE username = 'nurse-li'"))
    w.connection.execute(text("UPDATE alerts SET assignee = 'nurse-li' WHERE rule = 'water_leak'"))
    drill = w.insert("suppressions", returning=True, site="hq", mode="drill", scope="site", target=None,
                     starts_at=w.at(-90), ends_at=w.at(-30), author="nurse-li", reason="厨房起火 / kitchen fire",
                     created_at=w.at(-90), ended_at=w.at(-40), ended_by="nurse-li")
    w.insert("drill_records", drill=drill, version=1, supersedes=None, site="hq", scenario="kitchen fire",
             scope="site", target=None, shift="day", started_at=w.at(-90), started_by="nurse-li",
             all_clear_at=w.at(-83), participants=["nurse-li", "cook-wang"], residents_evacuated=7, problems=None,
             recorded_by="nurse-li", recorded_at=w.at(-60))
    w.insert("patrol_checkins", site="hq", checkpoint="kitchen", at=w.at(10), by="nurse-li")
    w.insert("inspections", site="hq", template="fire-monthly", at=w.at(-20), by="nurse-li",
             results={"extinguishers": {"ok": True}}, notes="")
    w.insert("food_samples", site="hq", day="2026-03-02", meal="lunch", dish="番茄炒蛋", grams=125.0, at=w.at(-600),
             by="cook-wang", discard_due=w.at(48 * 60))
    leak = w.connection.scalar(text("SELECT id FROM alerts WHERE rule = 'water_leak'"))
    w.insert("notifications", key=f"{leak}:0:0:manager", alert_id=leak, site="hq", step=0, round=0,
             channel="wecom", recipient="manager", address=None, status="sent", attempts=1,
             next_attempt_at=w.at(29), last_error=None, created_at=w.at(28), sent_at=w.at(28.1))
    prev = chain.GENESIS
    for seq, (kind, ref, body) in enumerate((("alert_event", "1", {"action": "raised"}),
                                             ("drill", "1", {"scenario": "kitchen fire"}),
                                             ("patrol_checkin", "1", {"checkpoint": "kitchen"})), start=1):
        moment = T0 + timedelta(minutes=seq)
        canonical = chain.canonical(body)
        digest = chain.link_hash(prev, "hq", seq, kind, ref, moment, canonical)
        w.insert("audit_chain", site="hq", seq=seq, kind=kind, ref=ref, at=w.at(seq), body=canonical,
                 prev_hash=prev, hash=digest)
        prev = digest
    return counts | {"suppressions": 1, "drill_records": 1, "patrol_checkins": 1, "inspections": 1,
                     "food_samples": 1, "notifications": 1, "audit_chain": 3}


MODELS = {"users": User, "devices": DeviceState, "edges": Edge, "observations": Observation,
          "dead_letters": DeadLetter, "alerts": Alert, "alert_events": AlertEvent, "suppressions": Suppression,
          "drill_records": DrillRecord, "patrol_checkins": PatrolCheckin, "inspections": Inspection,
          "food_samples": FoodSample, "notifications": Notification, "audit_chain": ChainEntry}


def read_back(url: str, expected: dict[str, int]) -> None:
    """Every row is there and loads through the ORM with its values intact."""
    engine = make_engine(url)
    with make_sessions(engine)() as db:
        for table, n in expected.items():
            rows = db.scalars(select(MODELS[table])).all()
            assert len(rows) == n, table
        alert = db.scalar(select(Alert).where(Alert.rule == "bed_exit_night"))
        assert alert is not None and alert.raised_at == T0 + timedelta(minutes=20)
        assert [e.action for e in alert.events] == ["raised", "ack", "resolve"]
        assert alert.details == {"bed": "r101-a"} and alert.resolution == "real_event"
        user = db.scalar(select(User).where(User.username == "nurse-li"))
        assert user is not None and user.display_name == "李护士" and user.active is True
        last = db.get(Observation, "obs-030")
        assert last is not None and last.data == {"occupied": False} and last.at == T0 + timedelta(minutes=30)
        if "audit_chain" in expected:
            links, _, breaks = chain.walk(db, "hq")
            assert (links, breaks) == (3, [])
            assert db.scalar(select(DrillRecord.participants)) == ["nurse-li", "cook-wang"]
    engine.dispose()


def still_writable(url: str) -> None:
    """New rows go in after the migrated ones: sequences and constraints carried over."""
    engine = make_engine(url)
    with make_sessions(engine).begin() as db:
        link = chain.append(db, site="hq", kind="note", ref="x", at=T0 + timedelta(hours=1), body={"n": 1})
        alert = service.open_alert(db, site="hq", rule="water_leak", subject="leak-boiler")
        assert alert is not None  # the open alert written at the old revision is still the open one
        db.add(Alert(site="hq", rule="smoke", subject="smoke-kitchen", severity="critical", details={},
                     raised_at=T0, last_raised_at=T0))
        db.flush()
        assert db.scalar(select(func.max(Alert.id))) == 3
    with make_sessions(engine)() as db:
        assert link.seq == 4 and chain.walk(db, "hq")[2] == []
    engine.dispose()


# SQLite's batch mode recreates `alerts` (copy, DROP, rename) in 0002; with foreign_keys=ON that DROP cascades and
# deletes every alert_event. Expected to fail until server/migrations/env.py turns foreign keys off while migrating.
FK_SAFE = "foreign_keys=OFF" in (MIGRATIONS / "env.py").read_text(encoding="utf-8")


@pytest.mark.parametrize(("start", "rows"), [(FIRST, first_revision_rows), (OLDER, older_revision_rows)],
                         ids=["from-first", "from-0011"])
def test_rows_written_at_an_old_revision_come_forward(db_url: str, start: str,
                                                      rows: Callable[[Writer], dict[str, int]]) -> None:
    if db_url.startswith("sqlite") and start == FIRST and not FK_SAFE:
        pytest.xfail("SQLite batch migrations cascade-delete alert_events (server/migrations/env.py)")
    upgrade(db_url, start)
    assert revision(db_url) == start
    engine = make_engine(db_url)
    with engine.begin() as connection:
        expected = rows(Writer(connection))
    engine.dispose()

    upgrade(db_url)
    assert revision(db_url) == head()
    read_back(db_url, expected)

    command.downgrade(config(db_url), start)
    assert revision(db_url) == start
    upgrade(db_url)
    assert revision(db_url) == head()
    read_back(db_url, expected)
    still_writable(db_url)


def test_the_older_revision_is_old_enough() -> None:
    """OLDER stays at least three revisions behind the head, so the test crosses real migrations."""
    script = ScriptDirectory.from_config(config("sqlite://"))
    newest_first = [r.revision for r in script.walk_revisions()]
    assert newest_first.index(OLDER) >= 3 and newest_first[-1] == FIRST


def test_the_migrations_build_the_tables_the_models_describe(db_url: str) -> None:
    """A column, index or type added to a model without its migration would only show on a real database."""
    upgrade(db_url)
    engine = make_engine(db_url)
    with engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert drift == []
