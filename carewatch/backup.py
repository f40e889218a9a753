"""Back up and restore the carewatch database: SQLite through its online backup API, PostgreSQL through pg_dump.

A SQLite backup is a single database file, consistent as of one instant even while the server writes (the backup
API copies inside one read transaction; WAL lets the writer go on). A PostgreSQL backup is a `pg_dump
--format=custom` archive, consistent as of the dump's snapshot. Restoring refuses a database that holds rows unless
forced, then runs the migrations, so a backup made by an older release comes forward to this one's schema.
"""

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, MetaData, func, inspect, select, text
from sqlalchemy.engine import URL, make_url

from server.db import make_engine, normalize_url, upgrade

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"  # the first bytes of a pg_dump custom-format archive
IGNORED_TABLES = {"alembic_version"}  # a migrated but never used database holds only its revision


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Done:
    """What a backup or restore did."""

    path: Path
    kind: str  # sqlite or postgresql
    size: int  # bytes of the backup file
    tables: dict[str, int]  # rows per table in the database backed up, or restored into


def backup(url: str, out: Path) -> Done:
    """Write a consistent backup of the database at `url` to `out` (replaced only once complete)."""
    parsed = make_url(normalize_url(url))
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    tmp.unlink(missing_ok=True)
    try:
        if parsed.get_backend_name() == "sqlite":
            _sqlite_backup(_sqlite_file(parsed, must_exist=True), tmp)
            kind = "sqlite"
        elif parsed.get_backend_name() == "postgresql":
            _run([_tool("pg_dump"), "--format=custom", "--no-password", f"--file={tmp}",
                  f"--dbname={_libpq_uri(parsed)}"], parsed, "pg_dump")
            kind = "postgresql"
        else:
            raise BackupError(f"cannot back up a {parsed.get_backend_name()} database: SQLite or PostgreSQL only")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return Done(out, kind, out.stat().st_size, row_counts(url))


def restore(url: str, source: Path, *, force: bool = False) -> Done:
    """Load `source` into the database at `url`, then migrate it to this release's schema."""
    parsed = make_url(normalize_url(url))
    kind = backup_kind(source)
    backend = parsed.get_backend_name()
    if kind != backend:
        raise BackupError(f"{source} is a {kind} backup and {_shown(parsed)} is a {backend} database: restore it "
                          f"into a {kind} database (a backup does not convert between the two)")
    if backend == "postgresql":
        pg_restore = _tool("pg_restore")  # before touching anything: a missing tool must not leave a wiped database
    counts = row_counts(url) if backend == "postgresql" or _sqlite_file(parsed, must_exist=False).exists() else {}
    holding = {table: n for table, n in counts.items() if n and table not in IGNORED_TABLES}
    if holding and not force:
        raise BackupError(f"{_shown(parsed)} is not empty ({sum(holding.values())} rows in {len(holding)} tables, "
                          f"e.g. {', '.join(sorted(holding)[:3])}): restore into a fresh database, or give --force to "
                          "replace everything in it")
    if backend == "sqlite":
        _sqlite_restore(source, _sqlite_file(parsed, must_exist=False))
    else:
        _drop_tables(url)  # tables a newer release added would stay behind --clean and break the migrations below
        _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
              "--exit-on-error", "--no-password", f"--dbname={_libpq_uri(parsed)}", str(source)], parsed,
             "pg_restore")
        _analyze(url)
    upgrade(url)
    return Done(source, kind, source.stat().st_size, row_counts(url))


def backup_kind(path: Path) -> str:
    """sqlite or postgresql, from the file's first bytes; BackupError for anything else."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is not a carewatch backup (neither a SQLite file nor a pg_dump custom archive)")


def row_counts(url: str) -> dict[str, int]:
    """Rows per table: what a backup holds, and what a restore must give back."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            names = inspect(connection).get_table_names()
            metadata = MetaData()
            metadata.reflect(connection, only=names)
            return {name: int(connection.scalar(select(func.count()).select_from(metadata.tables[name])) or 0)
                    for name in sorted(names)}
    finally:
        engine.dispose()


def _sqlite_file(parsed: URL, *, must_exist: bool) -> Path:
    """The file of a SQLite URL; BackupError for an in-memory database or, when it must exist, a missing file."""
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore into")
    path = Path(parsed.database)
    if must_exist and not path.is_file():
        raise BackupError(f"no SQLite database at {path}")
    return path


def _sqlite_backup(source: Path, out: Path) -> None:
    """Copy every page in one step: one read transaction, so the copy is one instant even under writes."""
    src = sqlite3.connect(source, timeout=30)  # read-write as the server opens it: read-only WAL needs its -shm
    dst = sqlite3.connect(out)
    try:
        src.backup(dst)
        # The copy is one self-contained file: no -wal beside it to forget when it is moved.
        dst.execute("PRAGMA journal_mode=DELETE")
        found = dst.execute("PRAGMA quick_check").fetchone()[0]
        if found != "ok":
            raise BackupError(f"the copy of {source} fails SQLite's check: {found}")
    finally:
        dst.close()
        src.close()


def _sqlite_restore(source: Path, target: Path) -> None:
    """Replace the target's content through its own connection: its WAL and any reader stay consistent."""
    src = sqlite3.connect(f"file:{quote(str(source.resolve()))}?mode=ro", uri=True)  # a backup is never written
    try:
        found = src.execute("PRAGMA quick_check").fetchone()[0]
        if found != "ok":
            raise BackupError(f"{source} fails SQLite's check: {found}")
        target.parent.mkdir(parents=True, exist_ok=True)
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")  # as the server opens it
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"cannot restore {source} into {target}: {exc}") from None
    finally:
        src.close()


def _drop_tables(url: str) -> None:
    """Empty a PostgreSQL database of carewatch's tables (foreign keys first), for a forced restore."""
    engine: Engine = make_engine(url)
    try:
        with engine.begin() as connection:
            metadata = MetaData()
            metadata.reflect(connection)
            metadata.drop_all(connection)
    finally:
        engine.dispose()


def _analyze(url: str) -> None:
    """Fresh planner statistics: pg_restore leaves none, and the screen's queries need them from the start."""
    engine = make_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def _tool(name: str) -> str:
    """The full path of a PostgreSQL client program; BackupError saying how to get it."""
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not on PATH: install the PostgreSQL client programs (Debian/Ubuntu: apt-get "
                          f"install postgresql-client, the same major version as the server or newer)")
    return found


def _libpq_uri(parsed: URL) -> str:
    """The database as a libpq URI without the password (that goes through PGPASSWORD, never the process list)."""
    # URL.set ignores password=None (None means "unchanged" there): replace the field itself.
    return parsed._replace(password=None).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(argv: list[str], parsed: URL, what: str) -> None:
    """Run a PostgreSQL client program; BackupError with its own words when it fails."""
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{what} failed on {_shown(parsed)}: {detail[-1] if detail else f'exit {result.returncode}'}")


def _shown(parsed: URL) -> str:
    """A URL fit to print: no password."""
    return parsed.render_as_string(hide_password=True)
