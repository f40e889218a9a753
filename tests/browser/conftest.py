"""A real Chromium (Debian's, driven by Playwright); missing means skip here and fail on CI."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, missing

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"


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
