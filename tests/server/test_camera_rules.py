"""Camera envelopes on the server: health and coverage alerts, person-down with its snapshot, and the cameras API."""

import base64
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from sqlalchemy import select

from devices.facility import Facility
from devices.messages import Envelope, Reading, new_id
from server.auth.users import Role
from server.models import Alert, Observation, Snapshot
from server.pipeline import Pipeline
from server.retention import purge_snapshots
from tests.conftest import FACILITY_FILE, Broker
from tests.helpers import live_server, server_settings
from tests.server.conftest import T0, Clock, message
from tests.server.test_api import add_user
from tests.server.test_pipeline import alerts

DAY = T0 - timedelta(hours=10)  # 13:00 in Shanghai the day before: not night


def camera(device: str, at: Any, seq: int = 1, **fields: Any) -> Envelope:
    return Envelope(id=new_id(), site="hq", device=device, kind="camera", at=at, seq=seq,
                    data=Reading.model_validate(fields))


def jpeg_b64(width: int = 64, height: int = 36) -> str:
    picture = np.full((height, width, 3), 120, np.uint8)
    ok, encoded = cv2.imencode(".jpg", picture)
    assert ok
    return base64.b64encode(encoded.tobytes()).decode()


def states(pipeline: Pipeline, at: Any, **by_camera: str) -> None:
    pipeline.process([message(camera(cam, at, camera_state=state)) for cam, state in by_camera.items()])


def test_a_covered_bedroom_camera_at_night_is_high_and_clears_when_it_works(pipeline: Pipeline, sessions: Any
                                                                           ) -> None:
    states(pipeline, T0, **{"cam-08": "covered"})
    [alert] = alerts(sessions, "camera_health")
    assert (alert.subject, alert.severity, alert.room, alert.details["state"]) == ("cam-08", "high", "r103",
                                                                                  "covered")
    states(pipeline, T0 + timedelta(seconds=5), **{"cam-08": "frozen"})
    [alert] = alerts(sessions, "camera_health")
    assert (alert.occurrences, alert.details["state"]) == (1, "frozen")  # the same fault, not a new one
    states(pipeline, T0 + timedelta(seconds=10), **{"cam-08": "ok"})
    [alert] = alerts(sessions, "camera_health")
    assert alert.cleared


def test_a_corridor_camera_or_a_bedroom_camera_by_day_is_medium(pipeline: Pipeline, sessions: Any) -> None:
    states(pipeline, T0, **{"cam-01": "blurred"})
    states(pipeline, DAY, **{"cam-09": "moved"})
    assert {(a.subject, a.severity) for a in alerts(sessions, "camera_health")} == {("cam-01", "medium"),
                                                                                   ("cam-09", "medium")}


def test_coverage_is_one_alert_naming_the_zones_no_working_camera_sees(pipeline: Pipeline, sessions: Any,
                                                                      reference_facility: Facility) -> None:
    site = reference_facility.sites[0]
    every = {cam.id: "ok" for cam in site.cameras_of()}
    states(pipeline, T0, **every)
    assert alerts(sessions, "coverage") == []
    states(pipeline, T0 + timedelta(seconds=1), **{"cam-08": "covered"})
    [alert] = alerts(sessions, "coverage")
    assert alert.details["zones"] == ["z103-beds", "z103-floor"]
    assert alert.details["zones_total"] == len({z for cam in site.cameras_of() for z in cam.sees})
    assert alert.severity == "high"  # a bedroom, at night
    states(pipeline, T0 + timedelta(seconds=2), **{"cam-07": "offline"})
    [alert] = alerts(sessions, "coverage")
    assert alert.details["zones"] == ["z-courtyard-e", "z-courtyard-gate", "z103-beds", "z103-floor"]
    assert alert.occurrences == 1
    states(pipeline, T0 + timedelta(seconds=3), **{"cam-08": "ok", "cam-07": "ok"})
    [alert] = alerts(sessions, "coverage")
    assert alert.cleared


def test_a_camera_not_heard_from_does_not_count_as_lost_coverage(pipeline: Pipeline, sessions: Any) -> None:
    states(pipeline, T0, **{"cam-10": "covered"})  # alone: the other cameras have not reported yet
    assert [a.details["zones"] for a in alerts(sessions, "coverage")] == [["z101-beds", "z101-floor"]]
    states(pipeline, T0, **{"cam-01": "ok"})
    assert [a.details["zones"] for a in alerts(sessions, "coverage")] == [["z101-beds", "z101-floor"]]


def test_person_down_is_critical_per_zone_with_its_snapshot_kept_apart(pipeline: Pipeline, sessions: Any) -> None:
    down = camera("cam-08", T0, event="person_down", zone="z103-floor", active=True, snapshot=jpeg_b64())
    pipeline.process([message(down)])
    [alert] = alerts(sessions, "person_down")
    assert (alert.subject, alert.severity, alert.room) == ("z103-floor", "critical", "r103")
    assert alert.details == {"camera": "cam-08", "zone": "z103-floor", "snapshot": down.id}
    with sessions() as db:
        stored = db.get(Snapshot, down.id)
        assert cv2.imdecode(np.frombuffer(stored.jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (36, 64, 3)
        assert stored.expires_at == T0 + timedelta(days=30)
        assert "snapshot" not in db.get(Observation, down.id).data
    pipeline.process([message(camera("cam-08", T0 + timedelta(seconds=30), seq=2, event="person_down",
                                     zone="z103-floor", active=False))])
    [alert] = alerts(sessions, "person_down")
    assert alert.cleared


def test_night_activity_is_high_and_no_activity_medium(pipeline: Pipeline, sessions: Any) -> None:
    pipeline.process([message(camera("cam-06", T0, event="night_activity", zone="z-entrance", active=True)),
                      message(camera("cam-03", T0, event="no_activity", zone="z-dayroom-a", active=True))])
    assert {(a.rule, a.subject, a.severity) for a in alerts(sessions)} == {
        ("night_activity", "z-entrance", "high"), ("no_activity", "z-dayroom-a", "medium")}


def test_a_bad_snapshot_is_refused_and_loses_nothing_else(pipeline: Pipeline, sessions: Any) -> None:
    good = message(camera("cam-01", T0, camera_state="ok"))
    bad = message(camera("cam-02", T0, camera_state="ok"))
    bad = bad.__class__(bad.topic, bad.payload.replace(b'"camera_state":"ok"', b'"snapshot":"not base64!"'),
                        T0, mid=2, qos=1)
    changes = pipeline.process([good, bad])
    assert (changes.observations, changes.dead) == (1, 1)


def test_registry_offline_camera_after_three_missed_reports(pipeline: Pipeline, sessions: Any, clock: Clock
                                                            ) -> None:
    states(pipeline, T0, **{"cam-01": "ok"})
    clock.now = T0 + timedelta(minutes=2, seconds=59)
    pipeline.tick()
    assert [a for a in alerts(sessions, "device_offline") if a.subject == "cam-01"] == []
    clock.now = T0 + timedelta(minutes=3, seconds=1)
    pipeline.tick()
    assert [a.subject for a in alerts(sessions, "device_offline") if a.subject == "cam-01"] == ["cam-01"]


@pytest.fixture
def served(tmp_path: Path, sqlite_url: str) -> Iterator[Any]:
    """The web app alone (no MQTT) on a clock of the test's, with a pipeline of the test's on its database."""
    clock = Clock()
    settings = server_settings(FACILITY_FILE, sqlite_url, Broker("127.0.0.1", 9, "mosquitto"), notify=False)
    with live_server(settings, ingest=False, clock=clock) as live:
        live.pipeline = Pipeline(live.ctx.facility, live.ctx.sessions, clock=clock)
        live.pipeline.load()
        live.clock = clock
        yield live


def test_cameras_api_gives_health_and_coverage_and_snapshots_by_role(served: Any) -> None:
    pipeline = served.pipeline
    down = camera("cam-08", T0, event="person_down", zone="z103-floor", active=True, snapshot=jpeg_b64())
    pipeline.process([message(camera("cam-08", T0, camera_state="covered")),
                      message(camera("cam-01", T0, camera_state="ok")), message(down)])
    with served.client() as client:
        [site] = client.get("/api/v1/cameras").json()
        by_id = {c["id"]: c for c in site["cameras"]}
        assert (by_id["cam-08"]["state"], by_id["cam-01"]["state"], by_id["cam-02"]["state"]) == (
            "covered", "ok", None)
        assert site["coverage"]["uncovered"] == ["z103-beds", "z103-floor"]
        assert site["coverage"]["covered"] == 1 and "z-corridor-n" not in site["coverage"]["unknown"]
        picture = client.get(f"/api/v1/snapshots/{down.id}")
        assert (picture.status_code, picture.headers["content-type"]) == (200, "image/jpeg")
        assert picture.headers["cache-control"] == "private, no-store"
        assert client.get("/api/v1/snapshots/nope").status_code == 404
    inspector = add_user(served, "insp", Role.INSPECTOR)
    with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {inspector}"}) as client:
        refused = client.get(f"/api/v1/snapshots/{down.id}")
        assert refused.status_code == 403 and "may not see camera snapshots" in refused.text


def test_a_snapshot_past_its_days_is_gone(served: Any) -> None:
    down = camera("cam-08", T0, event="person_down", zone="z103-floor", active=True, snapshot=jpeg_b64())
    served.pipeline.process([message(down)])
    served.clock.now = T0 + timedelta(days=30, seconds=1)
    with served.client() as client:
        assert client.get(f"/api/v1/snapshots/{down.id}").status_code == 404
    with served.ctx.sessions() as db:
        assert db.scalar(select(Alert.details).where(Alert.rule == "person_down"))["snapshot"] == down.id



def test_purging_deletes_only_snapshots_past_their_days(pipeline: Pipeline, sessions: Any) -> None:
    old = camera("cam-08", T0, event="person_down", zone="z103-floor", active=True, snapshot=jpeg_b64())
    new = camera("cam-09", T0 + timedelta(days=2), event="person_down", zone="z104-floor", active=True,
                 snapshot=jpeg_b64())
    pipeline.process([message(old), message(new)])
    assert purge_snapshots(sessions, T0 + timedelta(days=30)) == 1
    with sessions() as db:
        assert list(db.scalars(select(Snapshot.id))) == [new.id]
