"""The pipeline on real databases (SQLite and PostgreSQL): idempotent ingest, dead letters, alerts, timers."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from devices import topics
from devices.facility import Facility
from devices.messages import Envelope, Rejection, new_id, to_json
from server.alerts import service
from server.alerts.service import Resolution, TransitionError
from server.ingest import Message
from server.models import Alert, AlertEvent, DeadLetter, DeviceState, Observation
from server.pipeline import Pipeline
from tests.server.conftest import T0, Clock, envelope, message


def raw(device: str, payload: bytes, site: str = "hq") -> Message:
    return Message(topics.observation(site, device), payload, T0, mid=1, qos=1)


def count(sessions: Any, model: Any, *where: Any) -> int:
    with sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model).where(*where)))


def alerts(sessions: Any, rule: str | None = None) -> list[Alert]:
    with sessions() as db:
        query = select(Alert).order_by(Alert.id)
        if rule:
            query = query.where(Alert.rule == rule)
        return list(db.scalars(query))


def test_redelivered_observation_is_stored_once_and_alerts_once(pipeline: Pipeline, sessions: Any) -> None:
    leak = envelope("leak-boiler", T0, leak=True)
    first = pipeline.process([message(leak)])
    again = pipeline.process([message(leak), message(leak)])
    assert (first.observations, again.observations, again.duplicates) == (1, 0, 2)
    assert count(sessions, Observation) == 1
    [alert] = alerts(sessions, "water_leak")
    assert (alert.status, alert.occurrences, alert.severity) == ("open", 1, "critical")


@pytest.mark.parametrize("size", [6, 60])  # a message or a few at the normal rate; a backlog after an outage
def test_a_batch_partly_stored_before_stores_and_counts_only_the_new_ones(pipeline: Pipeline, sessions: Any,
                                                                         size: int) -> None:
    readings = [envelope("temp-freezer", T0 + timedelta(seconds=i), seq=i + 1, temperature_c=-18)
                for i in range(size)]
    pipeline.process([message(env) for env in readings[: size // 2]])  # acked late: the broker sends them again
    changes = pipeline.process([message(env) for env in readings])
    assert (changes.observations, changes.duplicates) == (size - size // 2, size // 2)
    assert count(sessions, Observation) == size
    with sessions() as db:
        device = db.get(DeviceState, ("hq", "temp-freezer"))
        assert device is not None and (device.observations, device.last_seq) == (size, size)


@pytest.mark.parametrize(("payload", "reason"), [
    (b"not json", "not valid JSON"),
    (b'{"v": 1}', "id: Field required"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
    (b"[" * 70_000, "over the 65536 byte limit"),
])
def test_bad_payloads_become_dead_letters_and_lose_nothing_else(pipeline: Pipeline, sessions: Any,
                                                               payload: bytes, reason: str) -> None:
    good = envelope("smoke-kitchen", T0, smoke=False)
    changes = pipeline.process([raw("smoke-kitchen", payload), message(good)])
    assert (changes.observations, changes.dead) == (1, 1)
    with sessions() as db:
        [dead] = db.scalars(select(DeadLetter))
        assert (dead.device, dead.site) == ("smoke-kitchen", "hq")
        assert reason in dead.reason
        assert len(dead.raw) <= 1024
        row = db.get(DeviceState, ("hq", "smoke-kitchen"))
        assert (row.rejected, row.observations) == (1, 1)


def test_wrong_type_names_the_field(pipeline: Pipeline, sessions: Any) -> None:
    body = to_json(envelope("temp-freezer", T0, temperature_c=-18)).replace(b"-18.0", b'"cold"')
    pipeline.process([raw("temp-freezer", body)])
    with sessions() as db:
        assert db.scalar(select(DeadLetter.reason)) == "data.temperature_c: Input should be a valid number, " \
                                                        "unable to parse string as a number"


def test_unknown_device_and_unknown_site_are_kept_with_the_reason(pipeline: Pipeline, sessions: Any) -> None:
    ghost = envelope("leak-boiler", T0, leak=True)
    pipeline.process([raw("ghost", to_json(ghost)), raw("leak-boiler", to_json(ghost), site="elsewhere")])
    with sessions() as db:
        reasons = sorted(db.scalars(select(DeadLetter.reason)))
    assert reasons == ["unknown device 'ghost' in site 'hq'", "unknown site 'elsewhere'"]
    assert alerts(sessions) == []


def test_envelope_on_another_devices_topic_is_refused(pipeline: Pipeline, sessions: Any) -> None:
    leak = envelope("leak-boiler", T0, leak=True)
    pipeline.process([message(leak, topic=topics.observation("hq", "smoke-kitchen"))])
    assert alerts(sessions) == []
    with sessions() as db:
        assert "came on the topic of hq/smoke-kitchen" in db.scalar(select(DeadLetter.reason))


def test_edge_rejection_is_a_dead_letter_counted_for_the_device(pipeline: Pipeline, sessions: Any) -> None:
    rejected = Envelope(id=new_id(), site="hq", device="plug-induction", kind="power_plug", at=T0, seq=3,
                        error=Rejection(reason="payload is not JSON", raw="{oops"))
    pipeline.process([message(rejected)])
    with sessions() as db:
        dead = db.scalars(select(DeadLetter)).one()
        assert (dead.reason, dead.raw) == ("edge could not read the device: payload is not JSON", "{oops")
        assert db.get(DeviceState, ("hq", "plug-induction")).rejected == 1


def test_rule_timer_survives_a_restart_and_fires_when_due(reference_facility: Facility, sessions: Any,
                                                          pipeline: Pipeline, clock: Clock) -> None:
    pipeline.process([message(envelope("bed-b101-1", T0, seq=1, occupied=True))])
    clock.now = T0 + timedelta(seconds=60)
    pipeline.process([message(envelope("bed-b101-1", clock.now, seq=2, occupied=False))])
    restarted = Pipeline(reference_facility, sessions, clock=clock)
    restarted.load()
    assert restarted.next_due() == T0 + timedelta(seconds=70)
    clock.now = T0 + timedelta(seconds=69)
    restarted.tick()
    assert alerts(sessions, "bed_exit_night") == []
    clock.now = T0 + timedelta(seconds=70, milliseconds=400)
    restarted.tick()
    [alert] = alerts(sessions, "bed_exit_night")
    assert (alert.subject, alert.room, alert.severity) == ("b101-1", "r101", "high")


@pytest.mark.parametrize(("device", "rule", "fields", "hold"), [
    ("temp-raw-cabinet", "cold_storage", {"temperature_c": 11.0}, timedelta(minutes=15)),
    ("bed-b103-1", "vital_signs", {"occupied": True, "heart_rate_bpm": 140.0}, timedelta(seconds=180)),
    ("plug-boiler", "boiler_abnormal", {"power_w": 1200.0}, timedelta(minutes=2)),
])
def test_a_threshold_hold_off_survives_a_restart(reference_facility: Facility, sessions: Any, pipeline: Pipeline,
                                                 clock: Clock, device: str, rule: str, fields: dict[str, Any],
                                                 hold: timedelta) -> None:
    """Band state (pending since, peak) is kept as JSON: a restart half-way through the hold-off changes nothing."""
    pipeline.process([message(envelope(device, T0, **fields))])
    clock.now = T0 + hold / 2
    restarted = Pipeline(reference_facility, sessions, clock=clock)
    restarted.load()
    clock.now = T0 + hold - timedelta(seconds=1)
    restarted.tick()
    assert alerts(sessions, rule) == []
    clock.now = T0 + hold
    restarted.tick()
    [alert] = alerts(sessions, rule)
    assert alert.details["since"] == T0.isoformat()


def test_edge_clock_running_ahead_cannot_push_timers_into_the_future(pipeline: Pipeline, clock: Clock) -> None:
    pipeline.process([message(envelope("bed-b101-1", T0, seq=1, occupied=True))])
    pipeline.process([message(envelope("bed-b101-1", T0 + timedelta(hours=2), seq=2, occupied=False))])
    assert pipeline.next_due() == T0 + timedelta(seconds=5 + 10)


def test_alert_lifecycle_records_who_and_when(pipeline: Pipeline, sessions: Any) -> None:
    pipeline.process([message(envelope("leak-boiler", T0, seq=1, leak=True))])
    pipeline.process([message(envelope("leak-boiler", T0 + timedelta(minutes=1), seq=2, leak=False))])
    [alert] = alerts(sessions)
    assert alert.cleared and alert.status == "open"  # cleared, but nobody has seen it: stays on screen
    with sessions.begin() as db:
        service.acknowledge(db, alert.id, actor="wang", at=T0 + timedelta(minutes=2))
    with sessions.begin() as db:
        service.resolve(db, alert.id, actor="zhao", at=T0 + timedelta(minutes=5), resolution=Resolution.REAL_EVENT)
    with sessions.begin() as db, pytest.raises(TransitionError):
        service.resolve(db, alert.id, actor="zhao", at=T0, resolution=Resolution.TEST)
    with sessions() as db:
        done = db.get(Alert, alert.id)
        assert (done.status, done.acked_by, done.resolved_by, done.resolution) == (
            "resolved", "wang", "zhao", "real_event")
        history = [(e.action, e.actor) for e in db.scalars(select(AlertEvent).order_by(AlertEvent.id))]
    assert history == [("raised", "system"), ("cleared", "system"), ("acknowledged", "wang"), ("resolved", "zhao")]


def test_recurrence_reopens_the_unresolved_alert_and_a_resolved_one_stays_closed(pipeline: Pipeline,
                                                                                 sessions: Any) -> None:
    for seq, wet in enumerate([True, False, True], start=1):
        pipeline.process([message(envelope("leak-boiler", T0 + timedelta(minutes=seq), seq=seq, leak=wet))])
    [alert] = alerts(sessions)
    assert (alert.occurrences, alert.cleared) == (2, False)
    with sessions.begin() as db:
        service.resolve(db, alert.id, actor="li", at=T0, resolution=Resolution.FALSE_ALARM)
    pipeline.process([message(envelope("leak-boiler", T0 + timedelta(minutes=9), seq=9, leak=False))])
    pipeline.process([message(envelope("leak-boiler", T0 + timedelta(minutes=10), seq=10, leak=True))])
    assert [a.status for a in alerts(sessions)] == ["resolved", "open"]


def test_database_allows_only_one_unresolved_alert_per_subject(sessions: Any) -> None:
    def alert(status: str) -> Alert:
        return Alert(site="hq", rule="smoke", subject="smoke-kitchen", severity="critical", status=status,
                     raised_at=T0, last_raised_at=T0, details={})

    with sessions.begin() as db:
        db.add_all([alert("resolved"), alert("resolved"), alert("open")])
    with pytest.raises(IntegrityError), sessions.begin() as db:
        db.add(alert("acknowledged"))


def test_silent_device_goes_offline_and_comes_back(pipeline: Pipeline, sessions: Any, clock: Clock) -> None:
    site = pipeline.facility.sites[0]
    limit = site.offline_after(site.device_by_id["temp-freezer"])
    assert limit == timedelta(minutes=60)  # a battery sensor checks in about hourly
    pipeline.process([message(envelope("temp-freezer", T0, temperature_c=-18))])
    clock.now = T0 + limit - timedelta(seconds=1)
    pipeline.tick()
    assert all(a.subject != "temp-freezer" for a in alerts(sessions, "device_offline"))
    clock.now = T0 + limit + timedelta(seconds=1)
    pipeline.tick()
    offline = {a.subject: a for a in alerts(sessions, "device_offline")}
    assert offline["temp-freezer"].severity == "medium"
    assert offline["smoke-kitchen"].severity == "high"  # never heard since start: a silent smoke detector
    pipeline.process([message(envelope("temp-freezer", clock.now, seq=2, temperature_c=-18))])
    offline = {a.subject: a for a in alerts(sessions, "device_offline")}
    assert offline["temp-freezer"].cleared and not offline["smoke-kitchen"].cleared


def test_silence_is_noticed_within_a_second_however_often_the_pipeline_ticks(pipeline: Pipeline, sessions: Any,
                                                                              clock: Clock) -> None:
    """The pipeline ticks after every batch; the offline check runs at most once a second, never later."""
    site = pipeline.facility.sites[0]
    pipeline.process([message(envelope("temp-freezer", T0, temperature_c=-18))])
    limit_at = T0 + site.offline_after(site.device_by_id["temp-freezer"])
    noticed = None
    for ms in range(-500, 2000, 50):  # 20 ticks a second around the limit
        clock.now = limit_at + timedelta(milliseconds=ms)
        pipeline.tick()
        if any(a.subject == "temp-freezer" for a in alerts(sessions, "device_offline")):
            noticed = ms
            break
    assert noticed is not None and 0 < noticed <= 1000


def test_edge_last_will_raises_and_online_clears(pipeline: Pipeline, sessions: Any) -> None:
    status = topics.edge_status("hq")
    pipeline.process([Message(status, b"online", T0)])
    pipeline.process([Message(status, b"offline", T0)])
    pipeline.process([Message(status, b"offline", T0)])  # retained again after our reconnect
    [alert] = alerts(sessions, "edge_offline")
    assert (alert.severity, alert.cleared) == ("high", False)
    pipeline.process([Message(status, b"online", T0)])
    [alert] = alerts(sessions, "edge_offline")
    assert alert.cleared


def test_a_device_saying_offline_goes_offline_at_once(pipeline: Pipeline, sessions: Any, clock: Clock) -> None:
    pipeline.process([message(envelope("smoke-kitchen", T0, smoke=False))])
    clock.now = T0 + timedelta(seconds=30)
    pipeline.process([message(envelope("smoke-kitchen", clock.now, seq=2, online=False))])
    [alert] = [a for a in alerts(sessions, "device_offline") if a.subject == "smoke-kitchen"]
    assert (alert.severity, alert.cleared, alert.details["said_offline_at"]) == (
        "high", False, clock.now.isoformat())
    # A retained "online" replayed at an edge reconnect proves nothing: the alert stays.
    pipeline.process([message(envelope("smoke-kitchen", clock.now, seq=3, online=True))])
    [alert] = [a for a in alerts(sessions, "device_offline") if a.subject == "smoke-kitchen"]
    assert not alert.cleared
    pipeline.process([message(envelope("smoke-kitchen", clock.now, seq=4, smoke=False))])
    [alert] = [a for a in alerts(sessions, "device_offline") if a.subject == "smoke-kitchen"]
    assert alert.cleared


def test_a_dead_edge_gives_one_grouped_alert_not_one_per_silent_device(pipeline: Pipeline, sessions: Any,
                                                                       clock: Clock) -> None:
    status = topics.edge_status("hq")
    pipeline.process([Message(status, b"online", T0)] +
                     [message(envelope(d, T0, smoke=False)) for d in ("smoke-kitchen", "smoke-corridor")])
    clock.now = T0 + timedelta(minutes=1)
    pipeline.process([Message(status, b"offline", clock.now)])  # the gateway dies
    clock.now = T0 + timedelta(hours=2)  # every device far past its silence limit
    pipeline.tick()
    assert alerts(sessions, "device_offline") == []
    [edge] = alerts(sessions, "edge_offline")
    assert edge.occurrences == 1 and {"smoke-kitchen", "smoke-corridor"} <= set(edge.details["silent_devices"])
    pipeline.process([Message(status, b"online", clock.now)])  # back: each device is judged from now
    clock.now += timedelta(minutes=30)
    pipeline.process([message(envelope("smoke-kitchen", clock.now, seq=2, smoke=False))])
    clock.now += timedelta(minutes=31)  # an hour since the edge came back: the corridor is really silent
    pipeline.tick()
    silent = {a.subject for a in alerts(sessions, "device_offline")}
    assert "smoke-corridor" in silent and "smoke-kitchen" not in silent
