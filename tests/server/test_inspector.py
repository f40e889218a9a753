"""The inspector's access: a read-only role granted per site; the district view across the sites a user may
see; the records page with the chain check. On a live server with a two-site facility."""

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from devices.messages import utcnow
from server.auth.tokens import COOKIE
from server.auth.users import Role
from tests.conftest import Broker
from tests.helpers import LiveServer, add_second_site, live_server, login_token, server_settings
from tests.server.test_care_api import as_user

PASSWORD = "password-123"


@pytest.fixture
def two_sites(unique_site_file: Path, sqlite_url: str, broker: Broker) -> Iterator[LiveServer]:
    """The reference facility twice: its own site and a copy under another id (another home of the district)."""
    add_second_site(unique_site_file)
    with live_server(server_settings(unique_site_file, sqlite_url, broker)) as live:
        yield live


def login(live: LiveServer, username: str, role: Role, sites: list[str] | None = None) -> str:
    """Create a user (granted `sites`, or every site) and return a bearer token."""
    return login_token(live, username, role, sites, PASSWORD)


def browsing(live: LiveServer, token: str) -> httpx.Client:
    """A client that sends the login as the screen's cookie, as a browser does for pages."""
    return httpx.Client(base_url=live.url, cookies={COOKIE: token}, timeout=10)


def site_ids(live: LiveServer) -> tuple[str, str]:
    a, b = (s.id for s in live.ctx.facility.sites)
    return a, b


def test_an_inspector_sees_only_the_sites_granted_and_changes_nothing(two_sites: LiveServer) -> None:
    a, b = site_ids(two_sites)
    staff_b = login(two_sites, "nurse-b", Role.STAFF)
    with as_user(two_sites, staff_b) as client:  # a record at each home
        for site in (a, b):
            made = client.post("/api/v1/records/food-samples", json={"site": site, "meal": "lunch",
                                                                     "dish": "steamed fish", "grams": 150})
            assert made.status_code == 201, made.text
    inspector = login(two_sites, "inspector-a", Role.INSPECTOR, sites=[a])
    with as_user(two_sites, inspector) as client:
        assert client.get("/api/v1/records/food-samples", params={"site": a}).status_code == 200
        refused = client.get("/api/v1/records/food-samples", params={"site": b})
        assert refused.status_code == 403 and b in refused.json()["detail"]
        assert client.get("/api/v1/records/food-samples", params={"site": "nowhere"}).status_code == 404
        assert [c["site"] for c in client.get("/api/v1/records/chain").json()] == [a]
        assert client.get("/api/v1/records/chain", params={"site": b}).status_code == 403
        assert [s["site"] for s in client.get("/api/v1/records/district").json()] == [a]
        assert client.get("/api/v1/figures", params={"site": b}).status_code == 403
        # Read-only everywhere: recording, closing, starting drills are refused.
        assert client.post("/api/v1/records/food-samples", json={"site": a, "meal": "lunch", "dish": "rice",
                                                                 "grams": 150}).status_code == 403
        assert client.post("/api/v1/records/inspections", json={"site": a, "template": "hazard-daily", "results": [
            {"item": "doors", "ok": True}]}).status_code == 403
    with two_sites.ctx.sessions() as db:
        assert db.execute(text("SELECT count(*) FROM food_samples")).scalar() == 2  # nothing added by the inspector


def test_the_district_view_has_a_line_per_site_with_its_figures(two_sites: LiveServer) -> None:
    a, b = site_ids(two_sites)
    staff = login(two_sites, "nurse", Role.STAFF)
    with as_user(two_sites, staff) as client:
        made = client.post("/api/v1/records/inspections", json={"site": b, "template": "hazard-daily", "results": [
            {"item": "kitchen-off", "ok": True}, {"item": "smoking", "ok": True},
            {"item": "doors", "ok": False, "note": "fire door wedged open", "owner": "s-sun"}]})
        assert made.status_code == 201, made.text
    bureau = login(two_sites, "bureau", Role.INSPECTOR)  # granted no site in particular: the whole district
    with as_user(two_sites, bureau) as client:
        lines = {s["site"]: s for s in client.get("/api/v1/records/district", params={"days": 30}).json()}
    assert set(lines) == {a, b}
    assert (lines[b]["inspections"]["recorded"], lines[b]["rectifications"]["open"]) == (1, 1)
    assert (lines[a]["inspections"]["recorded"], lines[a]["rectifications"]["open"]) == (0, 0)
    assert lines[a]["drills"]["on_time"] is False  # no drill on record: overdue
    assert lines[b]["chain"]["intact"] and lines[b]["chain"]["links"] >= 2  # the inspection and its task
    with two_sites.ctx.sessions.begin() as db:  # someone edits the task in the database
        db.execute(text("UPDATE rectifications SET problem = 'nothing' WHERE site = :s"), {"s": b})
    with as_user(two_sites, bureau) as client:
        lines = {s["site"]: s for s in client.get("/api/v1/records/district").json()}
    with browsing(two_sites, bureau) as browser:
        page = browser.get("/district", params={"lang": "en"})
    assert not lines[b]["chain"]["intact"] and lines[a]["chain"]["intact"]
    assert page.status_code == 200
    row_b = re.search(rf'<tr data-site="{b}">(.*?)</tr>', page.text, re.S)
    assert row_b is not None and "Broken" in row_b.group(1)


def test_the_records_page_shows_the_chain_check_calendar_and_export_form(two_sites: LiveServer) -> None:
    a, b = site_ids(two_sites)
    inspector = login(two_sites, "inspector-b", Role.INSPECTOR, sites=[b])
    with as_user(two_sites, inspector) as client:
        head = client.get("/api/v1/records/chain", params={"site": b}).json()[0]["head"]
    with browsing(two_sites, inspector) as browser:
        page = browser.get("/records", params={"lang": "zh-CN"})
        assert browser.get("/records", params={"site": a}).status_code == 403
    assert page.status_code == 200
    assert "完整：记录未被改动" in page.text and head in page.text
    assert "消防演练" in page.text and "每月防火检查" in page.text  # the calendar names the drill and the forms
    assert f'name="site" value="{b}"' in page.text and 'value="pdf"' in page.text
    assert "<button" in page.text.split('class="export-form"')[1]  # the export button, and no other
    assert page.text.count("<button") == 1 and 'method="post"' not in page.text


def test_user_add_grants_sites_and_refuses_an_unknown_one(two_sites: LiveServer, tmp_path: Path) -> None:
    from carewatch.cli import main
    a, _ = site_ids(two_sites)
    url = f"sqlite:///{tmp_path / 'users.db'}"
    config = str(two_sites.ctx.settings.config)
    assert main(["user", "add", "insp", "--role", "inspector", "--site", a, "--password", PASSWORD,
                 "--database-url", url, "--config", config]) == 0
    assert main(["user", "add", "insp2", "--role", "inspector", "--site", "nowhere", "--password", PASSWORD,
                 "--database-url", url, "--config", config]) == 1


def test_the_live_stream_keeps_to_the_granted_sites(two_sites: LiveServer) -> None:
    a, b = site_ids(two_sites)
    inspector = login(two_sites, "inspector-a", Role.INSPECTOR, sites=[a])
    headers = {"Authorization": f"Bearer {inspector}"}
    refused = httpx.get(f"{two_sites.url}/events", params={"site": b}, headers=headers, timeout=10)
    assert refused.status_code == 403
    with httpx.stream("GET", f"{two_sites.url}/events", headers=headers, timeout=10) as response:
        lines = response.iter_lines()
        assert next(lines) == "event: snapshot"
        snapshot = json.loads(next(lines).split(":", 1)[1])
    assert {d["site"] for d in snapshot["devices"]} == {a}  # without ?site=: their own home only


def test_staff_of_one_home_cannot_touch_another_homes_alert(two_sites: LiveServer) -> None:
    a, b = site_ids(two_sites)
    with two_sites.ctx.sessions.begin() as db:  # an open alert at home b
        from devices.kinds import Severity
        from server.alerts import service
        from server.rules.base import Raise
        alert = service.apply_raise(db, site=b, rule="sos", at=utcnow(),
                                    action=Raise("sos-bath-s", Severity.CRITICAL, None, {}))
    nurse_a = login(two_sites, "nurse-a", Role.STAFF, sites=[a])
    with as_user(two_sites, nurse_a) as client:
        for path, body in ((f"/api/v1/alerts/{alert.id}/ack", None),
                           (f"/api/v1/alerts/{alert.id}/resolve", {"resolution": "false_alarm"}),
                           (f"/api/v1/alerts/{alert.id}/comment", {"note": "not ours"})):
            assert client.post(path, json=body).status_code == 404, path
        assert client.get(f"/api/v1/alerts/{alert.id}/notifications").status_code == 404
    nurse_b = login(two_sites, "nurse-b", Role.STAFF, sites=[b])
    with as_user(two_sites, nurse_b) as client:
        assert client.post(f"/api/v1/alerts/{alert.id}/ack").json()["status"] == "acknowledged"
