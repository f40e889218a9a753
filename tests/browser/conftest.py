"""A real Chromium (Debian's, driven by Playwright); missing means skip here and fail on CI."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devices import mqtt as cw_mqtt
from devices.loader import load_facility
from devices.messages import utcnow
from server.auth.users import Role, create_user
from tests.conftest import ROOT, missing
from tests.helpers import LiveServer, live_server, publisher, server_settings

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"


INSPECTOR = ("inspector1", "inspector-pass-1")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless browser for the whole run; each test opens its own context."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        missing("the playwright Python package")
        return
    if not CHROMIUM.exists():
        missing(f"Chromium at {CHROMIUM}")
        return
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        except Error as exc:
            missing(f"a Chromium that starts ({exc.message.splitlines()[0]})")
            return
        yield browser
        browser.close()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def site_id(unique_site_file: Path) -> str:
    """The test's own site id (a fresh one per test: tests sharing one broker never see each other)."""
    return load_facility(unique_site_file).site().id


@pytest.fixture
def settings(unique_site_file: Path, sqlite_url: str, broker: Any) -> Any:
    """A live server's settings for that site, on SQLite and the test broker."""
    return server_settings(unique_site_file, sqlite_url, broker)


@pytest.fixture
def mqtt_out(broker: Any) -> Iterator[Any]:
    """A client that publishes as the site's edge."""
    client = publisher(broker)
    yield client
    cw_mqtt.stop(client)


@pytest.fixture
def server(settings: Any) -> Iterator[LiveServer]:
    """A live server (the test's site) with an inspector besides the admin."""
    with live_server(settings) as live:
        with live.ctx.sessions.begin() as db:
            create_user(db, username=INSPECTOR[0], password=INSPECTOR[1], role=Role.INSPECTOR, at=utcnow())
        yield live
