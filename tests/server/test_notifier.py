"""Escalation through the outbox to a real local webhook receiver, on an injected clock: who gets what when,
acknowledgement stops it, a receiver outage ends with every message delivered once, a restart repeats nothing."""

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from devices.facility import Facility
from server.alerts import service
from server.delivery import links
from server.delivery.sender import CHANNEL_FAILING, LinkMaker, Notifier
from server.models import Alert, Notification
from server.notify.webhooks import WebhookChannel, verify_signature
from server.pipeline import Pipeline
from tests.server.conftest import T0, Clock, envelope, message

SECRET = "hook-secret"
M = timedelta(minutes=1)


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps every request and can be told to fail."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failing = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.failing:
                    self.send_response(503)
                else:
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
def facility(reference_facility: Facility, receiver: Receiver) -> Facility:
    """The reference facility with its critical alerts also sent to the local receiver."""
    data = reference_facility.model_dump(by_alias=True, mode="json")
    site = data["sites"][0]
    site["channels"] = {"ops-hook": {"type": "webhook", "url": receiver.url, "secret": SECRET}}
    for step in site["escalation"]["critical"]["steps"]:
        step["channels"] = ["screen", "ops-hook"]
    return Facility.model_validate(data)


def notifier(facility: Facility, sessions: Any, clock: Clock) -> Notifier:
    def build(config: dict[str, Any]) -> WebhookChannel:
        return WebhookChannel(config["url"], config["secret"], timeout=2, clock=clock)

    return Notifier(facility, sessions, clock, LinkMaker("link-secret", "http://care.example"), build)


def smoke(facility: Facility, sessions: Any, clock: Clock) -> int:
    """A smoke alarm raised at T0 (critical)."""
    pipeline = Pipeline(facility, sessions, clock=clock)
    pipeline.load()
    pipeline.process([message(envelope("smoke-kitchen", T0, smoke=True))])
    with sessions() as db:
        return int(db.scalar(select(Alert.id).where(Alert.rule == "smoke")))


def test_nobody_answers_the_alert_climbs_on_schedule(facility: Facility, sessions: Any, clock: Clock,
                                                     receiver: Receiver) -> None:
    alert_id = smoke(facility, sessions, clock)
    sender = notifier(facility, sessions, clock)
    for minute in (0, 1, 2, 3, 4, 10):
        sender.tick(T0 + minute * M)
    got = [(m["idempotency_key"].split(":")[1:3], m["alert_id"]) for m in receiver.messages()]
    # on duty at 0, 2, 4, 6(missed: the clock jumped), 10 min; supervisor at 3; managers at 10
    assert [k for k, _ in got] == [["0", "0"], ["0", "1"], ["1", "0"], ["0", "2"], ["0", "5"], ["2", "0"]]
    assert {a for _, a in got} == {alert_id}
    first = receiver.requests[0]
    assert verify_signature(SECRET, first["headers"]["X-Carewatch-Timestamp"], first["body"],
                            first["headers"]["X-Carewatch-Signature"], T0)
    text = receiver.messages()[0]["text"]
    assert "烟雾报警" in text and "厨房" in text  # the site's language: zh-CN
    token = receiver.messages()[0]["link"].rsplit("/ack/", 1)[1]
    assert links.read("link-secret", token, 3600) == links.AckLink(alert_id, "group")


def test_acknowledging_stops_the_escalation(facility: Facility, sessions: Any, clock: Clock,
                                            receiver: Receiver) -> None:
    alert_id = smoke(facility, sessions, clock)
    sender = notifier(facility, sessions, clock)
    sender.tick(T0)
    with sessions.begin() as db:
        service.acknowledge(db, alert_id, actor="staff:s-wang", at=T0 + M)
    for minute in (2, 3, 10, 14):
        sender.tick(T0 + minute * M)
    assert len(receiver.messages()) == 1
    sender.tick(T0 + 16 * M)  # remind_acknowledged 15 min after the acknowledgement
    assert receiver.messages()[-1]["idempotency_key"] == f"{alert_id}:-1:0:ops-hook:group"


def test_a_receiver_outage_ends_with_every_message_delivered_once(facility: Facility, sessions: Any, clock: Clock,
                                                                  receiver: Receiver) -> None:
    smoke(facility, sessions, clock)
    sender = notifier(facility, sessions, clock)
    receiver.failing = True
    now = T0
    for _ in range(4):  # attempts at +0 s, +1 s, +3 s, +7 s (backoff 1, 2, 4 s)
        sender.tick(now)
        now += timedelta(seconds=4)
    with sessions() as db:
        failing = db.scalars(select(Alert).where(Alert.rule == CHANNEL_FAILING)).all()
        row = db.scalars(select(Notification).where(Notification.channel == "ops-hook")).first()
    assert [(a.subject, a.severity, a.cleared) for a in failing] == [("ops-hook", "high", False)]
    assert row is not None and row.status == "pending" and row.attempts >= 3 and "503" in (row.last_error or "")
    receiver.failing = False
    sender.tick(now + timedelta(seconds=30))
    keys = [m["idempotency_key"] for m in receiver.messages()]
    assert len(keys) == len(set(keys)) == 1
    with sessions() as db:
        [failing_alert] = db.scalars(select(Alert).where(Alert.rule == CHANNEL_FAILING)).all()
    assert failing_alert.cleared  # the channel works again


def test_a_restart_in_the_middle_of_an_escalation_repeats_nothing(facility: Facility, sessions: Any, clock: Clock,
                                                                   receiver: Receiver) -> None:
    smoke(facility, sessions, clock)
    notifier(facility, sessions, clock).tick(T0)
    notifier(facility, sessions, clock).tick(T0 + 2 * M)
    restarted = notifier(facility, sessions, clock)  # a new process: only the database remembers
    restarted.tick(T0 + 2 * M + 30 * timedelta(seconds=1))
    restarted.tick(T0 + 3 * M)
    rounds = [m["idempotency_key"].split(":")[1:3] for m in receiver.messages()]
    assert rounds == [["0", "0"], ["0", "1"], ["1", "0"]]


def test_a_channel_s_per_minute_is_the_notifier_s_and_limits_it(facility: Facility, sessions: Any, clock: Clock,
                                                                receiver: Receiver) -> None:
    from server.delivery import config

    hook = {"type": "webhook", "url": receiver.url, "secret": SECRET}
    assert config.build({**hook, "per_minute": 5}).name  # accepted, not passed on to the channel
    with pytest.raises(ValueError, match="per_minute"):
        config.build({**hook, "per_minute": 0})
    data = facility.model_dump(by_alias=True, mode="json")
    data["sites"][0]["channels"]["ops-hook"]["per_minute"] = 1
    limited = Facility.model_validate(data)
    pipeline = Pipeline(limited, sessions, clock=clock)
    pipeline.load()
    pipeline.process([message(envelope("smoke-kitchen", T0, smoke=True)),
                      message(envelope("smoke-corridor", T0, smoke=True))])  # two alarms at once
    sender = notifier(limited, sessions, clock)
    sender.tick(T0)
    sender.tick(T0 + 30 * timedelta(seconds=1))
    assert len(receiver.messages()) == 1  # one a minute on this channel: the second waits
    sender.tick(T0 + M)
    assert len(receiver.messages()) == 2
