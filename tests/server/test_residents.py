"""The resident view: one night of a bed fed through the pipeline with an injected clock, read back as a nurse reads
it (API and pages, both languages), with each role's view: snapshots, the turn button, site grants."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from devices.facility import Facility
from server.auth.tokens import COOKIE
from server.auth.users import Role
from server.pipeline import Pipeline
from server.residents import empty_spells, night_of
from tests.conftest import FACILITY_FILE, Broker
from tests.helpers import LiveServer, live_server, login_token, server_settings
from tests.server.conftest import Clock, envelope, message
from tests.server.test_camera_rules import camera, jpeg_b64

SHANGHAI = ZoneInfo("Asia/Shanghai")
BED, SENSOR = "b103-2", "bed-b103-2"  # cp-06: turned every 2 h (q2h); the room's camera is cam-08
REPEAT = timedelta(minutes=8)  # under the 10 min after which a silent mat is offline


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A wall-clock time at the reference site, as an aware UTC instant."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def served(db_url: str) -> Iterator[Any]:
    """The web app (no MQTT) on the test's clock, with a pipeline of the test's that also takes the logged turns."""
    clock = Clock(local(27, 22, 35))  # the mat reports from 22:40: not yet silent long enough to be offline
    settings = server_settings(FACILITY_FILE, db_url, Broker("127.0.0.1", 9, "mosquitto"), notify=False)
    with live_server(settings, ingest=False, clock=clock) as live:
        live.ctx.pipeline = Pipeline(live.ctx.facility, live.ctx.sessions, clock=clock)
        live.ctx.pipeline.load()
        live.clock = clock
        yield live


class Night:
    """Moves the clock, feeds the pipeline, and fires its timers on the way, as the server does. The mat repeats
    its occupancy every 8 minutes, as mats do (a silent one would be offline, an alert of its own)."""

    def __init__(self, live: Any) -> None:
        self.live, self.pipeline, self.clock, self.seq = live, live.ctx.pipeline, live.clock, 0
        self.occupied: bool | None = None
        self.last = self.clock.now

    def at(self, when: datetime) -> None:
        """The clock reaches `when`: the mat's repeats, due timers and logged turns run."""
        while self.occupied is not None and self.last + REPEAT < when:
            self.last += REPEAT
            self._report(self.last, occupied=self.occupied)
        self.clock.now = when
        self.pipeline.tick(when)

    def bed(self, when: datetime, **fields: Any) -> None:
        """The bed sensor reports at `when`."""
        self.at(when)
        self._report(when, **fields)
        self.occupied = fields.get("occupied", self.occupied)
        self.last = when

    def _report(self, when: datetime, **fields: Any) -> None:
        """One message of the mat."""
        self.clock.now = when
        self.pipeline.tick(when)
        self.seq += 1
        self.pipeline.process([message(envelope(SENSOR, when, self.seq, **fields))])

    def camera(self, when: datetime, **fields: Any) -> None:
        """The room's camera reports at `when`."""
        self.at(when)
        self.seq += 1
        self.pipeline.process([message(camera("cam-08", when, self.seq, **fields))])


def feed_night(live: Any, nurse: str) -> Night:
    """In bed at 22:40, turned at 00:30, out 01:10–01:25 and 03:00–03:40, a turning-over at 02:30 that is no exit,
    heart rate readings (too fast 02:00–02:10: an alert), and a person-down snapshot from the room's camera."""
    n = Night(live)
    n.bed(local(27, 22, 40), occupied=True, heart_rate_bpm=68)
    n.bed(local(28, 0, 0), heart_rate_bpm=64)
    n.at(local(28, 0, 30))
    with user_client(live, nurse) as client:
        assert client.post(f"/api/v1/beds/{BED}/turns", json={"site": "hq"}).status_code == 201
    n.at(local(28, 0, 30, 1))
    n.bed(local(28, 1, 10), occupied=False)
    n.bed(local(28, 1, 25), occupied=True)
    n.bed(local(28, 2, 0), heart_rate_bpm=130)
    n.bed(local(28, 2, 4), heart_rate_bpm=131)
    n.bed(local(28, 2, 10), heart_rate_bpm=80)
    n.at(local(28, 2, 12))
    n.bed(local(28, 2, 30, 0), occupied=False)  # turning over: back after 4 s, under the 10 s confirmation
    n.bed(local(28, 2, 30, 4), occupied=True, heart_rate_bpm=58)
    n.bed(local(28, 3, 0), occupied=False)
    n.camera(local(28, 3, 5), event="person_down", zone="z103-floor", active=True, snapshot=jpeg_b64())
    n.camera(local(28, 3, 6), event="person_down", zone="z103-floor", active=False)
    n.bed(local(28, 3, 40), occupied=True)
    n.bed(local(28, 3, 50), heart_rate_bpm=72, respiration_rpm=15)
    n.at(local(28, 4, 0))
    return n


def user_client(live: LiveServer, token: str) -> httpx.Client:
    """A client that logs in as a browser does (the session cookie), which the API accepts too."""
    return httpx.Client(base_url=live.url, cookies={COOKIE: token}, timeout=10)


def when(value: str | None) -> datetime | None:
    """An API timestamp as an aware instant."""
    return datetime.fromisoformat(value) if value else None


def text_of(html: str) -> str:
    """A page's visible text, tags dropped and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_night_reads_as_a_nurse_would_check_it(served: Any) -> None:
    nurse = login_token(served, "nurse", Role.STAFF)
    feed_night(served, nurse)
    with user_client(served, nurse) as client:
        night = client.get(f"/api/v1/beds/{BED}", params={"site": "hq"}).json()
        rows = {r["bed"]: r for r in client.get("/api/v1/beds", params={"site": "hq"}).json()}
    assert (when(night["night"]["start"]), when(night["night"]["end"])) == (local(27, 22), local(28, 6))
    assert (night["state"], when(night["since"])) == ("in_bed", local(28, 3, 40))
    assert [(when(e["left_at"]), when(e["back_at"]), e["out_s"]) for e in night["exit_list"]] == [
        (local(28, 1, 10), local(28, 1, 25), 15 * 60), (local(28, 3, 0), local(28, 3, 40), 40 * 60)]
    assert (night["exits"], night["out_s"]) == (2, 55 * 60)
    turns = night["turns"]
    assert (when(turns["last_at"]), turns["last_by"], turns["interval_s"]) == (local(28, 0, 30), "nurse", 7200)
    # Back in bed restarts the turning clock (as the rule that alerts counts it): due 2 h after 03:40.
    assert (when(turns["restarted_at"]), when(turns["due_at"]), turns["overdue"]) == (
        local(28, 3, 40), local(28, 5, 40), False)
    hr, rr = night["vitals"]["heart_rate"], night["vitals"]["respiration"]
    assert (hr["value"], when(hr["at"]), hr["low"], hr["high"]) == (72, local(28, 3, 50), 58, 131)
    assert (rr["value"], when(rr["at"])) == (15, local(28, 3, 50))
    assert [(a["rule"], a["subject"]) for a in night["alert_list"]] == [("vital_signs", f"{BED}/hr"),
                                                                         ("person_down", "z103-floor")]
    snapshot = night["alert_list"][1]["snapshot"]
    assert snapshot and night["alert_list"][0]["snapshot"] is None
    # The list: one line per bed of the site, this bed with the same figures, the others without data.
    assert len(rows) == 7 and "exit_list" not in rows[BED]
    assert (rows[BED]["exits"], rows[BED]["out_s"], rows[BED]["alerts"]) == (2, 3300, 2)
    assert (rows["b101-1"]["state"], rows["b101-1"]["exits"], rows["b101-1"]["turns"]) == ("no_data", 0, None)
    with user_client(served, nurse) as client:
        assert client.get(snapshot).headers["content-type"] == "image/jpeg"
        served.clock.now = local(28, 3, 20)  # as it read at 03:20, while the resident was up
        then = client.get(f"/api/v1/beds/{BED}", params={"site": "hq"}).json()
    assert (then["state"], when(then["since"]), then["exits"], then["out_s"]) == ("out", local(28, 3), 2, 35 * 60)
    assert [(e["returned"], e["back_at"]) for e in then["exit_list"]] == [(True, night["exit_list"][0]["back_at"]),
                                                                          (False, None)]


def test_the_pages_show_the_night_in_both_languages_and_each_role_its_part(served: Any) -> None:
    nurse = login_token(served, "nurse", Role.STAFF)
    feed_night(served, nurse)
    with user_client(served, nurse) as client:
        en = text_of(client.get(f"/residents/{BED}", params={"site": "hq", "lang": "en"}).text)
        zh = text_of(client.get(f"/residents/{BED}", params={"site": "hq", "lang": "zh-CN"}).text)
        listed_en = client.get("/residents", params={"lang": "en"})
        listed_zh = text_of(client.get("/residents", params={"lang": "zh-CN"}).text)
        page = client.get(f"/residents/{BED}", params={"site": "hq"}).text
    assert "In bed since 03:40" in en and "Exits tonight 2" in en and "Time out of bed 55 min" in en
    assert "00:30 · by nurse" in en and "05:40 · on time" in en and "72 bpm · at 03:50 · tonight 58–131" in en
    assert "01:10 01:25 15 min" in en and "03:00 03:40 40 min" in en and "Person down" in en
    assert "在床 自 03:40 起" in zh and "今晚离床次数 2" in zh and "离床总时长 55 分钟" in zh and "05:40 · 未到时" in zh
    assert "/static/residents.css" in listed_en.text
    row = re.search(rf'<tr data-bed="{BED}">(.*?)</tr>', listed_en.text, re.S)
    assert row and "55 min" in text_of(row.group(1)) and "Turn due 05:40" in text_of(row.group(1))
    assert "55 分钟" in listed_zh and "心率" in listed_zh
    assert 'data-testid="log-turn"' in page and 'data-testid="snapshot"' in page
    # An inspector reads the same night, without the camera's picture (not in snapshot_roles) or the turn button.
    inspector = login_token(served, "inspector", Role.INSPECTOR, sites=["hq"])
    with user_client(served, inspector) as client:
        night = client.get(f"/api/v1/beds/{BED}", params={"site": "hq"}).json()
        page = client.get(f"/residents/{BED}", params={"lang": "en"}).text
        refused = client.post(f"/residents/{BED}/turn", data={"site": "hq"})
    assert [a["snapshot"] for a in night["alert_list"]] == [None, None] and night["exits"] == 2
    assert 'data-testid="log-turn"' not in page and 'data-testid="snapshot"' not in page and "Person down" in page
    assert "Read only" in page and refused.status_code == 403


def test_an_overdue_turn_says_so_and_the_button_logs_one(served: Any) -> None:
    nurse = login_token(served, "nurse", Role.STAFF)
    night = feed_night(served, nurse)
    night.at(local(28, 5, 50))
    with user_client(served, nurse) as client:
        row = re.search(rf'<tr data-bed="{BED}">(.*?)</tr>', client.get("/residents", params={"lang": "en"}).text, re.S)
        assert row and "OVERDUE" in text_of(row.group(1))
        assert "已超时" in text_of(client.get(f"/residents/{BED}", params={"lang": "zh-CN"}).text)
        done = client.post(f"/residents/{BED}/turn", data={"site": "hq", "note": "left side"})
        assert done.status_code == 303
        shown = client.get(done.headers["location"] + "&lang=en").text
        assert "Turn logged at 05:50" in text_of(shown)
        night.at(local(28, 5, 50, 1))  # the pipeline takes the logged turn
        turns = client.get(f"/api/v1/beds/{BED}", params={"site": "hq"}).json()["turns"]
        logged = client.get(f"/api/v1/beds/{BED}/turns", params={"site": "hq"}).json()
    assert (when(turns["last_at"]), when(turns["due_at"]), turns["overdue"]) == (
        local(28, 5, 50), local(28, 7, 50), False)
    assert (logged[0]["note"], logged[0]["actor"]) == ("left side", "nurse")


def test_a_user_not_granted_the_site_is_refused(served: Any) -> None:
    other = login_token(served, "elsewhere", Role.STAFF, sites=["another-home"])
    with user_client(served, other) as client:
        assert client.get("/api/v1/beds", params={"site": "hq"}).status_code == 403
        assert client.get(f"/api/v1/beds/{BED}", params={"site": "hq"}).status_code == 403
        assert client.get("/residents", params={"site": "hq"}).status_code == 403
        assert client.get(f"/residents/{BED}", params={"site": "hq"}).status_code == 403
        assert client.post(f"/residents/{BED}/turn", data={"site": "hq"}).status_code == 403
        assert client.get("/api/v1/beds").json() == []  # every site it may see: none
    with user_client(served, login_token(served, "nurse", Role.STAFF)) as client:
        assert client.get("/api/v1/beds/no-such-bed", params={"site": "hq"}).status_code == 404
        assert client.get("/api/v1/beds", params={"site": "nowhere"}).status_code == 404


# --- pure parts: the night window and the empty spells ------------------------------------------------

def test_tonight_is_the_night_in_progress_else_the_last_one(reference_facility: Facility) -> None:
    site = reference_facility.sites[0]
    assert night_of(site, local(27, 23)) == night_of(site, local(28, 5, 59))
    assert (night_of(site, local(28, 2)).start, night_of(site, local(28, 2)).end) == (local(27, 22), local(28, 6))
    assert night_of(site, local(28, 10)).start == local(27, 22)  # the day shift reads last night
    assert night_of(site, local(28, 22)).start == local(28, 22)


def test_empty_spells_follow_the_reports_and_an_open_one_stays_open() -> None:
    t = [local(28, h) for h in range(6)]
    assert empty_spells([(t[0], False)], [(t[1], True), (t[2], False), (t[3], False), (t[4], True), (t[5], False)]
                        ) == [(t[0], t[1]), (t[2], t[4]), (t[5], None)]
    assert empty_spells([], [(t[1], True)]) == [] and empty_spells([(t[0], True)], []) == []
