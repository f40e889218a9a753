"""Server side of the ingest benchmark: throwaway databases, `carewatch server` as a process, drain polling."""

import contextlib
import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest_clients import STALL, BenchError, child_setup

PG_ADMIN_URL = os.environ.get("CAREWATCH_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
# Seconds between row counts: the end of a drain is known to within this. SQLite's max(rowid) is free;
# PostgreSQL's count(*) is not (~1.6 ms at 50k rows), so it is asked less often.
POLL = {"sqlite": 0.025, "postgresql": 0.05}
SERVER_MAIN = "import sys; from carewatch.cli import main; sys.exit(main())"

RowCount = Callable[[], tuple[int, int]]  # () -> (observations stored, dead letters)


@dataclass(frozen=True)
class Database:
    """A throwaway database for one server phase, and how to count what the server stored in it."""

    kind: str
    url: str
    count: RowCount


@contextlib.contextmanager
def sqlite_database(workdir: Path) -> Iterator[Database]:
    """A fresh SQLite file (removed with the work directory) and a cheap row counter for it."""
    path = workdir / f"cw-bench-{secrets.token_hex(4)}.db"
    conn: sqlite3.Connection | None = None

    def count() -> tuple[int, int]:
        nonlocal conn
        # Open only once the -wal file exists: a reader that comes too early could keep the server's
        # `PRAGMA journal_mode=WAL` from taking effect, and rollback-journal readers block the writer.
        if conn is None and Path(f"{path}-wal").exists():
            conn = sqlite3.connect(path, timeout=1)
        if conn is None:
            return 0, 0
        try:
            # max(rowid) is O(log n) and equals the row count: the pipeline only inserts.
            stored, dead = conn.execute("SELECT (SELECT max(rowid) FROM observations), "
                                        "(SELECT count(*) FROM dead_letters)").fetchone()
        except sqlite3.OperationalError:  # not migrated yet
            return 0, 0
        return stored or 0, dead or 0

    try:
        yield Database("sqlite", f"sqlite:///{path}", count)
    finally:
        if conn is not None:
            conn.close()


@contextlib.contextmanager
def postgres_database() -> Iterator[Database]:
    """A throwaway PostgreSQL database, dropped afterwards, and a row counter for it."""
    import psycopg

    name = f"cw_bench_{secrets.token_hex(6)}"
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:

                def count() -> tuple[int, int]:
                    try:
                        cur = conn.execute("SELECT (SELECT count(*) FROM observations), "
                                           "(SELECT count(*) FROM dead_letters)")
                    except psycopg.errors.UndefinedTable:  # not migrated yet
                        return 0, 0
                    stored, dead = cur.fetchone() or (0, 0)
                    return stored, dead

                yield Database("postgresql", f"{base}/{name}", count)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------- the server process


def server_env(config: Path, url: str, db_url: str, client_id: str, group: str, port: int,
               extra: dict[str, str]) -> dict[str, str]:
    """The server's settings, and none inherited: a CAREWATCH_* of the caller's shell must not skew it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREWATCH_")}
    env.update(CAREWATCH_CONFIG=str(config), CAREWATCH_DATABASE_URL=db_url, CAREWATCH_MQTT_URL=url,
               CAREWATCH_MQTT_PROTOCOL="5", CAREWATCH_MQTT_CLIENT_ID=client_id,
               CAREWATCH_MQTT_SHARED_GROUP=group, CAREWATCH_HOST="127.0.0.1", CAREWATCH_PORT=str(port),
               CAREWATCH_SECRET_KEY=secrets.token_urlsafe(24), CAREWATCH_LOG_LEVEL="WARNING")
    env.update(extra)
    return env


@contextlib.contextmanager
def server_process(env: dict[str, str], workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`carewatch server` in its own process (cwd: the work directory, so no stray .env is read)."""
    log_path = workdir / f"server-{secrets.token_hex(3)}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", SERVER_MAIN, "server"], cwd=workdir, env=env,
                                stdout=log, stderr=subprocess.STDOUT, preexec_fn=child_setup)
        try:
            yield proc
        except Exception:  # a failed phase: show why the server did not deliver (not on Ctrl-C)
            sys.stderr.write(f"--- server log (tail) ---\n{log_path.read_text(errors='replace')[-3000:]}\n")
            raise
        finally:
            proc.send_signal(signal.SIGTERM)  # graceful: finishes the batch in hand, disconnects
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass
class Drain:
    """What polling saw of a server drain: when rows first showed (and how many), when the n-th did."""

    first_at: float = 0.0
    first_count: int = 0
    done_at: float = 0.0


def wait_stored(db: Database, n: int, proc: subprocess.Popen[bytes], port: int) -> Drain:
    """Poll the table until n observations are stored."""
    drain = Drain()
    seen, progress = -1, time.monotonic()
    while True:
        now = time.perf_counter()
        stored, dead = db.count()
        if dead:
            raise BenchError(f"{dead} messages became dead letters: the benchmark's payloads are wrong")
        if stored and not drain.first_at:
            drain.first_at, drain.first_count = now, stored
        if stored >= n and drain.first_at:
            drain.done_at = now
            return drain
        if proc.poll() is not None:
            raise BenchError(f"the server exited with code {proc.returncode} after {stored}/{n} observations")
        if stored != seen:
            seen, progress = stored, time.monotonic()
        elif time.monotonic() - progress > STALL:
            raise BenchError(f"no progress for {STALL:.0f} s at {stored}/{n} observations stored")
        time.sleep(POLL[db.kind])


def final_metrics(port: int, n: int) -> dict[str, float]:
    """The metrics once they count all n: the counter moves just after the commit the table shows."""
    deadline = time.monotonic() + 5
    metrics = scrape(port)
    while metrics.get("carewatch_observations_total", 0) < n and time.monotonic() < deadline:
        time.sleep(0.05)
        metrics = scrape(port)
    return metrics


def scrape(port: int) -> dict[str, float]:
    """The server's Prometheus metrics, label sets summed per name."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    values: Counter[str] = Counter()
    for line in text.splitlines():
        match = re.match(r"^([a-z_]+)(?:\{[^}]*\})? ([0-9.eE+-]+)$", line)
        if match:
            values[match.group(1)] += float(match.group(2))
    return dict(values)
