"""One-tap acknowledge links on a running server: opening one changes nothing, its button acknowledges as the
person the message went to, a group's link asks who you are, a forged or expired one is refused."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.delivery import links
from tests.conftest import Broker
from tests.helpers import ADMIN, LiveServer, live_server, server_settings, wait_until
from tests.server.test_api import open_alerts, publish, site_of

KEY = "test-secret-key"  # what server_settings signs with


@pytest.fixture
def server(unique_site_file: Path, sqlite_url: str, broker: Broker) -> Iterator[LiveServer]:
    with live_server(server_settings(unique_site_file, sqlite_url, broker, notify=False)) as live:
        yield live


def an_alert(server: LiveServer, broker: Broker) -> int:
    publish(broker, site_of(server), "sos-r101", "sos_button", pressed=True)
    [alert] = wait_until(lambda: open_alerts(server), 3, what="the SOS alert")
    return int(alert["id"])


def test_the_button_acknowledges_as_the_recipient_and_opening_alone_does_not(server: LiveServer,
                                                                              broker: Broker) -> None:
    alert_id = an_alert(server, broker)
    url = f"{server.url}/ack/{links.make(KEY, links.AckLink(alert_id, 's-wang'))}"
    page = httpx.get(url)
    assert page.status_code == 200 and "<form method=\"post\">" in page.text
    assert open_alerts(server)[0]["status"] == "open"  # a link preview or mail scanner changes nothing
    done = httpx.post(url, follow_redirects=False)
    assert done.status_code == 200
    with server.client() as client:
        alert = client.get(f"/api/v1/alerts/{alert_id}").json()
    assert (alert["status"], alert["acked_by"]) == ("acknowledged", "staff:s-wang")
    assert [e["note"] for e in alert["events"] if e["action"] == "acknowledged"] == ["one-tap link"]


def test_a_group_link_needs_a_login_then_acknowledges_as_that_user(server: LiveServer, broker: Broker) -> None:
    alert_id = an_alert(server, broker)
    path = f"/ack/{links.make(KEY, links.AckLink(alert_id, 'group'))}"
    anonymous = httpx.post(f"{server.url}{path}", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == f"/login?next={path}"
    with httpx.Client(base_url=server.url) as browser:
        logged = browser.post("/login", data={"username": ADMIN[0], "password": ADMIN[1], "next": path},
                              follow_redirects=False)
        assert logged.headers["location"] == path
        assert browser.post(path).status_code == 200
    with server.client() as client:
        assert client.get(f"/api/v1/alerts/{alert_id}").json()["acked_by"] == ADMIN[0]


@pytest.mark.parametrize(("token", "message"), [
    ("not-a-token", "this link is not valid"),
    (links.make("another-key", links.AckLink(1, "s-wang")), "this link is not valid"),
])
def test_a_forged_link_is_refused(server: LiveServer, token: str, message: str) -> None:
    answer = httpx.post(f"{server.url}/ack/{token}")
    assert answer.status_code == 400 and message in answer.text


def test_login_never_sends_you_to_another_site(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as browser:
        answer = browser.post("/login", data={"username": ADMIN[0], "password": ADMIN[1],
                                              "next": "//evil.example/x"}, follow_redirects=False)
    assert answer.headers["location"] == "/"


def test_a_policy_can_ask_for_a_login_on_every_link(unique_site_file: Path, sqlite_url: str, broker: Broker) -> None:
    settings = server_settings(unique_site_file, sqlite_url, broker, notify=False, ack_link_login=True)
    with live_server(settings) as live:
        alert_id = an_alert(live, broker)
        path = f"/ack/{links.make(KEY, links.AckLink(alert_id, 's-wang'))}"
        answer = httpx.post(f"{live.url}{path}", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == f"/login?next={path}"
