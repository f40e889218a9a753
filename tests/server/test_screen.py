"""The monitoring screen over HTTP: login, the reference facility's layout in both languages, who may act."""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from devices.facility import Site
from devices.kinds import DeviceKind
from devices.loader import load_facility
from devices.messages import utcnow
from server.auth.users import Role, create_user
from server.main import create_app
from tests.helpers import ADMIN, server_settings

INSPECTOR = ("inspector1", "inspector-pass-1")
STAFF = ("carer1", "carer-pass-1")


@pytest.fixture
def site(unique_site_file: Path) -> Site:
    return load_facility(unique_site_file).site()


@pytest.fixture
def client(unique_site_file: Path, sqlite_url: str, broker: Any) -> Iterator[TestClient]:
    """The app without ingest (pages only), lifespan running, with an inspector and a staff user."""
    app = create_app(server_settings(unique_site_file, sqlite_url, broker), ingest=False)
    with TestClient(app) as test_client:
        with app.state.ctx.sessions.begin() as db:
            create_user(db, username=INSPECTOR[0], password=INSPECTOR[1], role=Role.INSPECTOR, at=utcnow())
            create_user(db, username=STAFF[0], password=STAFF[1], role=Role.STAFF, at=utcnow())
        yield test_client


def log_in(client: TestClient, user: tuple[str, str]) -> None:
    """Log in through the form, as a browser does."""
    response = client.post("/login", data={"username": user[0], "password": user[1]}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"


def page_config(html: str) -> dict[str, Any]:
    """The JSON the page hands its script."""
    found = re.search(r'<script id="config" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the page has no config for its script"
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def test_unauthenticated_screen_redirects_to_login(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert "<form" in client.get("/login").text


def test_login_sets_the_session_cookie_and_opens_the_screen(client: TestClient) -> None:
    form = {"username": ADMIN[0], "password": ADMIN[1]}
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert "carewatch_session" in response.headers["set-cookie"]
    assert "httponly" in response.headers["set-cookie"].lower()
    page = client.get("/")
    assert page.status_code == 200
    assert 'id="alerts"' in page.text


def test_wrong_password_shows_the_error(client: TestClient) -> None:
    response = client.post("/login", data={"username": ADMIN[0], "password": "not-the-password"})
    assert response.url.path == "/login"
    assert 'role="alert"' in response.text
    assert "Wrong username or password" in client.get("/login?error=1&lang=en").text
    assert "用户名或密码错误" in client.get("/login?error=1&lang=zh-CN").text
    assert client.get("/", follow_redirects=False).status_code == 303  # still not logged in


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_screen_shows_every_bed_by_room_and_the_kitchen(client: TestClient, site: Site, lang: str) -> None:
    log_in(client, ADMIN)
    html = client.get("/", params={"lang": lang}).text
    assert f'<html lang="{lang}">' in html
    assert site.name.get(lang) in html
    beds = [(room, bed) for room in site.rooms() for bed in room.beds]
    assert len(beds) == 7
    for room, bed in beds:
        assert f'data-bed="{bed.id}"' in html
        assert bed.name is not None and bed.name.get(lang) in html
        assert room.name.get(lang) in html
    for device in site.devices:
        if device.kind is DeviceKind.POWER_PLUG:
            assert device.appliance and device.appliance.name
            assert device.appliance.name.get(lang) in html
            assert f'data-device="{device.id}"' in html
    for sensor in ("temp-raw-cabinet", "temp-cooked-cabinet", "temp-freezer", "leak-boiler",
                   "presence-kitchen"):
        assert f'data-device="{sensor}"' in html
    assert "0–8 °C" in html and "≤ -12 °C" in html  # fridge and freezer limits next to their readings


def test_screen_lists_every_camera_with_its_zones_and_a_coverage_line(client: TestClient, site: Site) -> None:
    log_in(client, ADMIN)
    html = client.get("/", params={"lang": "en"}).text
    cameras = site.cameras_of()
    assert len(cameras) == 12 and html.count('data-kind="camera"') == 12
    for cam in cameras:
        assert f'data-device="{cam.id}"' in html and f'data-sees="{" ".join(cam.sees)}"' in html
    zones = sorted({z for cam in cameras for z in cam.sees})
    assert f'id="coverage" class="coverage" role="status" data-zones="{" ".join(zones)}"' in html
    assert "Courtyard gate" in html  # a zone by its name, not its id


def test_beds_keep_the_facility_order_inside_their_rooms(client: TestClient, site: Site) -> None:
    log_in(client, ADMIN)
    html = client.get("/?lang=en").text
    order = [bed.id for room in site.rooms() for bed in room.beds]
    positions = [html.index(f'data-bed="{bed}"') for bed in order]
    assert positions == sorted(positions)
    assert html.index('id="alerts"') < positions[0]  # alerts on top


def test_language_switch_is_remembered(client: TestClient, site: Site) -> None:
    log_in(client, ADMIN)
    client.get("/lang/zh-CN", headers={"referer": "/"})
    html = client.get("/").text
    assert "未解决告警" in html and site.name.get("zh-CN") in html
    assert page_config(html)["t"]["acknowledge"] == "响应"
    client.get("/lang/en")
    assert "Open alerts" in client.get("/").text


def test_inspectors_get_no_action_buttons_and_staff_do(client: TestClient) -> None:
    log_in(client, INSPECTOR)
    html = client.get("/").text
    assert page_config(html)["canAct"] is False
    assert 'id="resolve-dialog"' not in html
    client.post("/logout")
    log_in(client, STAFF)
    html = client.get("/").text
    assert page_config(html)["canAct"] is True
    assert 'id="resolve-dialog"' in html


def test_page_config_names_the_site_and_every_text(client: TestClient, site: Site) -> None:
    log_in(client, ADMIN)
    config = page_config(client.get("/?lang=en").text)
    assert config["site"] == site.id and config["lang"] == "en"
    assert config["t"]["resolve"] == "Resolve"
    assert config["names"]["smoke-kitchen"] == "Smoke detector"  # unnamed devices read as their kind
    assert config["names"]["b101-1"] == "Bed 101-1"


def test_everything_is_served_locally(client: TestClient) -> None:
    log_in(client, ADMIN)
    html = client.get("/").text
    assert not re.search(r'(src|href)="(https?:)?//', html), "no CDN: a care home may have no internet"
    for asset in ("/static/screen.js", "/static/screen.css"):
        assert client.get(asset).status_code == 200
    script = client.get("/static/screen.js").text
    assert "innerHTML" not in script  # data goes into the page as text only
    assert "EventSource" in script


def test_demo_mode_says_the_facility_is_simulated(unique_site_file: Path, sqlite_url: str,
                                                  broker: Any) -> None:
    app = create_app(server_settings(unique_site_file, sqlite_url, broker, demo=True), ingest=False)
    with TestClient(app) as demo_client:
        log_in(demo_client, ADMIN)
        assert '<p class="demo-note">Demo mode: simulated facility' in demo_client.get("/?lang=en").text
        assert '<p class="demo-note">演示模式' in demo_client.get("/?lang=zh-CN").text


def test_no_demo_note_in_production(client: TestClient) -> None:
    log_in(client, ADMIN)
    assert 'class="demo-note"' not in client.get("/?lang=en").text


def test_a_wrong_password_keeps_the_page_that_asked_for_the_login(client: TestClient) -> None:
    """A caregiver who mistypes on a checkpoint's page lands back on it after the second try, not on the screen."""
    target = "/patrol/hq/cp-kitchen?k=abc"
    again = client.post("/login", data={"username": ADMIN[0], "password": "typo", "next": target},
                        follow_redirects=False)
    assert again.status_code == 303 and "error=1" in again.headers["location"]
    form = client.get(again.headers["location"])
    assert 'name="next" value="/patrol/hq/cp-kitchen?k=abc"' in form.text
    done = client.post("/login", data={"username": ADMIN[0], "password": ADMIN[1], "next": target},
                       follow_redirects=False)
    assert done.headers["location"] == target
