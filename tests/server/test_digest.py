"""The daily digest: yesterday's figures to the managers' mailboxes through a real SMTP server, scheduled at
the site's digest time in its time zone."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller

from carewatch.broker import free_port
from devices.facility import Facility
from server import digest
from server.delivery import config
from server.models import Alert
from tests.helpers import Mailbox

NOW = datetime(2026, 11, 28, 7, 30, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


def with_digest(facility: Facility, port: int) -> Facility:
    data = facility.model_dump(by_alias=True, mode="json")
    site = data["sites"][0]
    for person in site["staff"]:
        person["email"] = f"{person['id']}@care.example"
    site["channels"] = {"mail": {"type": "email", "host": "127.0.0.1", "port": port, "sender": "cw@care.example",
                                 "security": "none"}}
    site["digest"] = {"at": "07:30", "channels": ["mail"]}
    return Facility.model_validate(data)


def test_the_managers_get_yesterday_s_figures(reference_facility: Facility, sessions: Any) -> None:
    box = Mailbox()
    smtp = Controller(box, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        facility = with_digest(reference_facility, smtp.port)
        with sessions.begin() as db:
            raised = NOW - timedelta(hours=5)
            db.add(Alert(site="hq", rule="sos", subject="sos-r101", severity="critical", status="resolved",
                         cleared=False, details={}, occurrences=1, raised_at=raised, last_raised_at=raised,
                         acked_at=raised + timedelta(seconds=40), acked_by="nurse",
                         resolved_at=raised + timedelta(minutes=5), resolution="real_event"))
        sent = digest.send(facility.sites[0], sessions, facility, config.build, NOW, "http://care.example/")
    finally:
        smtp.stop()
    assert sent == 1 and [e.rcpt_tos for e in box.received] == [["s-chen@care.example"]]  # the manager only
    body = box.received[0].content.decode()
    assert "critical" in body and "40" in body


def test_the_digest_is_scheduled_at_the_site_s_time(reference_facility: Facility, sessions: Any) -> None:
    facility = with_digest(reference_facility, 25)
    jobs = digest.scheduler(facility, sessions, config.build, lambda: NOW, "http://care.example/")
    [job] = jobs.get_jobs()
    first = job.trigger.get_next_fire_time(None, datetime(2026, 11, 27, 22, 0, tzinfo=UTC))  # 06:00 in Shanghai
    assert first == NOW  # 07:30 in Shanghai is 23:30 UTC the day before
