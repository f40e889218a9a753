"""Edge faults, edge to server on loopback: a 10-minute uplink outage, the outbox filling up meanwhile, and an
edge clock running ahead of or behind the server's. Each prints what it measured: lost, duplicated, recovery."""

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import pytest
from sqlalchemy import select

from carewatch.broker import PrivateMosquitto
from devices import mqtt as cw_mqtt
from devices import protocols
from devices.equipment import Device
from devices.facility import Facility, Site
from devices.kinds import DeviceKind, TemperatureRole
from devices.loader import load_facility
from devices.messages import Reading, utcnow
from devices.sim.world import World
from edge.agent import EdgeAgent
from edge.outbox import OutboxLimits
from server import metrics
from server.models import Alert, DeadLetter, Observation
from server.pipeline import MAX_CLOCK_AHEAD
from tests.helpers import LiveServer, live_server, publisher, server_settings, wait_until

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

OUTAGE = timedelta(minutes=10)
SCENARIOS = {timedelta(minutes=2): ("sos", "sos"), timedelta(minutes=4): ("water-leak", "water_leak"),
             timedelta(minutes=6): ("smoke", "smoke")}  # started during the outage: scenario -> the alert's rule


@dataclass(frozen=True)
class UplinkBroker:
    """The server's broker as `server_settings` wants it: the private, restartable Mosquitto."""

    url: str
    protocol: str = "5"


class SetClock:
    """A clock the test sets or moves; `skew` gives the same clock running ahead (or behind, negative)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def set(self, now: datetime) -> None:
        with self._lock:
            self.now = now

    def skewed(self, by: timedelta) -> Callable[[], datetime]:
        return lambda: self() + by


class Devices:
    """The site's devices on the device broker: each reading rendered in its vendor format, then waited for
    until the edge has queued it (so the edge stamps it with the clock of its step, and counts it before we do)."""

    def __init__(self, broker: Any, agent: EdgeAgent) -> None:
        self.client, self.agent = publisher(broker), agent
        self.published: Counter[str] = Counter()

    def report(self, device: Device, reading: Reading) -> None:
        for message in protocols.get(device.protocol).render(device.kind, reading, device.topic or ""):
            # Not retained: the shared broker must not keep this test's topics.
            self.client.publish(message.topic, message.payload, qos=1).wait_for_publish(5)
            self.published[device.id] += 1
        total = self.published.total()
        wait_until(lambda: handled(self.agent) >= total, 5, 0.002, what="the edge read it")

    def close(self) -> None:
        cw_mqtt.stop(self.client)


@pytest.fixture
def uplink_url(uplink_mosquitto: PrivateMosquitto) -> str:
    return f"mqtt://127.0.0.1:{uplink_mosquitto.port}"


@pytest.fixture
def devices_of(broker: Any) -> Iterator[Callable[[EdgeAgent], Devices]]:
    made: list[Devices] = []

    def make(agent: EdgeAgent) -> Devices:
        made.append(Devices(broker, agent))
        return made[-1]

    yield make
    for devices in made:
        devices.close()


def start_agent(make_agent: Callable[..., EdgeAgent], facility: Facility, broker: Any, uplink_url: str,
                state: Path, **kwargs: Any) -> EdgeAgent:
    agent = make_agent(facility, facility.site().id, device_broker_url=broker.url, uplink_broker_url=uplink_url,
                       protocol=broker.protocol, state_dir=state, **kwargs)
    agent.start()
    wait_until(lambda: agent.subscribed.is_set() and agent.uplink.connected.is_set(), 10,
               what="edge subscribed and connected to the uplink")
    return agent


def observations(live: LiveServer, site: Site) -> list[Observation]:
    with live.ctx.sessions() as db:
        return list(db.scalars(select(Observation).where(Observation.site == site.id)))


def alerts(live: LiveServer, site: Site) -> list[Alert]:
    with live.ctx.sessions() as db:
        return list(db.scalars(select(Alert).where(Alert.site == site.id).order_by(Alert.id)))


def dead_letters(live: LiveServer, site: Site) -> int:
    with live.ctx.sessions() as db:
        return len(list(db.scalars(select(DeadLetter.id).where(DeadLetter.site == site.id))))


def handled(agent: EdgeAgent) -> int:
    """Device messages the edge has finished with. `received` counts a message when the edge starts on it; it is
    done once queued (or ignored). Reading the outbox's count before that missed one: 108 stored of 107 counted."""
    stats = agent.intake.stats()
    return min(int(stats["received"]), int(stats["forwarded"] + stats["rejected"] + stats["ignored"]
                                           + stats["unknown_topic"]))


def envelopes_put(agent: EdgeAgent) -> int:
    """Envelopes the edge queued in its outbox: readings and rejections."""
    stats = agent.intake.stats()
    return int(stats["forwarded"] + stats["rejected"])


def gaps(rows: list[Observation]) -> dict[str, list[int]]:
    """Per device, the seqs missing between 1 and its highest (and any seen twice): empty when contiguous."""
    seqs: defaultdict[str, list[int]] = defaultdict(list)
    for row in rows:
        seqs[row.device].append(row.seq)
    return {d: sorted(set(range(1, max(s) + 1)) ^ set(s)) + [q for q, n in Counter(s).items() if n > 1]
            for d, s in seqs.items() if sorted(s) != list(range(1, max(s) + 1))}


def duplicate_alerts(rows: list[Alert]) -> int:
    """Alerts beyond one per (rule, subject): nobody resolves any in these tests, so each should be one row."""
    return len(rows) - len({(a.rule, a.subject) for a in rows})


def redelivered() -> float:
    return metrics.REGISTRY.get_sample_value("carewatch_duplicates_total") or 0.0


def test_uplink_down_10_minutes_loses_nothing_and_alerts_once(
    uplink_mosquitto: PrivateMosquitto, uplink_url: str, unique_site_file: Path, sqlite_url: str, broker: Any,
    make_agent: Callable[..., EdgeAgent], devices_of: Callable[[EdgeAgent], Devices], tmp_path: Path,
) -> None:
    facility = load_facility(unique_site_file)
    site = facility.site()
    # The edge's clock runs the simulated 10 minutes in a few seconds, ending about now, so the server (on real
    # time) sees stamps of the last 10 minutes, as after a real outage.
    start = utcnow() - OUTAGE - timedelta(seconds=30)
    clock = SetClock(start)
    with live_server(server_settings(unique_site_file, sqlite_url, UplinkBroker(uplink_url))) as live:
        agent = start_agent(make_agent, facility, broker, uplink_url, tmp_path / "edge", clock=clock)
        devices, world = devices_of(agent), World(site, Random(8))
        for device, reading in world.step(start):  # every device's first report, with the uplink up
            devices.report(device, reading)
        wait_until(lambda: len(observations(live, site)) == envelopes_put(agent), 10, what="warm-up stored")
        before, redelivered_before = envelopes_put(agent), redelivered()

        uplink_mosquitto.stop()
        wait_until(lambda: not agent.uplink.connected.is_set(), what="uplink down")
        started = time.monotonic()
        for second in range(1, int(OUTAGE.total_seconds()) + 1):
            now = start + timedelta(seconds=second)
            clock.set(now)
            if (scenario := SCENARIOS.get(timedelta(seconds=second))) is not None:
                world.start_scenario(scenario[0], now)
            for device, reading in world.step(now):
                devices.report(device, reading)
        published_in = time.monotonic() - started
        total = envelopes_put(agent)
        assert agent.outbox.flush(5)
        queued = agent.stats()["outbox"]["pending"]

        uplink_mosquitto.start()  # same port, the server's session restored
        back = time.monotonic()
        wait_until(lambda: len(observations(live, site)) >= total, 30, what=f"{total} observations stored")
        drained = time.monotonic() - back
        wait_until(lambda: agent.stats()["outbox"]["pending"] == 0, 10, what="outbox empty")
        wait_until(lambda: {rule for _, rule in SCENARIOS.values()} <= {a.rule for a in alerts(live, site)}, 5,
                   what="the outage's alerts")
        rows, raised, dead = observations(live, site), alerts(live, site), dead_letters(live, site)

    lost = total - len({r.id for r in rows})
    by_rule = Counter(a.rule for a in raised)
    print(f"\nuplink down {OUTAGE}: {total - before} observations from {len(world.sims)} devices "
          f"({devices.published.total()} device messages, published in {published_in:.1f} s), {queued} queued; "
          f"stored {len(rows)} of {total}: lost {lost}, duplicated {len(rows) - len({r.id for r in rows})}, "
          f"redelivered and skipped by id {redelivered() - redelivered_before:.0f}; drained {drained:.2f} s after "
          f"the uplink came back; alerts {dict(by_rule)}, duplicate alerts {duplicate_alerts(raised)}")
    assert lost == 0 and len(rows) == total
    assert gaps(rows) == {}, "seq not contiguous per device"
    assert dead == 0
    assert duplicate_alerts(raised) == 0
    for _, rule in SCENARIOS.values():
        [alert] = [a for a in raised if a.rule == rule]
        assert alert.occurrences == 1, (rule, alert.occurrences)


def first(site: Site, kind: DeviceKind, test: Callable[[Device], bool] = lambda d: True) -> Device:
    return next(d for d in site.devices if d.kind is kind and test(d))


def test_outbox_nearly_full_during_an_outage_keeps_every_critical_event(
    uplink_mosquitto: PrivateMosquitto, uplink_url: str, unique_site_file: Path, sqlite_url: str, broker: Any,
    make_agent: Callable[..., EdgeAgent], devices_of: Callable[[EdgeAgent], Devices], tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    facility = load_facility(unique_site_file)
    site = facility.site()
    limits = OutboxLimits(max_bytes=64 * 1024, min_free_bytes=0)  # about 170 rows
    routine = [d for d in site.devices if d.kind in (DeviceKind.POWER_PLUG, DeviceKind.TEMPERATURE_SENSOR)]
    sos, leak = first(site, DeviceKind.SOS_BUTTON), first(site, DeviceKind.LEAK_SENSOR)
    caplog.set_level(logging.WARNING, "edge.outbox")
    with live_server(server_settings(unique_site_file, sqlite_url, UplinkBroker(uplink_url))) as live:
        agent = start_agent(make_agent, facility, broker, uplink_url, tmp_path / "edge", outbox_limits=limits,
                            heartbeat_every=0.2)
        devices = devices_of(agent)
        uplink_mosquitto.stop()
        wait_until(lambda: not agent.uplink.connected.is_set(), what="uplink down")
        critical = 0
        for n in range(800):
            device = routine[n % len(routine)]
            devices.report(device, Reading(power_w=100.0 + n % 50) if device.kind is DeviceKind.POWER_PLUG
                           else Reading(temperature_c=3.0 + (n % 20) / 10))
            if n % 40 == 20:  # 20 critical events among 800 routine readings: SOS presses, a leak on and off
                devices.report(sos, Reading(pressed=True)) if n % 80 == 20 else \
                    devices.report(leak, Reading(leak=n % 160 == 60))
                critical += 1
        total = envelopes_put(agent)
        assert agent.outbox.flush(5)
        space = agent.stats()["outbox_space"]
        warnings = [r.getMessage() for r in caplog.records if "% full" in r.getMessage()]

        uplink_mosquitto.start()
        back = time.monotonic()
        wait_until(lambda: agent.stats()["outbox"]["pending"] == 0, 30, what="outbox drained")
        wait_until(lambda: len(observations(live, site)) == total - space["dropped"], 10, what="stored")
        drained = time.monotonic() - back
        with live.client() as http:
            info = wait_until(lambda: [e["info"] for e in http.get("/api/v1/edges").json() if e["site"] == site.id
                                       and e["info"].get("outbox_space", {}).get("dropped")], 5,
                              what="a heartbeat at the server saying what was dropped")[0]
        rows = observations(live, site)

    kept_critical = sum(1 for r in rows if r.device in (sos.id, leak.id))
    print(f"\noutbox bound {limits.max_bytes // 1024} kB during an outage: {total} envelopes ({critical} critical); "
          f"filled to {space['fill_pct']} %, warned: {warnings[:1]}; dropped {space['dropped']} routine, "
          f"{space['dropped_critical']} critical; delivered {len(rows)} ({kept_critical} of {critical} critical) "
          f"in {drained:.2f} s after the uplink came back; the server's edge info says {info['outbox_space']}")
    assert warnings and space["nearly_full"] and space["fill_pct"] >= 90
    assert space["dropped"] > 0 and space["dropped_critical"] == 0
    assert kept_critical == critical  # lost critical: 0
    assert len(rows) == total - space["dropped"]  # nothing lost beyond what was counted
    assert info["outbox_space"]["dropped"] == space["dropped"] and info["outbox_space"]["dropped_critical"] == 0
    for device in routine:  # the oldest readings made room: what is left of each device is its newest
        seqs = sorted(r.seq for r in rows if r.device == device.id)
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), device.id
        assert seqs[-1] == devices.published[device.id], device.id


@dataclass
class Skewed:
    """What one run with a skewed edge clock measured, in server time from the event."""

    fridge_alert_after: timedelta | None = None
    fridge_early: bool = False
    turnover_alerts: int = 0
    bed_exit_after: timedelta | None = None
    offline_alerts: int = 0
    stored_at_skew: timedelta | None = None


def night_clock(site: Site) -> SetClock:
    """The server's clock: 23:00 at the site, a day ago (bed exits are watched at night)."""
    local = (datetime.now(UTC) - timedelta(days=1)).astimezone(site.zone)
    return SetClock(local.replace(hour=23, minute=0, second=0, microsecond=0).astimezone(UTC))


class Ticks:
    """Watches the server's pipeline fire its timers, so the test waits for a tick instead of sleeping."""

    def __init__(self, live: LiveServer) -> None:
        self.last: datetime | None = None
        pipeline = live.ctx.pipeline
        tick = pipeline.tick

        def watched(now: datetime | None = None) -> Any:
            at = now or pipeline.clock()  # read once, before: the clock may move while the tick runs
            changes = tick(at)
            self.last = at
            return changes

        pipeline.tick = watched

    def step_to(self, clock: SetClock, when: datetime) -> None:
        """Move the server's clock, then wait until its pipeline has run its timers at that time."""
        clock.set(when)
        wait_until(lambda: self.last is not None and self.last >= when, 5, 0.01, what="a pipeline tick")


# Ahead, the server clamps event times to its clock + 5 s; behind, it corrects them by the offset its heartbeats
# show (without that, rule timers fired early: a bed exit without its confirmation, a fridge 10 min early).
@pytest.mark.parametrize("skew", [timedelta(minutes=10), timedelta(minutes=-10)], ids=["ahead", "behind"])
def test_edge_clock_ahead_or_behind_keeps_rule_timers_on_server_time(
    skew: timedelta, unique_site_file: Path, sqlite_url: str, broker: Any, make_agent: Callable[..., EdgeAgent],
    devices_of: Callable[[EdgeAgent], Devices], tmp_path: Path, request: pytest.FixtureRequest,
) -> None:
    facility = load_facility(unique_site_file)
    site = facility.site()
    fridge = first(site, DeviceKind.TEMPERATURE_SENSOR, lambda d: d.role is TemperatureRole.FRIDGE)
    bed = first(site, DeviceKind.BED_SENSOR, lambda d: bool(site.profile_of_bed(d.location.bed).watch_bed_exit))
    plug = first(site, DeviceKind.POWER_PLUG)
    hold, confirm = site.thresholds.fridge.for_, site.thresholds.bed_exit_confirm
    clock = night_clock(site)
    measured = Skewed()
    with live_server(server_settings(unique_site_file, sqlite_url, broker), clock=clock) as live:
        agent = start_agent(make_agent, facility, broker, broker.url, tmp_path / "edge", clock=clock.skewed(skew))
        devices, ticks = devices_of(agent), Ticks(live)

        baseline, made = agent.intake.stats()["received"], [0]

        def report(device: Any, reading: Reading) -> None:
            made[0] += 1
            devices.report(device, reading)

        def stored() -> bool:
            # The edge has taken and finished every report made so far (else the count below could be met before it
            # queued the last one), and the server holds every envelope the edge queued.
            stats = agent.intake.stats()
            handled = sum(stats[k] for k in ("forwarded", "ignored", "rejected", "unknown_topic", "errors"))
            return (stats["received"] >= baseline + made[0] and handled == stats["received"]
                    and len(observations(live, site)) >= envelopes_put(agent))

        def raised(rule: str, subject: str) -> list[Alert]:
            return [a for a in alerts(live, site) if a.rule == rule and a.subject == subject]

        # A resident turns over: the mat is empty for less than the confirmation delay. Not an exit.
        t0 = clock()
        report(bed, Reading(occupied=True))
        report(bed, Reading(occupied=False))
        wait_until(stored, what="bed stored")
        ticks.step_to(clock, t0 + confirm / 2)
        report(bed, Reading(occupied=True))
        wait_until(stored, what="bed stored")
        measured.turnover_alerts = len(raised("bed_exit_night", bed.location.bed or ""))

        # The fridge goes warm and stays warm; its alert is due `hold` later by the server's clock. Meanwhile the
        # fridge, the mat and a plug report every 200 s, as live devices do.
        warm = clock()
        report(fridge, Reading(temperature_c=12.0))
        wait_until(stored, what="fridge stored")
        [row] = [r for r in observations(live, site) if r.device == fridge.id]
        measured.stored_at_skew = row.at - warm
        every, late = timedelta(seconds=200), hold + MAX_CLOCK_AHEAD + timedelta(seconds=1)
        points = sorted({*(every * n for n in range(1, int(hold / every) + 1)), hold - timedelta(seconds=1), late})
        for elapsed in points:
            ticks.step_to(clock, warm + elapsed)
            if elapsed % every == timedelta(0):
                for device, reading in ((plug, Reading(power_w=20.0)), (fridge, Reading(temperature_c=12.0)),
                                        (bed, Reading(occupied=True))):
                    report(device, reading)
                wait_until(stored, what="periodic reports stored")
            fired = raised("cold_storage", fridge.id)
            if fired and measured.fridge_alert_after is None:
                measured.fridge_alert_after = fired[0].raised_at - warm
                measured.fridge_early = elapsed < hold
        reporting = {plug.id, fridge.id, bed.id}
        measured.offline_alerts = len([a for a in alerts(live, site) if a.rule == "device_offline"
                                       and a.subject in reporting])

        # A real exit: empty for longer than the confirmation delay.
        left = clock()
        report(bed, Reading(occupied=False))
        wait_until(stored, what="bed stored")
        ticks.step_to(clock, left + confirm + MAX_CLOCK_AHEAD + timedelta(seconds=1))
        exits = raised("bed_exit_night", bed.location.bed or "")
        if exits:
            measured.bed_exit_after = exits[-1].last_raised_at - left
        all_alerts = alerts(live, site)

    print(f"\nedge clock {request.node.callspec.id} by {_signed(skew)}: stored `at` is the edge's "
          f"({_signed(measured.stored_at_skew)}); "
          f"fridge alert {measured.fridge_alert_after} after it went warm (hold {hold}); a turnover raised "
          f"{measured.turnover_alerts} bed exits; a real exit alerted {_signed(measured.bed_exit_after)} after it "
          f"(confirm {confirm}); device_offline alerts for reporting devices: {measured.offline_alerts}; "
          f"duplicate alerts {duplicate_alerts(all_alerts)}")
    assert measured.stored_at_skew is not None and abs(measured.stored_at_skew - skew) < timedelta(seconds=1)
    assert measured.fridge_alert_after is not None and not measured.fridge_early
    assert hold <= measured.fridge_alert_after <= hold + MAX_CLOCK_AHEAD + timedelta(seconds=1)
    assert measured.turnover_alerts == 0
    assert measured.bed_exit_after is not None
    assert confirm <= measured.bed_exit_after <= confirm + MAX_CLOCK_AHEAD + timedelta(seconds=1)
    assert measured.offline_alerts == 0
    assert duplicate_alerts(all_alerts) == 0



def _signed(value: timedelta | None) -> str:
    """A duration with its sign in front, as people write it (-0:10:00, not -1 day, 23:50:00)."""
    if value is None:
        return "none"
    return f"-{-value}" if value < timedelta(0) else f"+{value}"
