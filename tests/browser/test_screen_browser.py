"""The screen in a real Chromium: live alerts from a real broker, acknowledge, resolve, reconnect."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from devices import mqtt as cw_mqtt
from devices.messages import utcnow
from server.alerts import service
from server.alerts.service import Resolution
from server.auth.users import Role, create_user
from server.web.i18n import texts
from tests.browser.pw import Browser, Locator, Page, expect, log_in, observe
from tests.helpers import ADMIN, LiveServer, live_server, publisher, wait_until

pytestmark = pytest.mark.mqtt

LIVE_MS = 3000  # "within a couple of seconds"
INSPECTOR = ("inspector1", "inspector-pass-1")


@pytest.fixture
def server(settings: Any) -> Iterator[LiveServer]:
    with live_server(settings) as live:
        yield live


@pytest.fixture
def page(chromium: Browser, settings: Any) -> Iterator[Page]:
    """A fresh browser context (own cookies) on the test server's address."""
    context = chromium.new_context(base_url=f"http://127.0.0.1:{settings.port}",
                                   viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


def alert_items(page: Page) -> Locator:
    return page.locator("#alerts > li")


def tile(page: Page, device: str) -> Locator:
    return page.locator(f'[data-device="{device}"]')


def fill_the_facility(client: mqtt.Client, site: str) -> None:
    """Readings for a lively screen: beds, kitchen appliances, cold stores, doors."""
    observe(client, site, "bed-b103-1", "bed_sensor", occupied=True, heart_rate_bpm=64, respiration_rpm=15)
    for bed in ("bed-b101-1", "bed-b101-2", "bed-b102-2", "bed-b104-1"):
        observe(client, site, bed, "bed_sensor", occupied=True, battery_pct=87)
    observe(client, site, "bed-b102-1", "bed_sensor", occupied=False, battery_pct=18)  # low, not yet an alert
    observe(client, site, "presence-kitchen", "presence_sensor", occupied=True)
    observe(client, site, "plug-induction", "power_plug", on=True, power_w=1520.3)
    observe(client, site, "plug-rice-cooker", "power_plug", power_w=0.0)
    observe(client, site, "plug-boiler", "power_plug", on=True, power_w=2900)
    observe(client, site, "temp-raw-cabinet", "temperature_sensor", temperature_c=4.2, battery_pct=90)
    observe(client, site, "temp-cooked-cabinet", "temperature_sensor", temperature_c=9.5, battery_pct=90)
    observe(client, site, "temp-freezer", "temperature_sensor", temperature_c=-18.4, battery_pct=90)
    observe(client, site, "door-entrance", "door_contact", open=False, battery_pct=80)
    observe(client, site, "door-courtyard", "door_contact", open=False, battery_pct=80)  # open at night alerts
    observe(client, site, "smoke-corridor", "smoke_detector", smoke=False, battery_pct=95)


def test_wrong_password_shows_the_error(page: Page, server: LiveServer, artifacts: Path) -> None:
    page.goto("/lang/en")
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password")
    page.screenshot(path=artifacts / "login-error.png")


def test_alert_appears_live_and_is_acknowledged_then_resolved(
        page: Page, server: LiveServer, mqtt_out: mqtt.Client, site_id: str, artifacts: Path) -> None:
    log_in(page, ADMIN, "en")
    expect(page.locator("#all-well")).to_be_visible()
    fill_the_facility(mqtt_out, site_id)
    expect(tile(page, "bed-b103-1")).to_contain_text("In bed", timeout=LIVE_MS)
    expect(tile(page, "bed-b103-1")).to_contain_text("64")
    expect(tile(page, "bed-b102-1")).to_contain_text("Out of bed", timeout=LIVE_MS)
    expect(tile(page, "plug-induction")).to_contain_text("1,520 W", timeout=LIVE_MS)
    expect(tile(page, "temp-cooked-cabinet")).to_contain_text("above limit", timeout=LIVE_MS)

    observe(mqtt_out, site_id, "leak-boiler", "leak_sensor", leak=True, battery_pct=76)
    alert = alert_items(page).filter(has_text="Water leak")
    expect(alert).to_be_visible(timeout=LIVE_MS)
    expect(alert).to_contain_text("Critical")
    expect(alert).to_contain_text("Boiler leak sensor")
    expect(alert).to_contain_text("Kitchen")
    expect(tile(page, "leak-boiler")).to_contain_text("Water detected")
    expect(page.locator("#all-well")).to_be_hidden()
    page.screenshot(path=artifacts / "screen-en.png", full_page=True)

    alert_id = int(alert.get_attribute("data-alert") or 0)
    alert.get_by_role("button", name="Acknowledge").click()
    api = server.client()
    acked = wait_until(lambda: _alert_if(api, alert_id, "acknowledged"), 5, what="acknowledged in the API")
    assert acked is not None and acked["acked_by"] == ADMIN[0]
    expect(alert).to_contain_text(f"Acknowledged by {ADMIN[0]}")
    expect(alert.get_by_role("button", name="Acknowledge")).to_have_count(0)

    zh = texts("zh-CN")  # a colleague's screen in Chinese resolves it
    page.get_by_role("link", name="中文").click()
    alert = alert_items(page).filter(has_text="漏水")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text(f"{zh['acked_by']} {ADMIN[0]}")
    page.screenshot(path=artifacts / "screen-zh.png", full_page=True)

    alert.get_by_role("button", name=zh["resolve"]).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    page.screenshot(path=artifacts / "screen-resolve-dialog.png")
    dialog.get_by_label(zh["false_alarm"]).check()
    dialog.get_by_role("button", name=zh["resolve"]).click()
    expect(alert_items(page)).to_have_count(0, timeout=LIVE_MS)
    expect(page.locator("#all-well")).to_contain_text(zh["no_alerts"])
    resolved = _alert_if(api, alert_id, "resolved")
    assert resolved and resolved["resolution"] == "false_alarm" and resolved["resolved_by"] == ADMIN[0]
    api.close()


def test_resolve_needs_a_reason_and_can_be_cancelled(
        page: Page, server: LiveServer, mqtt_out: mqtt.Client, site_id: str) -> None:
    log_in(page, ADMIN, "en")
    observe(mqtt_out, site_id, "sos-r102", "sos_button", pressed=True, action="single")
    alert = alert_items(page).filter(has_text="SOS call")
    expect(alert).to_be_visible(timeout=LIVE_MS)
    alert.get_by_role("button", name="Resolve").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Resolve").click()  # no reason chosen: the form refuses
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(alert).to_be_visible()
    api = server.client()
    assert api.get(f"/api/v1/alerts/{alert.get_attribute('data-alert')}").json()["status"] == "open"
    api.close()


def test_alerts_sort_by_severity_then_age(
        page: Page, server: LiveServer, mqtt_out: mqtt.Client, site_id: str) -> None:
    log_in(page, ADMIN, "en")
    observe(mqtt_out, site_id, "smoke-dayroom", "smoke_detector", smoke=True)
    expect(alert_items(page)).to_have_count(1, timeout=LIVE_MS)
    observe(mqtt_out, site_id, "sos-r101", "sos_button", pressed=True)
    expect(alert_items(page)).to_have_count(2, timeout=LIVE_MS)
    observe(mqtt_out, site_id, "smoke-dayroom", "smoke_detector", smoke=False)  # condition ends, alert stays
    first, second = alert_items(page).nth(0), alert_items(page).nth(1)
    expect(first).to_contain_text("Smoke detected")  # both critical: the older one first
    expect(first).to_contain_text("Condition ended", timeout=LIVE_MS)
    expect(second).to_contain_text("SOS call")
    expect(first.locator(".sev-icon")).to_have_text("‼")  # severity has a shape, not only a colour


def test_inspectors_see_alerts_without_buttons(
        page: Page, server: LiveServer, mqtt_out: mqtt.Client, site_id: str) -> None:
    with server.ctx.sessions.begin() as db:
        create_user(db, username=INSPECTOR[0], password=INSPECTOR[1], role=Role.INSPECTOR, at=utcnow())
    log_in(page, INSPECTOR, "en")
    observe(mqtt_out, site_id, "smoke-kitchen", "smoke_detector", smoke=True)
    alert = alert_items(page).filter(has_text="Smoke detected")
    expect(alert).to_be_visible(timeout=LIVE_MS)
    expect(alert).to_contain_text("Smoke detector")
    expect(page.locator("#alerts button")).to_have_count(0)
    expect(page.locator(".user")).to_contain_text("read only")


@pytest.mark.slow
def test_reconnect_shows_the_banner_and_replaces_stale_state(
        page: Page, settings: Any, broker: Any, site_id: str, artifacts: Path) -> None:
    with live_server(settings) as first:
        log_in(page, ADMIN, "en")
        client = publisher(broker)
        observe(client, site_id, "smoke-kitchen", "smoke_detector", smoke=True)
        cw_mqtt.stop(client)
        expect(alert_items(page)).to_have_count(1, timeout=LIVE_MS)
        expect(page.get_by_role("alert").filter(has_text="Connection")).to_be_hidden()
        alert_id = int(alert_items(page).first.get_attribute("data-alert") or 0)
    banner = page.locator("#banner")
    expect(banner).to_be_visible(timeout=5_000)  # "connection lost" within 5 s of losing the server
    expect(banner).to_have_attribute("role", "alert")
    page.screenshot(path=artifacts / "screen-disconnected.png")
    with first.ctx.sessions.begin() as db:  # resolved elsewhere while this screen could not hear
        service.resolve(db, alert_id, actor="night-nurse", at=utcnow(), resolution=Resolution.REAL_EVENT)
    expect(alert_items(page)).to_have_count(1)  # the old state stays, marked stale, until the resync
    with live_server(settings, ingest=False):
        expect(banner).to_be_hidden(timeout=15_000)
        expect(alert_items(page)).to_have_count(0)
        expect(page.locator("#all-well")).to_be_visible()


def _alert_if(api: Any, alert_id: int, status: str) -> dict[str, Any] | None:
    """The alert from the API when it has reached `status`."""
    found: dict[str, Any] = api.get(f"/api/v1/alerts/{alert_id}").json()
    return found if found.get("status") == status else None


def test_a_drill_started_on_the_screen_tags_smoke_in_its_zone(
        page: Page, server: LiveServer, mqtt_out: mqtt.Client, site_id: str, artifacts: Path) -> None:
    log_in(page, ADMIN, "en")
    expect(page.locator("#suppressions")).to_be_hidden()
    page.get_by_role("button", name="Silence / maintenance / drill…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("What").select_option("drill")
    dialog.get_by_label("Covering").select_option("zone")
    dialog.get_by_label("Which").select_option("z-kitchen")
    dialog.get_by_label("For (minutes)").fill("20")
    dialog.get_by_label("Reason").fill("quarterly fire drill")
    page.screenshot(path=artifacts / "screen-drill-dialog.png")
    dialog.get_by_role("button", name="Start").click()
    strip = page.locator("#suppressions")
    expect(strip).to_be_visible(timeout=LIVE_MS)
    expect(strip).to_contain_text("Kitchen")
    expect(strip).to_contain_text("quarterly fire drill")

    observe(mqtt_out, site_id, "smoke-kitchen", "smoke_detector", smoke=True)
    observe(mqtt_out, site_id, "smoke-dayroom", "smoke_detector", smoke=True)
    expect(alert_items(page)).to_have_count(2, timeout=LIVE_MS)
    drill = alert_items(page).filter(has_text="Drill")
    expect(drill).to_have_count(1)
    expect(alert_items(page).last).to_contain_text("Drill")  # a drill alarm sorts below the real one
    page.screenshot(path=artifacts / "screen-drill.png", full_page=True)

    strip.get_by_role("button", name="End").click()
    expect(strip).to_be_hidden(timeout=LIVE_MS)
    api = server.client()
    [ended] = api.get("/api/v1/suppressions", params={"history": True}).json()
    assert (ended["mode"], ended["target"], ended["ended_by"]) == ("drill", "z-kitchen", ADMIN[0])
    api.close()


def test_inspectors_cannot_start_silences(page: Page, server: LiveServer) -> None:
    with server.ctx.sessions.begin() as db:
        create_user(db, username=INSPECTOR[0], password=INSPECTOR[1], role=Role.INSPECTOR, at=utcnow())
    log_in(page, INSPECTOR, "en")
    expect(page.get_by_role("button", name="Silence / maintenance / drill…")).to_have_count(0)
