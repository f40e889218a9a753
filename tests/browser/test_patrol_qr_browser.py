"""A patrol check-in in a real Chromium: the manager's browser reads a checkpoint's QR code, a caregiver's phone (a
second browser context: own cookies, phone-sized) opens it, logs in, lands back on the checkpoint and checks in;
the manager sees the round's checkpoint done with who and when. A forged link shows not found."""

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cv2
import numpy as np
import pytest

from devices.facility import Site
from devices.loader import load_facility
from devices.messages import utcnow
from server.auth.users import Role, create_user
from server.web.i18n import texts
from tests.browser.pw import Browser, BrowserContext, Page, expect
from tests.helpers import LiveServer, live_server, server_settings, wait_until

pytestmark = pytest.mark.mqtt

MANAGER = ("manager1", "manager-pass-1")
CARER = ("carer1", "carer-pass-1")
PHONE = {"width": 390, "height": 844}
ZH = texts("zh-CN")  # the site's language: what a phone without a language cookie gets
CHECKPOINT, ROUND = "cp-kitchen", "fire-daily"


@pytest.fixture
def site(unique_site_file: Path) -> Site:
    return load_facility(unique_site_file).site()


def patrol_morning(site: Site) -> Callable[[], datetime]:
    """The server's clock at real pace, but at 10:00 at the site today: inside the daily fire patrol's window
    (08:00–18:00) whenever the test runs."""
    local = datetime.now(site.zone)
    offset = local.replace(hour=10, minute=0, second=0, microsecond=0) - local
    return lambda: datetime.now(UTC) + offset


@pytest.fixture
def server(unique_site_file: Path, sqlite_url: str, broker: Any, site: Site) -> Iterator[LiveServer]:
    """A live server on the patrol morning's clock, with a manager and a caregiver."""
    with live_server(server_settings(unique_site_file, sqlite_url, broker), clock=patrol_morning(site)) as live:
        with live.ctx.sessions.begin() as db:
            create_user(db, username=MANAGER[0], password=MANAGER[1], role=Role.MANAGER, at=utcnow())
            create_user(db, username=CARER[0], password=CARER[1], role=Role.STAFF, at=utcnow())
        yield live


@pytest.fixture
def office(chromium: Browser, server: LiveServer) -> Iterator[Page]:
    """The manager's browser, logged in on the screen."""
    context = chromium.new_context(base_url=server.url, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto("/login")
    page.get_by_label(ZH["username"]).fill(MANAGER[0])
    page.get_by_label(ZH["password"]).fill(MANAGER[1])
    page.get_by_role("button", name=ZH["login"]).click()
    expect(page.locator("#screen")).to_have_attribute("aria-busy", "false")
    yield page
    context.close()


@pytest.fixture
def phone(chromium: Browser) -> Iterator[BrowserContext]:
    """A caregiver's phone: a browser context of its own (no cookies shared with the office)."""
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    yield context
    context.close()


def read_qr(office: Page, svg_url: str) -> str:
    """Show the checkpoint's QR code in the manager's browser and read it as a phone camera would."""
    office.goto(svg_url)
    picture = cv2.imdecode(np.frombuffer(office.locator("svg").screenshot(), np.uint8), cv2.IMREAD_COLOR)
    # The ArUco-based detector: the classic one misses about 1 code in 30 of these links (measured on 1000).
    text, _, _ = cv2.QRCodeDetectorAruco().detectAndDecode(picture)
    assert text, "the QR code did not decode"
    return str(text)


def checkpoint_visit(office: Page) -> dict[str, Any]:
    """The daily fire patrol's entry for the checkpoint, as the manager's browser reads it from the API."""
    rounds = office.request.get("/api/v1/records/patrols").json()["rounds"]
    [patrol] = [r for r in rounds if r["round"] == ROUND]
    [visit] = [c for c in patrol["checkpoints"] if c["checkpoint"] == CHECKPOINT]
    return {**visit, "state": patrol["state"]}


def test_a_caregiver_checks_in_from_a_phone_and_the_manager_sees_it(
        office: Page, phone: BrowserContext, server: LiveServer, site: Site, artifacts: Path) -> None:
    listed = office.request.get("/api/v1/records/patrols/checkpoints")
    assert listed.ok
    [point] = [c for c in listed.json() if c["checkpoint"] == CHECKPOINT]
    link = read_qr(office, point["qr"])
    assert link == point["link"] and link.startswith(server.url + f"/patrol/{site.id}/{CHECKPOINT}?k=")

    mobile = phone.new_page()
    mobile.goto(link)  # not logged in on this phone: the login page first
    expect(mobile.get_by_role("button", name=ZH["login"])).to_be_visible()
    mobile.get_by_label(ZH["username"]).fill(CARER[0])
    mobile.get_by_label(ZH["password"]).fill(CARER[1])
    mobile.get_by_role("button", name=ZH["login"]).click()
    mobile.wait_for_url(re.compile(re.escape(urlsplit(link).path) + r"\?k="))
    expect(mobile.get_by_text("厨房灶台")).to_be_visible()  # the checkpoint's name in the site's language
    assert checkpoint_visit(office)["by"] is None  # opening the link is no check-in (link previews open it too)
    mobile.screenshot(path=artifacts / "patrol-page.png")

    mobile.get_by_role("button", name=ZH["check_in"]).tap()
    said = mobile.get_by_role("status")
    expect(said).to_contain_text(ZH["checked_in"])
    expect(said).to_contain_text(CARER[0])
    mobile.screenshot(path=artifacts / "patrol-checkin.png", full_page=True)

    visit = wait_until(lambda: (v := checkpoint_visit(office))["by"] and v, 5, what="the check-in in the API")
    assert visit["by"] == CARER[0] and visit["state"] == "pending"  # one of the round's five checkpoints
    at = datetime.fromisoformat(visit["at"]).astimezone(site.zone)
    assert at.date() == server.ctx.clock().astimezone(site.zone).date() and 8 <= at.hour < 18
    assert f"{at:%H:%M}" in said.inner_text()  # the phone says the time the record holds


def test_a_forged_link_is_not_found(office: Page, phone: BrowserContext, site: Site, artifacts: Path) -> None:
    [point] = [c for c in office.request.get("/api/v1/records/patrols/checkpoints").json()
               if c["checkpoint"] == CHECKPOINT]
    forged = re.sub(r"k=\w+", "k=" + "0" * 24, point["link"])
    mobile = phone.new_page()
    response = mobile.goto(forged)
    assert response is not None and response.status == 404
    expect(mobile.get_by_role("alert")).to_have_text(ZH["bad_checkpoint"])
    moved = point["link"].replace(f"/{CHECKPOINT}?", "/cp-boiler?")  # a genuine key on another checkpoint
    response = mobile.goto(moved)
    assert response is not None and response.status == 404
    mobile.screenshot(path=artifacts / "patrol-forged.png")
    assert checkpoint_visit(office)["by"] is None
