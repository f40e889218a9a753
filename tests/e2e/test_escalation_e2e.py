"""A critical alert reaches a person's mailbox through a real SMTP server, in the site's language and with a
one-tap link, and the link's button acknowledges it as that person (the escalation then stops)."""

import email
import email.policy
import time
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from carewatch.broker import free_port
from devices.facility import Facility
from devices.loader import load_facility
from tests.conftest import Broker
from tests.helpers import Mailbox, live_server, server_settings, wait_until
from tests.server.test_api import publish

pytestmark = pytest.mark.e2e


def with_mail(path: Path, port: int) -> Facility:
    """The facility with the night caregiver's address and critical alerts sent by e-mail too."""
    data = load_facility(path).model_dump(by_alias=True, mode="json")
    site = data["sites"][0]
    for person in site["staff"]:
        person["email"] = f"{person['id']}@care.example"
    site["channels"] = {"mail": {"type": "email", "host": "127.0.0.1", "port": port, "sender": "cw@care.example",
                                 "security": "none"}}
    for step in site["escalation"]["critical"]["steps"]:
        step["channels"] = ["screen", "mail"]
    return Facility.model_validate(data)


def test_an_sos_reaches_the_shift_by_mail_and_its_link_acknowledges(unique_site_file: Path, sqlite_url: str,
                                                                    broker: Broker) -> None:
    box = Mailbox()
    smtp = Controller(box, hostname="127.0.0.1", port=free_port())
    smtp.start()
    facility = with_mail(unique_site_file, smtp.port)
    site = facility.sites[0]
    try:
        with live_server(server_settings(unique_site_file, sqlite_url, broker), facility=facility) as live:
            started = time.monotonic()
            publish(broker, site.id, "sos-r103", "sos_button", pressed=True)
            wait_until(lambda: box.received, 5, what="the e-mail of the SOS")
            elapsed = time.monotonic() - started
            on_duty = site.on_duty(live.ctx.clock())
            assert on_duty is not None
            envelope = box.received[0]
            assert sorted(envelope.rcpt_tos)[0] in {f"{p}@care.example" for p in on_duty.staff}
            mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
            body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            assert "紧急呼叫" in str(mail["Subject"]) and "103" in body  # the site's language, the place
            link = next(word for word in body.split() if "/ack/" in word)
            recipient = envelope.rcpt_tos[0].split("@")[0]
            assert httpx.post(link).status_code == 200
            with live.client() as client:
                alert = client.get("/api/v1/alerts").json()[0]
                assert (alert["status"], alert["acked_by"]) == ("acknowledged", f"staff:{recipient}")
                sent = client.get(f"/api/v1/alerts/{alert['id']}/notifications").json()
            assert {(n["channel"], n["status"]) for n in sent} >= {("mail", "sent"), ("screen", "sent")}
    finally:
        smtp.stop()
    print(f"SOS published to the e-mail in the mailbox: {elapsed * 1000:.0f} ms")
    assert elapsed < 2
