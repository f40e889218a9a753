"""Parts of the alert-latency benchmark: the facility copy, the webhook receiver, the /events reader and the
background publisher process."""

import contextlib
import copy
import json
import multiprocessing as mp
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml
from ingest_backlog import WEIGHTS, reading
from ingest_clients import child_setup

from devices import topics
from devices.kinds import DeviceKind
from devices.loader import load_facility
from devices.messages import Envelope, Reading, new_id, to_json, utcnow
from devices.mqtt import connect, make_client, parse_url, stop
from server.notify.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

HOOK = "bench-hook"  # the webhook channel's id in every site of the copy
SECRET_VARIABLE = "BENCH_HOOK_SECRET"  # the copy says `secret: "${BENCH_HOOK_SECRET}"`; the server's env has it
BACKGROUND_SITE = "hq"  # the reference site, quiet, carries the background load
BUTTON_SITE_PREFIX = "sos"  # generated sites sos01, sos02, ... carry only the reference site's SOS buttons


# ---------------------------------------------------------------- the facility copy


def facility_copy(source: Path, dest: Path, hook_url: str, sites: int) -> dict[str, list[str]]:
    """Write a copy of the reference facility: every critical step also goes to a webhook at `hook_url` (its
    secret from the environment), and `sites` extra sites, each a copy of hq holding only its SOS buttons.
    Returns the SOS buttons of each generated site."""
    doc = yaml.safe_load(source.read_text())
    hq = next(s for s in doc["sites"] if s["id"] == BACKGROUND_SITE)
    extra = []
    for i in range(1, sites + 1):
        site = copy.deepcopy(hq)
        site["id"] = f"{BUTTON_SITE_PREFIX}{i:02d}"
        site["name"] = {"zh-CN": f"基准站点 {i}", "en": f"Bench site {i}"}
        # A device's vendor topic is unique in the whole facility: each copy gets its own.
        site["devices"] = [{**d, "topic": f"{d['topic']}-{site['id']}"} for d in hq["devices"]
                           if d["kind"] == DeviceKind.SOS_BUTTON.value]
        site["watches"] = []  # they name hq's temperature sensors, not copied here
        extra.append(site)
    for site in [hq, *extra]:
        # Each site has its own channel: the notifier's per-channel limit (30 a minute) counts per site.
        site["channels"] = {**(site.get("channels") or {}),
                            HOOK: {"type": "webhook", "url": hook_url, "secret": f"${{{SECRET_VARIABLE}}}"}}
        for step in site["escalation"]["critical"]["steps"]:
            step["channels"] = ["screen", HOOK]
    doc["sites"] = [hq, *extra]
    dest.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    return {s["id"]: [d["id"] for d in s["devices"]] for s in extra}


def press(site: str, device: str, seq: int) -> tuple[str, bytes]:
    """An SOS press as the edge forwards it: topic and envelope."""
    env = Envelope(id=new_id(), site=site, device=device, kind=DeviceKind.SOS_BUTTON.value, at=utcnow(),
                   seq=seq, data=Reading(pressed=True, action="single", battery_pct=90.0))
    return topics.observation(site, device), to_json(env)


# ---------------------------------------------------------------- the webhook receiver


class HookReceiver:
    """A local HTTP server that checks each webhook's signature and reports (alert id, arrival time)."""

    def __init__(self, secret: str, on_hook: Callable[[int, float], None]) -> None:
        self.counts: Counter[str] = Counter()  # received, bad signature, unreadable
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                arrived = time.monotonic()
                ok = verify_signature(secret, self.headers.get(TIMESTAMP_HEADER, ""), body,
                                      self.headers.get(SIGNATURE_HEADER, ""), time.time())
                try:
                    alert_id = int(json.loads(body)["alert_id"])
                except (ValueError, KeyError, TypeError):
                    alert_id = None
                self.send_response(200 if ok and alert_id is not None else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if not ok:
                    receiver.counts["bad signature"] += 1
                elif alert_id is None:
                    receiver.counts["unreadable"] += 1
                else:
                    receiver.counts["received"] += 1
                    on_hook(alert_id, arrived)

            def log_message(self, *_: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="hook-receiver", daemon=True)

    @property
    def url(self) -> str:
        """Where the server posts."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> None:
        """Listen in a thread."""
        self.thread.start()

    def stop(self) -> None:
        """Stop listening."""
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- the /events reader


class EventsReader:
    """An SSE client of `/events` (all sites, English) in a thread: the arrival time of every `alert` event."""

    def __init__(self, base: str, token: str, on_alert: Callable[[dict[str, Any], float], None]) -> None:
        self.base, self.token, self.on_alert = base, token, on_alert
        self.ready = threading.Event()  # the first snapshot arrived: the stream is live
        self.counts: Counter[str] = Counter()  # events by name, and reconnects
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="events-reader", daemon=True)

    def start(self) -> None:
        """Connect in the thread."""
        self.thread.start()

    def _run(self) -> None:
        """Read the stream; reconnect if the server drops it (counted: alerts first seen in a snapshot after a
        reconnect are not measured)."""
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(timeout=httpx.Timeout(10, read=None)) as client:
            while not self.stopping:
                with contextlib.suppress(httpx.HTTPError), \
                        client.stream("GET", f"{self.base}/events", params={"lang": "en"}, headers=headers) as resp:
                    resp.raise_for_status()
                    self._read(resp)
                if not self.stopping:
                    self.counts["reconnects"] += 1
                    time.sleep(0.2)

    def _read(self, resp: httpx.Response) -> None:
        """Parse events; only `alert` data is decoded (device events are skipped unread)."""
        event = ""
        for line in resp.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                arrived = time.monotonic()
                self.counts[event] += 1
                if event == "alert":
                    self.on_alert(json.loads(line[5:]), arrived)
                elif event == "snapshot":
                    self.ready.set()
            elif not line:
                event = ""


# ---------------------------------------------------------------- the background publisher


class Background:
    """A child process publishing quiet readings of hq's devices at a steady rate until stopped."""

    def __init__(self, url: str, config: Path, rate: float) -> None:
        ctx = mp.get_context("spawn")
        self.stop_event = ctx.Event()
        self.result = ctx.Queue()
        self.process = ctx.Process(target=background_publisher,
                                   args=(url, str(config), rate, self.stop_event, self.result), daemon=True)

    def start(self) -> None:
        """Start publishing."""
        self.process.start()

    def finish(self) -> dict[str, Any]:
        """Stop publishing; its report: {sent, acked, timeline: [(monotonic time, sent so far)]}."""
        self.stop_event.set()
        try:
            report = dict(self.result.get(timeout=20))
        except Exception:  # noqa: BLE001 - reported as missing
            report = {"error": f"background publisher gave no report (exit code {self.process.exitcode})"}
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        return report


def background_publisher(url: str, config: str, rate: float, stop_event: Any, result: Any) -> None:
    """Child process: QoS 1 envelopes of normal readings (no rule alerts on them), paced to `rate` a second
    against the clock (a late tick catches up), with a timeline of how many were sent when."""
    child_setup()
    site = load_facility(Path(config)).site_by_id[BACKGROUND_SITE]
    devices = [d for d in site.devices if d.kind in WEIGHTS and d.kind is not DeviceKind.SOS_BUTTON]
    weights = [WEIGHTS[d.kind] for d in devices]
    rng = random.Random(20260502)
    address = parse_url(url)
    client = make_client(f"cw-bench-background-{os.getpid()}", address)
    client.max_inflight_messages_set(100)
    connected = threading.Event()
    acked = 0

    def on_publish(*_: Any) -> None:
        nonlocal acked
        acked += 1

    client.on_connect = lambda *_: connected.set()
    client.on_publish = on_publish
    connect(client, address)
    if not connected.wait(10):
        result.put({"error": f"background publisher could not connect to {address}"})
        return
    seqs: Counter[str] = Counter()
    energy: Counter[str] = Counter()
    start = next_mark = time.monotonic()
    sent, timeline = 0, [(start, 0)]
    while not stop_event.is_set():
        now = time.monotonic()
        due = int((now - start) * rate)
        while sent < due:
            device = rng.choices(devices, weights)[0]
            seqs[device.id] += 1
            env = Envelope(id=new_id(), site=site.id, device=device.id, kind=device.kind.value, at=utcnow(),
                           seq=seqs[device.id], data=reading(site, device, rng, energy))
            client.publish(topics.observation(site.id, device.id), to_json(env), qos=1)
            sent += 1
        if now >= next_mark:
            timeline.append((now, sent))
            next_mark += 0.25
        time.sleep(0.002)
    timeline.append((time.monotonic(), sent))
    deadline = time.monotonic() + 5
    while acked < sent and time.monotonic() < deadline:
        time.sleep(0.05)
    stop(client)
    result.put({"sent": sent, "acked": acked, "timeline": timeline})


def sent_between(timeline: list[tuple[float, int]], start: float, end: float) -> float:
    """Messages sent between two monotonic times, interpolated on the timeline."""

    def at(t: float) -> float:
        before = max((p for p in timeline if p[0] <= t), default=timeline[0])
        after = min((p for p in timeline if p[0] >= t), default=timeline[-1])
        if after[0] == before[0]:
            return float(before[1])
        return before[1] + (after[1] - before[1]) * (t - before[0]) / (after[0] - before[0])

    return at(end) - at(start)
