"""A PostgreSQL cluster of our own on a free port, so a test may stop and restart it (never the machine's)."""

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from carewatch.broker import free_port


def bindir() -> Path | None:
    """Where initdb and pg_ctl are (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class PrivatePostgres:
    """initdb in a temporary directory, trust auth on 127.0.0.1, no fsync (a test's data need not survive a crash)."""

    def __init__(self) -> None:
        self.bin = bindir()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="carewatch-pg-"))
        self.data = self.dir / "data"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of its `postgres` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        """Run a PostgreSQL tool as the postgres user when we are root (PostgreSQL refuses to run as root)."""
        assert self.bin is not None
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_user, str(self.bin / args[0]), *args[1:]], check=True, capture_output=True, timeout=60)

    def start(self) -> "PrivatePostgres":
        """Create the cluster on first start, then start it and wait until it accepts connections."""
        if not self.data.exists():
            if os.geteuid() == 0:
                shutil.chown(self.dir, "postgres", "postgres")
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-o", options, "-w", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop it (fast: every connection is cut, as in a restart for an upgrade)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stop if running and delete everything."""
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
