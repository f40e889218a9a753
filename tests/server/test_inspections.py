"""Inspections and rectification tasks: a failed item opens a task; past due it alerts until it is closed with its
evidence; the form is checked; everything is chained; inspectors read and change nothing."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from devices.facility import Facility
from server.auth.users import Role
from server.records.inspections import RECTIFICATION_OVERDUE, InspectionError, check, close, record, tasks
from server.records.verify import verify
from tests.helpers import LiveServer
from tests.server.test_api import add_user
from tests.server.test_care_api import as_user

AT = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
FIRE_ITEMS = ["exits", "extinguishers", "hydrants", "lights", "wiring"]


def results(failed: dict[str, str]) -> list[dict[str, Any]]:
    return [{"item": i, "ok": i not in failed, "note": failed.get(i), "owner": "s-zhou" if i in failed else None}
            for i in FIRE_ITEMS]


def test_a_failed_item_opens_a_task_that_alerts_when_overdue_until_closed(reference_facility: Facility,
                                                                        sessions: Any) -> None:
    site = reference_facility.sites[0]
    with sessions.begin() as db:
        inspection, [task] = record(db, site, "fire-monthly", results({"extinguishers": "B2 extinguisher empty"}),
                                    by="zhou", at=AT)
        assert (task.item, task.problem, task.owner, task.status) == ("extinguishers", "B2 extinguisher empty",
                                                                       "s-zhou", "open")
        assert task.due_at == AT + timedelta(days=7)  # the form's fix_within
    with sessions.begin() as db:
        assert check(db, reference_facility, AT + timedelta(days=7) - timedelta(seconds=1)) == []
        [overdue] = check(db, reference_facility, AT + timedelta(days=7))
        assert (overdue.rule, overdue.subject, overdue.severity) == (RECTIFICATION_OVERDUE,
                                                                     f"rectification:{task.task}", "medium")
        assert check(db, reference_facility, AT + timedelta(days=7, hours=1)) == []  # raised once
    with sessions.begin() as db:
        closed = close(db, task.task, evidence="refilled, tag 2026-12", by="zhou", at=AT + timedelta(days=8))
        assert (closed.version, closed.supersedes, closed.status) == (2, task.id, "closed")
        with pytest.raises(InspectionError, match="already closed"):
            close(db, task.task, evidence="again", by="zhou", at=AT + timedelta(days=8))
    with sessions.begin() as db:
        [cleared] = check(db, reference_facility, AT + timedelta(days=8, hours=1))
        assert cleared.cleared and [t.status for t in tasks(db)] == ["closed"]
    with sessions() as db:
        [chain] = verify(db, site.id)
    assert chain.intact


@pytest.mark.parametrize(("given", "message"), [
    (results({})[:-1], "missing ['wiring']"),
    ([*results({}), {"item": "roof", "ok": True}], "unknown ['roof']"),
    (results({"exits": ""}), "a failed item needs a note"),
])
def test_an_incomplete_form_is_refused_and_records_nothing(reference_facility: Facility, sessions: Any,
                                                           given: list[dict[str, Any]], message: str) -> None:
    with sessions.begin() as db, pytest.raises(InspectionError, match=message.replace("[", r"\[")):
        record(db, reference_facility.sites[0], "fire-monthly", given, by="zhou", at=AT)
    with sessions() as db:
        assert db.execute(text("SELECT count(*) FROM inspections")).scalar() == 0



def test_the_api_records_lists_and_closes_and_an_inspector_only_reads(server: LiveServer) -> None:
    officer = add_user(server, "zhou", Role.STAFF)
    with as_user(server, officer) as client:
        made = client.post("/api/v1/records/inspections", json={
            "template": "hazard-daily", "results": [
                {"item": "kitchen-off", "ok": True}, {"item": "smoking", "ok": True},
                {"item": "doors", "ok": False, "note": "courtyard gate chained shut", "owner": "s-sun"}]})
        assert made.status_code == 201, made.text
        [task] = made.json()["tasks"]
        assert client.post("/api/v1/records/inspections", json={"template": "nope", "results": [
            {"item": "x", "ok": True}]}).status_code == 422
        assert [t["task"] for t in client.get("/api/v1/records/rectifications", params={"status": "open"}).json()] == [
            task["task"]]
    inspector = add_user(server, "inspector", Role.INSPECTOR)
    with as_user(server, inspector) as client:
        assert [i["template"] for i in client.get("/api/v1/records/inspections").json()] == ["hazard-daily"]
        assert client.post(f"/api/v1/records/rectifications/{task['task']}/close",
                           json={"evidence": "x"}).status_code == 403
    with as_user(server, officer) as client:
        done = client.post(f"/api/v1/records/rectifications/{task['task']}/close",
                           json={"evidence": "chain removed, checked by the manager"})
        assert done.status_code == 200 and done.json()["status"] == "closed"
        assert client.post(f"/api/v1/records/rectifications/{task['task']}/close",
                           json={"evidence": "again"}).status_code == 409
        assert client.get("/api/v1/records/rectifications", params={"status": "open"}).json() == []


def jpeg() -> bytes:
    """A real little JPEG, as a phone would send (a grey square with a white bar)."""
    import cv2
    import numpy as np
    picture = np.full((48, 64, 3), 90, np.uint8)
    picture[20:28, :] = 255
    ok, encoded = cv2.imencode(".jpg", picture)
    assert ok
    return encoded.tobytes()


def test_photos_of_an_inspection_item_and_a_tasks_evidence_are_kept_and_chained(server: LiveServer) -> None:
    officer = add_user(server, "zhou", Role.STAFF)
    photo = jpeg()
    with as_user(server, officer) as client:
        made = client.post("/api/v1/records/inspections", json={"template": "hazard-daily", "results": [
            {"item": "kitchen-off", "ok": True}, {"item": "smoking", "ok": True},
            {"item": "doors", "ok": False, "note": "courtyard gate chained shut", "owner": "s-sun"}]}).json()
        found = client.post(f"/api/v1/records/inspections/{made['id']}/photos", params={"item": "doors"},
                            content=photo, headers={"Content-Type": "image/jpeg"})
        assert found.status_code == 201, found.text
        assert found.json()["item"] == "doors" and found.json()["bytes"] == len(photo)
        task = made["tasks"][0]["task"]
        evidence = client.post(f"/api/v1/records/rectifications/{task}/photos", content=photo,
                               headers={"Content-Type": "image/jpeg"})
        assert evidence.status_code == 201
        # Refused, nothing stored: not an image, a wrong item, an unknown record, too big.
        assert client.post(f"/api/v1/records/inspections/{made['id']}/photos", content=b"hello",
                           headers={"Content-Type": "image/jpeg"}).status_code == 422
        assert client.post(f"/api/v1/records/inspections/{made['id']}/photos", params={"item": "roof"},
                           content=photo, headers={"Content-Type": "image/jpeg"}).status_code == 422
        assert client.post("/api/v1/records/inspections/9999/photos", content=photo,
                           headers={"Content-Type": "image/jpeg"}).status_code == 404
        assert client.post(f"/api/v1/records/rectifications/{task}/photos", content=photo + bytes(6 * 1024 * 1024),
                           headers={"Content-Type": "image/jpeg"}).status_code == 413
        [listed] = client.get("/api/v1/records/inspections").json()
        assert [(p["item"], p["by"]) for p in listed["photos"]] == [("doors", "zhou")]
        [open_task] = client.get("/api/v1/records/rectifications").json()
        assert len(open_task["photos"]) == 1
    inspector = add_user(server, "inspector", Role.INSPECTOR)
    with as_user(server, inspector) as client:
        got = client.get(listed["photos"][0]["url"])
        assert got.status_code == 200 and got.content == photo and got.headers["content-type"] == "image/jpeg"
        assert client.post(f"/api/v1/records/rectifications/{task}/photos", content=photo,
                           headers={"Content-Type": "image/jpeg"}).status_code == 403
        assert client.get("/api/v1/records/chain").json()[0]["intact"]
    with server.ctx.sessions.begin() as db:  # someone swaps the evidence photo in the database
        db.execute(text("UPDATE record_photos SET data = :d WHERE record = 'rectification'"), {"d": photo[:-10]})
    with as_user(server, inspector) as client:
        [chain] = client.get("/api/v1/records/chain").json()
    assert not chain["intact"] and "record_photos row" in chain["first_break"]["reason"]
    with server.ctx.sessions() as db:
        assert db.execute(text("SELECT count(*) FROM record_photos")).scalar() == 2
