"""Runs a simulated site on the wall clock; publishes each reading in its device's vendor format over MQTT."""

import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import paho.mqtt.client as mqtt

from devices.equipment import Device
from devices.facility import Facility
from devices.loader import load_facility
from devices.messages import Reading, utcnow
from devices.mqtt import ProtocolVersion, connect, make_client, parse_url
from devices.mqtt import stop as stop_client
from devices.protocols import VendorFormat, get
from devices.sim.catalog import SCENARIOS, check
from devices.sim.scenario import Scenario, ScenarioError
from devices.sim.tour import Tour
from devices.sim.world import World

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0
CONNECT_WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class Stats:
    """What a simulator has done so far."""

    ticks: int
    readings: int  # readings the world produced
    published: int  # MQTT messages handed to the client (QoS 1; paho resends after a reconnect)
    failed: int  # readings that could not be rendered or published
    connected: bool
    started: tuple[str, ...]  # scenarios started, in order
    running: tuple[str, ...]


class Simulator:
    """A background thread that ticks the World about once a second and publishes what it says."""

    def __init__(self, facility: Facility, site_id: str | None, *, broker_url: str,
                 protocol: ProtocolVersion = "5", seed: int | None = None, scenarios: Sequence[str] = (),
                 tour: bool = False, tour_every: float = 90.0, clock: Callable[[], datetime] = utcnow,
                 announce: Callable[[str], None] | None = None) -> None:
        check(list(scenarios))
        self.site = facility.site(site_id)
        self.world = World(self.site, Random(seed))
        self.clock = clock
        self.pending = list(scenarios)
        self.tour = Tour(list(SCENARIOS), timedelta(seconds=tour_every)) if tour else None
        self.announce = announce or (lambda line: log.info("%s", line))
        self.address = parse_url(broker_url)
        self.client = make_client(f"cwsim-{uuid.uuid4().hex[:16]}", self.address, protocol=protocol)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self._connected, self._stopping = threading.Event(), threading.Event()
        self._lock = threading.RLock()  # the tick thread and run_scenario callers share the world
        self._thread: threading.Thread | None = None
        self._formats: dict[str, VendorFormat] = {}
        self._broken: set[str] = set()
        self._counts = {"ticks": 0, "readings": 0, "published": 0, "failed": 0}
        self._started: list[str] = []

    def start(self) -> None:
        """Connect (waiting up to 10 s; readings queue meanwhile) and start ticking."""
        if self._thread is not None:
            raise RuntimeError("the simulator is already running")
        connect(self.client, self.address)
        if not self._connected.wait(CONNECT_WAIT_SECONDS):
            log.warning("broker %s not reachable yet; readings are queued until it is", self.address)
        self._thread = threading.Thread(target=self._run, name=f"sim-{self.site.id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking and disconnect."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        stop_client(self.client)

    def run_scenario(self, name: str) -> Scenario:
        """Start a scenario now, publish its first readings; ValueError if unknown, ScenarioError if busy."""
        check([name])
        with self._lock:
            now = self.clock()
            scenario = self._start(name, now, tolerant=False)
            self._publish_all(self.world.step(now))
        assert scenario is not None  # not tolerant: failures raise
        return scenario

    def stats(self) -> Stats:
        """Counters, connection and scenarios."""
        with self._lock:
            return Stats(**self._counts, connected=self._connected.is_set(), started=tuple(self._started),
                         running=tuple(self.world.running()))

    def _run(self) -> None:
        """Tick about once a second until stopped; a failing tick is logged, not fatal."""
        while not self._stopping.is_set():
            began = time.monotonic()
            try:
                with self._lock:
                    self._tick()
            except Exception:
                log.exception("simulator tick failed")
            self._stopping.wait(max(0.0, TICK_SECONDS - (time.monotonic() - began)))

    def _tick(self) -> None:
        """Start what is due, step the world, publish."""
        now = self.clock()
        self._counts["ticks"] += 1
        due, self.pending = self.pending, []
        for name in due:
            self._start(name, now, tolerant=True)
        if self.tour is not None:
            longest = self.tour.longest
            self.tour.turn(now, lambda name: self._start(name, now, tolerant=True, longest=longest) is not None)
        self._publish_all(self.world.step(now))

    def _start(self, name: str, now: datetime, *, tolerant: bool, longest: timedelta | None = None
               ) -> Scenario | None:
        """Start a scenario and announce it; one that cannot run (busy, not its hour, longer than `longest`)
        is skipped when `tolerant`, else raised."""
        stamp = f"{self.site.local(now):%H:%M:%S}"
        try:
            scenario = self.world.start_scenario(name, now, longest)
        except ScenarioError as exc:
            if not tolerant:
                raise
            self.announce(f"{stamp} scenario {name} skipped: {exc}")
            return None
        self._started.append(name)
        self.announce(f"{stamp} scenario {name} on {scenario.device.id}: {SCENARIOS[name].en}")
        return scenario

    def _publish_all(self, readings: list[tuple[Device, Reading]]) -> None:
        """Publish each reading."""
        for device, reading in readings:
            self._counts["readings"] += 1
            self._publish(device, reading)

    def _publish(self, device: Device, reading: Reading) -> None:
        """Render in the device's vendor format, publish with QoS 1; one device's failure spares the rest."""
        try:
            messages = self._format(device).render(device.kind, reading, device.topic or "")
        except Exception as exc:  # a format bug must not silence the other devices
            self._counts["failed"] += 1
            if device.id not in self._broken:
                self._broken.add(device.id)
                log.error("cannot render %s for device %s: %s", device.protocol, device.id, exc)
            return
        for message in messages:
            info = self.client.publish(message.topic, message.payload, qos=1, retain=message.retain)
            # NO_CONN still queues a QoS 1 message: paho sends it once the connection is back.
            ok = info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN)
            self._counts["published" if ok else "failed"] += 1

    def _format(self, device: Device) -> VendorFormat:
        """The device's vendor format, looked up once."""
        if device.id not in self._formats:
            self._formats[device.id] = get(device.protocol)
        return self._formats[device.id]

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        """Connected (or refused)."""
        if reason.is_failure:
            log.warning("broker %s refused the simulator: %s", self.address, reason)
        else:
            self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        """Lost the broker; paho reconnects with backoff."""
        self._connected.clear()


def run(config_path: str | Path, *, site: str | None = None, broker_url: str, protocol: ProtocolVersion = "5",
        profile: str | None = None, scenarios: Sequence[str] = (), tour: bool = False,
        seed: int | None = None) -> None:
    """Simulate a site until SIGINT or SIGTERM, printing one line per scenario start."""
    facility = load_facility(config_path, profile=profile)
    simulator = Simulator(facility, site, broker_url=broker_url, protocol=protocol, seed=seed,
                          scenarios=scenarios, tour=tour, announce=_say)
    stopping = threading.Event()
    with _stop_on_signals(stopping):
        simulator.start()
        _say(f"simulating site {simulator.site.id} ({len(simulator.world.sims)} devices) "
             f"on {simulator.address}; Ctrl-C stops")
        try:
            while not stopping.wait(1.0):  # short waits so signal handlers get to run
                pass
        finally:
            simulator.stop()


def _say(line: str) -> None:
    """One line on stdout, at once (the output is often piped)."""
    print(line, flush=True)


@contextmanager
def _stop_on_signals(stopping: threading.Event) -> Iterator[None]:
    """Set `stopping` on SIGINT/SIGTERM while inside; only the main thread can take signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
