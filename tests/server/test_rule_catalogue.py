"""The rule catalogue: for every rule in `ALL`, the alerts that must come and exactly when, and the sequences that must
not alert, as tables of scripted observations run through the `RuleEngine` on an injected clock.

How a case is checked: the script's observations are replayed in time order; the clock also wakes at every pending
timer (as the server's pipeline does), one second before and at every expected alert or clear, and at the end of the
case. Every action is recorded with the clock time it came out at, and the rule's raises (and, where the case says so,
its clears) must equal the expected list exactly: so an alert one second early shows at the earlier tick, a late one
is missing at the due second, a duplicate is an extra entry, and a case that must stay quiet has an empty list.

Times: `local(day, ...)` is wall time at the reference site (Asia/Shanghai) in November 2026, 27th a Friday. DST cases
run on copies of the reference site in Europe/Berlin (2026: spring forward 29 March 02:00 CET -> 03:00 CEST, fall back
25 October 03:00 CEST -> 02:00 CET) and America/New_York (8 March 02:00 EST -> 03:00 EDT, 1 November 02:00 EDT ->
01:00 EST); their instants are written as `wall(...)` with the UTC instant in a comment.
"""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import cycle
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devices.facility import Facility, Site
from devices.kinds import Severity
from devices.loader import load_facility
from devices.messages import Reading
from server.rules import ALL, BY_NAME
from server.rules.base import Clear, Obs, Raise
from server.rules.engine import Fired, RuleEngine
from tests.conftest import FACILITY_FILE

SHANGHAI = ZoneInfo("Asia/Shanghai")
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)

CRITICAL, HIGH, MEDIUM, LOW = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A wall-clock time at the reference site (Asia/Shanghai, November 2026), as an aware UTC instant."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


def wall(zone: str, month: int, day: int, hour: int, minute: int = 0, second: int = 0, fold: int = 0) -> datetime:
    """A wall-clock time in `zone` in 2026 (fold=1: the second pass of a repeated hour), as an aware UTC instant."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def utc(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An instant of 2026 written in UTC."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


BER, NY = "Europe/Berlin", "America/New_York"


# --- facilities -------------------------------------------------------------------------------------------------------

@cache
def reference() -> Facility:
    """The reference facility as shipped."""
    return load_facility(FACILITY_FILE)


def derive(*, timezone: str | None = None, thresholds: dict[str, Any] | None = None,
           schedules: dict[str, Any] | None = None, devices: Iterable[dict[str, Any]] = (),
           watches: Iterable[dict[str, Any]] = ()) -> Facility:
    """A copy of the reference facility with its site changed, validated like a facility file.

    (Not `model_copy(update=...)`: a copied Site keeps the cached `zone` of the original.)"""
    data = reference().model_dump(by_alias=True)
    site = data["sites"][0]
    if timezone is not None:
        site["timezone"] = timezone
    site["thresholds"] = {**site["thresholds"], **(thresholds or {})}
    site["schedules"] = {**site["schedules"], **(schedules or {})}
    site["devices"] = [*site["devices"], *devices]
    site["watches"] = [*site["watches"], *watches]
    return Facility.model_validate(data)


@cache
def berlin() -> Facility:
    return derive(timezone=BER)


@cache
def new_york() -> Facility:
    return derive(timezone=NY)


@cache
def berlin_90m() -> Facility:
    """Berlin with out_of_bed_max 90m: long enough that wall-clock arithmetic across a DST change is an hour off."""
    return derive(timezone=BER, thresholds={"out_of_bed_max": "90m"})


@cache
def inner_doors() -> Facility:
    """Two door contacts that are no way out: a bedroom door, and the entrance's inner door marked `exit: false`."""
    return derive(devices=[
        {"id": "door-r101", "kind": "door_contact", "protocol": "zigbee2mqtt", "topic": "zigbee2mqtt/door-r101",
         "location": {"room": "r101"}},
        {"id": "door-entrance-inner", "kind": "door_contact", "protocol": "zigbee2mqtt",
         "topic": "zigbee2mqtt/door-entrance-inner", "location": {"room": "entrance"}, "exit": False},
    ])


@cache
def kitchen_all_day() -> Facility:
    """Kitchen hours of all day: there is no after-hours."""
    return derive(schedules={"kitchen_hours": {"start": "00:00", "end": "00:00"}})


@cache
def daytime_watch() -> Facility:
    """A watch with a schedule: bathroom humidity above 70 % for 10 min, only 08:00-18:00."""
    return derive(watches=[{"id": "day-humidity", "name": {"zh-CN": "白天湿度", "en": "Daytime humidity"},
                            "field": "humidity_pct", "devices": ["temp-bath-n"],
                            "limits": {"max": 70, "margin": 5, "for": "10m"},
                            "window": {"start": "08:00", "end": "18:00"}, "severity": "medium"}])


# --- scripts and cases ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class See:
    """An observation of a device."""

    device: str
    at: datetime
    fields: dict[str, Any]


def see(device: str, at: datetime, **fields: Any) -> See:
    return See(device, at, fields)


def series(device: str, start: datetime, step: timedelta, field_name: str, values: Iterable[Any]) -> list[See]:
    """Periodic readings of one field: `values` in turn, every `step` from `start`."""
    return [See(device, start + i * step, {field_name: v}) for i, v in enumerate(values)]


def alternate(a: Any, b: Any, count: int) -> list[Any]:
    """a, b, a, b, ... `count` values."""
    source = cycle((a, b))
    return [next(source) for _ in range(count)]


@dataclass(frozen=True)
class Alert:
    """A Raise that must come out at exactly `at`."""

    at: datetime
    subject: str
    severity: Severity
    room: str | None
    details: dict[str, Any] = field(default_factory=dict)  # a subset of the Raise's details


@dataclass(frozen=True)
class Cleared:
    """A Clear that must come out at exactly `at`."""

    at: datetime
    subject: str


@dataclass(frozen=True)
class Case:
    """A scripted sequence and what one rule must make of it, up to `until`."""

    id: str
    rule: str
    script: tuple[See, ...]
    until: datetime
    alerts: tuple[Alert, ...] = ()
    clears: tuple[Cleared, ...] | None = None  # None: not checked (bed rules clear on every return to bed)
    facility: Callable[[], Facility] = reference


def case(id: str, rule: str, script: Iterable[See | Iterable[See]], until: datetime, *alerts: Alert,
         clears: Iterable[Cleared] | None = None, facility: Callable[[], Facility] = reference) -> Case:
    """A case; the script may mix observations and lists of them."""
    flat: list[See] = []
    for item in script:
        flat.extend([item] if isinstance(item, See) else item)
    return Case(id, rule, tuple(flat), until, tuple(alerts), tuple(clears) if clears is not None else None, facility)


@dataclass
class Clock:
    """The rule engine on an injected clock, recording each action with the time it came out."""

    facility: Facility
    engine: RuleEngine = field(init=False)
    log: list[tuple[datetime, Fired]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.engine = RuleEngine(self.facility, ALL)

    @property
    def site(self) -> Site:
        return self.facility.sites[0]

    def see(self, device: str, at: datetime, **fields: Any) -> None:
        """Timers due by `at` fire first, then the observation, as in the server."""
        self.tick(at)
        obs = Obs(self.site, self.site.device_by_id[device], at, Reading.model_validate(fields))
        self.log += [(at, f) for f in self.engine.observe(obs)]

    def tick(self, now: datetime) -> None:
        """The clock runs to `now`, waking at every timer on the way as the server's pipeline does."""
        while (due := self.engine.next_due()) is not None and due < now:
            self.log += [(due, f) for f in self.engine.fire_due(due)]
        self.log += [(now, f) for f in self.engine.fire_due(now)]

    def raises(self, rule: str) -> list[tuple[datetime, Raise]]:
        return [(t, f.action) for t, f in self.log if f.rule == rule and isinstance(f.action, Raise)]

    def clears(self, rule: str) -> list[tuple[datetime, Clear]]:
        return [(t, f.action) for t, f in self.log if f.rule == rule and isinstance(f.action, Clear)]


def replay(c: Case) -> Clock:
    """Run a case's script with a tick one second before and at every expected action, and at the end."""
    assert c.rule in BY_NAME, f"no rule {c.rule!r}: a quiet case for a misspelt rule proves nothing"
    assert all(s.at <= c.until for s in c.script), "the case must end after its last observation"
    expected = [a.at for a in c.alerts] + [x.at for x in c.clears or ()]
    ticks = sorted({t for at in expected for t in (at - SECOND, at)} | {c.until})
    events: list[tuple[datetime, int, See | None]] = [(t, 0, None) for t in ticks]
    events += [(s.at, 1, s) for s in c.script]
    clock = Clock(c.facility())
    for at, _, obs in sorted(events, key=lambda e: (e[0], e[1])):
        if obs is None:
            clock.tick(at)
        else:
            clock.see(obs.device, obs.at, **obs.fields)
    return clock


# The tables, rule by rule. Bed devices: b101-1 cp-01 (fall), b101-2 cp-02 (wake until 10:00), b102-1 cp-03 (no
# risks), b102-2 cp-04 (confirm 5 s), b103-1 cp-05 (native mat; out of bed 30 min; heart rate 50-110),
# b103-2 cp-06 (turning q2h, not_up_alert false), b104-1 cp-07.

BED_EXIT = [
    case("exit at night alerts after the 10 s confirmation", "bed_exit_night",
         [see("bed-b101-1", local(27, 23, 0), occupied=True), see("bed-b101-1", local(27, 23, 10), occupied=False)],
         local(27, 23, 30), Alert(local(27, 23, 10, 10), "b101-1", HIGH, "r101")),
    case("exit at 23:59:55 confirmed after midnight still alerts", "bed_exit_night",
         [see("bed-b101-1", local(27, 23, 0), occupied=True), see("bed-b101-1", local(27, 23, 59, 55), occupied=False)],
         local(28, 1, 0), Alert(local(28, 0, 0, 5), "b101-1", HIGH, "r101")),
    case("exit at 05:59:55 confirmed after the night still alerts", "bed_exit_night",
         [see("bed-b104-1", local(28, 5, 0), occupied=True), see("bed-b104-1", local(28, 5, 59, 55), occupied=False)],
         local(28, 7, 0), Alert(local(28, 6, 0, 5), "b104-1", HIGH, "r104")),
    case("cp-04's own 5 s confirmation", "bed_exit_night",
         [see("bed-b102-2", local(28, 1, 0), occupied=True), see("bed-b102-2", local(28, 2, 0), occupied=False)],
         local(28, 3, 0), Alert(local(28, 2, 0, 5), "b102-2", HIGH, "r102")),
    case("periodic empty reports keep the confirmation running", "bed_exit_night",
         [see("bed-b101-2", local(27, 23, 0), occupied=True), see("bed-b101-2", local(27, 23, 10), occupied=False),
          see("bed-b101-2", local(27, 23, 10, 5), occupied=False, battery_pct=80)],
         local(27, 23, 40), Alert(local(27, 23, 10, 10), "b101-2", HIGH, "r101")),
    case("return to bed clears the exit alert", "bed_exit_night",
         [see("bed-b101-1", local(27, 23, 0), occupied=True), see("bed-b101-1", local(27, 23, 10), occupied=False),
          see("bed-b101-1", local(27, 23, 20), occupied=True)],
         local(27, 23, 30), Alert(local(27, 23, 10, 10), "b101-1", HIGH, "r101"),
         clears=[Cleared(local(27, 23, 20), "b101-1")]),
    case("turning over: a 4 s empty blip is not an exit", "bed_exit_night",
         [see("bed-b101-1", local(27, 23, 0), occupied=True), see("bed-b101-1", local(27, 23, 5), occupied=False),
          see("bed-b101-1", local(27, 23, 5, 4), occupied=True)],
         local(27, 23, 30)),
    case("back after 9 s of the 10 s confirmation is not an exit", "bed_exit_night",
         [see("bed-b101-1", local(27, 23, 0), occupied=True), see("bed-b101-1", local(27, 23, 5), occupied=False),
          see("bed-b101-1", local(27, 23, 5, 9), occupied=True)],
         local(27, 23, 30)),
    case("getting up in the morning is not a night exit", "bed_exit_night",
         [see("bed-b101-1", local(28, 5, 50), occupied=True), see("bed-b101-1", local(28, 6, 0), occupied=False)],
         local(28, 8, 0)),
    case("up at 21:59:55 and still up at night is not a night exit", "bed_exit_night",
         [see("bed-b101-1", local(27, 21, 0), occupied=True), see("bed-b101-1", local(27, 21, 59, 55), occupied=False),
          see("bed-b101-1", local(27, 22, 30), occupied=False)],
         local(27, 23, 30)),
    case("cp-03 (no risks) is not watched", "bed_exit_night",
         [see("bed-b102-1", local(27, 23, 0), occupied=True), see("bed-b102-1", local(27, 23, 10), occupied=False)],
         local(27, 23, 30)),
    case("cp-06 (pressure injury only) is not watched", "bed_exit_night",
         [see("bed-b103-2", local(27, 23, 0), occupied=True), see("bed-b103-2", local(27, 23, 10), occupied=False)],
         local(27, 23, 30)),
    case("the first report of an empty bed is not an exit", "bed_exit_night",
         [see("bed-b101-1", local(27, 23, 10), occupied=False)], local(27, 23, 30)),
    case("a second exit the same night alerts again", "bed_exit_night",
         [see("bed-b101-1", local(27, 23, 0), occupied=True), see("bed-b101-1", local(27, 23, 10), occupied=False),
          see("bed-b101-1", local(27, 23, 20), occupied=True), see("bed-b101-1", local(28, 2, 0), occupied=False)],
         local(28, 3, 0), Alert(local(27, 23, 10, 10), "b101-1", HIGH, "r101"),
         Alert(local(28, 2, 0, 10), "b101-1", HIGH, "r101")),
    case("ignores a bathroom presence sensor emptying at night", "bed_exit_night",
         [see("presence-bath-n", local(27, 23, 0), occupied=True),
          see("presence-bath-n", local(27, 23, 10), occupied=False)],
         local(27, 23, 30)),
]

OUT_OF_BED = [
    case("out of bed 45 min at night", "out_of_bed_too_long",
         [see("bed-b102-1", local(27, 23, 0), occupied=True), see("bed-b102-1", local(27, 23, 10), occupied=False)],
         local(28, 1, 0), Alert(local(27, 23, 55), "b102-1", HIGH, "r102", {"limit_s": 2700.0})),
    case("counted across midnight", "out_of_bed_too_long",
         [see("bed-b102-1", local(27, 23, 0), occupied=True), see("bed-b102-1", local(27, 23, 30), occupied=False)],
         local(28, 2, 0), Alert(local(28, 0, 15), "b102-1", HIGH, "r102")),
    case("periodic empty reports do not restart the count", "out_of_bed_too_long",
         [see("bed-b102-1", local(27, 23, 0), occupied=True), see("bed-b102-1", local(27, 23, 10), occupied=False),
          see("bed-b102-1", local(27, 23, 30), occupied=False), see("bed-b102-1", local(27, 23, 50), occupied=False)],
         local(28, 1, 0), Alert(local(27, 23, 55), "b102-1", HIGH, "r102")),
    case("up at 21:30 counts from 22:00", "out_of_bed_too_long",
         [see("bed-b102-1", local(27, 21, 0), occupied=True), see("bed-b102-1", local(27, 21, 30), occupied=False)],
         local(27, 23, 30), Alert(local(27, 22, 45), "b102-1", HIGH, "r102")),
    case("cp-05's own 30 min", "out_of_bed_too_long",
         [see("bed-b103-1", local(27, 23, 0), occupied=True), see("bed-b103-1", local(27, 23, 10), occupied=False)],
         local(28, 1, 0), Alert(local(27, 23, 40), "b103-1", HIGH, "r103", {"limit_s": 1800.0})),
    case("back in bed clears", "out_of_bed_too_long",
         [see("bed-b102-1", local(27, 23, 0), occupied=True), see("bed-b102-1", local(27, 23, 10), occupied=False),
          see("bed-b102-1", local(28, 0, 10), occupied=True)],
         local(28, 1, 0), Alert(local(27, 23, 55), "b102-1", HIGH, "r102"),
         clears=[Cleared(local(28, 0, 10), "b102-1")]),
    case("back in bed at 44:59 does not alert", "out_of_bed_too_long",
         [see("bed-b102-1", local(27, 23, 0), occupied=True), see("bed-b102-1", local(27, 23, 10), occupied=False),
          see("bed-b102-1", local(27, 23, 54, 59), occupied=True)],
         local(28, 2, 0)),
    case("up at 05:40 and still up after the night is a morning", "out_of_bed_too_long",
         [see("bed-b102-1", local(28, 5, 0), occupied=True), see("bed-b102-1", local(28, 5, 40), occupied=False)],
         local(28, 12, 0)),
    case("ignores a bathroom presence sensor empty all night", "out_of_bed_too_long",
         [see("presence-bath-n", local(27, 22, 0), occupied=True),
          see("presence-bath-n", local(27, 22, 10), occupied=False)],
         local(28, 5, 0)),
    # DST: 45 real minutes, not 45 minutes of wall clock.
    case("Berlin fall-back: left 02:40 CEST, alert 02:25 CET", "out_of_bed_too_long",
         [see("bed-b102-1", wall(BER, 10, 24, 23, 0), occupied=True),
          see("bed-b102-1", wall(BER, 10, 25, 2, 40), occupied=False)],  # 00:40 UTC
         wall(BER, 10, 25, 5, 0), Alert(wall(BER, 10, 25, 2, 25, fold=1), "b102-1", HIGH, "r102"),  # 01:25 UTC
         facility=berlin),
    case("Berlin spring-forward: left 01:40 CET, alert 03:25 CEST", "out_of_bed_too_long",
         [see("bed-b102-1", wall(BER, 3, 28, 23, 0), occupied=True),
          see("bed-b102-1", wall(BER, 3, 29, 1, 40), occupied=False)],  # 00:40 UTC
         wall(BER, 3, 29, 5, 0), Alert(wall(BER, 3, 29, 3, 25), "b102-1", HIGH, "r102"),  # 01:25 UTC
         facility=berlin),
    case("Berlin fall-back, 90 min: left 01:30 CEST, alert 02:00 CET", "out_of_bed_too_long",
         [see("bed-b102-1", wall(BER, 10, 24, 23, 0), occupied=True),
          see("bed-b102-1", wall(BER, 10, 25, 1, 30), occupied=False)],  # 23:30 UTC on the 24th
         wall(BER, 10, 25, 5, 0), Alert(wall(BER, 10, 25, 2, 0, fold=1), "b102-1", HIGH, "r102"),  # 01:00 UTC
         facility=berlin_90m),
    case("Berlin spring-forward, 90 min: left 01:30 CET, alert 04:00 CEST", "out_of_bed_too_long",
         [see("bed-b102-1", wall(BER, 3, 28, 23, 0), occupied=True),
          see("bed-b102-1", wall(BER, 3, 29, 1, 30), occupied=False)],  # 00:30 UTC
         wall(BER, 3, 29, 5, 30), Alert(wall(BER, 3, 29, 4, 0), "b102-1", HIGH, "r102"),  # 02:00 UTC
         facility=berlin_90m),
    case("New York fall-back: left 01:40 EDT, alert 01:25 EST", "out_of_bed_too_long",
         [see("bed-b102-1", wall(NY, 10, 31, 23, 0), occupied=True),
          see("bed-b102-1", wall(NY, 11, 1, 1, 40), occupied=False)],  # 05:40 UTC
         wall(NY, 11, 1, 5, 0), Alert(wall(NY, 11, 1, 1, 25, fold=1), "b102-1", HIGH, "r102"),  # 06:25 UTC
         facility=new_york),
    case("New York spring-forward: left 01:40 EST, alert 03:25 EDT", "out_of_bed_too_long",
         [see("bed-b102-1", wall(NY, 3, 7, 23, 0), occupied=True),
          see("bed-b102-1", wall(NY, 3, 8, 1, 40), occupied=False)],  # 06:40 UTC
         wall(NY, 3, 8, 5, 0), Alert(wall(NY, 3, 8, 3, 25), "b102-1", HIGH, "r102"),  # 07:25 UTC
         facility=new_york),
    case("Berlin fall-back day: up at 21:30 CET counts from 22:00 CET", "out_of_bed_too_long",
         [see("bed-b102-1", wall(BER, 10, 25, 12, 0), occupied=True),
          see("bed-b102-1", wall(BER, 10, 25, 21, 30), occupied=False)],
         wall(BER, 10, 26, 1, 0), Alert(wall(BER, 10, 25, 22, 45), "b102-1", HIGH, "r102"),  # 21:45 UTC
         facility=berlin),
]

BATHROOM = [
    case("15 min in the bathroom at night", "bathroom_too_long",
         [see("presence-bath-n", local(27, 23, 0), occupied=True)],
         local(28, 1, 0), Alert(local(27, 23, 15), "bath-n", HIGH, "bath-n", {"limit_s": 900.0})),
    case("across midnight", "bathroom_too_long",
         [see("presence-bath-s", local(27, 23, 50), occupied=True),
          see("presence-bath-s", local(28, 0, 0), occupied=True)],
         local(28, 1, 0), Alert(local(28, 0, 5), "bath-s", HIGH, "bath-s")),
    case("in at 21:50 by day, still there at night: 15 min from 22:00", "bathroom_too_long",
         [see("presence-bath-n", local(27, 21, 50), occupied=True)],
         local(27, 23, 0), Alert(local(27, 22, 15), "bath-n", HIGH, "bath-n")),
    case("leaving clears", "bathroom_too_long",
         [see("presence-bath-n", local(27, 23, 0), occupied=True),
          see("presence-bath-n", local(27, 23, 20), occupied=False)],
         local(27, 23, 30), Alert(local(27, 23, 15), "bath-n", HIGH, "bath-n"),
         clears=[Cleared(local(27, 23, 20), "bath-n")]),
    case("by day: 40 min in the bathroom does not alert", "bathroom_too_long",
         [see("presence-bath-n", local(27, 10, 0), occupied=True),
          see("presence-bath-n", local(27, 10, 40), occupied=False)],
         local(27, 21, 0)),
    case("in at 05:50, still there when the night ends at 06:00", "bathroom_too_long",
         [see("presence-bath-n", local(28, 5, 50), occupied=True)], local(28, 21, 0)),
    case("at night, out after 14:59", "bathroom_too_long",
         [see("presence-bath-n", local(27, 23, 0), occupied=True),
          see("presence-bath-n", local(27, 23, 14, 59), occupied=False)],
         local(28, 1, 0)),
    case("ignores the kitchen's presence sensor", "bathroom_too_long",
         [see("presence-kitchen", local(27, 23, 0), occupied=True)], local(28, 1, 0)),
    case("ignores a bed sensor", "bathroom_too_long",
         [see("bed-b101-1", local(27, 23, 0), occupied=True)], local(28, 1, 0)),
]

NOT_UP = [
    case("still in bed at 09:30", "not_up",
         [see("bed-b101-1", local(27, 22, 0), occupied=True)],
         local(28, 11, 0), Alert(local(28, 9, 30), "b101-1", MEDIUM, "r101", {"wake_by": "09:30"})),
    case("cp-02's own window ends at 10:00", "not_up",
         [see("bed-b101-2", local(27, 22, 0), occupied=True)],
         local(28, 11, 0), Alert(local(28, 10, 0), "b101-2", MEDIUM, "r101", {"wake_by": "10:00"})),
    case("getting up clears", "not_up",
         [see("bed-b104-1", local(27, 22, 0), occupied=True), see("bed-b104-1", local(28, 9, 45), occupied=False)],
         local(28, 11, 0), Alert(local(28, 9, 30), "b104-1", MEDIUM, "r104"),
         clears=[Cleared(local(28, 9, 45), "b104-1")]),
    case("turning over at 09:00 is not getting up", "not_up",
         [see("bed-b101-1", local(27, 22, 0), occupied=True), see("bed-b101-1", local(28, 9, 0), occupied=False),
          see("bed-b101-1", local(28, 9, 0, 4), occupied=True)],
         local(28, 11, 0), Alert(local(28, 9, 30), "b101-1", MEDIUM, "r101")),
    case("up at 07:00 before the window ends", "not_up",
         [see("bed-b101-1", local(27, 22, 0), occupied=True), see("bed-b101-1", local(28, 7, 0), occupied=False)],
         local(28, 12, 0)),
    case("up at 09:29:59", "not_up",
         [see("bed-b101-1", local(27, 22, 0), occupied=True), see("bed-b101-1", local(28, 9, 29, 59), occupied=False)],
         local(28, 12, 0)),
    case("cp-02 up at 09:45, inside its own window", "not_up",
         [see("bed-b101-2", local(27, 22, 0), occupied=True), see("bed-b101-2", local(28, 9, 45), occupied=False)],
         local(28, 12, 0)),
    case("up at 06:30, back to bed for a nap at 09:00: no alert", "not_up",
         [see("bed-b101-1", local(27, 22, 0), occupied=True), see("bed-b101-1", local(28, 6, 30), occupied=False),
          see("bed-b101-1", local(28, 9, 0), occupied=True)],
         local(28, 12, 0)),
    case("up at 05:00 and back at 05:20, before the window: still an alert", "not_up",
         [see("bed-b101-1", local(27, 22, 0), occupied=True), see("bed-b101-1", local(28, 5, 0), occupied=False),
          see("bed-b101-1", local(28, 5, 20), occupied=True)],
         local(28, 11, 0), Alert(local(28, 9, 30), "b101-1", MEDIUM, "r101")),
    case("in bed for two days: an alert each morning", "not_up",
         [see("bed-b104-1", local(27, 22, 0), occupied=True)],
         local(29, 11, 0), Alert(local(28, 9, 30), "b104-1", MEDIUM, "r104"),
         Alert(local(29, 9, 30), "b104-1", MEDIUM, "r104")),
    case("not_up_alert false (cp-06)", "not_up",
         [see("bed-b103-2", local(27, 22, 0), occupied=True)], local(28, 12, 0)),
    case("ignores a presence sensor", "not_up",
         [see("presence-bath-n", local(28, 9, 0), occupied=True)], local(28, 12, 0)),
    case("Berlin fall-back day: 09:30 CET", "not_up",
         [see("bed-b101-1", wall(BER, 10, 24, 22, 0), occupied=True)],  # CEST
         wall(BER, 10, 25, 12, 0), Alert(wall(BER, 10, 25, 9, 30), "b101-1", MEDIUM, "r101"),  # 08:30 UTC
         facility=berlin),
    case("Berlin spring-forward day: 09:30 CEST", "not_up",
         [see("bed-b101-1", wall(BER, 3, 28, 22, 0), occupied=True)],  # CET
         wall(BER, 3, 29, 12, 0), Alert(wall(BER, 3, 29, 9, 30), "b101-1", MEDIUM, "r101"),  # 07:30 UTC
         facility=berlin),
    case("New York spring-forward day: cp-02 10:00 EDT", "not_up",
         [see("bed-b101-2", wall(NY, 3, 7, 22, 0), occupied=True)],  # EST
         wall(NY, 3, 8, 12, 0), Alert(wall(NY, 3, 8, 10, 0), "b101-2", MEDIUM, "r101"),  # 14:00 UTC
         facility=new_york),
    case("New York fall-back day: 09:30 EST", "not_up",
         [see("bed-b101-1", wall(NY, 10, 31, 22, 0), occupied=True)],  # EDT
         wall(NY, 11, 1, 12, 0), Alert(wall(NY, 11, 1, 9, 30), "b101-1", MEDIUM, "r101"),  # 14:30 UTC
         facility=new_york),
]

TURNING = [  # b103-2, cp-06, q2h
    case("a turn logged for an empty bed does not start the clock", "repositioning_due",
         [see("bed-b103-2", local(27, 22, 0), occupied=False),
          see("bed-b103-2", local(27, 22, 5), movement=True, action="staff:alice")],
         local(28, 3, 0)),
    case("in bed 2 h without a turn", "repositioning_due",
         [see("bed-b103-2", local(27, 22, 0), occupied=True)],
         local(28, 1, 0), Alert(local(28, 0, 0), "b103-2", MEDIUM, "r103", {"interval_s": 7200.0})),
    case("reports without movement do not reset the clock", "repositioning_due",
         [see("bed-b103-2", local(27, 22, 0), occupied=True), see("bed-b103-2", local(27, 22, 30), occupied=True),
          see("bed-b103-2", local(27, 23, 30), occupied=True, movement=False)],
         local(28, 1, 0), Alert(local(28, 0, 0), "b103-2", MEDIUM, "r103")),
    case("movement resets the clock", "repositioning_due",
         [see("bed-b103-2", local(27, 22, 0), occupied=True), see("bed-b103-2", local(27, 23, 0), movement=True)],
         local(28, 1, 30), Alert(local(28, 1, 0), "b103-2", MEDIUM, "r103")),
    case("a turn logged on the screen clears and restarts", "repositioning_due",
         [see("bed-b103-2", local(27, 22, 0), occupied=True),
          see("bed-b103-2", local(28, 0, 30), movement=True, action="staff:alice")],
         local(28, 3, 0), Alert(local(28, 0, 0), "b103-2", MEDIUM, "r103"),
         Alert(local(28, 2, 30), "b103-2", MEDIUM, "r103"),
         clears=[Cleared(local(28, 0, 30), "b103-2")]),
    case("leaving bed clears; back in bed restarts", "repositioning_due",
         [see("bed-b103-2", local(27, 22, 0), occupied=True), see("bed-b103-2", local(28, 0, 20), occupied=False),
          see("bed-b103-2", local(28, 0, 25), occupied=True)],
         local(28, 3, 0), Alert(local(28, 0, 0), "b103-2", MEDIUM, "r103"),
         Alert(local(28, 2, 25), "b103-2", MEDIUM, "r103"),
         clears=[Cleared(local(28, 0, 20), "b103-2")]),
    case("turned every 90 min all night", "repositioning_due",
         [see("bed-b103-2", local(27, 22, 0), occupied=True),
          *[see("bed-b103-2", local(27, 22, 0) + i * timedelta(minutes=90), movement=True) for i in range(1, 6)]],
         local(28, 7, 0)),
    case("out of bed: the clock does not run", "repositioning_due",
         [see("bed-b103-2", local(27, 22, 0), occupied=True), see("bed-b103-2", local(27, 23, 0), occupied=False)],
         local(28, 6, 0)),
    case("ignores a bed without a turning protocol", "repositioning_due",
         [see("bed-b101-1", local(27, 22, 0), occupied=True)], local(28, 6, 0)),
]

VITALS = [
    case("heart rate above 120 for 180 s", "vital_signs",
         [see("bed-b101-1", local(28, 2, 0), occupied=True),
          series("bed-b101-1", local(28, 2, 0), timedelta(seconds=30), "heart_rate_bpm", [130] * 10)],
         local(28, 3, 0), Alert(local(28, 2, 3), "b101-1/hr", HIGH, "r101", {"max": 120.0, "peak": 130})),
    case("breathing rate above 28 for 180 s", "vital_signs",
         [see("bed-b101-1", local(28, 2, 0), occupied=True, respiration_rpm=32)],
         local(28, 3, 0), Alert(local(28, 2, 3), "b101-1/rr", HIGH, "r101")),
    case("cp-05's own maximum of 110", "vital_signs",
         [see("bed-b103-1", local(28, 2, 0), occupied=True, heart_rate_bpm=115)],
         local(28, 3, 0), Alert(local(28, 2, 3), "b103-1/hr", HIGH, "r103", {"min": 50.0, "max": 110.0})),
    case("cp-05's own minimum of 50", "vital_signs",
         [see("bed-b103-1", local(28, 2, 0), occupied=True, heart_rate_bpm=45)],
         local(28, 3, 0), Alert(local(28, 2, 3), "b103-1/hr", HIGH, "r103")),
    case("115 is within the site's limits (cp-01)", "vital_signs",
         [series("bed-b101-1", local(28, 2, 0), MINUTE, "heart_rate_bpm", [115] * 10)], local(28, 3, 0)),
    case("a 60 s spike does not alert", "vital_signs",
         [see("bed-b101-1", local(28, 2, 0), occupied=True, heart_rate_bpm=80),
          series("bed-b101-1", local(28, 2, 1), timedelta(seconds=30), "heart_rate_bpm", [140, 145, 80, 82])],
         local(28, 3, 0)),
    case("an empty bed forgets its vitals", "vital_signs",
         [see("bed-b101-1", local(28, 2, 0), occupied=True, heart_rate_bpm=130),
          see("bed-b101-1", local(28, 2, 1), occupied=False),
          see("bed-b101-1", local(28, 2, 2), occupied=True)],
         local(28, 3, 0)),
    case("hysteresis: 118 does not clear, 100 clears after 60 s", "vital_signs",
         [see("bed-b101-1", local(28, 2, 0), occupied=True, heart_rate_bpm=130),
          see("bed-b101-1", local(28, 2, 5), heart_rate_bpm=118),
          see("bed-b101-1", local(28, 2, 10), heart_rate_bpm=100)],
         local(28, 3, 0), Alert(local(28, 2, 3), "b101-1/hr", HIGH, "r101"),
         clears=[Cleared(local(28, 2, 11), "b101-1/hr")]),
    case("an empty bed ends the alarm after clear_for", "vital_signs",
         [see("bed-b101-1", local(28, 2, 0), occupied=True, heart_rate_bpm=130),
          see("bed-b101-1", local(28, 2, 5), occupied=False)],
         local(28, 3, 0), Alert(local(28, 2, 3), "b101-1/hr", HIGH, "r101"),
         clears=[Cleared(local(28, 2, 6), "b101-1/hr")]),
    case("ignores heart rates from a presence sensor", "vital_signs",
         [series("presence-bath-n", local(28, 2, 0), MINUTE, "heart_rate_bpm", [150] * 10)], local(28, 3, 0)),
]

SOS = [
    case("every press is critical at once", "sos",
         [see("sos-bath-n", local(28, 2, 0), pressed=True, action="emergency"),
          see("sos-bath-n", local(28, 2, 1), pressed=True)],
         local(28, 2, 5), Alert(local(28, 2, 0), "sos-bath-n", CRITICAL, "bath-n", {"action": "emergency"}),
         Alert(local(28, 2, 1), "sos-bath-n", CRITICAL, "bath-n")),
    case("a battery report is not a press", "sos",
         [see("sos-r101", local(28, 2, 0), battery_pct=80), see("sos-r101", local(28, 2, 1), pressed=False)],
         local(28, 3, 0)),
    case("ignores `pressed` from a door contact", "sos",
         [see("door-entrance", local(28, 2, 0), pressed=True)], local(28, 3, 0)),
]

EXIT_DOOR = [
    case("entrance opened at night", "exit_door_night",
         [see("door-entrance", local(27, 23, 0), open=False), see("door-entrance", local(27, 23, 30), open=True)],
         local(27, 23, 31), Alert(local(27, 23, 30), "door-entrance", HIGH, "entrance")),
    case("courtyard gate (exit zone) opened at 02:00", "exit_door_night",
         [see("door-courtyard", local(28, 2, 0), open=True)],
         local(28, 2, 1), Alert(local(28, 2, 0), "door-courtyard", HIGH, "courtyard")),
    case("opened at 05:59:59", "exit_door_night",
         [see("door-entrance", local(28, 5, 59, 59), open=True)],
         local(28, 6, 30), Alert(local(28, 5, 59, 59), "door-entrance", HIGH, "entrance")),
    case("closing clears; periodic `open` reports do not re-alert", "exit_door_night",
         [see("door-entrance", local(27, 23, 0), open=True), see("door-entrance", local(27, 23, 0, 30), open=True),
          see("door-entrance", local(27, 23, 1), open=False)],
         local(27, 23, 5), Alert(local(27, 23, 0), "door-entrance", HIGH, "entrance"),
         clears=[Cleared(local(27, 23, 1), "door-entrance")]),
    case("opened by day", "exit_door_night",
         [see("door-entrance", local(27, 10, 0), open=True), see("door-entrance", local(27, 10, 5), open=False)],
         local(27, 21, 0), clears=[]),
    case("opened at 06:00:00, when the night has ended", "exit_door_night",
         [see("door-entrance", local(28, 6, 0), open=True)], local(28, 7, 0)),
    case("opened at 21:59:59 and left open: an alert when the night begins", "exit_door_night",
         [see("door-entrance", local(27, 21, 59, 59), open=True), see("door-entrance", local(27, 22, 30), open=True)],
         local(27, 23, 0), Alert(local(27, 22, 0), "door-entrance", HIGH, "entrance")),
    case("opened at 21:50 and shut at 21:59: nothing", "exit_door_night",
         [see("door-entrance", local(27, 21, 50), open=True), see("door-entrance", local(27, 21, 59), open=False)],
         local(27, 23, 0)),
    case("ignores a bedroom door", "exit_door_night",
         [see("door-r101", local(27, 23, 0), open=True)], local(27, 23, 5), facility=inner_doors),
    case("ignores a door marked exit: false", "exit_door_night",
         [see("door-entrance-inner", local(27, 23, 0), open=True)], local(27, 23, 5), facility=inner_doors),
]

KITCHEN = [
    case("stove on, cook gone 10 min", "kitchen_unattended",
         [see("presence-kitchen", local(27, 10, 0), occupied=True),
          see("plug-induction", local(27, 10, 2), on=True, power_w=1800),
          see("presence-kitchen", local(27, 10, 5), occupied=False)],
         local(27, 10, 30), Alert(local(27, 10, 15), "plug-induction", HIGH, "kitchen", {"power_w": 1800})),
    case("switched on with nobody there", "kitchen_unattended",
         [see("presence-kitchen", local(27, 10, 0), occupied=False),
          see("plug-rice-cooker", local(27, 10, 1), power_w=1200)],
         local(27, 10, 30), Alert(local(27, 10, 11), "plug-rice-cooker", HIGH, "kitchen")),
    case("the cook's return clears", "kitchen_unattended",
         [see("presence-kitchen", local(27, 10, 0), occupied=False),
          see("plug-rice-cooker", local(27, 10, 1), power_w=1200),
          see("presence-kitchen", local(27, 10, 20), occupied=True)],
         local(27, 10, 30), Alert(local(27, 10, 11), "plug-rice-cooker", HIGH, "kitchen"),
         clears=[Cleared(local(27, 10, 20), "plug-rice-cooker")]),
    case("the cook steps out for 7 min", "kitchen_unattended",
         [see("presence-kitchen", local(27, 10, 0), occupied=True),
          see("plug-induction", local(27, 10, 2), power_w=1800),
          see("presence-kitchen", local(27, 10, 5), occupied=False),
          see("presence-kitchen", local(27, 10, 12), occupied=True),
          see("plug-induction", local(27, 10, 40), power_w=0)],
         local(27, 11, 0)),
    case("standby power is not cooking", "kitchen_unattended",
         [see("presence-kitchen", local(27, 14, 0), occupied=False),
          see("plug-rice-cooker", local(27, 14, 1), on=True, power_w=4.5)],
         local(27, 15, 0)),
    case("without a presence reading it stays silent", "kitchen_unattended",
         [see("plug-induction", local(27, 10, 1), power_w=2000)], local(27, 11, 0)),
    case("ignores the boiler", "kitchen_unattended",
         [see("presence-kitchen", local(27, 10, 0), occupied=False),
          see("plug-boiler", local(27, 10, 1), power_w=2900)],
         local(27, 11, 0)),
]

AFTER_HOURS = [
    case("left on at 19:29: alert at 19:31 without a new reading", "appliance_after_hours",
         [see("plug-induction", local(27, 19, 29), power_w=1800)],
         local(27, 20, 0), Alert(local(27, 19, 31), "plug-induction", HIGH, "kitchen")),
    case("switched on at 23:00", "appliance_after_hours",
         [see("plug-rice-cooker", local(27, 23, 0), power_w=1200)],
         local(27, 23, 30), Alert(local(27, 23, 1), "plug-rice-cooker", HIGH, "kitchen")),
    case("on at 05:00: alert at 05:01, cleared when the kitchen opens", "appliance_after_hours",
         [see("plug-induction", local(28, 5, 0), power_w=1800)],
         local(28, 6, 0), Alert(local(28, 5, 1), "plug-induction", HIGH, "kitchen"),
         clears=[Cleared(local(28, 5, 30), "plug-induction")]),
    case("cooking within kitchen hours", "appliance_after_hours",
         [see("plug-induction", local(27, 6, 0), power_w=1800), see("plug-induction", local(27, 19, 0), power_w=0)],
         local(27, 23, 0)),
    case("off at 19:30:59, before after_hours_for", "appliance_after_hours",
         [see("plug-induction", local(27, 19, 29), power_w=1800),
          see("plug-induction", local(27, 19, 30, 59), power_w=0)],
         local(27, 23, 0)),
    case("on at 05:29:30, half a minute before the kitchen opens", "appliance_after_hours",
         [see("plug-induction", local(28, 5, 29, 30), power_w=1800)], local(28, 8, 0)),
    case("standby power at night", "appliance_after_hours",
         [see("plug-rice-cooker", local(27, 23, 0), power_w=4.5)], local(28, 3, 0)),
    case("ignores the boiler at night", "appliance_after_hours",
         [see("plug-boiler", local(27, 23, 0), power_w=2900)], local(28, 3, 0)),
    case("kitchen hours all day: no after-hours", "appliance_after_hours",
         [see("plug-induction", local(27, 23, 0), power_w=1800)], local(28, 3, 0), facility=kitchen_all_day),
]

OVERLOAD = [
    case("4000 W on a 3500 W cooker (maximum 3850 W) for 30 s", "appliance_overload",
         [see("plug-induction", local(27, 12, 0), power_w=4000)],
         local(27, 12, 5), Alert(local(27, 12, 0, 30), "plug-induction", HIGH, "kitchen",
                                 {"rated_w": 3500.0, "max_w": 3850.0})),
    case("hysteresis: 2150 W on a 2200 W maximum does not clear, 2080 W clears", "appliance_overload",
         [see("plug-rice-cooker", local(27, 12, 0), power_w=2300),
          see("plug-rice-cooker", local(27, 12, 1), power_w=2150),
          see("plug-rice-cooker", local(27, 12, 2), power_w=2250),
          see("plug-rice-cooker", local(27, 12, 3), power_w=2080)],
         local(27, 12, 10), Alert(local(27, 12, 0, 30), "plug-rice-cooker", HIGH, "kitchen"),
         clears=[Cleared(local(27, 12, 3), "plug-rice-cooker")]),
    case("at or under the maximum never", "appliance_overload",
         [series("plug-induction", local(27, 12, 0), MINUTE, "power_w", [3800, 3850] * 30)], local(27, 13, 0)),
    case("a boiler heating at 3200 W on a 3000 W rating (high mains) is no overload", "appliance_overload",
         [series("plug-boiler", local(27, 12, 0), MINUTE, "power_w", [3200, 3250] * 30)], local(27, 13, 0)),
    case("a 20 s surge", "appliance_overload",
         [see("plug-induction", local(27, 12, 0), power_w=4000), see("plug-induction", local(27, 12, 0, 20),
                                                                   power_w=3000)],
         local(27, 13, 0)),
    case("ignores power from a presence sensor", "appliance_overload",
         [see("presence-kitchen", local(27, 12, 0), power_w=5000)], local(27, 13, 0)),
]

COLD = [
    case("fridge above 8 °C for 15 min", "cold_storage",
         [see("temp-raw-cabinet", local(27, 9, 0), temperature_c=4.0),
          see("temp-raw-cabinet", local(27, 9, 5), temperature_c=9.5),
          see("temp-raw-cabinet", local(27, 9, 12), temperature_c=11.0)],
         local(27, 10, 0), Alert(local(27, 9, 20), "temp-raw-cabinet", HIGH, "kitchen",
                                 {"peak": 11.0, "max": 8.0, "value": 11.0})),
    case("fridge below 0 °C", "cold_storage",
         [see("temp-cooked-cabinet", local(27, 9, 0), temperature_c=-1.0)],
         local(27, 10, 0), Alert(local(27, 9, 15), "temp-cooked-cabinet", HIGH, "kitchen")),
    case("freezer above -12 °C for 30 min", "cold_storage",
         [see("temp-freezer", local(27, 9, 0), temperature_c=-18.0),
          see("temp-freezer", local(27, 9, 1), temperature_c=-10.0)],
         local(27, 10, 0), Alert(local(27, 9, 31), "temp-freezer", HIGH, "kitchen")),
    case("7.9/8.1 every minute for an hour: one alert", "cold_storage",
         [series("temp-raw-cabinet", local(27, 9, 0), MINUTE, "temperature_c", alternate(8.1, 7.9, 60))],
         local(27, 10, 0), Alert(local(27, 9, 15), "temp-raw-cabinet", HIGH, "kitchen"), clears=[]),
    case("back in range clears after 2 min", "cold_storage",
         [see("temp-raw-cabinet", local(27, 9, 0), temperature_c=12.0),
          see("temp-raw-cabinet", local(27, 9, 40), temperature_c=5.0)],
         local(27, 10, 0), Alert(local(27, 9, 15), "temp-raw-cabinet", HIGH, "kitchen"),
         clears=[Cleared(local(27, 9, 42), "temp-raw-cabinet")]),
    case("door open for 2 minutes", "cold_storage",
         [see("temp-cooked-cabinet", local(27, 9, 0), temperature_c=4.0),
          see("temp-cooked-cabinet", local(27, 9, 5), temperature_c=10.0),
          see("temp-cooked-cabinet", local(27, 9, 6), temperature_c=10.5),
          see("temp-cooked-cabinet", local(27, 9, 7), temperature_c=6.0)],
         local(27, 11, 0)),
    case("back in range at 14:59", "cold_storage",
         [see("temp-raw-cabinet", local(27, 9, 0), temperature_c=9.0),
          see("temp-raw-cabinet", local(27, 9, 14, 59), temperature_c=7.4)],
         local(27, 11, 0)),
    case("ignores the medicine fridge (role other)", "cold_storage",
         [see("temp-med-fridge", local(27, 9, 0), temperature_c=12.0)], local(27, 11, 0)),
    case("ignores a room sensor", "cold_storage",
         [see("temp-r101", local(27, 9, 0), temperature_c=-1.0)], local(27, 11, 0)),
]

LEAK = [
    case("leak at once, one alert, dry clears", "water_leak",
         [see("leak-boiler", local(27, 3, 0), leak=False), see("leak-boiler", local(27, 3, 1), leak=True),
          see("leak-boiler", local(27, 3, 2), leak=True), see("leak-boiler", local(27, 3, 9), leak=False)],
         local(27, 4, 0), Alert(local(27, 3, 1), "leak-boiler", CRITICAL, "kitchen"),
         clears=[Cleared(local(27, 3, 9), "leak-boiler")]),
    case("dry reports", "water_leak",
         [series("leak-bath-s", local(27, 3, 0), timedelta(hours=1), "leak", [False] * 5)], local(27, 9, 0),
         clears=[]),
    case("ignores `leak` from a presence sensor", "water_leak",
         [see("presence-bath-s", local(27, 3, 0), leak=True)], local(27, 4, 0)),
]

SMOKE = [
    case("smoke at once, one alert, clear clears", "smoke",
         [see("smoke-kitchen", local(27, 12, 0), smoke=True), see("smoke-kitchen", local(27, 12, 1), smoke=True),
          see("smoke-kitchen", local(27, 12, 5), smoke=False)],
         local(27, 13, 0), Alert(local(27, 12, 0), "smoke-kitchen", CRITICAL, "kitchen"),
         clears=[Cleared(local(27, 12, 5), "smoke-kitchen")]),
    case("no smoke", "smoke",
         [see("smoke-corridor", local(27, 12, 0), smoke=False, battery_pct=90)], local(27, 13, 0), clears=[]),
    case("ignores `smoke` from a leak sensor", "smoke",
         [see("leak-bath-s", local(27, 12, 0), smoke=True)], local(27, 13, 0)),
]

BOILER = [
    case("40 % of rated for 2 min", "boiler_abnormal",
         [see("plug-boiler", local(27, 10, 0), power_w=5.0), see("plug-boiler", local(27, 10, 1), power_w=1200)],
         local(27, 10, 30), Alert(local(27, 10, 3), "plug-boiler", HIGH, "kitchen",
                                  {"normal_w": [pytest.approx([0, 15]), pytest.approx([2400, 3300])], "value": 1200})),
    case("back to heating clears", "boiler_abnormal",
         [see("plug-boiler", local(27, 10, 0), power_w=1200), see("plug-boiler", local(27, 10, 5), power_w=2900)],
         local(27, 10, 30), Alert(local(27, 10, 2), "plug-boiler", HIGH, "kitchen"),
         clears=[Cleared(local(27, 10, 5), "plug-boiler")]),
    case("standby and heating for hours", "boiler_abnormal",
         [series("plug-boiler", local(27, 6, 0), timedelta(minutes=10), "power_w", [5.0, 2900, 2950, 12.0] * 6)],
         local(27, 11, 0)),
    case("standby to heating through a 1500 W ramp reading", "boiler_abnormal",
         [see("plug-boiler", local(27, 10, 0), power_w=5.0), see("plug-boiler", local(27, 10, 0, 5), power_w=1500),
          see("plug-boiler", local(27, 10, 0, 15), power_w=2900),
          see("plug-boiler", local(27, 10, 30), power_w=2900)],
         local(27, 11, 0)),
    case("40 % for 1:59, then heating", "boiler_abnormal",
         [see("plug-boiler", local(27, 10, 0), power_w=1200), see("plug-boiler", local(27, 10, 1, 59), power_w=2900)],
         local(27, 11, 0)),
    case("ignores a cooking plug at 1200 W", "boiler_abnormal",
         [see("plug-induction", local(27, 10, 0), power_w=1200)], local(27, 11, 0)),
]

HOT_WATER = [
    case("52 °C for 1 min", "hot_water",
         [see("temp-hot-water", local(27, 7, 0), temperature_c=52.0)],
         local(27, 7, 30), Alert(local(27, 7, 1), "temp-hot-water", HIGH, "bath-n", {"max": 49.0})),
    case("hysteresis: 48.5 does not clear, 47 clears after 1 min", "hot_water",
         [see("temp-hot-water", local(27, 7, 0), temperature_c=52.0),
          see("temp-hot-water", local(27, 7, 5), temperature_c=48.5),
          see("temp-hot-water", local(27, 7, 10), temperature_c=47.0)],
         local(27, 7, 30), Alert(local(27, 7, 1), "temp-hot-water", HIGH, "bath-n"),
         clears=[Cleared(local(27, 7, 11), "temp-hot-water")]),
    case("49.0 exactly for an hour", "hot_water",
         [series("temp-hot-water", local(27, 7, 0), MINUTE, "temperature_c", [49.0] * 60)], local(27, 8, 0)),
    case("50 °C for 59 s", "hot_water",
         [see("temp-hot-water", local(27, 7, 0), temperature_c=50.0),
          see("temp-hot-water", local(27, 7, 0, 59), temperature_c=45.0)],
         local(27, 8, 0)),
    case("ignores a room sensor at 60 °C", "hot_water",
         [see("temp-r101", local(27, 7, 0), temperature_c=60.0)], local(27, 8, 0)),
]

ROOM = [
    case("hovering at 28 (28.2/27.8) for 2 h: one alert", "room_temperature",
         [series("temp-r101", local(27, 14, 0), MINUTE, "temperature_c", alternate(28.2, 27.8, 120))],
         local(27, 16, 0), Alert(local(27, 14, 30), "temp-r101", MEDIUM, "r101"), clears=[]),
    case("17 °C at night for 30 min", "room_temperature",
         [see("temp-r103", local(28, 3, 0), temperature_c=17.0)],
         local(28, 4, 0), Alert(local(28, 3, 30), "temp-r103", MEDIUM, "r103", {"min": 18.0})),
    case("cooled down: clears after 5 min", "room_temperature",
         [see("temp-dayroom", local(27, 14, 0), temperature_c=30.0),
          see("temp-dayroom", local(27, 15, 0), temperature_c=27.0)],
         local(27, 16, 0), Alert(local(27, 14, 30), "temp-dayroom", MEDIUM, "dayroom"),
         clears=[Cleared(local(27, 15, 5), "temp-dayroom")]),
    case("29 °C for 29 min", "room_temperature",
         [see("temp-r101", local(27, 14, 0), temperature_c=29.0),
          see("temp-r101", local(27, 14, 29), temperature_c=27.0)],
         local(27, 16, 0)),
    case("28.0 exactly all afternoon", "room_temperature",
         [series("temp-r101", local(27, 12, 0), timedelta(minutes=10), "temperature_c", [28.0] * 30)],
         local(27, 17, 0)),
    case("ignores a fridge", "room_temperature",
         [see("temp-raw-cabinet", local(27, 12, 0), temperature_c=4.0)], local(27, 14, 0)),
]

WATCH = [
    case("medicine fridge above 8 °C for 10 min", "watch",
         [see("temp-med-fridge", local(27, 8, 0), temperature_c=9.0)],
         local(27, 9, 0), Alert(local(27, 8, 10), "temp-med-fridge/med-fridge", HIGH, "station",
                                {"watch": "med-fridge", "field": "temperature_c", "max": 8.0})),
    case("medicine fridge below 2 °C", "watch",
         [see("temp-med-fridge", local(27, 8, 0), temperature_c=1.5)],
         local(27, 9, 0), Alert(local(27, 8, 10), "temp-med-fridge/med-fridge", HIGH, "station")),
    case("bathroom humidity above 85 % for 30 min, cleared at 80 % after 10 min", "watch",
         [see("temp-bath-n", local(27, 20, 0), humidity_pct=90),
          see("temp-bath-n", local(27, 20, 40), humidity_pct=82),
          see("temp-bath-n", local(27, 21, 0), humidity_pct=75)],
         local(27, 22, 0), Alert(local(27, 20, 30), "temp-bath-n/bathroom-humidity", LOW, "bath-n"),
         clears=[Cleared(local(27, 21, 10), "temp-bath-n/bathroom-humidity")]),
    case("medicine fridge 9 °C for 9:59", "watch",
         [see("temp-med-fridge", local(27, 8, 0), temperature_c=9.0),
          see("temp-med-fridge", local(27, 8, 9, 59), temperature_c=7.0)],
         local(27, 10, 0)),
    case("humidity exactly 85 % all evening", "watch",
         [series("temp-bath-n", local(27, 18, 0), timedelta(minutes=15), "humidity_pct", [85] * 16)],
         local(27, 22, 0)),
    case("ignores devices it does not name", "watch",
         [see("temp-raw-cabinet", local(27, 8, 0), temperature_c=1.0),
          see("temp-r101", local(27, 8, 0), humidity_pct=95)],
         local(27, 10, 0)),
    case("a watch with a schedule starts counting when its window opens", "watch",
         [see("temp-bath-n", local(27, 7, 50), humidity_pct=80)],
         local(27, 9, 0), Alert(local(27, 8, 10), "temp-bath-n/day-humidity", MEDIUM, "bath-n"),
         facility=daytime_watch),
    case("a watch with a schedule is silent outside it", "watch",
         [see("temp-bath-n", local(27, 18, 0), humidity_pct=80)], local(28, 7, 59), facility=daytime_watch),
]

BATTERY = [
    case("14 % alerts, 16 % does not clear, 21 % clears", "battery_low",
         [see("temp-r101", local(27, 8, 0), battery_pct=30), see("temp-r101", local(27, 9, 0), battery_pct=14),
          see("temp-r101", local(27, 10, 0), battery_pct=16), see("temp-r101", local(27, 11, 0), battery_pct=21),
          see("temp-r101", local(27, 12, 0), battery_pct=16)],
         local(27, 13, 0), Alert(local(27, 9, 0), "temp-r101", LOW, "r101", {"value": 14}),
         clears=[Cleared(local(27, 11, 0), "temp-r101")]),
    case("an SOS button at 10 %", "battery_low",
         [see("sos-r104", local(27, 9, 0), battery_pct=10)],
         local(27, 10, 0), Alert(local(27, 9, 0), "sos-r104", LOW, "r104")),
    case("15 % exactly", "battery_low",
         [see("door-entrance", local(27, 9, 0), battery_pct=15)], local(27, 10, 0)),
    case("ignores a mains-powered plug", "battery_low",
         [see("plug-induction", local(27, 9, 0), battery_pct=5)], local(27, 10, 0)),
]

ALL_CAMERAS_OK = [see(f"cam-{i:02}", local(27, 23, 0), camera_state="ok") for i in range(1, 13)]
CAMERA = [  # cam-01 corridor north (passage), cam-03 day room A, cam-08 r103 floor and beds
    case("a covered bedroom camera at night is high", "camera_health",
         [see("cam-08", local(27, 23, 0), camera_state="covered")], local(27, 23, 5),
         Alert(local(27, 23, 0), "cam-08", HIGH, "r103", {"state": "covered"})),
    case("a blurred corridor camera by day is medium, and clears when it works", "camera_health",
         [see("cam-01", local(27, 14, 0), camera_state="blurred"), see("cam-01", local(27, 14, 1), camera_state="ok")],
         local(27, 14, 5), Alert(local(27, 14, 0), "cam-01", MEDIUM, "corridor", {"state": "blurred"}),
         clears=[Cleared(local(27, 14, 1), "cam-01")]),
    case("a camera that works raises nothing", "camera_health",
         [see("cam-08", local(27, 23, 0), camera_state="ok")], local(27, 23, 5)),
    case("a bedroom left without a working camera at night is high", "coverage",
         [ALL_CAMERAS_OK, see("cam-08", local(27, 23, 1), camera_state="covered")], local(27, 23, 5),
         Alert(local(27, 23, 1), "coverage", HIGH, None, {"zones": ["z103-beds", "z103-floor"]})),
    case("every zone seen by a working camera", "coverage", [ALL_CAMERAS_OK], local(27, 23, 5)),
    case("a camera not heard from yet is unknown, not a blind spot", "coverage",
         [see("cam-08", local(27, 23, 0), camera_state="ok")], local(27, 23, 5)),
    case("a person down on a bedroom floor is critical", "person_down",
         [see("cam-08", local(27, 3, 0), event="person_down", zone="z103-floor", active=True)], local(27, 3, 5),
         Alert(local(27, 3, 0), "z103-floor", CRITICAL, "r103", {"camera": "cam-08", "zone": "z103-floor"})),
    case("the end of an event raises nothing", "person_down",
         [see("cam-08", local(27, 3, 0), event="person_down", zone="z103-floor", active=False)], local(27, 3, 5)),
    case("someone in the corridor at night is high", "night_activity",
         [see("cam-01", local(27, 2, 0), event="night_activity", zone="z-corridor-n", active=True)], local(27, 2, 5),
         Alert(local(27, 2, 0), "z-corridor-n", HIGH, "corridor", {"camera": "cam-01"})),
    case("a health report is no activity", "night_activity",
         [see("cam-01", local(27, 2, 0), camera_state="ok")], local(27, 2, 5)),
    case("a day room quiet for hours is medium", "no_activity",
         [see("cam-03", local(27, 15, 0), event="no_activity", zone="z-dayroom-a", active=True)], local(27, 15, 5),
         Alert(local(27, 15, 0), "z-dayroom-a", MEDIUM, "dayroom", {"camera": "cam-03"})),
    case("another zone's event is not this rule's", "no_activity",
         [see("cam-01", local(27, 2, 0), event="night_activity", zone="z-corridor-n", active=True)], local(27, 2, 5)),
]

CASES: list[Case] = [*BED_EXIT, *OUT_OF_BED, *BATHROOM, *NOT_UP, *TURNING, *VITALS, *SOS, *EXIT_DOOR, *KITCHEN,
                     *AFTER_HOURS, *OVERLOAD, *COLD, *LEAK, *SMOKE, *BOILER, *HOT_WATER, *ROOM, *WATCH, *BATTERY,
                     *CAMERA]


@pytest.mark.parametrize("c", CASES, ids=[f"{c.rule}: {c.id}" for c in CASES])
def test_catalogue(c: Case) -> None:
    clock = replay(c)
    got = [(t, a.subject, a.severity, a.room) for t, a in clock.raises(c.rule)]
    assert got == [(a.at, a.subject, a.severity, a.room) for a in c.alerts]
    for (_, action), want in zip(clock.raises(c.rule), c.alerts, strict=True):
        assert {k: action.details.get(k) for k in want.details} == want.details
    if c.clears is not None:
        assert [(t, x.subject) for t, x in clock.clears(c.rule)] == [(x.at, x.subject) for x in c.clears]


def test_every_rule_has_alerting_and_quiet_cases() -> None:
    alerting = Counter(c.rule for c in CASES if c.alerts)
    quiet = Counter(c.rule for c in CASES if not c.alerts)
    names = [rule.name for rule in ALL]
    assert [n for n in names if not alerting[n] or not quiet[n]] == []
    assert set(alerting) | set(quiet) <= set(names)
    assert len({(c.rule, c.id) for c in CASES}) == len(CASES)


# --- which devices each rule looks at ---------------------------------------------------------------------------------

BEDS = {f"bed-b{b}" for b in ("101-1", "101-2", "102-1", "102-2", "103-1", "103-2", "104-1")}
PLUGS = {"plug-induction", "plug-rice-cooker", "plug-boiler"}
CAMERAS = {f"cam-{i:02}" for i in range(1, 13)}

ROUTES = {
    "bed_exit_night": {"bed-b101-1": "b101-1", "bed-b101-2": "b101-2", "bed-b102-2": "b102-2",
                       "bed-b103-1": "b103-1", "bed-b104-1": "b104-1"},
    "out_of_bed_too_long": {d: d.removeprefix("bed-") for d in BEDS},
    "bathroom_too_long": {"presence-bath-n": "bath-n", "presence-bath-s": "bath-s"},
    "not_up": {d: d.removeprefix("bed-") for d in BEDS - {"bed-b103-2"}},
    "repositioning_due": {"bed-b103-2": "b103-2"},
    "vital_signs": {d: d for d in BEDS},
    "sos": {d: d for d in ("sos-r101", "sos-r102", "sos-r103", "sos-r104", "sos-bath-n", "sos-bath-s")},
    "exit_door_night": {"door-entrance": "door-entrance", "door-courtyard": "door-courtyard"},
    "kitchen_unattended": {"plug-induction": "kitchen", "plug-rice-cooker": "kitchen", "presence-kitchen": "kitchen"},
    "appliance_after_hours": {"plug-induction": "plug-induction", "plug-rice-cooker": "plug-rice-cooker"},
    "appliance_overload": {d: d for d in PLUGS},
    "cold_storage": {d: d for d in ("temp-raw-cabinet", "temp-cooked-cabinet", "temp-freezer")},
    "water_leak": {"leak-bath-s": "leak-bath-s", "leak-boiler": "leak-boiler"},
    "boiler_abnormal": {"plug-boiler": "plug-boiler"},
    "hot_water": {"temp-hot-water": "temp-hot-water"},
    "smoke": {d: d for d in ("smoke-kitchen", "smoke-corridor", "smoke-dayroom")},
    "room_temperature": {d: d for d in ("temp-bath-n", "temp-r101", "temp-r103", "temp-dayroom")},
    "watch": {"temp-med-fridge": "temp-med-fridge", "temp-bath-n": "temp-bath-n"},
    "battery_low": {d.id: d.id for d in reference().sites[0].devices if d.id not in PLUGS | CAMERAS},
    # Camera rules read what the edge judged; coverage keeps one state per site.
    "camera_health": {c: c for c in CAMERAS},
    "coverage": {c: "coverage" for c in CAMERAS},
    "person_down": {c: c for c in CAMERAS},
    "night_activity": {c: c for c in CAMERAS},
    "no_activity": {c: c for c in CAMERAS},
}


@pytest.mark.parametrize("rule", ALL, ids=[r.name for r in ALL])
def test_each_rule_looks_at_exactly_its_devices(rule: Any) -> None:
    """Every device of the reference site, and the state key the rule files it under (None: ignored)."""
    site = reference().sites[0]
    keys = {d.id: rule.key(site, d) for d in site.devices}
    assert {d: k for d, k in keys.items() if k is not None} == ROUTES[rule.name]
