"""Silences, maintenance and drills in the pipeline, and turns logged from the screen, on real databases."""

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from devices.messages import Reading
from server import suppressions
from server.models import Alert, Observation
from server.pipeline import Pipeline
from server.rules.base import Obs
from server.suppressions import Mode, Scope
from tests.server.conftest import T0, Clock, envelope, message


def suppress(pipeline: Pipeline, sessions: Any, mode: Mode, scope: Scope, target: str | None,
             minutes: int = 60) -> int:
    """Record a suppression from now, as the API does, and tell the pipeline."""
    now = pipeline.clock()
    with sessions.begin() as db:
        row = suppressions.create(db, site="hq", mode=mode, scope=scope, target=target, starts_at=now,
                                  ends_at=now + timedelta(minutes=minutes), author="alice", reason="sensor test",
                                  now=now)
        ident = row.id
    pipeline.suppressions_changed()
    pipeline.tick()
    return ident


def alerts(sessions: Any, rule: str) -> list[Alert]:
    with sessions() as db:
        return list(db.scalars(select(Alert).where(Alert.rule == rule).order_by(Alert.id)))


def test_silenced_device_still_records_its_alert_but_as_muted(pipeline: Pipeline, sessions: Any,
                                                              clock: Clock) -> None:
    ident = suppress(pipeline, sessions, Mode.SILENCE, Scope.DEVICE, "smoke-kitchen")
    pipeline.process([message(envelope("smoke-kitchen", T0, smoke=True)),
                      message(envelope("smoke-corridor", T0, smoke=True))])
    by_subject = {a.subject: a for a in alerts(sessions, "smoke")}
    assert (by_subject["smoke-kitchen"].muted, by_subject["smoke-kitchen"].suppression_id) == ("silence", ident)
    assert by_subject["smoke-corridor"].muted is None  # the silence covers one device only


def test_an_expired_silence_mutes_nothing(pipeline: Pipeline, sessions: Any, clock: Clock) -> None:
    suppress(pipeline, sessions, Mode.SILENCE, Scope.RULE, "water_leak", minutes=10)
    clock.now = T0 + timedelta(minutes=10)
    pipeline.process([message(envelope("leak-boiler", clock.now, leak=True))])
    [alert] = alerts(sessions, "water_leak")
    assert alert.muted is None


def test_drill_tags_smoke_and_exit_doors_in_its_zone_only(pipeline: Pipeline, sessions: Any) -> None:
    suppress(pipeline, sessions, Mode.DRILL, Scope.ROOM, "kitchen")
    pipeline.process([message(envelope("smoke-kitchen", T0, smoke=True)),
                      message(envelope("smoke-dayroom", T0, smoke=True)),
                      message(envelope("leak-boiler", T0, leak=True))])
    smoke = {a.subject: a.muted for a in alerts(sessions, "smoke")}
    assert smoke == {"smoke-kitchen": "drill", "smoke-dayroom": None}
    [leak] = alerts(sessions, "water_leak")
    assert leak.muted is None  # a leak in the drill's room is real: drills exercise fire and exits


def test_drill_by_camera_zone_covers_the_zone_s_room(pipeline: Pipeline, sessions: Any) -> None:
    suppress(pipeline, sessions, Mode.DRILL, Scope.ZONE, "z-courtyard-gate")
    pipeline.process([message(envelope("door-courtyard", T0, kind="door_contact", open=True)),
                      message(envelope("door-entrance", T0, kind="door_contact", open=True))])
    doors = {a.subject: a.muted for a in alerts(sessions, "exit_door_night")}
    assert doors == {"door-courtyard": "drill", "door-entrance": None}


def test_device_in_maintenance_is_stored_but_out_of_the_rules(pipeline: Pipeline, sessions: Any,
                                                              clock: Clock) -> None:
    suppress(pipeline, sessions, Mode.MAINTENANCE, Scope.DEVICE, "leak-boiler", minutes=24 * 60)
    pipeline.process([message(envelope("leak-boiler", T0, leak=True))])
    with sessions() as db:
        stored = db.scalar(select(func.count()).select_from(Observation).where(Observation.device == "leak-boiler"))
    assert stored == 1 and alerts(sessions, "water_leak") == []
    clock.now = T0 + timedelta(hours=3)  # far past its offline limit: a device in maintenance may be quiet
    pipeline.tick()
    assert "leak-boiler" not in {a.subject for a in alerts(sessions, "device_offline")}
    assert "smoke-kitchen" in {a.subject for a in alerts(sessions, "device_offline")}


def test_ending_maintenance_early_puts_the_device_back(pipeline: Pipeline, sessions: Any, clock: Clock) -> None:
    ident = suppress(pipeline, sessions, Mode.MAINTENANCE, Scope.ROOM, "kitchen")
    with sessions.begin() as db:
        suppressions.end(db, ident, actor="bob", at=T0 + timedelta(minutes=1))
    clock.now = T0 + timedelta(minutes=1)
    pipeline.suppressions_changed()
    pipeline.tick()
    pipeline.process([message(envelope("leak-boiler", clock.now, leak=True))])
    assert [a.subject for a in alerts(sessions, "water_leak")] == ["leak-boiler"]


def test_a_turn_logged_on_the_screen_clears_repositioning_due(pipeline: Pipeline, sessions: Any,
                                                             clock: Clock) -> None:
    site = pipeline.facility.sites[0]
    sensor = site.device_by_id["bed-b103-2"]  # cp-06: turning protocol q2h
    pipeline.process([message(envelope("bed-b103-2", T0, occupied=True))])
    clock.now = T0 + timedelta(hours=2)
    pipeline.tick()
    [alert] = alerts(sessions, "repositioning_due")
    assert (alert.subject, alert.severity, alert.cleared) == ("b103-2", "medium", False)
    pipeline.submit(Obs(site, sensor, clock.now, Reading(movement=True, action="staff:alice")))
    pipeline.tick()
    [alert] = alerts(sessions, "repositioning_due")
    assert alert.cleared


def test_an_alarm_back_after_its_drill_is_real_again(pipeline: Pipeline, sessions: Any, clock: Clock) -> None:
    suppress(pipeline, sessions, Mode.DRILL, Scope.ROOM, "kitchen", minutes=30)
    pipeline.process([message(envelope("smoke-kitchen", T0, smoke=True)),
                      message(envelope("smoke-kitchen", T0, seq=2, smoke=False))])
    [alert] = alerts(sessions, "smoke")
    assert alert.muted == "drill"
    clock.now = T0 + timedelta(hours=2)  # the drill is over and nobody resolved its alert: a real fire
    pipeline.tick()
    pipeline.process([message(envelope("smoke-kitchen", clock.now, seq=3, smoke=True))])
    [alert] = alerts(sessions, "smoke")
    assert (alert.muted, alert.suppression_id, alert.occurrences) == (None, None, 2)


def test_what_a_device_in_maintenance_still_raises_is_tagged(pipeline: Pipeline, sessions: Any,
                                                            clock: Clock) -> None:
    pipeline.process([message(envelope("temp-raw-cabinet", T0, temperature_c=12.0))])  # a hold-off under way
    clock.now = T0 + timedelta(minutes=1)
    ident = suppress(pipeline, sessions, Mode.MAINTENANCE, Scope.DEVICE, "temp-raw-cabinet", minutes=60)
    pipeline.process([message(envelope("temp-raw-cabinet", clock.now, seq=2, online=False))])  # unplugged
    clock.now = T0 + timedelta(minutes=16)
    pipeline.tick()
    [cold] = alerts(sessions, "cold_storage")
    offline = [a for a in alerts(sessions, "device_offline") if a.subject == "temp-raw-cabinet"]
    assert (cold.muted, cold.suppression_id) == ("maintenance", ident)
    assert [(a.muted, a.suppression_id) for a in offline] == [("maintenance", ident)]
