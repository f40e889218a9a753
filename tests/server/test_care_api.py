"""The API of silences, maintenance, drills and logged turns, on a running server with a real broker."""


import httpx
import pytest

from server.auth.users import Role
from tests.conftest import Broker
from tests.helpers import LiveServer, wait_until
from tests.server.test_api import add_user, open_alerts, publish, site_of


def as_user(live: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_a_silence_is_recorded_listed_and_mutes_the_alert(server: LiveServer, broker: Broker) -> None:
    site = site_of(server)
    staff = add_user(server, "nurse", Role.STAFF)
    with as_user(server, staff) as client:
        created = client.post("/api/v1/suppressions", json={
            "site": site, "mode": "silence", "scope": "device", "target": "smoke-kitchen", "minutes": 30,
            "reason": "detector being cleaned"})
        assert created.status_code == 201, created.text
        body = created.json()
        assert (body["author"], body["mode"], body["target"]) == ("nurse", "silence", "smoke-kitchen")
        assert [s["id"] for s in client.get("/api/v1/suppressions", params={"site": site}).json()] == [body["id"]]
    publish(broker, site, "smoke-kitchen", "smoke_detector", smoke=True)
    [alert] = wait_until(lambda: open_alerts(server), 3, what="the silenced smoke alert, recorded")
    assert (alert["muted"], alert["suppression_id"]) == ("silence", body["id"])


def test_ending_a_silence_keeps_it_in_the_history(server: LiveServer) -> None:
    with server.client() as client:
        made = client.post("/api/v1/suppressions", json={
            "mode": "drill", "scope": "zone", "target": "z-kitchen", "minutes": 20, "reason": "quarterly drill"}).json()
        ended = client.post(f"/api/v1/suppressions/{made['id']}/end")
        assert ended.status_code == 200 and ended.json()["ended_by"] == "admin"
        assert client.post(f"/api/v1/suppressions/{made['id']}/end").status_code == 409
        assert client.get("/api/v1/suppressions").json() == []
        history = client.get("/api/v1/suppressions", params={"history": True}).json()
        assert [(h["id"], h["reason"]) for h in history] == [(made["id"], "quarterly drill")]


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"mode": "silence", "scope": "device", "target": "no-such-device", "minutes": 5, "reason": "test"}, 422,
     "no device 'no-such-device'"),
    ({"mode": "drill", "scope": "device", "target": "smoke-kitchen", "minutes": 5, "reason": "test"}, 422,
     "a drill covers a room, site, zone, not a device"),
    ({"mode": "silence", "scope": "rule", "target": "smoke", "reason": "test"}, 422, "either ends_at or minutes"),
    ({"mode": "silence", "scope": "site", "minutes": 5, "reason": ""}, 422, "at least 3 characters"),
    ({"mode": "silence", "scope": "site", "minutes": 60 * 24 * 31, "reason": "long"}, 422, "less than or equal"),
])
def test_invalid_suppressions_are_refused_with_the_reason(server: LiveServer, body: dict[str, object],
                                                          status: int, message: str) -> None:
    with server.client() as client:
        response = client.post("/api/v1/suppressions", json=body)
        assert response.status_code == status
        assert message in response.text
        assert client.get("/api/v1/suppressions", params={"history": True}).json() == []


def test_only_managers_start_maintenance_and_inspectors_change_nothing(server: LiveServer) -> None:
    body = {"mode": "maintenance", "scope": "device", "target": "leak-boiler", "minutes": 60, "reason": "battery"}
    with as_user(server, add_user(server, "nurse", Role.STAFF)) as staff:
        assert staff.post("/api/v1/suppressions", json=body).status_code == 403
    with as_user(server, add_user(server, "auditor", Role.INSPECTOR)) as inspector:
        assert inspector.post("/api/v1/suppressions", json={**body, "mode": "silence"}).status_code == 403
        assert inspector.post("/api/v1/beds/b101-1/turns").status_code == 403
    with as_user(server, add_user(server, "boss", Role.MANAGER)) as manager:
        assert manager.post("/api/v1/suppressions", json=body).status_code == 201


def test_a_logged_turn_is_recorded_with_who_and_clears_repositioning(server: LiveServer, broker: Broker) -> None:
    site = site_of(server)
    with server.client() as client:
        assert client.post("/api/v1/beds/no-such-bed/turns").status_code == 404
        turn = client.post("/api/v1/beds/b103-2/turns", json={"site": site, "note": "left side"})
        assert turn.status_code == 201
        assert (turn.json()["actor"], turn.json()["note"]) == ("admin", "left side")
        assert [t["id"] for t in client.get("/api/v1/beds/b103-2/turns").json()] == [turn.json()["id"]]
    rule_key = (site, "repositioning_due", "b103-2")
    # The pipeline thread takes the turn: the resident's turning clock starts from it.
    wait_until(lambda: "turned" in server.ctx.pipeline.engine.states.get(rule_key, {}), 3, what="turn in the rule")
    assert server.ctx.pipeline.engine.states[rule_key]["by"] == "staff:admin"


@pytest.mark.parametrize(("body", "message"), [
    ({"mode": "silence", "scope": "site", "minutes": 30}, "only managers silence a whole site or an alert kind"),
    ({"mode": "silence", "scope": "rule", "target": "smoke", "minutes": 30}, "only managers silence"),
    ({"mode": "silence", "scope": "device", "target": "smoke-kitchen", "minutes": 13 * 60}, "at most 12h"),
    ({"mode": "drill", "scope": "site", "minutes": 5 * 60}, "at most 4h"),
])
def test_care_staff_cannot_hide_a_fire_for_long(server: LiveServer, body: dict[str, object], message: str) -> None:
    with as_user(server, add_user(server, "nurse", Role.STAFF)) as staff:
        refused = staff.post("/api/v1/suppressions", json={**body, "reason": "sensor keeps beeping"})
        assert refused.status_code == 403 and message in refused.text
    with as_user(server, add_user(server, "boss", Role.MANAGER)) as manager:
        assert manager.post("/api/v1/suppressions", json={**body, "reason": "agreed with the fire officer"}
                            ).status_code == 201


def test_a_naive_time_is_refused_not_a_server_error(server: LiveServer) -> None:
    with server.client() as client:
        response = client.post("/api/v1/suppressions", json={
            "mode": "silence", "scope": "device", "target": "smoke-kitchen", "reason": "test",
            "starts_at": "2026-11-28T10:00:00", "ends_at": "2026-11-28T11:00:00"})
        assert response.status_code == 422 and "timezone" in response.text


def test_comments_and_assignee_are_in_the_alert_s_history(server: LiveServer, broker: Broker) -> None:
    publish(broker, site_of(server), "sos-r102", "sos_button", pressed=True)
    [alert] = wait_until(lambda: open_alerts(server), 3, what="the SOS alert")
    with as_user(server, add_user(server, "nurse", Role.STAFF)) as staff:
        assert staff.post(f"/api/v1/alerts/{alert['id']}/assign", json={"assignee": "nurse"}).status_code == 200
        assert staff.post(f"/api/v1/alerts/{alert['id']}/comment", json={"note": "on my way"}).status_code == 200
        assert staff.post(f"/api/v1/alerts/{alert['id']}/comment", json={"note": ""}).status_code == 422
        got = staff.get(f"/api/v1/alerts/{alert['id']}").json()
        assert got["assignee"] == "nurse"
        assert [(e["action"], e["actor"], e["note"]) for e in got["events"][1:]] == [
            ("assigned", "nurse", "nurse"), ("comment", "nurse", "on my way")]
        assert staff.get(f"/api/v1/alerts/{alert['id']}/notifications").status_code == 200
        assert staff.get("/api/v1/alerts/999999/notifications").status_code == 404
    with as_user(server, add_user(server, "auditor", Role.INSPECTOR)) as inspector:
        assert inspector.post(f"/api/v1/alerts/{alert['id']}/comment", json={"note": "x"}).status_code == 403


def test_managers_change_the_roster_and_everyone_can_read_it(server: LiveServer) -> None:
    with as_user(server, add_user(server, "nurse", Role.STAFF)) as staff:
        before = staff.get("/api/v1/roster").json()
        assert [s["id"] for s in before["shifts"]] == ["day", "evening", "night"] and before["on_duty"]
        assert staff.put("/api/v1/roster/night", json={"staff": ["s-li"]}).status_code == 403
    with as_user(server, add_user(server, "boss", Role.MANAGER)) as manager:
        assert manager.put("/api/v1/roster/night", json={"staff": ["s-nobody"]}).status_code == 422
        assert manager.put("/api/v1/roster/dawn", json={"staff": ["s-li"]}).status_code == 404
        changed = manager.put("/api/v1/roster/night", json={"staff": ["s-li", "s-wang"], "supervisor": "s-zhao"})
        night = next(s for s in changed.json()["shifts"] if s["id"] == "night")
        assert (night["staff"], night["changed_by"]) == (["s-li", "s-wang"], "boss")
        assert manager.get("/api/v1/handovers").status_code == 200


def test_the_roster_page_shows_shifts_and_a_manager_s_form_changes_one(server: LiveServer) -> None:
    add_user(server, "boss", Role.MANAGER)
    add_user(server, "nurse", Role.STAFF)
    with httpx.Client(base_url=server.url, params={"lang": "en"}) as browser:
        assert browser.get("/roster", follow_redirects=False).headers["location"] == "/login?next=/roster"
        browser.post("/login", data={"username": "nurse", "password": "password-123"})
        page = browser.get("/roster").text
        assert "Night" in page and "<form" not in page  # staff read it
        assert browser.post("/roster/night", data={"staff": ["s-li"]}).status_code == 403
    with httpx.Client(base_url=server.url, params={"lang": "en"}) as browser:
        browser.post("/login", data={"username": "boss", "password": "password-123"})
        assert 'name="staff"' in browser.get("/roster").text
        done = browser.post("/roster/night", data={"staff": ["s-li", "s-zhao"], "supervisor": "s-zhao"},
                            follow_redirects=False)
        assert done.status_code == 303
        night = next(s for s in browser.get("/api/v1/roster").json()["shifts"] if s["id"] == "night")
    assert (night["staff"], night["supervisor"], night["changed_by"]) == (["s-li", "s-zhao"], "s-zhao", "boss")


def test_the_figures_page_shows_the_response_figures_and_deliveries(server: LiveServer, broker: Broker) -> None:
    publish(broker, site_of(server), "sos-r104", "sos_button", pressed=True)
    [alert] = wait_until(lambda: open_alerts(server), 3, what="the SOS alert")
    with server.client() as client:
        client.post(f"/api/v1/alerts/{alert['id']}/ack")
        wait_until(lambda: client.get(f"/api/v1/alerts/{alert['id']}/notifications").json(), 3,
                   what="the screen round recorded")
    with httpx.Client(base_url=server.url, params={"lang": "en"}) as browser:
        assert browser.get("/figures", follow_redirects=False).headers["location"] == "/login?next=/figures"
        browser.post("/login", data={"username": "admin", "password": "admin-pass-1"})
        page = browser.get("/figures").text
    assert "By severity" in page and "Critical" in page and "SOS call" in page and "screen" in page
