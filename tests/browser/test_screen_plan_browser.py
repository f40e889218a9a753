"""The screen's floor plan, alarm sound, kiosk mode and per-user language in a real Chromium, fed by a real broker."""

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import select

from devices.messages import utcnow
from server.auth.users import Role, create_user
from server.models import User
from server.web.i18n import texts
from tests.browser.conftest import CHROMIUM
from tests.browser.pw import Browser, BrowserContext, Locator, Page, expect, log_in, observe
from tests.helpers import ADMIN, LiveServer, live_server

pytestmark = pytest.mark.mqtt

EVENT_S = 1.0  # issue 7: an MQTT event is on the plan and in the alert list within a second
LIVE_MS = 3000  # other updates: "within a couple of seconds"
IDLE_MS = 3000  # the kiosk hides an idle cursor after this (kiosk.js)
STAFF = ("carer1", "carer-pass-1")
INSPECTOR = ("inspector1", "inspector-pass-1")
EN, ZH = texts("en"), texts("zh-CN")
ENABLE_SOUND = f"♪ {EN['sound_enable']}"

# Headless Chromium lets any page start audio; a desktop browser keeps an AudioContext suspended until the user
# interacts with the page. This stands in for that policy (the outer edge: no headless browser enforces it).
AUDIO_NEEDS_A_GESTURE = """
(() => {
  const Real = window.AudioContext;
  window.AudioContext = class extends Real {
    constructor(...args) { super(...args); if (!navigator.userActivation.hasBeenActive) super.suspend(); }
    resume() { return navigator.userActivation.hasBeenActive ? super.resume() : new Promise(() => {}); }
  };
})();
"""


@pytest.fixture
def server(settings: Any) -> Iterator[LiveServer]:
    """A live server with a carer (staff) and an inspector."""
    with live_server(settings) as live:
        with live.ctx.sessions.begin() as db:
            create_user(db, username=STAFF[0], password=STAFF[1], role=Role.STAFF, at=utcnow())
            create_user(db, username=INSPECTOR[0], password=INSPECTOR[1], role=Role.INSPECTOR, at=utcnow())
        yield live


def new_context(chromium: Browser, settings: Any, width: int = 1400, height: int = 1000) -> BrowserContext:
    """A browser context of its own (own cookies), as another screen or device would be."""
    return chromium.new_context(base_url=f"http://127.0.0.1:{settings.port}",
                                viewport={"width": width, "height": height})


@pytest.fixture
def page(chromium: Browser, settings: Any) -> Iterator[Page]:
    context = new_context(chromium, settings)
    yield context.new_page()
    context.close()


def room(page: Page, room_id: str) -> Locator:
    return page.locator(f'section.room[data-room="{room_id}"]')


def tile(page: Page, device: str) -> Locator:
    return page.locator(f'.plan [data-device="{device}"]')


def alert_items(page: Page) -> Locator:
    return page.locator("#alerts > li")


def fill_the_facility(client: mqtt.Client, site: str) -> None:
    """Readings for a lively plan: beds, kitchen, doors, smoke detectors, two cameras."""
    for bed in ("bed-b101-1", "bed-b101-2", "bed-b102-2", "bed-b103-1", "bed-b104-1"):
        observe(client, site, bed, "bed_sensor", occupied=True, battery_pct=87)
    observe(client, site, "bed-b102-1", "bed_sensor", occupied=False, battery_pct=60)
    observe(client, site, "plug-induction", "power_plug", on=True, power_w=1520.3)
    observe(client, site, "temp-raw-cabinet", "temperature_sensor", temperature_c=4.2, battery_pct=90)
    observe(client, site, "door-entrance", "door_contact", open=False, battery_pct=80)
    observe(client, site, "door-courtyard", "door_contact", open=True, battery_pct=80)
    for smoke in ("smoke-kitchen", "smoke-corridor", "smoke-dayroom"):
        observe(client, site, smoke, "smoke_detector", smoke=False, battery_pct=95)
    observe(client, site, "cam-01", "camera", camera_state="ok")
    observe(client, site, "cam-02", "camera", camera_state="frozen")


def seconds_to_show(page: Page, publish: Any, shown: str) -> float:
    """Seconds from publishing an event until the page satisfies the JS condition `shown`."""
    start = time.monotonic()
    publish()
    page.wait_for_function(shown, polling="raf", timeout=5000)
    return time.monotonic() - start


def on_plan_and_listed(room_id: str, device: str, title: str) -> str:
    """A JS condition: the room is marked, the device's tile names the alarm, and the alert list has it."""
    return (f"""() => document.querySelector('section.room[data-room="{room_id}"][data-alarm="critical"]') &&
        (document.querySelector('.plan [data-device="{device}"] .thing-alarm') || {{}}).textContent?.includes("{title}")
        && [...document.querySelectorAll('#alerts > li')].some((li) => li.textContent.includes("{title}"))""")


def test_an_mqtt_event_is_on_the_plan_and_in_the_list_within_a_second(
        page: Page, server: LiveServer, mqtt_out: mqtt.Client, site_id: str, artifacts: Path) -> None:
    log_in(page, ADMIN, "en")
    fill_the_facility(mqtt_out, site_id)
    expect(tile(page, "door-courtyard")).to_contain_text(EN["door_open"], timeout=LIVE_MS)
    expect(tile(page, "door-courtyard")).to_contain_text(EN["exit"])  # an exit says so, in words
    expect(room(page, "entrance")).to_contain_text(EN["exit"])
    expect(tile(page, "bed-b102-1")).to_contain_text(EN["empty"])
    expect(tile(page, "cam-02")).to_contain_text(EN["cam_frozen"])
    expect(tile(page, "cam-02")).to_contain_text("Corridor south")  # a camera names the zones it sees
    expect(page.locator('[data-zone="z-corridor-s"]')).to_contain_text(EN["zone_gap"])
    expect(page.locator('[data-zone="z-corridor-n"]')).to_contain_text(EN["zone_seen"])

    delays = {
        "SOS": seconds_to_show(page, lambda: observe(mqtt_out, site_id, "sos-r102", "sos_button", pressed=True),
                               on_plan_and_listed("r102", "sos-r102", "SOS call")),
        "smoke": seconds_to_show(page, lambda: observe(mqtt_out, site_id, "smoke-kitchen", "smoke_detector",
                                                       smoke=True),
                                 on_plan_and_listed("kitchen", "smoke-kitchen", "Smoke detected")),
    }
    print("event-to-screen delay (publish → plan and alert list):",
          ", ".join(f"{what} {ms * 1000:.0f} ms" for what, ms in delays.items()))
    assert max(delays.values()) <= EVENT_S, delays
    expect(room(page, "r102").locator(".room-alarm")).to_have_text(f"‼ {EN['critical']} {EN['room_alert']}")
    expect(room(page, "r101")).not_to_have_attribute("data-alarm", re.compile(".*"))  # calm rooms stay calm
    expect(alert_items(page).first).to_contain_text("Room 102")  # where it is, in the list too
    page.screenshot(path=artifacts / "screen-plan.png", full_page=True)


def test_offline_devices_and_alerts_sorted_by_severity_then_age_with_a_ticking_age(
        page: Page, server: LiveServer, mqtt_out: mqtt.Client, site_id: str) -> None:
    log_in(page, ADMIN, "en")
    observe(mqtt_out, site_id, "smoke-dayroom", "smoke_detector", smoke=False, battery_pct=5)  # a low alert
    expect(alert_items(page)).to_have_count(1, timeout=LIVE_MS)
    observe(mqtt_out, site_id, "sos-r101", "sos_button", pressed=True)
    expect(alert_items(page)).to_have_count(2, timeout=LIVE_MS)
    observe(mqtt_out, site_id, "sos-r104", "sos_button", pressed=True)
    expect(alert_items(page)).to_have_count(3, timeout=LIVE_MS)
    items = alert_items(page)
    expect(items.nth(0)).to_contain_text("Room 101")  # critical before low; the older critical first
    expect(items.nth(1)).to_contain_text("Room 104")
    expect(items.nth(2)).to_contain_text(EN["low"])

    age = items.nth(0).locator(".age")
    expect(age).to_have_text(re.compile(r"^Raised \d+ s ago$"), timeout=15_000)
    first = age.inner_text()
    expect(age).not_to_have_text(first, timeout=2500)  # it ticks each second

    items.nth(0).get_by_role("button", name=EN["acknowledge"]).click()
    expect(items.nth(0)).to_contain_text(f"{EN['acked_by']} {ADMIN[0]}", timeout=LIVE_MS)
    expect(room(page, "r101")).to_have_attribute("data-acked", "true")

    observe(mqtt_out, site_id, "smoke-dayroom", "smoke_detector", online=False)  # its availability message
    expect(tile(page, "smoke-dayroom")).to_contain_text(f"⚠ {EN['offline']}", timeout=LIVE_MS)
    expect(tile(page, "smoke-dayroom")).to_have_class(re.compile(r"\btone-offline\b"))
    expect(tile(page, "smoke-dayroom").locator(".thing-alarm")).to_contain_text("Device offline")


@pytest.fixture
def gesture_page(chromium: Browser, settings: Any) -> Iterator[Page]:
    """A page whose audio stays locked until the user interacts with it, as on a desktop browser."""
    context = new_context(chromium, settings)
    context.add_init_script(AUDIO_NEEDS_A_GESTURE)
    yield context.new_page()
    context.close()


def chimes(page: Page) -> int:
    return int(page.evaluate("() => Number(document.body.dataset.chimes || 0)"))


def test_a_critical_alert_rings_once_sound_is_enabled_until_acknowledged(
        gesture_page: Page, server: LiveServer, mqtt_out: mqtt.Client, site_id: str, artifacts: Path) -> None:
    page = gesture_page
    log_in(page, STAFF, "en")
    page.goto("/")  # a fresh page nobody has touched yet, as a screen that reloads by itself
    body = page.locator("body")
    expect(body).to_have_attribute("data-sound", "locked")
    banner = page.locator("#sound-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(EN["sound_locked"])

    observe(mqtt_out, site_id, "sos-r103", "sos_button", pressed=True)
    expect(alert_items(page)).to_have_count(1, timeout=LIVE_MS)
    expect(banner).to_have_class(re.compile(r"\burgent\b"))  # an alarm nobody can hear: the banner says so loudly
    page.screenshot(path=artifacts / "screen-sound-locked.png")

    page.get_by_role("button", name=ENABLE_SOUND).click()
    expect(body).to_have_attribute("data-sound", "playing")
    expect(banner).to_be_hidden()
    expect(page.locator("#sound-state")).to_contain_text(EN["sound_playing"])
    rang = chimes(page)
    page.wait_for_function(f"() => Number(document.body.dataset.chimes) > {rang}", timeout=LIVE_MS)

    alert_items(page).first.get_by_role("button", name=EN["acknowledge"]).click()
    expect(body).to_have_attribute("data-sound", "on", timeout=LIVE_MS)
    expect(page.locator("#sound-state")).to_have_text(f"♪ {EN['sound_on']}")
    stopped = chimes(page)
    page.wait_for_timeout(2000)  # longer than one chime's cycle: no chime may follow the acknowledgement
    assert chimes(page) == stopped


def test_kiosk_mode_has_no_navigation_bigger_text_and_hides_an_idle_cursor(
        chromium: Browser, settings: Any, server: LiveServer, mqtt_out: mqtt.Client, site_id: str,
        artifacts: Path) -> None:
    wall = new_context(chromium, settings, 1920, 1080)
    page = wall.new_page()
    page.goto("/?kiosk=1")  # not logged in: the login brings the display back to its kiosk URL
    page.get_by_label(ZH["username"]).fill(STAFF[0])
    page.get_by_label(ZH["password"]).fill(STAFF[1])
    page.get_by_role("button", name=ZH["login"]).click()
    page.wait_for_url(re.compile(r"/\?kiosk=1$"))
    expect(page.locator("#screen")).to_have_attribute("aria-busy", "false")
    expect(page.locator("body")).to_have_class(re.compile(r"\bkiosk\b"))
    expect(page.locator("header a, header nav")).to_have_count(0)
    expect(page.get_by_role("button", name=ZH["logout"])).to_have_count(0)
    expect(page.locator("#clock")).to_have_text(re.compile(r"\d\d:\d\d"))
    expect(page.locator("body")).to_have_attribute("data-wake-lock", re.compile("on|unavailable|released"))

    observe(mqtt_out, site_id, "smoke-corridor", "smoke_detector", smoke=True)
    expect(alert_items(page)).to_have_count(1, timeout=LIVE_MS)
    kiosk_px = _font_px(page, "#alerts .alert-title")
    page.mouse.move(400, 400)
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bcursor-hidden\b"))
    expect(page.locator("body")).to_have_class(re.compile(r"\bcursor-hidden\b"), timeout=IDLE_MS + 2000)
    assert page.evaluate("() => getComputedStyle(document.querySelector('#alerts li')).cursor") == "none"
    page.screenshot(path=artifacts / "screen-kiosk.png")

    desk = wall.new_page()  # the same login on a desk: normal size, with its links
    desk.goto("/")
    expect(alert_items(desk)).to_have_count(1, timeout=LIVE_MS)
    desk_px = _font_px(desk, "#alerts .alert-title")
    print(f"alert title: {kiosk_px:.0f} px in kiosk mode, {desk_px:.0f} px on a desk")
    assert kiosk_px >= 1.4 * desk_px
    expect(desk.locator("header a")).not_to_have_count(0)
    wall.close()


def _font_px(page: Page, selector: str) -> float:
    return float(page.evaluate(f"() => parseFloat(getComputedStyle(document.querySelector('{selector}')).fontSize)"))


def test_the_language_a_user_picks_follows_them_to_another_device(
        chromium: Browser, settings: Any, server: LiveServer, artifacts: Path) -> None:
    desk = new_context(chromium, settings)
    page = desk.new_page()
    log_in(page, STAFF, "zh-CN")
    expect(page.locator("#plan-heading")).to_have_text(ZH["floor_plan"])
    page.screenshot(path=artifacts / "screen-plan-zh.png", full_page=True)
    page.get_by_role("link", name="English").click()
    expect(page.locator("#plan-heading")).to_have_text(EN["floor_plan"])
    desk.close()
    with server.ctx.sessions() as db:
        assert db.scalar(select(User.language).where(User.username == STAFF[0])) == "en"

    phone = new_context(chromium, settings)  # another device, no cookies: the site's language (Chinese) at first
    other = phone.new_page()
    other.goto("/login")
    other.get_by_label(ZH["username"]).fill(STAFF[0])
    other.get_by_label(ZH["password"]).fill(STAFF[1])
    other.get_by_role("button", name=ZH["login"]).click()
    other.wait_for_url("**/")
    expect(other.locator("html")).to_have_attribute("lang", "en")
    expect(other.locator("#alerts-heading")).to_contain_text(EN["open_alerts"])
    phone.close()


def test_an_inspector_sees_the_plan_and_alerts_but_no_button_that_changes_anything(
        page: Page, server: LiveServer, mqtt_out: mqtt.Client, site_id: str) -> None:
    log_in(page, INSPECTOR, "en")
    observe(mqtt_out, site_id, "sos-bath-n", "sos_button", pressed=True)
    expect(alert_items(page)).to_have_count(1, timeout=LIVE_MS)
    expect(room(page, "bath-n")).to_have_attribute("data-alarm", "critical")
    buttons = page.locator("button:visible")
    names = {buttons.nth(i).inner_text().strip() for i in range(buttons.count())}
    assert names <= {EN["logout"]}, names  # logging out changes nothing at the site
    expect(page.locator("dialog")).to_have_count(0)


def test_the_browser_is_debians(chromium: Browser) -> None:
    """The screen is checked in the Chromium a care home installs, not a downloaded one."""
    assert CHROMIUM.exists() and chromium.version
