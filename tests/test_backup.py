"""`carewatch db backup` and `db restore`: a populated database comes back whole in a fresh one, chain intact."""

import shutil
import sqlite3
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from carewatch import demo_records
from carewatch.backup import BackupError, backup, restore, row_counts
from carewatch.cli import main
from devices.facility import Facility
from server.alerts import service
from server.alerts.service import Resolution
from server.auth.users import Role, create_user
from server.db import make_engine, make_sessions, upgrade
from server.models import Alert
from server.pipeline import Pipeline
from server.records.verify import verify
from tests.conftest import POSTGRES_ADMIN_URL, missing
from tests.server.conftest import T0, Clock, envelope, message


def populate(url: str, facility: Facility) -> None:
    """What a home's database holds after a while: observations, alerts acknowledged and resolved, records."""
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    clock = Clock()
    pipeline = Pipeline(facility, sessions, clock=clock)
    pipeline.load()
    for seq in range(1, 31):
        clock.now = T0 + timedelta(minutes=seq)
        pipeline.process([message(envelope("temp-freezer", clock.now, seq=seq, temperature_c=-18.0 + seq % 3)),
                          message(envelope("smoke-kitchen", clock.now, seq=seq, smoke=False))])
    pipeline.process([message(envelope("leak-boiler", clock.now, seq=1, leak=True)),
                      message(envelope("sos-r101", clock.now, seq=1, pressed=True))])
    with sessions.begin() as db:
        create_user(db, username="nurse-li", password="a long password 1", role=Role.STAFF, at=T0, sites=["hq"])
        first, second = db.scalars(select(Alert.id).order_by(Alert.id)).all()[:2]
        service.acknowledge(db, first, actor="nurse-li", at=clock.now, note="on my way")
        service.resolve(db, second, actor="nurse-li", at=clock.now, resolution=Resolution.REAL_EVENT)
    demo_records.seed(sessions, facility, T0)
    engine.dispose()


def chain_of(url: str) -> list[tuple[str, int, str, bool]]:
    """Each site's chain as `records verify` sees it: site, links, head hash, intact."""
    engine = make_engine(url)
    try:
        with make_sessions(engine)() as db:
            return [(c.site, c.links, c.head, c.intact) for c in verify(db)]
    finally:
        engine.dispose()


@pytest.fixture
def fresh_postgres() -> Iterator[Any]:
    """Makes fresh PostgreSQL databases (cw_restore_<random>) on demand; drops them all at the end."""
    try:
        import psycopg

        admin = psycopg.connect(POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True,
                                connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        missing(f"PostgreSQL at {POSTGRES_ADMIN_URL} ({exc.__class__.__name__})")
        return
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        missing("pg_dump and pg_restore on PATH")
    made: list[str] = []

    def make() -> str:
        name = f"cw_restore_{uuid.uuid4().hex[:12]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"

    try:
        yield make
    finally:
        for name in made:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """A source database and a fresh one to restore into, of the same engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'home.db'}", f"sqlite:///{tmp_path / 'restored' / 'home.db'}"
    make = request.getfixturevalue("fresh_postgres")
    return make(), make()


def test_a_populated_database_comes_back_whole_in_a_fresh_one(two_databases: tuple[str, str], tmp_path: Path,
                                                             reference_facility: Facility,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    source, target = two_databases
    populate(source, reference_facility)
    before = row_counts(source)
    assert all(before[t] > 0 for t in ("observations", "alerts", "alert_events", "audit_chain", "users",
                                       "drill_records", "inspections", "patrol_checkins", "food_samples"))
    [(site, links, head, intact)] = chain_of(source)
    assert intact and links > 20

    out = tmp_path / "backups" / "home.backup"
    assert main(["db", "backup", "--out", str(out), "--database-url", source]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert main(["db", "restore", str(out), "--database-url", target]) == 0
    assert "migrated to this release" in capsys.readouterr().out

    assert row_counts(target) == before
    assert chain_of(target) == [(site, links, head, True)]
    assert main(["records", "verify", "--database-url", target]) == 0


def test_restore_refuses_a_database_that_holds_rows_unless_forced(two_databases: tuple[str, str], tmp_path: Path,
                                                                 reference_facility: Facility,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    source, target = two_databases
    populate(source, reference_facility)
    out = backup(source, tmp_path / "home.backup").path
    upgrade(target)  # migrated but unused: a fresh database, restoring into it is fine ...
    engine = make_engine(target)
    with make_sessions(engine).begin() as db:  # ... until someone (the bootstrap admin) is in it
        create_user(db, username="admin", password="another long one", role=Role.ADMIN, at=T0)
    engine.dispose()

    assert main(["db", "restore", str(out), "--database-url", target]) == 1
    assert "is not empty (1 rows in 1 tables, e.g. users)" in capsys.readouterr().err
    assert row_counts(target)["alerts"] == 0

    done = restore(target, out, force=True)
    assert done.tables == row_counts(source)
    assert chain_of(target)[0][3]


def test_an_older_backup_is_migrated_forward_on_restore(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    upgrade(f"sqlite:///{old}", "0011")
    with sqlite3.connect(old) as db:
        db.execute("INSERT INTO users (username, password_hash, role, active, created_at, sites) "
                   "VALUES ('nurse-li', 'x', 'staff', 1, '2026-01-02 03:04:05', '[\"hq\"]')")
    out = backup(f"sqlite:///{old}", tmp_path / "old.backup").path
    target = f"sqlite:///{tmp_path / 'new.db'}"
    done = restore(target, out)
    assert done.tables["users"] == 1 and "observation_hours" in done.tables  # a table of a later revision
    with sqlite3.connect(tmp_path / "new.db") as db:
        [(revision,)] = db.execute("SELECT version_num FROM alembic_version")
    assert revision > "0011"


def test_a_sqlite_backup_is_consistent_while_the_server_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    upgrade(url)
    stop = threading.Event()

    def write() -> None:
        """A writer committing pairs of rows: a consistent copy never holds half a pair."""
        db = sqlite3.connect(tmp_path / "busy.db", timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        n = 0
        while not stop.is_set():
            with db:
                for half in ("a", "b"):
                    db.execute("INSERT INTO dead_letters (received_at, topic, reason, raw) VALUES "
                               "('2026-01-01 00:00:00', ?, 'pair', '')", (f"{n}/{half}",))
            n += 1
        db.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        copies = [backup(url, tmp_path / f"copy-{i}.backup").path for i in range(5)]
    finally:
        stop.set()
        writer.join()
    for copy in copies:
        with sqlite3.connect(copy) as db:
            [(rows,)] = db.execute("SELECT count(*) FROM dead_letters")
        assert rows % 2 == 0


def test_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "backup", "--out", str(tmp_path / "x"), "--database-url", "sqlite:///nowhere.db"]) == 1
    assert "no SQLite database at nowhere.db" in capsys.readouterr().err
    junk = tmp_path / "junk.backup"
    junk.write_text("hello")
    with pytest.raises(BackupError, match="not a carewatch backup"):
        restore(f"sqlite:///{tmp_path / 'new.db'}", junk)
    sqlite_backup = tmp_path / "home.backup"
    upgrade(f"sqlite:///{tmp_path / 'home.db'}")
    backup(f"sqlite:///{tmp_path / 'home.db'}", sqlite_backup)
    with pytest.raises(BackupError, match="is a sqlite backup and .* is a postgresql database"):
        restore("postgresql://carewatch@127.0.0.1:1/carewatch", sqlite_backup)
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump here
    with pytest.raises(BackupError, match="pg_dump is not on PATH: install the PostgreSQL client"):
        backup("postgresql://carewatch:secret@127.0.0.1:1/carewatch", tmp_path / "pg.backup")
    assert not list(tmp_path.glob("*partial*"))


def test_the_password_is_never_on_the_command_line(fresh_postgres: Any, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[list[str], str | None]] = []
    real = subprocess.run

    def spy(argv: list[str], **kwargs: Any) -> Any:
        seen.append((argv, kwargs["env"].get("PGPASSWORD")))
        return real(argv, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    url = fresh_postgres()
    upgrade(url)
    with_password = make_url(url).set(password="pw-not-needed").render_as_string(hide_password=False)
    backup(with_password, tmp_path / "pg.backup")
    [(argv, password)] = seen
    assert password == "pw-not-needed" and not any("pw-not-needed" in arg for arg in argv)
