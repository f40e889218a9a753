"""The demo's pretend phone: added to every escalation step, it receives a critical alert's notification."""

import time

from carewatch.phone import CHANNEL, Phone, with_phone
from devices.loader import load_facility
from server.notify.message import Message
from server.notify.webhooks import WebhookChannel
from tests.conftest import FACILITY_FILE


def test_the_phone_is_a_channel_of_every_step_and_rings() -> None:
    phone = Phone().start()
    try:
        facility = with_phone(load_facility(FACILITY_FILE, profile="demo"), phone)
        site = facility.sites[0]
        policies = [site.escalation.critical, site.escalation.high, site.escalation.medium]
        steps = [s for p in policies if p is not None for s in p.steps]
        assert steps and all(CHANNEL in s.channels and "screen" in s.channels for s in steps)
        assert site.escalation.critical is not None and site.escalation.critical.steps[0].repeat is not None
        config = site.channels[CHANNEL]
        WebhookChannel(config["url"], config["secret"]).send(Message(
            title="[紧急] 紧急呼叫 · 101", text="x", link="http://127.0.0.1/ack/t", severity="critical", alert_id=1,
            recipient="group", idempotency_key="1:0:0:demo-phone:group"))
        deadline = time.monotonic() + 2
        while not phone.received and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [m["title"] for m in phone.received] == ["[紧急] 紧急呼叫 · 101"]
    finally:
        phone.stop()
