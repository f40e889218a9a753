"""Screen fan-out: from an SOS press published on the broker to the `alert` event's arrival on each of 50 screens
(SSE clients of `/events?site=hq`), in a facility of 200 beds and 500 devices with background observations;
side by side in the same run, the same alerts with 1 screen connected.

    .venv/bin/python bench/screen_fanout.py [--screens 50] [--alerts 100] [--rate 2] [--background 50]

Everything runs on 127.0.0.1 and is its own: a private Mosquitto, `carewatch server --config <generated>` as a
child process on a fresh SQLite file, the screens in one asyncio child process, a background publisher process.
Blocks of 1 screen and of all screens alternate (1, N, N, 1, ...), each alert is resolved through the API once it
reached every connected screen. See bench/README.md.
"""

import argparse
import contextlib
import math
import os
import queue
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from alert_latency import ADMIN, broker_version, fmt_ms, login, percentile, server_process, verdict, wait_healthy
from alert_latency_parts import Background, press
from ingest_clients import BenchError, tree_peak_rss_mb
from ingest_server import SERVER_MAIN, scrape
from screen_fanout_parts import SITE, Profile, ScreenPool, ScreenSpec, make_facility

from carewatch.broker import PrivateMosquitto, free_port
from devices.mqtt import connect, make_client, parse_url, stop
from server.auth.tokens import COOKIE

FACILITY_FILE = Path(__file__).resolve().parent.parent / "config" / "facility.yaml"
TARGET_MS = 200.0
SCREEN_USER = "screen"  # a staff user granted site hq: what a screen on the wall logs in as
WARM_BACKGROUND_S = 3.0
SETTLE_S = 1.0  # after screens connect or leave, before a block's first press


# ---------------------------------------------------------------- what was pressed and what arrived


@dataclass
class Press:
    """One SOS press and its alert's first event on each screen connected at the time (monotonic seconds)."""

    site: str
    device: str
    sent: float
    block: int
    warmup: bool
    screens: frozenset[int]
    alert_id: int | None = None
    arrivals: dict[int, float] = field(default_factory=dict)
    settling: bool = False

    @property
    def key(self) -> tuple[str, str]:
        """The alert's site and subject."""
        return self.site, self.device

    def latencies(self) -> dict[int, float]:
        """Publish → arrival per screen; a screen it never reached counts as infinitely late."""
        return {s: self.arrivals.get(s, math.inf) - self.sent for s in self.screens}


class Tracker:
    """Matches `alert` events to presses: by id once known, else by (site, subject) of a pending SOS press (a
    button is pressed again only after its alert was resolved)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.presses: list[Press] = []
        self.busy: dict[tuple[str, str], Press] = {}
        self.by_alert: dict[int, Press] = {}
        self.ignored: set[int] = set()
        self.ready: dict[int, float] = {}  # screen -> its snapshot's arrival
        self.failed: dict[int, str] = {}  # screen -> why its stream ended
        self.counts: Counter[str] = Counter()
        self.settle: queue.Queue[Press | None] = queue.Queue()

    def on_message(self, item: tuple[Any, ...]) -> None:
        """A message of the screens' process."""
        with self.lock:
            if item[0] == "alert":
                self._alert(*item[1:])
            elif item[0] == "ready":
                self.ready[item[1]] = item[2]
            elif item[0] == "failed":
                self.failed[item[1]] = item[2]
                self.counts[f"screen streams ended ({item[2][:60]})"] += 1

    def _alert(self, screen: int, ident: int, site: str, subject: str, rule: str, _status: str, at: float) -> None:
        """An `alert` event on a screen: the first one of a press's alert on that screen is its arrival."""
        p = self.by_alert.get(ident)
        if p is None:
            if ident in self.ignored:
                return
            candidate = self.busy.get((site, subject))
            if rule != "sos" or candidate is None or candidate.alert_id is not None:
                self.ignored.add(ident)
                self.counts[f"other alerts ({rule})"] += 1
                return
            p, p.alert_id = candidate, ident
            self.by_alert[ident] = p
        if screen in p.screens and screen not in p.arrivals:
            p.arrivals[screen] = at
            if len(p.arrivals) == len(p.screens) and not p.settling:
                p.settling = True
                self.settle.put(p)

    def pressed(self, p: Press) -> None:
        """A press is about to be published."""
        with self.lock:
            self.busy[p.key] = p
            self.presses.append(p)

    def is_busy(self, key: tuple[str, str]) -> bool:
        """Whether the button's last alert is still unresolved."""
        with self.lock:
            return key in self.busy

    def sweep(self, now: float, timeout: float) -> None:
        """Give up waiting on presses older than the timeout: resolve them anyway (what is missing stays so)."""
        with self.lock:
            for p in self.busy.values():
                if not p.settling and now - p.sent > timeout:
                    p.settling = True
                    self.settle.put(p)

    def freed(self, p: Press) -> None:
        """The alert is resolved: the button may be pressed again."""
        with self.lock:
            if self.busy.get(p.key) is p:
                del self.busy[p.key]

    def unsettled(self) -> int:
        """Presses not yet resolved."""
        with self.lock:
            return len(self.busy)

    def pending(self, block: int) -> int:
        """Presses of a block still waiting for a screen."""
        with self.lock:
            return sum(not p.settling for p in self.presses if p.block == block)


def resolver(tracker: Tracker, api: httpx.Client) -> None:
    """Thread: resolve each settled press's alert through the API, then free its button."""
    while (p := tracker.settle.get()) is not None:
        try:
            if p.alert_id is None:  # it reached no screen: find it through the API
                alerts = api.get("/api/v1/alerts", params={"status": "open", "site": p.site}).json()
                ident = next((a["id"] for a in alerts if a["rule"] == "sos" and a["subject"] == p.device), None)
                if ident is None:
                    tracker.counts["presses without an alert"] += 1
                    continue
                with tracker.lock:
                    p.alert_id = ident
                    tracker.by_alert[ident] = p
            answer = api.post(f"/api/v1/alerts/{p.alert_id}/resolve", json={"resolution": "test"})
            if answer.status_code in (200, 409):
                tracker.freed(p)
            else:
                tracker.counts[f"resolve answered {answer.status_code}"] += 1
        except (httpx.HTTPError, ValueError, RuntimeError) as exc:
            tracker.counts[f"resolve failed ({type(exc).__name__})"] += 1


# ---------------------------------------------------------------- screens and the server's process


def screen_specs(base: str, password: str, n: int) -> list[ScreenSpec]:
    """Log each screen in as the staff user: odd screens through the login form (session cookie), even ones
    through the token API (bearer); languages alternate in pairs, so every mix of the two is there."""
    specs = []
    with httpx.Client(base_url=base, timeout=20) as client:
        for i in range(n):
            if i % 2:
                answer = client.post("/login", data={"username": SCREEN_USER, "password": password, "next": "/"})
                value = answer.cookies.get(COOKIE)
                header = f"Cookie: {COOKIE}={value}"
            else:
                answer = client.post("/api/v1/auth/token", data={"username": SCREEN_USER, "password": password})
                value = answer.json().get("access_token") if answer.status_code == 200 else None
                header = f"Authorization: Bearer {value}"
            client.cookies.clear()
            if not value:
                raise BenchError(f"screen {i} could not log in: HTTP {answer.status_code}")
            lang = "zh-CN" if i // 2 % 2 == 0 else "en"
            specs.append(ScreenSpec(i, f"/events?site={SITE}&lang={lang}", header))
    return specs


def add_screen_user(config: Path, db_url: str, password: str, env: dict[str, str]) -> None:
    """`carewatch user add screen --role staff --site hq` (it also migrates the fresh database)."""
    done = subprocess.run([sys.executable, "-c", SERVER_MAIN, "user", "add", SCREEN_USER, "--role", "staff",
                           "--site", SITE, "--password", password, "--database-url", db_url, "--config", str(config)],
                          env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise BenchError(f"carewatch user add failed: {done.stderr.strip()[-500:]}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the server process and its children (the MQTT receiver) so far."""
    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def rss_mb(pid: int) -> float:
    """Resident memory of the server and its children now, in MB."""
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20


# ---------------------------------------------------------------- blocks


@dataclass
class Block:
    """One block of presses with a fixed set of screens, and what the server and the screens did meanwhile."""

    number: int
    screens: frozenset[int]
    start: float = 0.0
    end: float = 0.0
    cpu: float = 0.0  # server CPU seconds between start and end
    rss: float = 0.0
    counts: dict[int, dict[str, int]] = field(default_factory=dict)  # events by screen and name
    counted: float = 0.0  # seconds the counts cover (warm-up presses included)
    lags: list[float] = field(default_factory=list)
    skipped: int = 0

    @property
    def span(self) -> float:
        """Seconds from the first measured press to the last arrival (or its timeout)."""
        return self.end - self.start


class Runner:
    """Runs the blocks: sets the screens, presses at the pace asked, waits for the arrivals."""

    def __init__(self, args: argparse.Namespace, tracker: Tracker, pool: ScreenPool, specs: list[ScreenSpec],
                 buttons: list[str], broker_url: str, proc: subprocess.Popen[bytes], port: int, workdir: Path) -> None:
        self.args, self.tracker, self.pool, self.specs = args, tracker, pool, specs
        self.order = [(SITE, b) for b in buttons]
        self.cursor = 0
        self.seqs: Counter[tuple[str, str]] = Counter()
        self.proc, self.port = proc, port
        self.open: set[int] = set()
        self.profile_lines: list[str] = []
        self.workdir = workdir
        self.deadline = time.monotonic() + expected_seconds(args) + 120
        address = parse_url(broker_url)
        self.client = make_client(f"cw-bench-fanout-{os.getpid()}", address)
        self.client.max_inflight_messages_set(100)
        connected = threading.Event()
        self.client.on_connect = lambda *_: connected.set()
        connect(self.client, address)
        if not connected.wait(10):
            raise BenchError(f"could not connect to {address}")

    def close(self) -> None:
        """Disconnect the publisher."""
        stop(self.client)

    def check(self) -> None:
        """Stop the run if it overran or the server died."""
        if self.proc.poll() is not None:
            raise BenchError(f"the server exited with code {self.proc.returncode}")
        if time.monotonic() > self.deadline:
            raise BenchError("the run did not finish in time")

    def set_screens(self, wanted: frozenset[int]) -> None:
        """Connect or disconnect screens until exactly `wanted` are live (snapshots in, the server counts them)."""
        leaving, joining = sorted(self.open - wanted), sorted(wanted - self.open)
        if leaving:
            self.pool.close(leaving)
        if joining:
            with self.tracker.lock:
                for i in joining:
                    self.tracker.ready.pop(i, None)
            self.pool.open([self.specs[i] for i in joining])
        self.open = set(wanted)
        until = time.monotonic() + 60
        while time.monotonic() < until:
            self.check()
            with self.tracker.lock:
                ready = all(i in self.tracker.ready for i in wanted)
            if ready and scrape(self.port).get("carewatch_sse_clients") == len(wanted):
                time.sleep(SETTLE_S)
                return
            time.sleep(0.1)
        with self.tracker.lock:
            live = sum(i in self.tracker.ready and i not in self.tracker.failed for i in wanted)
            why = Counter(reason.split("\\r")[0][:80] for reason in self.tracker.failed.values())
        raise BenchError(f"only {live} of {len(wanted)} screens were live after 60 s; the others: {dict(why)}")

    def run(self, number: int, screens: frozenset[int]) -> Block:
        """One block: warm-up presses, measured presses, the wait for their arrivals, then every alert resolved."""
        args = self.args
        self.set_screens(screens)
        block = Block(number, screens)
        profile = self.profiler(number, screens)
        self.pool.report()  # start the counts afresh
        counting = time.monotonic()
        total = args.warmup + args.block_alerts
        start = time.monotonic()
        for n in range(total):
            target = start + n / args.rate
            while (now := time.monotonic()) < target:
                time.sleep(min(0.005, target - now))
            self.check()
            self.tracker.sweep(now, args.timeout)
            if n == args.warmup:
                block.start, block.cpu = time.monotonic(), cpu_seconds(self.proc.pid)
            block.skipped += not self.press(number, screens, warmup=n < args.warmup)
        self.wait(lambda: self.tracker.pending(number) == 0, args.timeout + 2)
        block.end, block.cpu = time.monotonic(), cpu_seconds(self.proc.pid) - block.cpu
        block.rss = rss_mb(self.proc.pid)
        block.counts, block.lags = self.pool.report()
        block.counted = time.monotonic() - counting
        if profile is not None:
            self.profile_lines = profile.finish()
        self.wait(lambda: self.tracker.unsettled() == 0, 15)
        return block

    def profiler(self, number: int, screens: frozenset[int]) -> "Profile | None":
        """py-spy on the server for the first many-screens block, if asked."""
        if self.args.py_spy is None or len(screens) == 1 or self.profile_lines:
            return None
        seconds = (self.args.warmup + self.args.block_alerts) / self.args.rate + 1
        return Profile(self.args.py_spy, self.proc.pid, seconds, self.workdir / f"py-spy-block{number}.txt")

    def press(self, number: int, screens: frozenset[int], *, warmup: bool) -> bool:
        """Press the next free button (round robin); False if every button is busy."""
        for _ in range(len(self.order)):
            key = self.order[self.cursor % len(self.order)]
            self.cursor += 1
            if not self.tracker.is_busy(key):
                break
        else:
            return False
        self.seqs[key] += 1
        topic, payload = press(key[0], key[1], self.seqs[key])
        self.tracker.pressed(Press(key[0], key[1], time.monotonic(), number, warmup, screens))
        self.client.publish(topic, payload, qos=1)
        return True

    def wait(self, condition: Any, seconds: float) -> None:
        """Poll a condition for a while, sweeping timeouts."""
        until = time.monotonic() + seconds
        while not condition() and time.monotonic() < until:
            self.check()
            self.tracker.sweep(time.monotonic(), self.args.timeout)
            time.sleep(0.02)


def expected_seconds(args: argparse.Namespace) -> float:
    """The run's length without set-up: every block's presses, plus screens joining and leaving."""
    return args.rounds * 2 * ((args.warmup + args.block_alerts) / args.rate + SETTLE_S + 3)


# ---------------------------------------------------------------- figures


def quantiles(values: list[float]) -> str:
    """p50, p95, p99 and max of latencies (seconds), in ms."""
    return "  ".join(f"{name} {fmt_ms(v):>9}" for name, v in (
        ("p50", percentile(values, 0.5)), ("p95", percentile(values, 0.95)), ("p99", percentile(values, 0.99)),
        ("max", max(values, default=math.inf))))


def measured(tracker: Tracker, blocks: list[Block]) -> list[Press]:
    """The counted presses of these blocks."""
    numbers = {b.number for b in blocks}
    return [p for p in tracker.presses if not p.warmup and p.block in numbers]


def per_screen(presses: list[Press]) -> dict[int, list[float]]:
    """Latencies by screen."""
    out: dict[int, list[float]] = {}
    for p in presses:
        for screen, latency in p.latencies().items():
            out.setdefault(screen, []).append(latency)
    return out


def block_line(block: Block, presses: list[Press]) -> str:
    """What one block did: alerts, server CPU and memory, events the screens received, the bench's own lateness."""
    mine = [p for p in presses if p.block == block.number and not p.warmup]
    events = Counter[str]()
    for counts in block.counts.values():
        events.update(counts)
    screens = len(block.screens)
    span, counted = block.span or math.inf, block.counted or math.inf
    names = ", ".join(f"{n} {events[n] / counted / screens:.0f}" for n in ("device", "alert") if events[n])
    return (f"  block {block.number}: {screens:>2} screen{'s' if screens > 1 else ' '}, {len(mine)} alerts over "
            f"{block.span:.1f} s; server CPU {block.cpu / span * 100:.0f} % of a core, RSS {block.rss:.0f} MB; each "
            f"screen got {sum(events[n] for n in ('device', 'alert', 'edge', 'suppressions')) / counted / screens:.0f} "
            f"events/s ({names}), {events['bytes'] / counted / screens / 1024:.0f} KiB/s; bench's screen loop late "
            f"p99 {fmt_ms(percentile(block.lags, 0.99))}" + (f"; {block.skipped} presses skipped (all busy)"
                                                              if block.skipped else ""))


def stages(db_url: str, presses: list[Press], offset: float) -> str:
    """Publish → the start of the batch that raised the alert (its `raised_at`, the server's clock) → arrival."""
    from sqlalchemy import create_engine, select

    from server.models import Alert

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            raised = {ident: at.timestamp() - offset for ident, at in conn.execute(select(Alert.id, Alert.raised_at))}
    finally:
        engine.dispose()
    to_batch = [raised[p.alert_id] - p.sent for p in presses if p.alert_id in raised]
    to_screen = [t - raised[p.alert_id] for p in presses if p.alert_id in raised for t in p.arrivals.values()]
    return (f"publish → batch start p50 {fmt_ms(percentile(to_batch, 0.5))}, p99 {fmt_ms(percentile(to_batch, 0.99))}"
            f"; batch start → screen p50 {fmt_ms(percentile(to_screen, 0.5))}, "
            f"p99 {fmt_ms(percentile(to_screen, 0.99))}")


def phase(label: str, tracker: Tracker, blocks: list[Block], db_url: str, offset: float) -> dict[str, float]:
    """Print one phase's figures (1 screen or all); return the ones compared."""
    presses = measured(tracker, blocks)
    by_screen = per_screen(presses)
    every = [v for values in by_screen.values() for v in values]
    last = [max(p.latencies().values()) for p in presses]
    delivered = sum(len(p.arrivals) == len(p.screens) for p in presses)
    span = sum(b.span for b in blocks)
    cpu = sum(b.cpu for b in blocks) / span if span else math.nan
    print(f"{label}: {len(presses)} alerts in {len(blocks)} blocks, {len(every)} (alert, screen) arrivals expected")
    if len(by_screen) > 1:
        print(f"  {'screen':>6}  {'login':<6} {'lang':<5}  latency from MQTT publish to the alert event on the screen")
        for screen, values in sorted(by_screen.items()):
            login_kind = "cookie" if screen % 2 else "bearer"
            lang = "zh-CN" if screen // 2 % 2 == 0 else "en"
            arrived = sum(math.isfinite(v) for v in values)
            print(f"  {screen:>6}  {login_kind:<6} {lang:<5}  {quantiles(values)}  ({arrived} of {len(values)})")
    print(f"  overall:                 {quantiles(every)}")
    print(f"  on every screen (last):  {quantiles(last)}")
    print(f"  where: {stages(db_url, presses, offset)}")
    worst = max(by_screen.items(), key=lambda kv: percentile(kv[1], 0.99)) if by_screen else (0, [math.inf])
    print(f"  worst screen's p99: {fmt_ms(percentile(worst[1], 0.99))} (screen {worst[0]}); alerts delivered on "
          f"every screen: {delivered} of {len(presses)}; server CPU {cpu * 100:.0f} % of a core")
    return {"p50": percentile(every, 0.5), "p99": percentile(every, 0.99), "worst_p99": percentile(worst[1], 0.99),
            "cpu": cpu, "delivered": delivered, "alerts": len(presses)}


def ratio(a: float, b: float) -> str:
    """a ÷ b, or n/a."""
    return f"{a / b:.2f}" if b and math.isfinite(a) and math.isfinite(b) else "n/a"


def report(args: argparse.Namespace, tracker: Tracker, blocks: list[Block], db_url: str, pid: int,
           log_text: str) -> None:
    """Print every figure and whether the target holds."""
    offset = time.time() - time.monotonic()
    one = phase("1 screen", tracker, [b for b in blocks if len(b.screens) == 1], db_url, offset)
    many = phase(f"{args.screens} screens", tracker, [b for b in blocks if len(b.screens) > 1], db_url, offset)
    peak, parts = tree_peak_rss_mb(pid)
    print(f"ratio {args.screens} screens ÷ 1 screen: p50 {ratio(many['p50'], one['p50'])}, p99 "
          f"{ratio(many['p99'], one['p99'])}, server CPU {ratio(many['cpu'], one['cpu'])} "
          f"({one['cpu'] * 100:.0f} % → {many['cpu'] * 100:.0f} % of a core)")
    print(f"server peak RSS {peak:.0f} MB ({' + '.join(f'{p:.0f}' for p in parts)} MB: the server, then its child "
          "processes; start-up included)")
    other = {k: v for k, v in tracker.counts.items() if v}
    if other:
        print(f"also: {other}")
    warnings = [line for line in log_text.splitlines() if " WARNING " in line or " ERROR " in line]
    print(f"server log: {len(warnings)} warnings or errors" + "".join(f"\n  {w[:200]}" for w in warnings[:5]))
    ok = many["worst_p99"] * 1000 <= TARGET_MS and one["worst_p99"] * 1000 <= TARGET_MS
    print(f"alerts delivered on every screen: {verdict(many['delivered'] == many['alerts'])} "
          f"({many['delivered']} of {many['alerts']})")
    print(f"target p99 <= {TARGET_MS:.0f} ms on each screen: {verdict(ok)} (worst screen's p99 "
          f"{fmt_ms(many['worst_p99'])} with {args.screens} screens, {fmt_ms(one['worst_p99'])} with 1)")


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--screens", type=int, default=50, help="screens in the many-screens blocks (default 50)")
    parser.add_argument("--alerts", type=int, default=100,
                        help="measured alerts per screen count, split over the rounds (default 100)")
    parser.add_argument("--rate", type=float, default=2.0, help="SOS presses a second (default 2)")
    parser.add_argument("--background", type=float, default=50.0,
                        help="background observations a second (default 50: each device every 10 s)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds of a 1-screen and a many-screens block, in the order 1 N, N 1, ... (default 2)")
    parser.add_argument("--warmup", type=int, default=4, help="presses at the start of each block, not counted")
    parser.add_argument("--beds", type=int, default=200, help="beds of the generated facility (default 200)")
    parser.add_argument("--devices", type=int, default=500, help="devices of the generated facility (default 500)")
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="seconds to wait for an alert on every screen; then it is resolved anyway and the "
                             "screens it has not reached count it as missing (default 5)")
    parser.add_argument("--facility", type=Path, default=FACILITY_FILE,
                        help="the reference facility file to grow (default config/facility.yaml)")
    parser.add_argument("--server-env", action="append", default=[], metavar="K=V",
                        help="extra environment of the server process (repeatable)")
    parser.add_argument("--py-spy", type=Path, metavar="PY_SPY",
                        help="a py-spy binary: profile the server during the first many-screens block and print "
                             "where its threads spend the time (py-spy is not a dependency of the project)")
    args = parser.parse_args(argv)
    if args.screens < 2 or args.alerts < 1 or args.rate <= 0 or args.background < 0 or args.rounds < 1 \
            or args.warmup < 0 or args.timeout <= 0 or args.beds < 1:
        parser.error("--screens >= 2, --alerts >= 1, --rate > 0, --background >= 0, --rounds >= 1, --warmup >= 0, "
                     "--timeout > 0, --beds >= 1")
    args.block_alerts = math.ceil(args.alerts / args.rounds)
    return args


def _interrupt(*_: Any) -> None:
    """SIGTERM: unwind like Ctrl-C, so every clean-up runs."""
    raise KeyboardInterrupt


def server_env(extra: dict[str, str], db_url: str, broker_url: str, port: int, admin_password: str) -> dict[str, str]:
    """The server's environment: none of the caller's CAREWATCH_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREWATCH_")}
    env.update(CAREWATCH_DATABASE_URL=db_url, CAREWATCH_MQTT_URL=broker_url, CAREWATCH_MQTT_PROTOCOL="5",
               CAREWATCH_MQTT_CLIENT_ID=f"cw-bench-server-{secrets.token_hex(4)}", CAREWATCH_HOST="127.0.0.1",
               CAREWATCH_PORT=str(port), CAREWATCH_SECRET_KEY=secrets.token_urlsafe(24),
               CAREWATCH_BOOTSTRAP_ADMIN=f"{ADMIN}:{admin_password}", CAREWATCH_LOG_LEVEL="WARNING")
    env.update(extra)
    return env


def run(args: argparse.Namespace, workdir: Path, stack: contextlib.ExitStack) -> None:
    """Set everything up, run the blocks, print."""
    broker = PrivateMosquitto()
    broker.start()
    stack.callback(broker.stop)
    broker_url = f"mqtt://127.0.0.1:{broker.port}"
    config = workdir / "facility.yaml"
    info = make_facility(args.facility, config, args.beds, args.devices)
    port, admin_password, screen_password = free_port(), secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    extra = dict(item.split("=", 1) for item in args.server_env)
    db_url = extra.get("CAREWATCH_DATABASE_URL", f"sqlite:///{workdir / 'carewatch.db'}")
    env = server_env(extra, db_url, broker_url, port, admin_password)
    print(f"broker: {broker_version()} (private, port {broker.port}); server: carewatch server --config <generated> "
          f"on port {port}, {db_url.split(':', 1)[0]}; all on 127.0.0.1" + (f"\nserver settings: {extra}" if extra
                                                                             else ""))
    print(f"facility (generated from {args.facility.name}, checked with devices.loader.load_facility): {info.line()}")
    print(f"screens: {args.screens} SSE clients of /events?site={SITE} in one asyncio process of the bench, logged in "
          f"as a staff user (odd ones with the session cookie of POST /login, even ones with a bearer token), "
          "zh-CN and en; blocks of 1 screen and of all alternate")
    print(f"load: SOS presses at {args.rate:g}/s round robin over {len(info.buttons)} buttons (each alert resolved "
          f"through the API once it reached every screen); background {args.background:g} obs/s of the other "
          f"devices; {args.block_alerts} measured alerts a block after {args.warmup} warm-up ones")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before the start (other work on "
          "the machine skews every figure)", flush=True)
    add_screen_user(config, db_url, screen_password, env)
    proc = stack.enter_context(server_process(config, env, workdir))
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, proc)
    token = login(base, admin_password)
    specs = screen_specs(base, screen_password, args.screens)
    tracker = Tracker()
    pool = ScreenPool("127.0.0.1", port, tracker.on_message)
    pool.start()
    stack.callback(pool.stop)
    api = stack.enter_context(httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10))
    settle = threading.Thread(target=resolver, args=(tracker, api), name="resolver", daemon=True)
    settle.start()
    stack.callback(settle.join, 15)
    stack.callback(tracker.settle.put, None)
    background = Background(broker_url, config, args.background)
    background.start()
    stack.callback(lambda: background.process.is_alive() and background.process.kill())
    runner = Runner(args, tracker, pool, specs, info.buttons, broker_url, proc, port, workdir)
    stack.callback(runner.close)
    time.sleep(WARM_BACKGROUND_S)
    everyone = frozenset(range(args.screens))
    blocks = []
    for r in range(args.rounds):
        for screens in ((frozenset({0}), everyone) if r % 2 == 0 else (everyone, frozenset({0}))):
            blocks.append(runner.run(len(blocks) + 1, screens))
            print(block_line(blocks[-1], tracker.presses), flush=True)
    bg = background.finish()
    if "error" in bg:
        raise BenchError(bg["error"])
    print(f"background: {bg['sent']} observations published ({bg['acked']} acknowledged)")
    report(args, tracker, blocks, db_url, proc.pid, (workdir / "server.log").read_text(errors="replace"))
    for line in runner.profile_lines:
        print(line)


def main(argv: list[str] | None = None) -> int:
    """Run, clean up, say how it went."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="cw-bench-fanout-") as tmp, contextlib.ExitStack() as stack:
            run(args, Path(tmp), stack)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    print(f"run took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
