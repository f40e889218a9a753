"""Parts of the screen fan-out benchmark: the generated facility (beds, rooms, devices from the reference file) and
the screens (SSE clients of `/events`, all in one asyncio child process, reporting each `alert` event's arrival)."""

import asyncio
import contextlib
import copy
import json
import math
import multiprocessing as mp
import queue
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ingest_clients import BenchError, child_setup

from devices.kinds import DeviceKind
from devices.loader import load_facility

SITE = "hq"  # the reference site, grown to the size asked
ROOMS_PER_FLOOR = 20
BEDS_PER_ROOM = 2
NATIVE_EVERY = 10  # one bed mat in ten is a smart mat reporting vitals in carewatch's own format
# Per bedroom: a mat per bed, an SOS button and a room thermometer. Per upper floor: two bathrooms with a radar,
# an SOS button and a leak sensor, and a smoke detector in the corridor. Whatever is left of the device count
# goes to the corridors, round robin over the floors.
FILL = (("presence_sensor", None), ("temperature_sensor", "room"), ("smoke_detector", None))


# ---------------------------------------------------------------- the facility


@dataclass(frozen=True)
class FacilityInfo:
    """What the generated file holds."""

    beds: int
    rooms: int
    floors: int
    devices: Counter[str]  # by kind
    buttons: list[str]  # SOS buttons, the alerts' sources

    def line(self) -> str:
        """One line for the output."""
        kinds = ", ".join(f"{n} {k}" for k, n in self.devices.most_common())
        return (f"site {SITE}: {self.beds} beds in {self.rooms} bedrooms on {self.floors} floors, "
                f"{sum(self.devices.values())} devices ({kinds})")


def make_facility(source: Path, dest: Path, beds: int, devices: int) -> FacilityInfo:
    """Write the reference facility grown to `beds` beds and `devices` devices (no cameras: they talk to the
    edge, not to the broker), then load it with `devices.loader.load_facility` as the server will."""
    doc = yaml.safe_load(source.read_text())
    site = next(s for s in doc["sites"] if s["id"] == SITE)
    rooms = math.ceil(beds / BEDS_PER_ROOM)
    floors = math.ceil(rooms / ROOMS_PER_FLOOR)
    bedrooms = {r["id"] for b in site["buildings"] for f in b["floors"] for r in f["rooms"] if r["type"] == "bedroom"}
    shared = [r for b in site["buildings"] for f in b["floors"] for r in f["rooms"] if r["type"] != "bedroom"]
    kept = [d for d in site["devices"] if d["kind"] != "camera" and d["location"]["room"] not in bedrooms]
    site["care_profiles"] = _profiles(site["care_profiles"], beds)
    floor_docs, made = _floors(floors, rooms, beds, shared)
    minimum = len(kept) + len(made)
    if devices < minimum:
        raise BenchError(f"--devices {devices}: {beds} beds need at least {minimum} devices")
    made += _fill(devices - minimum, floor_docs)
    site["buildings"] = [{"id": "main", "name": {"zh-CN": "主楼", "en": "Main building"}, "floors": floor_docs}]
    site["devices"] = kept + made
    doc["sites"] = [site]
    dest.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    loaded = load_facility(dest).site_by_id[SITE]  # a broken file stops the bench here, naming the key
    return FacilityInfo(beds=sum(len(r.beds) for b in loaded.buildings for f in b.floors for r in f.rooms),
                        rooms=rooms, floors=floors, devices=Counter(d.kind.value for d in loaded.devices),
                        buttons=[d.id for d in loaded.devices if d.kind is DeviceKind.SOS_BUTTON])


def _profiles(reference: list[dict[str, Any]], beds: int) -> list[dict[str, Any]]:
    """One care profile per bed, their risks and overrides taken in turn from the reference profiles."""
    return [{**copy.deepcopy(reference[i % len(reference)]), "id": f"cp-{i + 1:03d}"} for i in range(beds)]


def _floors(floors: int, rooms: int, beds: int, shared: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    """The floors with their bedrooms (the reference's shared rooms on the ground floor, two bathrooms and a
    corridor on each upper one) and the devices every bedroom and upper floor has."""
    floor_docs: list[dict[str, Any]] = []
    made: list[dict[str, Any]] = []
    bed_no = 0
    for f in range(1, floors + 1):
        room_docs = copy.deepcopy(shared) if f == 1 else _upper_floor(f, made)
        for n in range(1, min(ROOMS_PER_FLOOR, rooms - (f - 1) * ROOMS_PER_FLOOR) + 1):
            room = f"r{f}{n:02d}"
            count = min(BEDS_PER_ROOM, beds - bed_no)
            room_docs.append(_bedroom(room, range(bed_no + 1, bed_no + count + 1), made))
            bed_no += count
        floor_docs.append({"id": f"f{f}", "name": _names(f"{f} 层", f"Floor {f}"), "rooms": room_docs})
    return floor_docs, made


def _upper_floor(f: int, made: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An upper floor's two bathrooms and corridor; their devices go to `made`."""
    room_docs = []
    for side in "ab":
        room = f"bath-{f}{side}"
        room_docs.append({"id": room, "name": _names(f"{f}{side} 卫生间", f"Bathroom {f}{side}"), "type": "bathroom"})
        made += [_device(f"presence-{room}", "presence_sensor", room), _device(f"sos-{room}", "sos_button", room),
                 _device(f"leak-{room}", "leak_sensor", room)]
    corridor = f"corridor-{f}"
    room_docs.append({"id": corridor, "name": _names(f"{f} 层走廊", f"Corridor {f}"), "type": "corridor"})
    made.append(_device(f"smoke-{corridor}", "smoke_detector", corridor))
    return room_docs


def _bedroom(room: str, bed_numbers: range, made: list[dict[str, Any]]) -> dict[str, Any]:
    """A bedroom with its beds (care profiles by bed number); its mats, SOS button and thermometer go to `made`."""
    bed_docs = []
    for k, number in enumerate(bed_numbers, 1):
        bed = f"b{room[1:]}-{k}"
        bed_docs.append({"id": bed, "care_profile": f"cp-{number:03d}",
                         "name": _names(f"{bed[1:]} 床", f"Bed {bed[1:]}")})
        made.append(_device(f"bed-{bed}", "bed_sensor", room, bed=bed,
                            protocol="native" if number % NATIVE_EVERY == 0 else "zigbee2mqtt"))
    made += [_device(f"sos-{room}", "sos_button", room),
             _device(f"temp-{room}", "temperature_sensor", room, role="room")]
    return {"id": room, "name": _names(f"{room[1:]} 护理室", f"Room {room[1:]}"), "type": "bedroom", "beds": bed_docs,
            "zones": [{"id": f"z{room[1:]}-floor", "type": "floor"}, {"id": f"z{room[1:]}-beds", "type": "bed"}]}


def _fill(count: int, floor_docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`count` more corridor devices, round robin over the floors and the kinds of FILL."""
    corridors = [next(r["id"] for r in f["rooms"] if r["type"] == "corridor") for f in floor_docs]
    out = []
    for i in range(count):
        kind, role = FILL[i % len(FILL)]
        corridor = corridors[i % len(corridors)]
        out.append(_device(f"{kind.split('_')[0]}-{corridor}-{i + 1:03d}", kind, corridor, role=role))
    return out


def _device(ident: str, kind: str, room: str, *, bed: str | None = None, role: str | None = None,
            protocol: str = "zigbee2mqtt") -> dict[str, Any]:
    """A device entry; its vendor topic is unique in the facility, as the loader asks."""
    topic = f"carewatch/dev/{ident}" if protocol == "native" else f"zigbee2mqtt/{ident}"
    entry: dict[str, Any] = {"id": ident, "kind": kind, "protocol": protocol, "topic": topic,
                             "location": {"room": room, **({"bed": bed} if bed else {})}}
    if role:
        entry["role"] = role
    return entry


def _names(zh: str, en: str) -> dict[str, str]:
    """A name in both languages."""
    return {"zh-CN": zh, "en": en}


# ---------------------------------------------------------------- the screens (child process)


@dataclass(frozen=True)
class ScreenSpec:
    """How one screen connects: its number, the request target and its login header (cookie or bearer)."""

    index: int
    target: str
    header: str  # "Cookie: ..." or "Authorization: Bearer ..."


def screens_main(host: str, port: int, commands: Any, out: Any) -> None:
    """Child process: run the screens on one asyncio loop until told to stop."""
    child_setup()
    asyncio.run(_screens(host, port, commands, out))


async def _screens(host: str, port: int, commands: Any, out: Any) -> None:
    """Open and close screens as the parent says; a ticker measures this loop's own lateness, which would be
    counted in every arrival time (reported, so a busy bench process shows)."""
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    threading.Thread(target=_pump, args=(commands, loop, inbox), daemon=True).start()
    tasks: dict[int, asyncio.Task[None]] = {}
    lags: list[float] = []
    ticker = asyncio.create_task(_tick(lags))
    while True:
        cmd, arg = await inbox.get()
        if cmd == "open":
            for spec in arg:
                COUNTS[spec.index] = Counter()
                tasks[spec.index] = asyncio.create_task(_screen(host, port, spec, out))
        elif cmd == "close":
            for index in arg:
                if (task := tasks.pop(index, None)) is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
        elif cmd == "report":  # events by screen and name since the last report; the loop's lateness
            out.put(("report", {i: dict(c) for i, c in COUNTS.items()}, list(lags)))
            COUNTS.clear()
            COUNTS.update({i: Counter() for i in tasks})
            lags.clear()
        elif cmd == "stop":
            break
    ticker.cancel()
    for task in tasks.values():
        task.cancel()
    await asyncio.gather(*tasks.values(), return_exceptions=True)


COUNTS: dict[int, Counter[str]] = {}  # in the child: events of each open screen by name, since the last report


def _pump(commands: Any, loop: asyncio.AbstractEventLoop, inbox: "asyncio.Queue[Any]") -> None:
    """Thread: hand the parent's commands to the loop."""
    while True:
        try:
            item = commands.recv()
        except (EOFError, OSError):
            item = ("stop", None)
        loop.call_soon_threadsafe(inbox.put_nowait, item)
        if item[0] == "stop":
            return


async def _tick(lags: list[float], every: float = 0.01) -> None:
    """How late this loop wakes up for a 10 ms sleep."""
    while True:
        start = time.monotonic()
        await asyncio.sleep(every)
        lags.append(time.monotonic() - start - every)


async def _screen(host: str, port: int, spec: ScreenSpec, out: Any) -> None:
    """One screen: GET the stream, then read it chunk by chunk, taking the time as each chunk is read."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        out.put(("failed", spec.index, f"connect: {exc}"))
        return
    try:
        writer.write(f"GET {spec.target} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
                     f"{spec.header}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        if status != b"200":
            out.put(("failed", spec.index, f"HTTP {status.decode()}: {head[:200]!r}"))
            return
        await _read_stream(reader, b"transfer-encoding: chunked" in head.lower(), spec.index, out)
        out.put(("failed", spec.index, "the server ended the stream"))
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        out.put(("failed", spec.index, f"{type(exc).__name__}: {exc}"))
    finally:
        writer.close()


async def _read_stream(reader: asyncio.StreamReader, chunked: bool, index: int, out: Any) -> None:
    """Split the body into SSE events; `alert` events go to the parent with their arrival time."""
    buffer = b""
    while True:
        if chunked:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                return
            data = (await reader.readexactly(size + 2))[:-2]
        else:
            data = await reader.read(65536)
            if not data:
                return
        arrived = time.monotonic()
        buffer += data
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            _event(block, arrived, index, out)


def _event(block: bytes, arrived: float, index: int, out: Any) -> None:
    """One SSE event: counted by name; `alert` data decoded and reported, `snapshot` reported as readiness."""
    name, data = b"", b""
    for line in block.split(b"\n"):
        if line.startswith(b"event:"):
            name = line[6:].strip()
        elif line.startswith(b"data:"):
            data = line[5:]
    if not name:
        return  # a keep-alive comment
    counts = COUNTS.get(index)
    if counts is not None:
        counts[name.decode()] += 1
        counts["bytes"] += len(block) + 2
    if name == b"alert":
        a = json.loads(data)
        out.put(("alert", index, a["id"], a.get("site"), a.get("subject"), a.get("rule"), a.get("status"), arrived))
    elif name == b"snapshot":
        out.put(("ready", index, arrived))


# ---------------------------------------------------------------- the screens (parent side)


class ScreenPool:
    """The screens' child process, and a thread in this one handing its messages to `on_message`."""

    def __init__(self, host: str, port: int, on_message: Any) -> None:
        ctx = mp.get_context("spawn")
        self.commands, child_end = ctx.Pipe()
        self.out = ctx.Queue()
        self.process = ctx.Process(target=screens_main, args=(host, port, child_end, self.out), daemon=True,
                                   name="screens")
        self.on_message = on_message
        self.reports: queue.Queue[Any] = queue.Queue()
        self.reader = threading.Thread(target=self._read, name="screens-reader", daemon=True)
        self.stopping = False

    def start(self) -> None:
        """Start the child and the reader."""
        self.process.start()
        self.reader.start()

    def open(self, specs: list[ScreenSpec]) -> None:
        """Connect these screens."""
        self.commands.send(("open", specs))

    def close(self, indices: list[int]) -> None:
        """Disconnect these screens."""
        self.commands.send(("close", indices))

    def report(self, timeout: float = 10) -> tuple[dict[int, dict[str, int]], list[float]]:
        """Events per screen and name since the last report, and the child loop's lateness samples."""
        self.commands.send(("report", None))
        try:
            _, counts, lags = self.reports.get(timeout=timeout)
        except queue.Empty:
            raise BenchError("the screens' process did not report") from None
        return counts, lags

    def stop(self) -> None:
        """Stop the child (killed if it does not stop by itself)."""
        self.stopping = True
        with contextlib.suppress(OSError, ValueError):
            self.commands.send(("stop", None))
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()

    def _read(self) -> None:
        """Thread: dispatch the child's messages."""
        while not self.stopping:
            try:
                item = self.out.get(timeout=0.5)
            except queue.Empty:
                if not self.process.is_alive() and self.process.exitcode is not None:
                    return
                continue
            except (EOFError, OSError):
                return
            if item[0] == "report":
                self.reports.put(item)
            else:
                self.on_message(item)


# ---------------------------------------------------------------- profiling the server (optional)

# What the event loop's samples are spent on: the frame nearest the leaf that has one of these marks.
LOOP_PARTS = (
    ("serializing payloads: jsonable_encoder + json.dumps (per screen)", ("jsonable_encoder", "dumps (json/")),
    ("serializing payloads: pydantic (per screen)", ("(pydantic", "model_dump_json")),
    ("socket writes, one per event (per screen)", ("_SelectorSocketTransport.write",)),
    ("uvicorn h11 framing (per screen)", ("(uvicorn/protocols/http", "(h11/")),
    ("FastAPI SSE: format_sse_event (per screen)", ("format_sse_event",)),
    ("Hub._publish: queueing events (per screen)", ("_publish (server/events.py",)),
    ("FastAPI SSE: anyio memory streams, keep-alive timer, checkpoints (per screen)", ("(anyio/",)),
    ("other requests (API, /metrics, logins)", ("(starlette/", "(fastapi/")),
)
THREADS = {"MainThread": "event loop", "carewatch-pipeline": "pipeline", "carewatch-notifier": "notifier",
           "AnyIO worker thread": "worker threads"}  # py-spy's "thread (tid): NAME" -> what it is


class Profile:
    """`py-spy record` of the server's process for a while (raw collapsed stacks, one thread per stack)."""

    def __init__(self, binary: Path, pid: int, seconds: float, output: Path) -> None:
        self.output = output
        self.proc = subprocess.Popen([str(binary), "record", "--pid", str(pid), "--duration", str(math.ceil(seconds)),
                                      "--rate", "250", "--format", "raw", "--threads", "--nonblocking",
                                      "--output", str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def finish(self) -> list[str]:
        """Wait for py-spy; where the samples went."""
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            return ["py-spy did not finish"]
        if not self.output.exists():
            return [f"py-spy wrote nothing: {err.decode(errors='replace').strip()[-300:]}"]
        return summarize(self.output.read_text().splitlines())


def _part(stack: str) -> str:
    """Which of LOOP_PARTS an event-loop stack belongs to, by its frame nearest the leaf that has a mark."""
    for frame in reversed(stack.split(";")):
        for name, marks in LOOP_PARTS:
            if any(mark in frame for mark in marks):
                return name
    return "asyncio itself (selecting, running callbacks), other"


def summarize(lines: list[str]) -> list[str]:
    """Per thread, the share of the samples; on the event loop, what it was doing; the top frames by self time."""
    threads: Counter[str] = Counter()
    loop: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        name = stack.split(";", 1)[0].partition(": ")[2]
        thread = THREADS.get(name, name or "other")
        threads[thread] += count
        leaves[stack.rsplit(";", 1)[-1]] += count
        if thread == "event loop":
            loop[_part(stack)] += count
    if not total:
        return ["py-spy: no samples"]

    def share(n: int) -> str:
        return f"{n / total * 100:.0f} %"

    out = [f"py-spy of the server process ({total} samples of busy threads at 250/s): "
           + ", ".join(f"{name} {share(n)}" for name, n in threads.most_common())]
    out += [f"  event loop: {name}: {share(n)}" for name, n in loop.most_common()]
    out += ["  top frames by own time:"] + [f"    {share(n):>5}  {frame[:110]}" for frame, n in leaves.most_common(10)]
    return out
