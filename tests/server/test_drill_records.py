"""Fire drill records on a running server with a real broker: a drill started like the screen starts it is a
record from its first second; its all-clear measures the evacuation; the smoke alarm it muted is listed; what
the leader records later is a new version; every version is a link of the audit chain, and tampering shows."""

import subprocess
import sys

from sqlalchemy import text

from server.auth.users import Role
from tests.conftest import ROOT, Broker
from tests.helpers import LiveServer, wait_until
from tests.server.test_api import add_user, open_alerts, publish, site_of
from tests.server.test_care_api import as_user


def test_a_drill_is_recorded_with_its_evacuation_time_its_alarms_and_new_versions(
        server: LiveServer, broker: Broker, sqlite_url: str) -> None:
    site = site_of(server)
    nurse = add_user(server, "nurse", Role.STAFF)
    with as_user(server, nurse) as client:
        drill = client.post("/api/v1/suppressions", json={
            "site": site, "mode": "drill", "scope": "zone", "target": "z-kitchen", "minutes": 30,
            "reason": "kitchen fire, night shift"}).json()
        [started] = client.get("/api/v1/records/drills").json()
    assert (started["drill"], started["version"], started["scenario"], started["target"], started["started_by"],
            started["all_clear_at"], started["evacuation_s"]) == (
        drill["id"], 1, "kitchen fire, night shift", "z-kitchen", "nurse", None, None)
    assert started["shift"] in {"day", "evening", "night"}

    publish(broker, site, "smoke-kitchen", "smoke_detector", smoke=True)  # the drill's smoke machine
    [alarm] = wait_until(lambda: open_alerts(server), 3, what="the drill's smoke alert")
    with as_user(server, nurse) as client:
        ended = client.post(f"/api/v1/suppressions/{drill['id']}/end")
        assert ended.status_code == 200, ended.text
        recorded = client.post(f"/api/v1/records/drills/{drill['id']}", json={
            "participants": ["s-wang", "s-li"], "residents_evacuated": 7, "problems": "east exit blocked by a trolley"})
        assert recorded.status_code == 200, recorded.text
        [view] = client.get("/api/v1/records/drills").json()
        assert client.get("/api/v1/records/drills", params={"drill": drill["id"] + 1}).json() == []
        chain = client.get("/api/v1/records/chain").json()
        after = client.get(f"/api/v1/alerts/{alarm['id']}").json()
    assert view == recorded.json()
    # The all-clear closed the drill's alarm as a drill: nobody has to resolve it by hand.
    assert (after["status"], after["resolution"], after["resolved_by"]) == ("resolved", "drill", "nurse")
    assert (view["version"], view["versions"], view["participants"], view["residents_evacuated"],
            view["problems"], view["recorded_by"]) == (3, 3, ["s-wang", "s-li"], 7, "east exit blocked by a trolley",
                                                      "nurse")
    assert view["all_clear_at"] is not None and 0 <= view["evacuation_s"] < 60
    assert [(a["id"], a["rule"], a["subject"]) for a in view["alarms"]] == [(alarm["id"], "smoke", "smoke-kitchen")]
    assert alarm["muted"] == "drill"
    [verdict] = chain
    assert verdict["intact"] and verdict["links"] >= 4  # three drill versions and the alarm's transitions

    # Someone makes the evacuation look better, straight in the database.
    with server.ctx.sessions.begin() as db:
        db.execute(text("UPDATE drill_records SET residents_evacuated = 9 WHERE version = 3"))
    done = subprocess.run([sys.executable, "-m", "carewatch.cli", "records", "verify", "--database-url", sqlite_url],
                          cwd=ROOT, text=True, capture_output=True, timeout=60)
    assert done.returncode == 1 and "drill_records row" in done.stdout and "was changed after it was recorded" in (
        done.stdout)


def test_inspectors_read_drills_but_record_nothing(server: LiveServer) -> None:
    with server.client() as client:
        drill = client.post("/api/v1/suppressions", json={
            "mode": "drill", "scope": "site", "minutes": 30, "reason": "evacuation drill"}).json()
    inspector = add_user(server, "inspector", Role.INSPECTOR)
    with as_user(server, inspector) as client:
        assert [d["drill"] for d in client.get("/api/v1/records/drills").json()] == [drill["id"]]
        refused = client.post(f"/api/v1/records/drills/{drill['id']}", json={"residents_evacuated": 3})
        assert refused.status_code == 403
        assert client.post("/api/v1/records/drills/99999", json={}).status_code == 403
    with server.client() as client:
        assert client.post("/api/v1/records/drills/99999", json={}).status_code == 404
        bad = client.post(f"/api/v1/records/drills/{drill['id']}", json={"residents_evacuated": -1})
        assert bad.status_code == 422
