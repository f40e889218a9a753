"""Exports of the safety records, on a live two-site server over SQLite and PostgreSQL: records made through the
API (a drill, patrol check-ins, an inspection with a failed item, food samples, an SOS call acknowledged and
resolved) come back as CSV
with Chinese headers and the values a person checks, and as a zh-CN PDF report whose every page carries the
chain's head hash; the site grant holds; bad input is refused; the CLI writes the same file."""

import codecs
import csv
import io
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from PIL import Image

from devices import topics
from devices.messages import Envelope, Reading, new_id, to_json
from server.auth.users import Role
from server.ingest import Message
from server.pipeline import Pipeline
from server.records import export_fonts
from server.records.patrols import link
from tests.conftest import ROOT, Broker, missing
from tests.helpers import LiveServer, add_second_site, live_server, login_token, server_settings
from tests.server.conftest import Clock
from tests.server.test_care_api import as_user
from tests.server.test_patrols import logged_in

SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "password-123"
PERIOD = {"from": "2026-11-27", "to": "2026-11-28"}
FIRE_ITEMS = ["exits", "extinguishers", "hydrants", "lights", "wiring"]


def at(hour: int, minute: int = 0, day: int = 27) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def live(unique_site_file: Path, db_url: str, broker: Broker, clock: Clock) -> Iterator[LiveServer]:
    """The reference facility twice (its site and a copy: another home), on the test's clock and database."""
    add_second_site(unique_site_file)
    clock.now = at(7)
    # No ingest: nothing ticks behind the test's back (silent devices going offline would be alerts and links
    # of the chain too); the one observation the test needs goes through a pipeline of its own.
    with live_server(server_settings(unique_site_file, db_url, broker), clock=clock, ingest=False) as server:
        server.ctx.pipeline = Pipeline(server.ctx.facility, server.ctx.sessions, clock=clock)
        server.ctx.pipeline.load()
        yield server


def token(live: LiveServer, username: str, role: Role, sites: list[str] | None = None) -> str:
    """Create a user (granted `sites`, or every site) and log in."""
    return login_token(live, username, role, sites, PASSWORD)


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json()


def make_records(live: LiveServer, clock: Clock) -> None:
    """A day at the first site, 27 November, through the API as the staff would do it; then the next morning."""
    site = live.ctx.facility.sites[0].id
    nurse = token(live, "nurse", Role.STAFF)
    with as_user(live, nurse) as client:
        clock.now = at(7, 20)
        ok(client.post("/api/v1/records/food-samples", json={"site": site, "meal": "breakfast", "dish": "白粥",
                                                              "grams": 150}))
        for n, checkpoint in enumerate(["cp-kitchen", "cp-boiler", "cp-corridor", "cp-entrance", "cp-courtyard"]):
            clock.now = at(9, 5 * n)
            with logged_in(live, "nurse") as phone:
                ok_page = phone.post(link(live.ctx.settings.signing_key(), site, checkpoint))
                assert ok_page.status_code == 200, ok_page.text
        clock.now = at(10)
        ok(client.post("/api/v1/records/inspections", json={"site": site, "template": "fire-monthly", "results": [
            {"item": i, "ok": i != "extinguishers", "note": "B2 灭火器压力不足" if i == "extinguishers" else None,
             "owner": "s-zhou" if i == "extinguishers" else None} for i in FIRE_ITEMS]}))
        clock.now = at(11, 40)
        ok(client.post("/api/v1/records/food-samples", json={"site": site, "meal": "lunch", "dish": "红烧豆腐",
                                                              "grams": 130}))
        _drill(client, clock, site)
        _sos(live, client, clock, site)
    clock.now = at(10, day=28)


def _drill(client: httpx.Client, clock: Clock, site: str) -> None:
    """A kitchen fire drill at 14:00, all-clear at 14:04, recorded afterwards."""
    clock.now = at(14)
    drill = ok(client.post("/api/v1/suppressions", json={
        "site": site, "mode": "drill", "scope": "zone", "target": "z-kitchen", "minutes": 30,
        "reason": "厨房火灾疏散演练"}))
    clock.now = at(14, 4)
    ok(client.post(f"/api/v1/suppressions/{drill['id']}/end"))
    clock.now = at(14, 30)
    ok(client.post(f"/api/v1/records/drills/{drill['id']}", json={
        "participants": ["s-wang", "s-li"], "residents_evacuated": 7, "problems": "东侧出口被推车堵住"}))


def _sos(live: LiveServer, client: httpx.Client, clock: Clock, site: str) -> None:
    """An SOS call at 15:00 from room 101, acknowledged at 15:02, resolved at 15:10."""
    clock.now = at(15)
    envelope = Envelope(id=new_id(), site=site, device="sos-r101", kind="sos_button", at=clock.now, seq=1,
                        data=Reading(pressed=True, action="emergency"))
    live.ctx.pipeline.process([Message(topics.observation(site, "sos-r101"), to_json(envelope), clock.now, mid=1,
                                       qos=1)])
    [alert] = ok(client.get("/api/v1/alerts", params={"site": site}))
    clock.now = at(15, 2)
    ok(client.post(f"/api/v1/alerts/{alert['id']}/ack"))
    clock.now = at(15, 10)
    ok(client.post(f"/api/v1/alerts/{alert['id']}/resolve", json={"resolution": "real_event"}))


def sheet(response: httpx.Response) -> list[list[str]]:
    """A CSV download as Excel would open it: UTF-8 with its byte-order mark."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_each_kind_exports_the_records_as_csv_with_chinese_headers(live: LiveServer, clock: Clock) -> None:
    make_records(live, clock)
    site = live.ctx.facility.sites[0].id
    inspector = token(live, "inspector", Role.INSPECTOR, sites=[site])
    with as_user(live, inspector) as client:
        got = {kind: sheet(client.get(f"/api/v1/records/export/{kind}", params={
            **PERIOD, "site": site, "lang": "zh-CN"})) for kind in ("drills", "patrols", "inspections",
                                                                   "rectifications", "food-samples", "alerts")}
        english = sheet(client.get("/api/v1/records/export/food-samples", params={**PERIOD, "lang": "en"}))
        cold = client.get("/api/v1/records/export/cold-storage", params={**PERIOD, "site": site})
    assert got["drills"] == [
        ["开始时间", "演练场景", "范围", "班次", "发起人", "解除时间", "疏散用时（秒）", "参加人员", "疏散老人数",
         "发现问题", "演练期间报警数", "版本", "记录人"],
        ["2026-11-27 14:00", "厨房火灾疏散演练", "厨房", "白班", "nurse", "2026-11-27 14:04", "240",
         "王护理员、李护理员", "7", "东侧出口被推车堵住", "0", "3", "nurse"]]
    patrols = got["patrols"]
    assert patrols[0] == ["日期", "巡查轮次", "时段", "完成情况", "巡查点", "签到时间", "签到人"]
    assert patrols[1:6] == [["2026-11-27", "每日防火巡查", "08:00–18:00", "已完成", name, f"2026-11-27 09:{m:02d}",
                             "nurse"] for name, m in [("厨房灶台", 0), ("开水器", 5), ("走廊消防栓", 10),
                                                      ("大门", 15), ("庭院门", 20)]]
    assert {(r[0], r[1], r[3]) for r in patrols[6:]} == {  # the night rounds nobody walked; today's still open
        ("2026-11-27", "夜间巡查一", "未完成"), ("2026-11-27", "夜间巡查二", "未完成"),
        ("2026-11-28", "每日防火巡查", "进行中"), ("2026-11-28", "夜间巡查一", "进行中"),
        ("2026-11-28", "夜间巡查二", "未完成")}
    inspections = got["inspections"]
    assert inspections[0] == ["检查时间", "检查表", "检查项目", "结果", "存在问题", "检查人", "检查编号"]
    assert [r[2:5] for r in inspections[1:3]] == [["疏散通道、安全出口畅通", "合格", ""],
                                                 ["灭火器在位、压力正常、在有效期内", "不合格", "B2 灭火器压力不足"]]
    assert [r[1] for r in inspections[1:]] == ["每月防火检查"] * 5
    [head, task] = got["rectifications"]
    assert head == ["任务编号", "发现时间", "检查项目", "存在问题", "责任人", "整改期限", "状态", "完成时间", "登记人",
                    "整改情况"]
    assert task[1:8] == ["2026-11-27 10:00", "灭火器在位、压力正常、在有效期内", "B2 灭火器压力不足", "周安全员",
                         "2026-12-04 10:00", "整改中", ""]
    assert got["food-samples"] == [
        ["日期", "餐次", "菜品", "留样量（克）", "留样时间", "留样人", "到期销毁时间", "备注"],
        ["2026-11-27", "早餐", "白粥", "150", "2026-11-27 07:20", "nurse", "2026-11-29 07:20", ""],
        ["2026-11-27", "午餐", "红烧豆腐", "130", "2026-11-27 11:40", "nurse", "2026-11-29 11:40", ""],
        ["2026-11-27", "晚餐", "", "", "", "", "", "未留样"],
        ["2026-11-28", "早餐", "", "", "", "", "", "未留样"]]  # lunch on the 28th is not due before 13:30
    [head, sos] = got["alerts"]
    row = dict(zip(head, sos, strict=True))
    assert (row["报警时间"], row["报警类型"], row["级别"], row["状态"], row["响应时间"], row["响应人"], row["解决时间"],
            row["解决人"], row["处理结果"]) == ("2026-11-27 15:00", "紧急呼叫", "紧急", "已解决", "2026-11-27 15:02",
                                                "nurse", "2026-11-27 15:10", "nurse", "真实事件")
    assert english[0][:4] == ["Day", "Meal", "Dish", "Grams"] and english[2][1:3] == ["Lunch", "红烧豆腐"]
    assert cold.status_code == 200 and cold.headers["content-disposition"] == (
        f'attachment; filename="cold-storage-{site}-2026-11-27-2026-11-28.csv"')


def pdf_pages(pdf: Path) -> list[str]:
    """The text of each page of a PDF, as poppler reads it."""
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [page for page in done.stdout.split("\f") if page.strip()]


def test_the_pdf_report_is_in_chinese_and_every_page_carries_the_chains_head(live: LiveServer, clock: Clock,
                                                                            tmp_path: Path) -> None:
    for tool in ("pdftoppm", "pdftotext", "pdffonts"):
        if shutil.which(tool) is None:
            missing(f"{tool} (Debian: poppler-utils)")
    make_records(live, clock)
    site = live.ctx.facility.sites[0].id
    with live.client() as client:
        report = client.get("/api/v1/records/export/patrols", params={
            "site": site, "from": "2026-09-30", "to": "2026-11-28", "format": "pdf", "lang": "zh-CN"})
        [chain] = ok(client.get("/api/v1/records/chain", params={"site": site}))
    assert report.status_code == 200, report.text
    assert report.headers["content-type"] == "application/pdf"
    assert report.headers["content-disposition"] == f'attachment; filename="patrols-{site}-2026-09-30-2026-11-28.pdf"'
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(report.content)

    pages = pdf_pages(pdf)
    assert len(pages) > 5  # 60 days of rounds: the footer has many pages to be on
    assert "南山街道日间照料中心 · 防火巡查记录 · 2026-09-30 至 2026-11-28" in pages[0]
    assert "每日防火巡查" in pages[0] and "走廊消防栓" in pages[-1]
    assert chain["intact"] and chain["links"] >= 12
    for page in pages:
        assert f"审计链共 {chain['links']} 条记录，链头哈希 {chain['head']}" in page and "生成时校验完整" in page
        assert f"carewatch records verify --site {site}" in page and "核验" in page
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, timeout=60).stdout
    assert any(" yes yes " in line for line in fonts.splitlines() if "TrueType" in line), fonts  # embedded subset

    subprocess.run(["pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    [png] = list(tmp_path.glob("page*.png"))
    image = Image.open(png).convert("L")
    dark = sum(image.histogram()[:128])
    assert image.size[0] > image.size[1] and dark > 5000, (image.size, dark)  # landscape, and ink on it


def test_a_chinese_report_without_a_chinese_font_says_what_to_install(live: LiveServer,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(export_fonts.FONT_ENV, raising=False)
    monkeypatch.setattr(export_fonts, "CANDIDATES", ())
    with live.client() as client:
        chinese = client.get("/api/v1/records/export/drills", params={"format": "pdf", "lang": "zh-CN"})
        english = client.get("/api/v1/records/export/drills", params={"format": "pdf", "lang": "en"})
    assert chinese.status_code == 503 and "fonts-wqy-microhei" in chinese.json()["detail"]
    assert english.status_code == 200 and english.content.startswith(b"%PDF")  # Helvetica will do
    monkeypatch.setenv(export_fonts.FONT_ENV, "/nowhere/font.ttf")
    with live.client() as client:
        given = client.get("/api/v1/records/export/drills", params={"format": "pdf", "lang": "en"})
    assert given.status_code == 503 and "/nowhere/font.ttf" in given.json()["detail"]


def test_an_inspector_exports_only_the_sites_granted_and_changes_nothing(live: LiveServer) -> None:
    mine, other = (s.id for s in live.ctx.facility.sites)
    inspector = token(live, "inspector", Role.INSPECTOR, sites=[mine])
    with as_user(live, inspector) as client:
        assert client.get("/api/v1/records/export/alerts", params={"site": mine}).status_code == 200
        assert client.get("/api/v1/records/export/alerts", params={"format": "pdf"}).status_code == 200
        refused = client.get("/api/v1/records/export/alerts", params={"site": other, "format": "pdf"})
        assert refused.status_code == 403 and other in refused.json()["detail"]
        assert client.get("/api/v1/records/export/alerts", params={"site": "nowhere"}).status_code == 404
        assert client.post("/api/v1/records/food-samples", json={"site": mine, "meal": "lunch", "dish": "rice",
                                                                  "grams": 150}).status_code == 403
        assert client.post("/api/v1/records/inspections", json={"site": mine, "template": "hazard-daily", "results": [
            {"item": "doors", "ok": True}]}).status_code == 403
        assert client.post("/api/v1/suppressions", json={"site": mine, "mode": "drill", "scope": "site",
                                                         "minutes": 10, "reason": "drill"}).status_code == 403
    staff = token(live, "nurse-b", Role.STAFF, sites=[other])
    with as_user(live, staff) as client:  # any role exports, and without `site` gets the first site granted
        default = client.get("/api/v1/records/export/drills")
    assert default.status_code == 200
    assert default.headers["content-disposition"] == f'attachment; filename="drills-{other}-2026-10-29-2026-11-27.csv"'


@pytest.mark.parametrize(("kind", "params", "status", "message"), [
    ("fire", {}, 404, "no export of 'fire'; kinds: drills, patrols"),
    ("drills", {"from": "2026-11-28", "to": "2026-11-27"}, 422, "starts (2026-11-28) after it ends (2026-11-27)"),
    ("drills", {"from": "2025-10-23", "to": "2026-11-27"}, 422, "at most 400 days"),
    ("drills", {"from": "27.11.2026"}, 422, "date"),
    ("drills", {"format": "xlsx"}, 422, "csv"),
])
def test_bad_input_is_refused_with_a_clear_message(live: LiveServer, kind: str, params: dict[str, str], status: int,
                                                  message: str) -> None:
    with live.client() as client:
        refused = client.get(f"/api/v1/records/export/{kind}", params=params)
        assert client.get("/api/v1/records/export/drills", params={"from": "2025-10-24", "to": "2026-11-27"}
                          ).status_code == 200  # 400 days exactly
    assert refused.status_code == status and message in str(refused.json()["detail"]), refused.text


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "carewatch.cli", "records", "export", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=120)


def test_the_cli_writes_the_same_file_and_refuses_bad_input(live: LiveServer, clock: Clock, db_url: str,
                                                             tmp_path: Path) -> None:
    make_records(live, clock)
    site = live.ctx.facility.sites[0].id
    with live.client() as client:
        api = client.get("/api/v1/records/export/inspections", params={**PERIOD, "site": site, "lang": "zh-CN"})
    config = str(live.ctx.settings.config)
    base = ["--config", config, "--database-url", db_url, "--site", site, "--kind", "inspections",
            "--from", PERIOD["from"], "--to", PERIOD["to"]]
    done = run_cli(*base, "--lang", "zh-CN", "--output", str(tmp_path / "out.csv"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.csv").read_bytes() == api.content
    pdf = run_cli(*base, "--format", "pdf", "--output", str(tmp_path / "out.pdf"))
    assert pdf.returncode == 0 and (tmp_path / "out.pdf").read_bytes().startswith(b"%PDF"), pdf.stderr
    reversed_ = run_cli(*base[:-4], "--from", "2026-11-28", "--to", "2026-11-27")
    assert reversed_.returncode == 1 and "after it ends" in reversed_.stderr
    unknown = run_cli("--config", config, "--database-url", db_url, "--kind", "fire")
    assert unknown.returncode == 1 and "no export of 'fire'" in unknown.stderr
