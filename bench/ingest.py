"""Ingest benchmark: a bare paho subscriber and the real server pipeline drain the same QoS 1 backlog.

    .venv/bin/python bench/ingest.py [--messages 50000] [--db sqlite|postgresql|both] [--repeat 1]

Every phase gets the same backlog, on the same private Mosquitto: a persistent session is created
with the consumer's client id and subscriptions, a publisher process publishes N observations
at QoS 1 (the broker queues them), then the consumer connects and the drain is timed from the
first to the N-th message, so the consumer's capacity is measured, not the publisher's speed.
(a) bare subscriber: a paho client in its own process that counts (and auto-acks) messages.
(b) server pipeline: `carewatch server` in its own process (validate, store, rules, commit, ack
after commit), timed by polling the observations table. See bench/README.md.
"""

import argparse
import contextlib
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest_backlog import observations
from ingest_clients import (
    INFLIGHT,
    BenchError,
    bare_subscriber,
    drop_session,
    prime_session,
    publisher,
    run_child,
    subscriptions,
    tree_peak_rss_mb,
)
from ingest_server import (
    Drain,
    final_metrics,
    postgres_database,
    server_env,
    server_process,
    sqlite_database,
    wait_stored,
)

from carewatch.broker import PrivateMosquitto, free_port, mosquitto_binary
from devices.facility import Site
from devices.loader import load_facility

FACILITY_FILE = Path(__file__).resolve().parent.parent / "config" / "facility.yaml"


@dataclass
class Bench:
    """What every phase of a run shares: broker, backlog, work directory, extra server settings."""

    url: str
    site: Site
    messages: list[tuple[str, bytes]]
    workdir: Path
    server_extra: dict[str, str] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Messages per phase."""
        return len(self.messages)


@dataclass
class Result:
    """One phase's figures."""

    rate: float
    rss_mb: float
    details: str = ""


def prefill(bench: Bench, client_id: str, group: str) -> None:
    """Create the consumer's session, then have the publisher process queue the whole backlog for it."""
    prime_session(bench.url, client_id, subscriptions(bench.site, group))
    report = run_child(publisher, bench.url, bench.messages)
    if report.get("acked") != bench.n:
        raise BenchError(f"publisher: {report.get('error') or report.get('acked')} of {bench.n} acknowledged")


def measure_bare(bench: Bench) -> Result:
    """(a) A bare paho subscriber drains the backlog."""
    client_id, group = f"cw-bench-bare-{secrets.token_hex(4)}", f"cwbench{secrets.token_hex(4)}"
    prefill(bench, client_id, group)
    try:
        report = run_child(bare_subscriber, bench.url, client_id, bench.n)
    finally:
        drop_session(bench.url, client_id)
    if report["count"] < bench.n:
        raise BenchError(f"bare subscriber received {report['count']} of {bench.n} messages")
    return Result((bench.n - 1) / (report["last"] - report["first"]), report["rss"])


def measure_server(bench: Bench, db: str) -> Result:
    """(b) The real server pipeline drains the backlog into a fresh database."""
    client_id, group = f"cw-bench-server-{secrets.token_hex(4)}", f"cwbench{secrets.token_hex(4)}"
    database = sqlite_database(bench.workdir) if db == "sqlite" else postgres_database()
    with database as store:
        prefill(bench, client_id, group)
        port = free_port()
        env = server_env(FACILITY_FILE, bench.url, store.url, client_id, group, port, bench.server_extra)
        try:
            with server_process(env, bench.workdir) as proc:
                started = time.perf_counter()
                drain = wait_stored(store, bench.n, proc, port)
                rss, parts = tree_peak_rss_mb(proc.pid)
                metrics = final_metrics(port, bench.n)
        finally:
            drop_session(bench.url, client_id)
    rate = (bench.n - drain.first_count) / (drain.done_at - drain.first_at)
    split = " + ".join(f"{p:.0f}" for p in parts)
    return Result(rate, rss, f"{_details(metrics, drain, drain.first_at - started)}; peak RSS {split} MB "
                             "(the server, then its child processes)")


def _details(metrics: dict[str, float], drain: Drain, startup: float) -> str:
    """What the server says about the drain: batches, time inside pipeline.process, its queue's peak."""
    batches = metrics.get("carewatch_batch_seconds_count", 0)
    stored = metrics.get("carewatch_observations_total", 0)
    mean = stored / batches if batches else 0
    return (f"{stored:.0f} stored ({metrics.get('carewatch_duplicates_total', 0):.0f} duplicates) in "
            f"{batches:.0f} batches of {mean:.0f} on average; pipeline.process "
            f"{metrics.get('carewatch_batch_seconds_sum', 0):.1f} s of a {drain.done_at - drain.first_at:.1f} s "
            f"drain; first rows {startup:.1f} s after start")


# ---------------------------------------------------------------- report


def broker_version() -> str:
    """`mosquitto 2.0.11`, from the binary itself."""
    binary = mosquitto_binary() or "mosquitto"
    out = subprocess.run([binary, "-h"], capture_output=True, text=True, timeout=10).stdout
    match = re.search(r"mosquitto version (\S+)", out)
    return f"mosquitto {match.group(1)}" if match else "mosquitto (unknown version)"


def run_round(bench: Bench, dbs: list[str]) -> dict[str, Result]:
    """One round: the bare subscriber, then each database, printed as they finish."""
    bare = measure_bare(bench)
    _figure("bare subscriber", bare)
    results = {"bare": bare}
    for db in dbs:
        result = results[db] = measure_server(bench, db)
        _figure(f"server pipeline {db}", result)
        # Unindented, so `grep '^ratio:'` finds the figure.
        print(f"    {result.details}\n{_ratio_label(db)} {result.rate / bare.rate:.2f}", flush=True)
    return results


def _figure(label: str, result: Result) -> None:
    """`  server pipeline sqlite:   4410 msg/s  (peak RSS 92 MB)`."""
    print(f"  {label + ':':<28} {result.rate:6.0f} msg/s  (peak RSS {result.rss_mb:.0f} MB)", flush=True)


def _ratio_label(db: str) -> str:
    """`ratio:` for SQLite (the target), `ratio postgresql:` for the other."""
    return "ratio:" if db == "sqlite" else f"ratio {db}:"


def summarize(rounds: list[dict[str, Result]], dbs: list[str]) -> None:
    """Medians over the rounds (when there are several), then the targets."""
    if len(rounds) > 1:
        bare = statistics.median(r["bare"].rate for r in rounds)
        print(f"median of {len(rounds)} rounds: bare subscriber {bare:.0f} msg/s")
        for db in dbs:
            ratios = [r[db].rate / r["bare"].rate for r in rounds]
            print(f"  server pipeline {db}: {statistics.median(r[db].rate for r in rounds):.0f} msg/s, "
                  f"{_ratio_label(db)} {statistics.median(ratios):.2f} "
                  f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
    for db in dbs:
        rss = max(r[db].rss_mb for r in rounds)
        line = f"target {db}: peak RSS {rss:.0f} MB <= 200 MB: {_verdict(rss <= 200)}"
        if db == "sqlite":
            ratio = statistics.median(r[db].rate / r["bare"].rate for r in rounds)
            line += f"; ratio {ratio:.2f} >= 0.7: {_verdict(ratio >= 0.7)}"
        print(line)


def _verdict(holds: bool) -> str:
    """`yes` or a `NO` that stands out."""
    return "yes" if holds else "NO"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=50000,
                        help="backlog per phase (default 50000: a few seconds of drain each)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=1, help="rounds (each: bare, then the databases)")
    parser.add_argument("--server-env", action="append", default=[], metavar="CAREWATCH_X=VALUE",
                        help="extra server setting, e.g. CAREWATCH_BATCH_SIZE=100 (repeatable)")
    args = parser.parse_args(argv)
    if args.messages < 100 or args.repeat < 1:
        parser.error("--messages must be >= 100 and --repeat >= 1")
    return args


def _interrupt(*_: Any) -> None:
    """SIGTERM: unwind like Ctrl-C, so every clean-up below runs."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Start a private broker, run the rounds, clean everything up, print the figures."""
    args = parse_args(argv)
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    site = load_facility(FACILITY_FILE).site_by_id["hq"]
    extra = dict(item.split("=", 1) for item in args.server_env)
    signal.signal(signal.SIGTERM, _interrupt)
    broker = PrivateMosquitto()  # one broker, one configuration, for every phase
    with tempfile.TemporaryDirectory(prefix="cw-bench-") as tmp, contextlib.ExitStack() as stack:
        broker.start()
        stack.callback(broker.stop)
        url = f"mqtt://127.0.0.1:{broker.port}"
        bench = Bench(url, site, observations(site, args.messages), Path(tmp), extra)
        size = sum(len(p) for _, p in bench.messages) / bench.n
        print(f"broker: {broker_version()} (private, port {broker.port}, "
              f"max_inflight_messages {INFLIGHT}, "
              f"queue unlimited), messages: {bench.n} x {size:.0f} B, QoS 1, drained from a prefilled session"
              + (f"\nserver settings: {extra}" if extra else ""), flush=True)
        rounds = []
        try:
            for i in range(args.repeat):
                print(f"round {i + 1}/{args.repeat}", flush=True)
                rounds.append(run_round(bench, dbs))
        except BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("interrupted; cleaning up", file=sys.stderr)
            return 130
    summarize(rounds, dbs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
