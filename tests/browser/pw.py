"""What the browser tests share: Playwright's names (or a skip of the module that imports them; a failure on CI,
where nothing may skip silently), logging in through the form, and publishing an observation as an edge would."""

import itertools
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from devices import topics
from devices.messages import Envelope, Reading, new_id, to_json, utcnow
from server.web.i18n import texts
from tests.conftest import CI

try:
    from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
except ImportError:
    if CI:
        raise
    pytest.skip("the playwright Python package is not installed", allow_module_level=True)

__all__ = ["Browser", "BrowserContext", "Locator", "Page", "expect", "log_in", "observe"]
_seq = itertools.count(1)


def log_in(page: Page, user: tuple[str, str], lang: str = "en") -> None:
    """Pick the language, log in through the form, wait for the first snapshot."""
    page.goto(f"/lang/{lang}")
    page.get_by_label(texts(lang)["username"]).fill(user[0])
    page.get_by_label(texts(lang)["password"]).fill(user[1])
    page.get_by_role("button", name=texts(lang)["login"]).click()
    page.wait_for_url("**/")
    expect(page.locator("#screen")).to_have_attribute("aria-busy", "false")


def observe(client: mqtt.Client, site: str, device: str, kind: str, **fields: Any) -> None:
    """Publish one observation as the site's edge would."""
    envelope = Envelope(id=new_id(), site=site, device=device, kind=kind, at=utcnow(), seq=next(_seq),
                        data=Reading(**fields))
    client.publish(topics.observation(site, device), to_json(envelope), qos=1).wait_for_publish(5)
