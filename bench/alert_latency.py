"""Alert latency: from a device observation published on the broker to (a) the `alert` event on the server's
`/events` stream and (b) the signed webhook message at a local receiver, under a steady background load.

    .venv/bin/python bench/alert_latency.py [--alerts 1000] [--rate 20] [--background 1000]

Everything runs on 127.0.0.1 and is its own: a private Mosquitto, `carewatch server --config <copy>` as a
child process on a fresh SQLite file, a webhook receiver thread, an SSE client thread, a background publisher
process. Each alert is a new SOS alert (sites × SOS buttons, each resolved through the API once both its
event and its webhook arrived, before that button is pressed again). The edge is not measured: envelopes are
published where the edge would publish them. See bench/README.md.
"""

import argparse
import contextlib
import math
import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from alert_latency_parts import (
    BUTTON_SITE_PREFIX,
    HOOK,
    SECRET_VARIABLE,
    Background,
    EventsReader,
    HookReceiver,
    facility_copy,
    press,
    sent_between,
)
from ingest_clients import BenchError, child_setup
from ingest_server import SERVER_MAIN, scrape

from carewatch.broker import PrivateMosquitto, free_port, mosquitto_binary
from devices.mqtt import connect, make_client, parse_url, stop

FACILITY_FILE = Path(__file__).resolve().parent.parent / "config" / "facility.yaml"
TARGET_SSE_MS = 100.0
TARGET_HOOK_MS = 250.0
PER_MINUTE = 30  # the notifier's default limit per channel (sites[].channels[].per_minute cannot be set today)
PER_SITE_MINUTE = 24  # alerts a minute per site we aim at: under PER_MINUTE with a margin
WARM_BACKGROUND_S = 3.0  # the background runs this long before the first press
ADMIN = "bench"


# ---------------------------------------------------------------- what was pressed and what arrived


@dataclass
class Press:
    """One SOS press and what became of it (monotonic seconds)."""

    site: str
    device: str
    sent: float
    warmup: bool
    alert_id: int | None = None
    sse: float | None = None  # the alert's first event on /events
    hook: float | None = None  # its webhook at the receiver
    settling: bool = False  # handed to the resolver
    timed_out: bool = False  # one of the two had not arrived within the timeout

    @property
    def key(self) -> tuple[str, str]:
        """The alert's site and subject."""
        return self.site, self.device


class Tracker:
    """Matches /events alert events to presses by (site, subject) — a button is pressed again only after its
    alert was resolved, so at most one press per button is pending — and webhooks to presses by alert id."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.presses: list[Press] = []
        self.busy: dict[tuple[str, str], Press] = {}  # pressed, not resolved yet
        self.by_alert: dict[int, Press] = {}
        self.early_hooks: dict[int, float] = {}  # webhooks that came before their alert's event
        self.ignored: set[int] = set()  # alerts that are not one of our presses
        self.counts: Counter[str] = Counter()
        self.settle: queue.Queue[Press | None] = queue.Queue()

    def pressed(self, p: Press) -> None:
        """A press is about to be published."""
        with self.lock:
            self.busy[p.key] = p
            self.presses.append(p)

    def is_busy(self, key: tuple[str, str]) -> bool:
        """Whether the button's last alert is still unresolved."""
        with self.lock:
            return key in self.busy

    def on_alert(self, data: dict[str, Any], arrived: float) -> None:
        """An `alert` event: the first one of a new SOS alert is its arrival."""
        with self.lock:
            ident = int(data["id"])
            if ident in self.by_alert or ident in self.ignored:
                return
            p = self.busy.get((data.get("site"), data.get("subject")))
            if data.get("rule") != "sos" or p is None or p.alert_id is not None:
                self.ignored.add(ident)
                self.counts[f"other alert events ({data.get('rule')})"] += 1
                return
            self._attach(p, ident)
            p.sse = arrived
            self._maybe_settle(p)

    def on_hook(self, ident: int, arrived: float) -> None:
        """A webhook with a valid signature (alert id 0: the calibration's)."""
        if ident <= 0:
            return
        with self.lock:
            p = self.by_alert.get(ident)
            if p is None:
                if ident in self.early_hooks:
                    self.counts["duplicate webhooks"] += 1
                self.early_hooks.setdefault(ident, arrived)
                return
            if p.hook is not None:
                self.counts["duplicate webhooks"] += 1
                return
            p.hook = arrived
            self._maybe_settle(p)

    def found(self, p: Press, ident: int) -> None:
        """The resolver found a timed-out press's alert through the API."""
        with self.lock:
            if p.alert_id is None:
                self._attach(p, ident)

    def _attach(self, p: Press, ident: int) -> None:
        """Tie a press to its alert (and to a webhook that came first)."""
        p.alert_id = ident
        self.by_alert[ident] = p
        if ident in self.early_hooks:
            p.hook = self.early_hooks.pop(ident)

    def _maybe_settle(self, p: Press) -> None:
        """Both arrived: resolve the alert, so the button can raise a new one."""
        if p.sse is not None and p.hook is not None and not p.settling:
            p.settling = True
            self.settle.put(p)

    def sweep(self, now: float, timeout: float) -> None:
        """Give up waiting on presses older than the timeout: resolve them anyway."""
        with self.lock:
            for p in self.busy.values():
                if not p.settling and now - p.sent > timeout:
                    p.settling = p.timed_out = True
                    self.settle.put(p)

    def freed(self, p: Press) -> None:
        """The alert is resolved: the button may be pressed again."""
        with self.lock:
            if self.busy.get(p.key) is p:
                del self.busy[p.key]

    def pending(self, measured: list[Press]) -> int:
        """Measured presses still waiting for an arrival."""
        with self.lock:
            return sum(p.sse is None or p.hook is None for p in measured)


def resolver(tracker: Tracker, api: httpx.Client) -> None:
    """Thread: resolve each settled press's alert through the API (`test`), then free its button."""
    while (p := tracker.settle.get()) is not None:
        try:
            if p.alert_id is None:  # its event never came: find the alert through the API
                alerts = api.get("/api/v1/alerts", params={"status": "open", "site": p.site}).json()
                ident = next((a["id"] for a in alerts if a["rule"] == "sos" and a["subject"] == p.device), None)
                if ident is None:
                    tracker.counts["presses without an alert"] += 1
                    continue  # the button stays busy
                tracker.found(p, ident)
            answer = api.post(f"/api/v1/alerts/{p.alert_id}/resolve", json={"resolution": "test"})
            if answer.status_code in (200, 409):  # 409: someone resolved it already
                tracker.freed(p)
            else:
                tracker.counts[f"resolve answered {answer.status_code}"] += 1
        except (httpx.HTTPError, ValueError, RuntimeError) as exc:  # RuntimeError: the client closed at the end
            tracker.counts[f"resolve failed ({type(exc).__name__})"] += 1


# ---------------------------------------------------------------- the server


@contextlib.contextmanager
def server_process(config: Path, env: dict[str, str], workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`carewatch server --config <copy>` in its own process; its log is in the work directory."""
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", SERVER_MAIN, "server", "--config", str(config)],
                                cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=child_setup)
        try:
            yield proc
        except BenchError:
            sys.stderr.write(f"--- server log (tail) ---\n{log_path.read_text(errors='replace')[-3000:]}\n")
            raise
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Until /healthz says the database and the broker are reachable."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"the server exited with code {proc.returncode} at start")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise BenchError(f"the server was not healthy within {timeout:.0f} s")


def login(base: str, password: str) -> str:
    """A bearer token for the bootstrap admin."""
    answer = httpx.post(f"{base}/api/v1/auth/token", data={"username": ADMIN, "password": password}, timeout=10)
    if answer.status_code != 200:
        raise BenchError(f"login answered {answer.status_code}: {answer.text[:200]}")
    return str(answer.json()["access_token"])


# ---------------------------------------------------------------- pressing


@dataclass
class Window:
    """The measuring window and the server's observation counter at its ends."""

    start: float = 0.0
    end: float = 0.0
    stored_start: float = 0.0
    stored_end: float = 0.0
    scraped_start: float = 0.0
    scraped_end: float = 0.0


def run_presses(args: argparse.Namespace, tracker: Tracker, buttons: dict[str, list[str]], port: int,
                broker_url: str, proc: subprocess.Popen[bytes]) -> Window:
    """Press SOS buttons at the pace asked, round robin over the sites (so each site's channel stays under its
    limit), skipping a button whose last alert is not resolved yet; then wait for the last arrivals."""
    address = parse_url(broker_url)
    client = make_client(f"cw-bench-sos-{os.getpid()}", address)
    client.max_inflight_messages_set(100)
    connected = threading.Event()
    client.on_connect = lambda *_: connected.set()
    connect(client, address)
    if not connected.wait(10):
        raise BenchError(f"could not connect to {address}")
    order = [(site, devices[j]) for j in range(max(map(len, buttons.values())))
             for site, devices in buttons.items() if j < len(devices)]
    seqs: Counter[tuple[str, str]] = Counter()
    window = Window()
    total = args.warmup + args.alerts
    deadline = time.monotonic() + total / args.rate + 60 + args.timeout
    cursor = 0
    try:
        start = time.monotonic()
        for n in range(total):
            if n == args.warmup:
                window.scraped_start = time.monotonic()
                window.stored_start = scrape(port).get("carewatch_observations_total", 0)
            target = start + n / args.rate
            while (now := time.monotonic()) < target:
                time.sleep(min(0.005, target - now))
            if now > deadline or proc.poll() is not None:
                raise BenchError("the run did not finish in time" if proc.poll() is None else
                                 f"the server exited with code {proc.returncode}")
            tracker.sweep(now, args.timeout)
            for _ in range(len(order)):
                key = order[cursor % len(order)]
                cursor += 1
                if not tracker.is_busy(key):
                    break
            else:
                tracker.counts["presses skipped: every button busy"] += 1
                continue
            seqs[key] += 1
            topic, payload = press(key[0], key[1], seqs[key])
            p = Press(key[0], key[1], time.monotonic(), warmup=n < args.warmup)
            tracker.pressed(p)
            client.publish(topic, payload, qos=1)
            if not p.warmup:
                window.start = window.start or p.sent
                window.end = p.sent
        window.scraped_end = time.monotonic()
        window.stored_end = scrape(port).get("carewatch_observations_total", 0)
        measured = [p for p in tracker.presses if not p.warmup]
        last = time.monotonic() + args.timeout + 1
        while tracker.pending(measured) and time.monotonic() < last:
            tracker.sweep(time.monotonic(), args.timeout)
            time.sleep(0.05)
    finally:
        stop(client)
    return window


# ---------------------------------------------------------------- figures


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; a missing arrival counts as infinitely late."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else math.inf


def fmt_ms(seconds: float) -> str:
    """`12.3 ms`, or `missing` for an arrival that never came."""
    return f"{seconds * 1000:.1f} ms" if math.isfinite(seconds) else "missing"


def latency_line(label: str, values: list[float]) -> str:
    """p50, p99, max and how many arrived."""
    arrived = [v for v in values if math.isfinite(v)]
    mean = sum(arrived) / len(arrived) if arrived else math.inf
    return (f"{label:<24} p50 {fmt_ms(percentile(values, 0.5)):>9}  p99 {fmt_ms(percentile(values, 0.99)):>9}  "
            f"max {fmt_ms(max(values, default=math.inf)):>9}  mean {fmt_ms(mean):>9}  "
            f"({len(arrived)} of {len(values)} arrived)")


def server_records(db_url: str, measured: list[Press], offset: float) -> list[str]:
    """Where the time went, from the server's own records: the alert's `raised_at` (the start of the batch
    that raised it) and the webhook row's `created_at` (the start of the notifier pass that queued it)."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from server.models import Alert, Notification

    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            raised = {ident: at for ident, at in session.execute(select(Alert.id, Alert.raised_at))}
            # Only the columns used, so that a server tree of another version (--server-env PYTHONPATH=...) works.
            rows = {r.alert_id: r for r in session.execute(
                select(Notification.alert_id, Notification.status, Notification.attempts, Notification.created_at,
                       Notification.next_attempt_at).where(Notification.channel == HOOK))}
    finally:
        engine.dispose()

    def mono(at: datetime) -> float:
        return at.timestamp() - offset

    stages: dict[str, list[float]] = {"publish → batch start (alert raised_at)": [],
                                      "batch start → /events alert received": [],
                                      "batch start → notifier pass start (row created_at)": [],
                                      "notifier pass start → webhook received": []}
    names = list(stages)
    retried = held = 0
    for p in measured:
        if p.alert_id is None or p.alert_id not in raised:
            continue
        batch = mono(raised[p.alert_id])
        stages[names[0]].append(batch - p.sent)
        if p.sse is not None:
            stages[names[1]].append(p.sse - batch)
        row = rows.get(p.alert_id)
        if row is not None:
            stages[names[2]].append(mono(row.created_at) - batch)
            if p.hook is not None:
                stages[names[3]].append(p.hook - mono(row.created_at))
            retried += row.attempts > 1
            held += row.next_attempt_at > row.created_at and row.attempts <= 1
    passes: dict[datetime, list[float]] = {}
    for p in measured:
        row = rows.get(p.alert_id) if p.alert_id is not None else None
        if row is not None and p.hook is not None:
            passes.setdefault(row.created_at, []).append(p.hook)
    gaps, firsts = [], []
    for started, arrivals in passes.items():
        arrivals.sort()
        firsts.append(arrivals[0] - mono(started))
        gaps += [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    statuses = Counter(rows[p.alert_id].status for p in measured if p.alert_id in rows)
    lines = [f"  {name + ':':<54} p50 {fmt_ms(percentile(v, 0.5)):>9}  p99 {fmt_ms(percentile(v, 0.99)):>9}"
             for name, v in stages.items()]
    if passes:
        sizes = [len(a) for a in passes.values()]
        gap = percentile(gaps, 0.5)
        lines.append(f"  notifier passes: {len(passes)} queued the {sum(sizes)} measured webhooks ({min(sizes)}–"
                     f"{max(sizes)} a pass, mean {sum(sizes) / len(sizes):.1f}); pass start → its first webhook "
                     f"p50 {fmt_ms(percentile(firsts, 0.5))}; one webhook → the next in a pass p50 {fmt_ms(gap)}, "
                     f"p99 {fmt_ms(percentile(gaps, 0.99))}"
                     + (f" (at most ~{1 / gap:.0f} webhooks/s)" if gaps and gap > 0 else ""))
    lines.append(f"  webhook outbox rows of measured alerts: {dict(statuses)}; sent after a retry: {retried}; "
                 f"held back by the per-channel limit: {held}")
    return lines


def calibrate(url: str, secret: str, n: int = 20) -> str:
    """The server's own WebhookChannel.send against the receiver, in this process, before the server starts;
    then the same POST on one kept httpx.Client: what a channel costs per message without load."""
    from server.notify.message import Message
    from server.notify.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookChannel, sign

    channel = WebhookChannel(url, secret, name="calibration")
    message = Message(title="calibration", text="calibration", link="http://127.0.0.1/", severity="critical",
                      alert_id=0, recipient="group", idempotency_key="calibration")
    sends, posts = [], []
    for _ in range(n):
        started = time.perf_counter()
        channel.send(message)
        sends.append(time.perf_counter() - started)
    with httpx.Client() as client:
        for _ in range(n):
            started = time.perf_counter()
            stamp, body = str(int(time.time())), b'{"alert_id":0}'
            client.post(url, content=body, headers={"Content-Type": "application/json", TIMESTAMP_HEADER: stamp,
                                                    SIGNATURE_HEADER: sign(secret, stamp, body)})
            posts.append(time.perf_counter() - started)
    return (f"calibration (no load, this process): WebhookChannel.send p50 {fmt_ms(percentile(sends, 0.5))} "
            f"(httpx.post: a new client, SSL context included, per message); a POST on one kept httpx.Client "
            f"p50 {fmt_ms(percentile(posts, 0.5))}")


def verdict(holds: bool) -> str:
    """`yes` or a `NO` that stands out."""
    return "yes" if holds else "NO"


def broker_version() -> str:
    """`mosquitto 2.0.11`, from the binary itself."""
    out = subprocess.run([mosquitto_binary() or "mosquitto", "-h"], capture_output=True, text=True, timeout=10).stdout
    match = re.search(r"mosquitto version (\S+)", out)
    return f"mosquitto {match.group(1)}" if match else "mosquitto (unknown version)"


def report(args: argparse.Namespace, tracker: Tracker, window: Window, background: dict[str, Any],
           records: list[str], log_text: str, extra: dict[str, int]) -> None:
    """Print the figures and whether the targets hold."""
    measured = [p for p in tracker.presses if not p.warmup]
    span = window.end - window.start
    print(f"alerts: {len(measured)} new SOS alerts at {(len(measured) - 1) / span if span else 0:.1f}/s over "
          f"{span:.1f} s (after {args.warmup} warm-up alerts, not counted); each resolved through the API once "
          "both had arrived")
    if "error" in background:
        raise BenchError(background["error"])
    bg_rate = sent_between(background["timeline"], window.start, window.end) / span if span else 0
    stored = window.stored_end - window.stored_start
    stored_rate = stored / (window.scraped_end - window.scraped_start)
    print(f"background: {args.background:.0f} obs/s asked, {bg_rate:.1f} obs/s published during the window "
          f"(QoS 1, {background['acked']} of {background['sent']} acknowledged in all); the server stored "
          f"{stored_rate:.1f} obs/s over the window (background and presses)")
    sse = [p.sse - p.sent if p.sse is not None else math.inf for p in measured]
    hook = [p.hook - p.sent if p.hook is not None else math.inf for p in measured]
    print(latency_line("(a) /events alert event:", sse))
    print(latency_line("(b) webhook received:", hook))
    print("where the time goes (the server's records; its wall clock, on this machine):")
    for line in records:
        print(line)
    other = {k: v for k, v in {**tracker.counts, **extra}.items() if v}
    if other:
        print(f"also: {other}")
    warnings = [line for line in log_text.splitlines() if " WARNING " in line or " ERROR " in line]
    print(f"server log: {len(warnings)} warnings or errors" + "".join(f"\n  {w[:200]}" for w in warnings[:5]))
    ok_sse = percentile(sse, 0.99) * 1000 <= TARGET_SSE_MS
    ok_hook = percentile(hook, 0.99) * 1000 <= TARGET_HOOK_MS
    print(f"target (a) p99 <= {TARGET_SSE_MS:.0f} ms: {verdict(ok_sse)}")
    print(f"target (b) p99 <= {TARGET_HOOK_MS:.0f} ms: {verdict(ok_hook)}")


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=1000, help="measured alerts (default 1000)")
    parser.add_argument("--rate", type=float, default=20.0, help="SOS presses a second (default 20)")
    parser.add_argument("--background", type=float, default=1000.0,
                        help="background observations a second (default 1000)")
    parser.add_argument("--sites", type=int, default=0,
                        help=f"generated sites of 6 SOS buttons (default: enough for {PER_SITE_MINUTE} alerts "
                             "a minute per site, under the notifier's 30 a minute per channel)")
    parser.add_argument("--warmup", type=int, default=20, help="alerts before the measured ones (default 20)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds to wait for an alert's event and webhook before resolving it anyway")
    parser.add_argument("--facility", type=Path, default=FACILITY_FILE,
                        help="the facility file to copy (default: the reference, config/facility.yaml)")
    parser.add_argument("--server-env", action="append", default=[], metavar="K=V",
                        help="extra environment of the server process (repeatable)")
    args = parser.parse_args(argv)
    if args.alerts < 1 or args.rate <= 0 or args.background < 0 or args.warmup < 0 or args.timeout <= 0:
        parser.error("--alerts >= 1, --rate > 0, --background >= 0, --warmup >= 0 and --timeout > 0")
    args.sites = args.sites or max(1, math.ceil(args.rate * 60 / PER_SITE_MINUTE))
    if args.sites > 99:
        parser.error(f"{args.sites} sites: at most 99 (lower --rate)")
    return args


def _interrupt(*_: Any) -> None:
    """SIGTERM: unwind like Ctrl-C, so every clean-up runs."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Set everything up, press, wait, clean up, print."""
    args = parse_args(argv)
    extra_env = dict(item.split("=", 1) for item in args.server_env)
    signal.signal(signal.SIGTERM, _interrupt)
    tracker = Tracker()
    hook_secret = secrets.token_urlsafe(24)
    receiver = HookReceiver(hook_secret, tracker.on_hook)
    broker = PrivateMosquitto()
    try:
        with tempfile.TemporaryDirectory(prefix="cw-bench-alerts-") as tmp, contextlib.ExitStack() as stack:
            workdir = Path(tmp)
            receiver.start()
            stack.callback(receiver.stop)
            broker.start()
            stack.callback(broker.stop)
            broker_url = f"mqtt://127.0.0.1:{broker.port}"
            config = workdir / "facility.yaml"
            buttons = facility_copy(args.facility, config, receiver.url, args.sites)
            port, password = free_port(), secrets.token_urlsafe(16)
            db_url = extra_env.get("CAREWATCH_DATABASE_URL", f"sqlite:///{workdir / 'carewatch.db'}")
            env = {k: v for k, v in os.environ.items() if not k.startswith("CAREWATCH_")}
            env.update(CAREWATCH_DATABASE_URL=db_url, CAREWATCH_MQTT_URL=broker_url, CAREWATCH_MQTT_PROTOCOL="5",
                       CAREWATCH_MQTT_CLIENT_ID=f"cw-bench-server-{secrets.token_hex(4)}",
                       CAREWATCH_HOST="127.0.0.1", CAREWATCH_PORT=str(port),
                       CAREWATCH_SECRET_KEY=secrets.token_urlsafe(24),
                       CAREWATCH_BOOTSTRAP_ADMIN=f"{ADMIN}:{password}", CAREWATCH_LOG_LEVEL="WARNING",
                       **{SECRET_VARIABLE: hook_secret})
            env.update(extra_env)
            print(f"broker: {broker_version()} (private, port {broker.port}); server: carewatch server "
                  f"--config <copy> on port {port}, {db_url.split(':', 1)[0]}; webhook receiver {receiver.url}; "
                  "all on 127.0.0.1" + (f"\nserver settings: {extra_env}" if extra_env else ""))
            print(f"facility: the reference file, critical steps on [screen, {HOOK}], plus {args.sites} sites "
                  f"{BUTTON_SITE_PREFIX}01.. of 6 SOS buttons each (every site has its own webhook channel: the "
                  f"notifier sends at most {PER_MINUTE} a minute per channel); background load on site hq")
            print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before the start (other work "
                  "on the machine skews every figure)")
            print(calibrate(receiver.url, hook_secret))
            print("measured: from the publish of a carewatch envelope on carewatch/v1/<site>/obs/<button> (QoS 1) "
                  "to (a) the alert's first event on /events and (b) its signed webhook at the receiver; the edge "
                  "is not part of this measurement", flush=True)
            proc = stack.enter_context(server_process(config, env, workdir))
            base = f"http://127.0.0.1:{port}"
            wait_healthy(base, proc)
            token = login(base, password)
            reader = EventsReader(base, token, tracker.on_alert)
            reader.start()
            stack.callback(setattr, reader, "stopping", True)
            if not reader.ready.wait(15):
                raise BenchError("no snapshot on /events within 15 s")
            api = stack.enter_context(httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                                                   timeout=10))
            settle = threading.Thread(target=resolver, args=(tracker, api), name="resolver", daemon=True)
            settle.start()
            stack.callback(settle.join, 15)  # (callbacks run last first: stop it, wait for it, close the client)
            stack.callback(tracker.settle.put, None)
            background = Background(broker_url, config, args.background)
            background.start()
            stack.callback(lambda: background.process.is_alive() and background.process.kill())
            time.sleep(WARM_BACKGROUND_S)
            window = run_presses(args, tracker, buttons, port, broker_url, proc)
            bg_report = background.finish()
            measured = [p for p in tracker.presses if not p.warmup]
            records = server_records(db_url, measured, time.time() - time.monotonic())
            extra = {f"webhooks {k}": v for k, v in receiver.counts.items() if k != "received"}
            extra.update({f"/events {k}": v for k, v in reader.counts.items() if k == "reconnects"})
            extra["webhooks of alerts not pressed by us"] = len(tracker.early_hooks)
            log_text = (workdir / "server.log").read_text(errors="replace")
            report(args, tracker, window, bg_report, records, log_text, extra)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
