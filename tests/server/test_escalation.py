"""Escalation to the second with an injected clock: who is told when, repeats, acknowledgement, a restart
in the middle; and the roster that says who is on duty."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devices.duty import Policy
from devices.loader import FacilityError, load_facility, parse_facility
from server.escalation import ACKNOWLEDGER, REMINDER, AlertTimes, Due, plan
from tests.conftest import FACILITY_FILE

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
S, M = timedelta(seconds=1), timedelta(minutes=1)
SITE = load_facility(FACILITY_FILE).sites[0]
CRITICAL: Policy = SITE.escalation.critical  # type: ignore[assignment]
TEXT = FACILITY_FILE.read_text(encoding="utf-8")


def keys(due: list[Due]) -> list[tuple[int, int, str]]:
    return [(d.step, d.round, d.audience) for d in due]


def run(policy: Policy, alert: AlertTimes, until: datetime) -> list[tuple[datetime, int, int, str]]:
    """Drive the planner like the server: wake at each next due time, send what is due, remember it."""
    sent: set[tuple[int, int]] = set()
    log = []
    now = alert.raised_at
    while now <= until:
        due, following = plan(policy, alert, sent, now)
        for d in due:
            sent.add(d.key)
            log.append((now, d.step, d.round, d.audience))
        if following is None:
            break
        now = following
    return log


def test_the_reference_critical_policy_is_the_documented_one() -> None:
    assert [(s.after, s.notify.value, s.repeat) for s in CRITICAL.steps] == [
        (timedelta(0), "on_duty", 2 * M), (3 * M, "supervisor", None), (10 * M, "managers", None)]
    assert CRITICAL.remind_acknowledged == 15 * M


def test_nobody_answers_a_critical_alert_it_climbs_on_schedule() -> None:
    log = run(CRITICAL, AlertTimes(T0), T0 + 11 * M)
    assert log == [
        (T0, 0, 0, "on_duty"), (T0 + 2 * M, 0, 1, "on_duty"), (T0 + 3 * M, 1, 0, "supervisor"),
        (T0 + 4 * M, 0, 2, "on_duty"), (T0 + 6 * M, 0, 3, "on_duty"), (T0 + 8 * M, 0, 4, "on_duty"),
        (T0 + 10 * M, 0, 5, "on_duty"), (T0 + 10 * M, 2, 0, "managers")]


def test_nothing_comes_a_second_early() -> None:
    sent = {(0, 0)}
    assert plan(CRITICAL, AlertTimes(T0), sent, T0 + 2 * M - S) == ([], T0 + 2 * M)
    due, _ = plan(CRITICAL, AlertTimes(T0), sent, T0 + 2 * M)
    assert keys(due) == [(0, 1, "on_duty")]


def test_acknowledging_stops_the_escalation_and_reminds_the_acknowledger() -> None:
    alert = AlertTimes(T0, acked_at=T0 + 2 * M + 30 * S)
    sent = {(0, 0), (0, 1)}
    assert plan(CRITICAL, alert, sent, T0 + 9 * M) == ([], T0 + 17 * M + 30 * S)  # no supervisor, no managers
    due, following = plan(CRITICAL, alert, sent, T0 + 17 * M + 30 * S)
    assert keys(due) == [(REMINDER, 0, ACKNOWLEDGER)] and following == T0 + 32 * M + 30 * S


def test_a_resolved_alert_tells_nobody() -> None:
    assert plan(CRITICAL, AlertTimes(T0, acked_at=T0, resolved=True), set(), T0 + 60 * M) == ([], None)


def test_a_restart_in_the_middle_neither_repeats_nor_floods() -> None:
    """Down from 3:30 to 9:00 after the alert: the supervisor round was sent, the missed repeats are one."""
    sent = {(0, 0), (0, 1), (1, 0)}
    due, following = plan(CRITICAL, AlertTimes(T0), sent, T0 + 9 * M)
    assert [(d.step, d.round, d.at) for d in due] == [(0, 4, T0 + 8 * M)]
    assert following == T0 + 10 * M


def test_a_policy_without_repeat_tells_once() -> None:
    medium = SITE.escalation.medium
    assert medium is not None
    assert run(medium, AlertTimes(T0), T0 + 120 * M) == [(T0, 0, 0, "on_duty")]


@pytest.mark.parametrize(("local_hour", "shift", "staff"), [
    (6, "night", ["s-wang"]), (7, "day", ["s-wang", "s-li"]), (14, "day", ["s-wang", "s-li"]),
    (15, "evening", ["s-li"]), (23, "night", ["s-wang"]), (0, "night", ["s-wang"]),
])
def test_on_duty_follows_the_roster_in_the_site_s_time(local_hour: int, shift: str, staff: list[str]) -> None:
    at = datetime(2026, 11, 28, local_hour, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
    on = SITE.on_duty(at)
    assert on is not None and (on.id, on.staff, on.supervisor) == (shift, staff, "s-zhao")


@pytest.mark.parametrize(("old", "new", "message"), [
    ('start: "15:00", end: "23:00"', 'start: "15:00", end: "22:00"', "no shift covers 22:00"),
    ('start: "15:00", end: "23:00"', 'start: "14:00", end: "23:00"', "two shifts cover 14:00"),
    ("staff: [s-li], supervisor: s-zhao}", "staff: [s-nobody], supervisor: s-zhao}", "no staff 's-nobody'"),
    ("- {after: 3m, notify: supervisor, channels: [screen]}", "- {after: 3m, notify: supervisor, channels: [sms]}",
     "no channel 'sms'"),
    ("- {after: 3m, notify: supervisor,", "- {after: 1h, notify: supervisor,", "in order of `after`"),
])
def test_a_broken_roster_or_policy_says_what_is_wrong(old: str, new: str, message: str) -> None:
    assert old in TEXT
    with pytest.raises(FacilityError) as error:
        parse_facility(TEXT.replace(old, new, 1), source="site.yaml")
    assert message in str(error.value)
