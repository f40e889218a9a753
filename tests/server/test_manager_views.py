"""The manager views on a live two-site server running on the test's clock: the figures page draws SVG charts whose
bars and points carry the numbers the API gives (in zh-CN and en); the alert history filters, pages and keeps to
the sites a user is granted; the silences page lets a manager start and end a maintenance window while other
roles get no form. Alerts come from the pipeline (SOS presses) and the alert service, answered through the API."""

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from devices import topics
from devices.kinds import Severity
from devices.messages import Envelope, Reading, new_id, to_json
from server.alerts import service
from server.alerts.service import Resolution
from server.auth.tokens import COOKIE
from server.auth.users import Role
from server.delivery.outbox import enqueue
from server.ingest import Message
from server.pipeline import Pipeline
from server.rules.base import Raise
from tests.conftest import Broker
from tests.helpers import LiveServer, add_second_site, live_server, login_token, server_settings
from tests.server.conftest import Clock
from tests.server.test_care_api import as_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
SVG = "{http://www.w3.org/2000/svg}"
BATCH = 55  # test presses on 10 November: more than one page of history


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def live(unique_site_file: Path, sqlite_url: str, broker: Broker, clock: Clock) -> Iterator[LiveServer]:
    """Two homes on the test's clock; no ingest, so nothing ticks behind the test's back."""
    add_second_site(unique_site_file)
    clock.now = at(10, 8)
    with live_server(server_settings(unique_site_file, sqlite_url, broker), clock=clock, ingest=False) as server:
        server.ctx.pipeline = Pipeline(server.ctx.facility, server.ctx.sessions, clock=clock)
        server.ctx.pipeline.load()
        yield server


def sites(live: LiveServer) -> tuple[str, str]:
    a, b = (s.id for s in live.ctx.facility.sites)
    return a, b


def browsing(live: LiveServer, token: str) -> httpx.Client:
    """A client sending the login as the session cookie, as a browser does for pages."""
    return httpx.Client(base_url=live.url, cookies={COOKIE: token}, timeout=10)


def press(live: LiveServer, site: str, device: str) -> int:
    """An SOS press through the pipeline; the id of the alert it opened."""
    now = live.ctx.clock()
    envelope = Envelope(id=new_id(), site=site, device=device, kind="sos_button", at=now, seq=int(now.timestamp()),
                        data=Reading(pressed=True, action="emergency"))
    live.ctx.pipeline.process([Message(topics.observation(site, device), to_json(envelope), now, mid=1, qos=1)])
    with live.ctx.sessions() as db:
        alert = service.open_alert(db, site=site, rule="sos", subject=device)
        assert alert is not None
        return alert.id


def answer(client: httpx.Client, clock: Clock, alert_id: int, ack_after: int, resolution: str | None) -> None:
    """Acknowledge `ack_after` seconds after now, then resolve two minutes later (if a resolution is given)."""
    clock.now += timedelta(seconds=ack_after)
    assert client.post(f"/api/v1/alerts/{alert_id}/ack").status_code == 200
    if resolution:
        clock.now += timedelta(minutes=2)
        assert client.post(f"/api/v1/alerts/{alert_id}/resolve", json={"resolution": resolution}).status_code == 200


def a_month(live: LiveServer, clock: Clock) -> dict[str, int]:
    """A test batch on 10 November, then a week of alerts at the first home answered by a nurse, one at the second."""
    a, b = sites(live)
    with live.ctx.sessions.begin() as db:  # the quarterly button test: pressed and resolved as a test, 55 times
        for n in range(BATCH):
            raised = at(10, 9, n)
            made = service.apply_raise(db, site=a, rule="sos", action=Raise("sos-bath-n", Severity.CRITICAL, "bath-n"),
                                       at=raised)
            service.resolve(db, made.id, actor="tester", at=raised + timedelta(seconds=20), resolution=Resolution.TEST)
    nurse = login_token(live, "nurse", Role.STAFF)
    ids: dict[str, int] = {}
    with as_user(live, nurse) as client:
        clock.now = at(25, 2)  # night shift
        ids["r101"] = press(live, a, "sos-r101")
        answer(client, clock, ids["r101"], 30, "real_event")
        clock.now = at(26, 10)  # day shift
        ids["r102"] = press(live, a, "sos-r102")
        answer(client, clock, ids["r102"], 90, "false_alarm")
        clock.now = at(27, 16)  # evening shift: nobody answers for four minutes, the supervisor is called
        ids["r103"] = press(live, a, "sos-r103")
        with live.ctx.sessions.begin() as db:
            assert enqueue(db, live.ctx.facility, at(27, 16, 4))[0] >= 2
        answer(client, clock, ids["r103"], 240, "real_event")
        clock.now = at(27, 23, 30)  # night shift: a bed exit, acknowledged and still being handled
        with live.ctx.sessions.begin() as db:
            ids["bed"] = service.apply_raise(db, site=a, rule="bed_exit_night", at=clock.now,
                                             action=Raise("b101-1", Severity.HIGH, "r101")).id
        answer(client, clock, ids["bed"], 60, None)
        clock.now = at(28, 9)
        ids["other_home"] = press(live, b, "sos-r101")
    clock.now = at(28, 10)
    return ids


def charts(page: str) -> dict[str, ET.Element]:
    """Every inline SVG chart of a page, parsed as XML, by its id."""
    assert page.count("<svg") == len(re.findall(r"<svg .*?</svg>", page, re.S))
    found = [ET.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", page, re.S)]
    return {svg.attrib["data-chart"]: svg for svg in found}


def bar(svg: ET.Element, key: str, series: str) -> tuple[float, str]:
    """The value of a bar and the words written beside it."""
    [rect] = [r for r in svg.iter(f"{SVG}rect") if (r.get("data-key"), r.get("data-series")) == (key, series)]
    [words] = [t for t in svg.iter(f"{SVG}text") if (t.get("data-key"), t.get("data-series")) == (key, series)]
    return float(rect.attrib["data-value"]), words.text or ""


def per_day(svg: ET.Element, shape: str) -> dict[str, float]:
    """Day → value of a trend chart's columns or dots."""
    return {e.attrib["data-day"]: float(e.attrib["data-value"]) for e in svg.iter(f"{SVG}{shape}")
            if e.get("data-day")}


def test_the_figures_page_draws_the_api_figures_as_accessible_charts(live: LiveServer, clock: Clock) -> None:
    a, b = sites(live)
    a_month(live, clock)
    manager = login_token(live, "boss", Role.MANAGER)
    with as_user(live, manager) as client:
        api = client.get("/api/v1/figures", params={"site": a, "days": 7}).json()
    with browsing(live, manager) as browser:
        english = browser.get("/figures", params={"site": a, "days": 7, "lang": "en"})
        chinese = browser.get("/figures", params={"site": a, "days": 7, "lang": "zh-CN"})
        month = browser.get("/figures", params={"site": a, "days": 30, "lang": "en"})
    assert english.status_code == chinese.status_code == month.status_code == 200
    critical = api["by_severity"]["critical"]
    assert (critical["ack_s"], critical["escalated"]) == ({"median": 90.0, "p90": 240.0}, 1)

    en = charts(english.text)
    assert set(en) == {"ack-severity", "ack-shift", "alerts-daily", "ack-daily", "escalated-daily", "false-alarms"}
    for svg in en.values():  # an image with a name and a description, for screen readers
        assert svg.get("role") == "img" and svg.get("aria-label")
        assert svg.find(f"{SVG}title") is not None and svg.find(f"{SVG}desc") is not None
    assert bar(en["ack-severity"], "critical", "median") == (critical["ack_s"]["median"], "Median 90 s")
    assert bar(en["ack-severity"], "critical", "p90") == (critical["ack_s"]["p90"], "90th percentile 4.0 min")
    assert bar(en["ack-severity"], "high", "median") == (api["by_severity"]["high"]["ack_s"]["median"], "Median 60 s")
    assert bar(en["ack-shift"], "night", "median") == (api["by_shift"]["night"]["ack_s"]["median"], "Median 45 s")
    assert bar(en["ack-shift"], "evening", "median")[0] == 240.0
    assert bar(en["false-alarms"], "sos", "share") == (api["false_alarm_share_by_rule"]["sos"], "False alarms 33%")
    assert "Critical Median 90 s" in (en["ack-severity"].findtext(f"{SVG}desc") or "")
    assert per_day(en["alerts-daily"], "rect") == {"2026-11-25": 1, "2026-11-26": 1, "2026-11-27": 2}
    assert per_day(en["ack-daily"], "circle") == {"2026-11-25": 30, "2026-11-26": 90, "2026-11-27": 150}
    assert per_day(en["escalated-daily"], "rect") == {"2026-11-27": 1}

    zh = charts(chinese.text)
    assert zh["ack-severity"].findtext(f"{SVG}title") == "各级别响应时间"
    assert bar(zh["ack-severity"], "critical", "median") == (90.0, "中位数 90 秒")
    assert "紧急" in ET.tostring(zh["ack-severity"], encoding="unicode")  # the severity in words
    assert bar(zh["false-alarms"], "sos", "share") == (0.333, "误报比例 33%")

    thirty = charts(month.text)["alerts-daily"]  # the period selector: the test batch of 10 November shows up
    assert per_day(thirty, "rect")["2026-11-10"] == BATCH
    assert 'value="30" selected' in month.text


def history(browser: httpx.Client, **params: Any) -> tuple[int, list[int], str]:
    """Total, the alert ids of the page (in order) and the page itself."""
    page = browser.get("/history", params={"lang": "en", **params})
    assert page.status_code == 200, page.text
    total = re.search(r'data-testid="total">(\d+) alerts', page.text)
    assert total is not None
    return int(total.group(1)), [int(i) for i in re.findall(r'data-alert="(\d+)"', page.text)], page.text


def test_the_history_filters_pages_and_keeps_to_the_sites_granted(live: LiveServer, clock: Clock) -> None:
    a, b = sites(live)
    ids = a_month(live, clock)
    with as_user(live, live.token) as client:
        every = client.get("/api/v1/alerts", params={"site": a}).json()
    newest_first = [x["id"] for x in sorted(every, key=lambda x: (x["raised_at"], x["id"]), reverse=True)]
    staff = login_token(live, "carer", Role.STAFF, sites=[a])  # any role reads the history
    with browsing(live, staff) as browser:
        total, first, _ = history(browser)
        _, second, page_two = history(browser, page=2)
        assert (total, len(first), len(second)) == (BATCH + 4, 50, 9)
        assert first + second == newest_first and ids["other_home"] not in first + second
        assert "Page 2 of 2" in page_two and 'rel="prev"' in page_two and 'rel="next"' not in page_two

        _, high, text = history(browser, severity="high")
        assert high == [ids["bed"]]
        row = re.search(rf'<tr data-alert="{ids["bed"]}".*?</tr>', text, re.S)
        assert row is not None
        for shown in ("Bed exit at night", "Bed 101-1", "High", "Acknowledged", "nurse", "60 s"):
            assert shown in row.group(0)
        assert history(browser, status="acknowledged")[1] == [ids["bed"]]
        assert history(browser, resolution="false_alarm")[1] == [ids["r102"]]
        assert history(browser, rule="sos", **{"from": "2026-11-25", "to": "2026-11-27"})[1] == [
            ids["r103"], ids["r102"], ids["r101"]]
        assert history(browser, q="sos-r10")[0] == 3
        assert history(browser, q="Bed 101")[1] == [ids["bed"]]  # by the name people know, not the id
        tested, _, _ = history(browser, resolution="test", **{"from": "2026-11-10", "to": "2026-11-10"})
        assert tested == BATCH
        assert history(browser, rule="sos", severity="high")[0] == 0

        sheet = browser.get("/history.csv", params={"site": a, "rule": "sos", "from": "2026-11-25", "lang": "en"})
        assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/csv")
        assert len(sheet.content.decode("utf-8-sig").strip().splitlines()) == 1 + 3

        refused = browser.get("/history", params={"severity": "urgent"})
        assert refused.status_code == 422 and "severity must be one of" in refused.text
        for path in ("/history", "/history.csv", "/figures", "/silences"):  # another home is none of theirs
            assert browser.get(path, params={"site": b}).status_code == 403
    with browsing(live, live.token) as browser:  # the admin sees the other home
        assert history(browser, site=b)[1] == [ids["other_home"]]


def test_a_manager_starts_and_ends_maintenance_and_other_roles_get_no_form(live: LiveServer) -> None:
    a, _ = sites(live)
    manager = login_token(live, "boss", Role.MANAGER)
    form = {"site": a, "mode": "maintenance", "what": "device:leak-boiler", "minutes": "60",
            "reason": "battery change"}
    with browsing(live, manager) as browser:
        assert 'action="/silences"' in browser.get("/silences", params={"lang": "en"}).text
        bad = browser.post("/silences", data={**form, "reason": "x"})
        assert bad.status_code == 422 and "at least 3 characters" in bad.text
        assert 'value="x"' in bad.text  # the form comes back as it was typed
        wrong = browser.post("/silences", data={**form, "what": "rule:smoke"})
        assert wrong.status_code == 422 and "a maintenance covers a device, room, zone, not a rule" in wrong.text
        made = browser.post("/silences", data=form)
        assert made.status_code == 303
        with as_user(live, manager) as client:
            [listed] = client.get("/api/v1/suppressions", params={"site": a}).json()
        assert (listed["mode"], listed["target"], listed["author"], listed["reason"]) == (
            "maintenance", "leak-boiler", "boss", "battery change")
        page = browser.get("/silences", params={"lang": "en"}).text
        assert f'action="/silences/{listed["id"]}/end"' in page and "Boiler leak sensor" in page
        assert browser.post(f"/silences/{listed['id']}/end").status_code == 303
        page = browser.get("/silences", params={"lang": "en"}).text
    with as_user(live, manager) as client:
        assert client.get("/api/v1/suppressions", params={"site": a}).json() == []
        [ended] = client.get("/api/v1/suppressions", params={"site": a, "history": True}).json()
    assert ended["ended_by"] == "boss"
    assert "Ended early by boss" in page and f'action="/silences/{listed["id"]}/end"' not in page

    with browsing(live, manager) as browser:  # a window planned for tonight, in the home's local time
        planned_form = {**form, "starts": "2026-11-10T20:00", "minutes": "120"}
        assert browser.post("/silences", data=planned_form).status_code == 303
        assert "Planned" in browser.get("/silences", params={"lang": "en"}).text
    with as_user(live, manager) as client:
        [planned] = client.get("/api/v1/suppressions", params={"site": a}).json()
    assert datetime.fromisoformat(planned["starts_at"]) == at(10, 20)
    assert datetime.fromisoformat(planned["ends_at"]) == at(10, 22)

    for name, role in (("auditor", Role.INSPECTOR), ("carer", Role.STAFF)):
        with browsing(live, login_token(live, name, role)) as browser:
            seen = browser.get("/silences", params={"lang": "en"})
            assert seen.status_code == 200 and "battery change" in seen.text
            assert 'method="post"' not in seen.text
            assert browser.post("/silences", data=form).status_code == 403
            assert browser.post(f"/silences/{listed['id']}/end").status_code == 403
    with as_user(live, manager) as client:  # nothing added by them
        assert len(client.get("/api/v1/suppressions", params={"site": a, "history": True}).json()) == 2
