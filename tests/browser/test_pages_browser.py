"""Every page beside the screen in a real Chromium, in both languages: it loads without a script error, has its
heading, is reachable by keyboard, and is saved as a screenshot (test-artifacts/page-*.png) for review."""

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import INSPECTOR
from tests.browser.pw import Browser, Page, expect
from tests.helpers import ADMIN, LiveServer

pytestmark = pytest.mark.mqtt

PAGES = {  # path: (who reads it, its heading in English, in Chinese)
    "/residents": (ADMIN, "Residents", "住户夜间情况"),
    "/figures": (ADMIN, "Response figures", "响应"),
    "/history": (ADMIN, "Alert history", "告警记录"),
    "/silences": (ADMIN, "Silences", "静音"),
    "/roster": (ADMIN, "Duty roster", "值班"),
    "/records": (INSPECTOR, "Safety records", "安全记录"),
    "/district": (INSPECTOR, "District overview", "辖区总览"),
}


def logged_in(chromium: Browser, settings: Any, user: tuple[str, str], lang: str) -> Page:
    """A fresh context logged in through the form, in `lang`."""
    page = chromium.new_context(base_url=f"http://127.0.0.1:{settings.port}",
                                viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"/lang/{lang}")
    page.goto("/login?next=/records")
    page.locator("input[name=username]").fill(user[0])
    page.locator("input[name=password]").fill(user[1])
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/records")
    return page


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_every_page_loads_in_both_languages_without_script_errors(
        chromium: Browser, server: LiveServer, settings: Any, artifacts: Path, lang: str) -> None:
    pages = {user: logged_in(chromium, settings, user, lang) for user in (ADMIN, INSPECTOR)}
    errors: list[str] = []
    for page in pages.values():
        page.on("pageerror", lambda exc: errors.append(str(exc)))
    for path, (user, english, chinese) in PAGES.items():
        page = pages[user]
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        expect(page.locator("h1")).to_contain_text(english if lang == "en" else chinese)
        page.keyboard.press("Tab")  # the first thing a keyboard reaches is a link or a control, never nothing
        assert page.evaluate("document.activeElement && document.activeElement !== document.body"), path
        page.screenshot(path=artifacts / f"page-{path.strip('/')}-{lang}.png", full_page=True)
    assert errors == []
    for page in pages.values():
        page.context.close()
