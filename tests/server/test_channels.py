"""The notification channels against real local receivers: an aiosmtpd SMTP server and an HTTP server that
answers like each robot. No mocks; everything on 127.0.0.1."""

import base64
import email
import email.policy
import hashlib
import hmac
import json
import logging
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from carewatch.broker import free_port
from server.notify import (
    DeliveryError,
    DingTalkRobot,
    EmailChannel,
    FeishuRobot,
    Message,
    WebhookChannel,
    WeComRobot,
    channel_from_config,
    verify_signature,
)
from server.notify.mail import message_id

NOW = datetime(2026, 11, 27, 15, 0, 5, tzinfo=UTC)  # 23:00 in Shanghai
SENDER = "carewatch@care.example"
TITLE = "紧急：3号床老人离床未归"
TEXT = "王奶奶 23:05 离床，已超过 45 分钟未回床。\n请值班护工立即查看。"
LINK = "https://carewatch.example/alerts/42/ack?t=abc123"
ROBOT_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"  # what a robot URL carries: must never reach a log


def clock() -> datetime:
    return NOW


def message(recipient: str = "duty@care.example", key: str = "alert-42-step-0-round-0", text: str = TEXT) -> Message:
    return Message(title=TITLE, text=text, link=LINK, severity="critical", alert_id=42, recipient=recipient,
                   idempotency_key=key)


# --- SMTP -------------------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps what it receives and refuses some recipients the way real servers do."""

    received: list[Any] = field(default_factory=list)
    logins: list[bytes] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> SMTP reply

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        """Accept nurse-station / s3cret only."""
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"nurse-station", b"s3cret")
        if ok:
            self.logins.append(data.login)
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    def parsed(self, index: int = -1) -> email.message.EmailMessage:
        return email.message_from_bytes(self.received[index].content, policy=email.policy.default)  # type: ignore


@pytest.fixture
def smtp() -> Iterator[Callable[..., tuple[Mailbox, int]]]:
    """Start aiosmtpd servers on free ports with the given SMTP options; stop them all afterwards."""
    controllers: list[Controller] = []

    def start(auth: bool = False, **options: Any) -> tuple[Mailbox, int]:
        box = Mailbox()
        if auth:
            options["authenticator"] = box.authenticate
        controller = Controller(box, hostname="127.0.0.1", port=free_port(), server_hostname="mail.care.example",
                                **options)
        controller.start()
        controllers.append(controller)
        return box, controller.port

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not available")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def test_email_arrives_in_utf8_with_the_link(smtp: Callable[..., tuple[Mailbox, int]]) -> None:
    box, port = smtp()
    channel = EmailChannel("127.0.0.1", port, sender=SENDER, security="none", clock=clock)
    channel.send(message())
    envelope = box.received[0]
    assert (envelope.mail_from, envelope.rcpt_tos) == (SENDER, ["duty@care.example"])
    mail = box.parsed()
    assert mail["Subject"] == TITLE
    assert mail["To"] == "duty@care.example"
    body = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert TEXT in body and LINK in body
    assert mail["Message-ID"] == message_id("alert-42-step-0-round-0", SENDER)
    assert mail["Auto-Submitted"] == "auto-generated"


def test_a_retried_email_keeps_its_message_id(smtp: Callable[..., tuple[Mailbox, int]]) -> None:
    box, port = smtp()
    channel = EmailChannel("127.0.0.1", port, sender=SENDER, security="none")
    channel.send(message(key="alert-42-step-1-round-0"))
    channel.send(message(key="alert-42-step-1-round-0"))
    channel.send(message(key="alert-42-step-1-round-1"))
    ids = [box.parsed(i)["Message-ID"] for i in range(3)]
    assert ids[0] == ids[1] != ids[2]


def test_email_logs_in_on_a_server_that_requires_auth(smtp: Callable[..., tuple[Mailbox, int]]) -> None:
    box, port = smtp(auth=True, auth_require_tls=False)
    channel = EmailChannel("127.0.0.1", port, sender=SENDER, username="nurse-station", password="s3cret",
                           security="none")
    channel.send(message())
    assert box.logins == [b"nurse-station"] and len(box.received) == 1


def test_a_wrong_password_is_not_retried(smtp: Callable[..., tuple[Mailbox, int]]) -> None:
    box, port = smtp(auth=True, auth_require_tls=False)
    channel = EmailChannel("127.0.0.1", port, sender=SENDER, username="nurse-station", password="wrong",
                           security="none")
    with pytest.raises(DeliveryError) as caught:
        channel.send(message())
    assert caught.value.retry is False and "535" in str(caught.value)
    assert box.received == []


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_over_tls_with_auth(smtp: Callable[..., tuple[Mailbox, int]], certificate: tuple[Path, Path],
                                  security: str) -> None:
    context = server_tls(certificate)
    # aiosmtpd offers AUTH only after STARTTLS by default; it does not count implicit TLS, hence the exception.
    tls = {"tls_context": context} if security == "starttls" else {"ssl_context": context, "auth_require_tls": False}
    box, port = smtp(auth=True, **tls)
    channel = EmailChannel("127.0.0.1", port, sender=SENDER, username="nurse-station", password="s3cret",
                           security=security, ca_file=str(certificate[0]))
    channel.send(message())
    assert box.logins == [b"nurse-station"]
    assert box.parsed()["Subject"] == TITLE


def test_an_untrusted_certificate_is_not_retried(smtp: Callable[..., tuple[Mailbox, int]],
                                                 certificate: tuple[Path, Path]) -> None:
    box, port = smtp(tls_context=server_tls(certificate))
    channel = EmailChannel("127.0.0.1", port, sender=SENDER, security="starttls")  # system CAs only
    with pytest.raises(DeliveryError) as caught:
        channel.send(message())
    assert caught.value.retry is False and box.received == []


def test_starttls_never_falls_back_to_plain_text(smtp: Callable[..., tuple[Mailbox, int]]) -> None:
    box, port = smtp(auth=True, auth_require_tls=False)  # offers AUTH in plain text, and no STARTTLS
    channel = EmailChannel("127.0.0.1", port, sender=SENDER, username="nurse-station", password="s3cret")
    with pytest.raises(DeliveryError) as caught:
        channel.send(message())
    assert caught.value.retry is False and box.logins == [] and box.received == []


@pytest.mark.parametrize(("reply", "retry"), [("550 5.1.1 No such user", False), ("452 4.2.2 Mailbox full", True)])
def test_a_refused_recipient(smtp: Callable[..., tuple[Mailbox, int]], reply: str, retry: bool) -> None:
    box, port = smtp()
    box.refuse["gone@care.example"] = reply
    channel = EmailChannel("127.0.0.1", port, sender=SENDER, security="none")
    with pytest.raises(DeliveryError) as caught:
        channel.send(message(recipient="gone@care.example"))
    assert caught.value.retry is retry


def test_a_mail_server_that_is_down_or_silent_is_retried() -> None:
    down = EmailChannel("127.0.0.1", free_port(), sender=SENDER, security="none", timeout=0.5)
    with pytest.raises(DeliveryError) as caught:
        down.send(message())
    assert caught.value.retry is True
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts the connection, never says hello
        mute = EmailChannel("127.0.0.1", silent.getsockname()[1], sender=SENDER, security="none", timeout=0.3)
        started = time.monotonic()
        with pytest.raises(DeliveryError) as caught:
            mute.send(message())
    assert caught.value.retry is True and time.monotonic() - started < 2


def test_a_label_is_not_an_email_address() -> None:
    channel = EmailChannel("127.0.0.1", free_port(), sender=SENDER, security="none")
    with pytest.raises(DeliveryError) as caught:
        channel.send(message(recipient="night shift"))
    assert caught.value.retry is False


# --- HTTP receiver ----------------------------------------------------------------------------------------


@dataclass
class Request:
    """One request as the receiver saw it."""

    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Reply = tuple[int, Any]  # status and a JSON-able answer (bytes are sent as they are)


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records requests and answers with `reply`, after `delay` seconds."""

    url: str
    requests: list[Request] = field(default_factory=list)
    reply: Callable[[Request], Reply] = lambda request: (200, {"errcode": 0, "errmsg": "ok"})
    delay: float = 0.0
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Serve until the test ends; a delayed answer is cut short at teardown so nothing lingers."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            request = Request(parts.path, parts.query, dict(self.headers.items()), body)
            state.requests.append(request)
            state.release.wait(state.delay)
            status, answer = state.reply(request)
            data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up first (the timeout test)
                pass

        def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def retry_of(channel: Any, msg: Message | None = None) -> bool:
    """Send and return the DeliveryError's retry flag; fail if it was delivered."""
    with pytest.raises(DeliveryError) as caught:
        channel.send(msg or message())
    return caught.value.retry


# --- generic webhook --------------------------------------------------------------------------------------


def test_webhook_posts_signed_json(receiver: Receiver) -> None:
    WebhookChannel(f"{receiver.url}/hooks/carewatch", "hook-secret", clock=clock).send(message())
    (request,) = receiver.requests
    assert request.path == "/hooks/carewatch"
    assert request.json() == {
        "alert_id": 42, "title": TITLE, "text": TEXT, "link": LINK, "severity": "critical",
        "idempotency_key": "alert-42-step-0-round-0", "sent_at": "2026-11-27T15:00:05Z",
    }
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.headers["Idempotency-Key"] == '"alert-42-step-0-round-0"'
    stamp, signature = request.headers["X-Carewatch-Timestamp"], request.headers["X-Carewatch-Signature"]
    assert stamp == str(int(NOW.timestamp()))
    expected = hmac.new(b"hook-secret", f"{stamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}"
    assert verify_signature("hook-secret", stamp, request.body, signature, now=NOW)
    assert verify_signature("hook-secret", int(stamp), request.body, signature, now=NOW.timestamp() + 299)


def test_a_webhook_signature_fails_for_the_wrong_secret_body_or_time(receiver: Receiver) -> None:
    WebhookChannel(receiver.url, "hook-secret", clock=clock).send(message())
    (request,) = receiver.requests
    stamp, signature = request.headers["X-Carewatch-Timestamp"], request.headers["X-Carewatch-Signature"]
    assert not verify_signature("other-secret", stamp, request.body, signature, now=NOW)
    assert not verify_signature("hook-secret", stamp, request.body + b" ", signature, now=NOW)
    assert not verify_signature("hook-secret", stamp, request.body, signature, now=NOW + timedelta(seconds=301))
    assert not verify_signature("hook-secret", str(int(stamp) + 1), request.body, signature, now=NOW)
    assert not verify_signature("hook-secret", "not-a-time", request.body, signature, now=NOW)
    assert not verify_signature("hook-secret", stamp, request.body, "sha256=签名", now=NOW)


@pytest.mark.parametrize(("status", "retry"), [
    (400, False), (401, False), (403, False), (404, False), (410, False),
    (408, True), (429, True), (500, True), (502, True), (503, True),
])
def test_webhook_http_errors(receiver: Receiver, status: int, retry: bool) -> None:
    receiver.reply = lambda request: (status, {"error": "nope"})
    assert retry_of(WebhookChannel(receiver.url, "hook-secret")) is retry


def test_webhook_2xx_is_delivery(receiver: Receiver) -> None:
    receiver.reply = lambda request: (204, b"")
    WebhookChannel(receiver.url, "hook-secret").send(message())
    assert len(receiver.requests) == 1


def test_a_receiver_that_is_down_is_retried() -> None:
    assert retry_of(WebhookChannel(f"http://127.0.0.1:{free_port()}/hook", "hook-secret")) is True


def test_a_receiver_too_slow_to_answer_is_retried(receiver: Receiver) -> None:
    receiver.delay = 1.5
    started = time.monotonic()
    assert retry_of(WebhookChannel(receiver.url, "hook-secret", timeout=0.3)) is True
    assert time.monotonic() - started < 1.2


# --- WeCom ------------------------------------------------------------------------------------------------


def wecom_url(receiver: Receiver) -> str:
    return f"{receiver.url}/cgi-bin/webhook/send?key={ROBOT_KEY}"


def test_wecom_markdown_and_text(receiver: Receiver) -> None:
    WeComRobot(wecom_url(receiver)).send(message())
    WeComRobot(wecom_url(receiver), msgtype="text").send(message())
    markdown, text = (r.json() for r in receiver.requests)
    assert receiver.requests[0].query == f"key={ROBOT_KEY}"
    assert markdown == {"msgtype": "markdown", "markdown": {"content": f"**{TITLE}**\n{TEXT}\n[{LINK}]({LINK})"}}
    assert text == {"msgtype": "text", "text": {"content": f"{TITLE}\n{TEXT}\n{LINK}"}}


def test_wecom_cuts_a_long_text_to_its_limit_and_keeps_the_link(receiver: Receiver) -> None:
    WeComRobot(wecom_url(receiver)).send(message(text="离床" * 2000))
    WeComRobot(wecom_url(receiver), msgtype="text").send(message(text="离床" * 2000))
    markdown, text = (r.json() for r in receiver.requests)
    assert len(markdown["markdown"]["content"].encode()) <= 4096
    assert len(text["text"]["content"].encode()) <= 2048
    assert markdown["markdown"]["content"].endswith(f"…\n[{LINK}]({LINK})")
    assert text["text"]["content"].startswith(TITLE) and text["text"]["content"].endswith(LINK)


@pytest.mark.parametrize(("answer", "retry"), [
    ({"errcode": 45009, "errmsg": "api freq out of limit"}, True),
    ({"errcode": -1, "errmsg": "system busy"}, True),
    ({"errcode": 93000, "errmsg": "invalid webhook url"}, False),
    ({"errcode": 40008, "errmsg": "invalid message type"}, False),
])
def test_wecom_errcodes(receiver: Receiver, answer: dict[str, Any], retry: bool) -> None:
    receiver.reply = lambda request: (200, answer)
    assert retry_of(WeComRobot(wecom_url(receiver))) is retry


def test_a_robot_answering_500_or_not_json_is_retried(receiver: Receiver) -> None:
    receiver.reply = lambda request: (500, b"<html>upstream error</html>")
    assert retry_of(WeComRobot(wecom_url(receiver))) is True
    receiver.reply = lambda request: (200, b"<html>captive portal</html>")
    assert retry_of(WeComRobot(wecom_url(receiver))) is True


def test_logs_and_errors_show_the_host_never_the_key(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    receiver.reply = lambda request: (200, {"errcode": 45009, "errmsg": "api freq out of limit"})
    channels = [WeComRobot(wecom_url(receiver)), DingTalkRobot(wecom_url(receiver), "SECdingtalk-secret"),
                FeishuRobot(f"{receiver.url}/open-apis/bot/v2/hook/{ROBOT_KEY}", "feishu-secret"),
                WeComRobot(f"http://127.0.0.1:{free_port()}/send?key={ROBOT_KEY}")]
    errors = []
    with caplog.at_level(logging.DEBUG, logger="server.notify"):
        for channel in channels:
            with pytest.raises(DeliveryError) as caught:
                channel.send(message())
            errors.append(repr(caught.value) + repr(channel))
    shown = caplog.text + "".join(errors)
    assert "127.0.0.1" in caplog.text
    for secret in (ROBOT_KEY, "SECdingtalk-secret", "feishu-secret", "sign="):
        assert secret not in shown


# --- DingTalk ---------------------------------------------------------------------------------------------


def dingtalk_url(receiver: Receiver) -> str:
    return f"{receiver.url}/robot/send?access_token={ROBOT_KEY}"


def dingtalk_checks(secret: str) -> Callable[[Request], Reply]:
    """Answer like DingTalk: 310000 unless `sign` is base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>"))."""
    def reply(request: Request) -> Reply:
        query = parse_qs(request.query)
        stamp = query["timestamp"][0]
        expected = base64.b64encode(hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest())
        if query.get("sign") != [expected.decode()]:
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        return 200, {"errcode": 0, "errmsg": "ok"}
    return reply


def test_dingtalk_signs_the_url_as_documented(receiver: Receiver) -> None:
    receiver.reply = dingtalk_checks("SECdingtalk-secret")
    DingTalkRobot(dingtalk_url(receiver), "SECdingtalk-secret", clock=clock).send(message())
    (request,) = receiver.requests
    query = parse_qs(request.query)
    assert query["access_token"] == [ROBOT_KEY]
    assert query["timestamp"] == [str(int(NOW.timestamp() * 1000))]  # milliseconds
    digest = hmac.new(b"SECdingtalk-secret", f"{query['timestamp'][0]}\nSECdingtalk-secret".encode(),
                      hashlib.sha256).digest()
    assert f"sign={quote_plus(base64.b64encode(digest))}" in request.query  # url-encoded base64
    assert request.json() == {"msgtype": "markdown", "markdown": {
        "title": TITLE, "text": f"#### {TITLE}\n\n{TEXT.replace(chr(10), chr(10) * 2)}\n\n[{LINK}]({LINK})"}}


def test_dingtalk_with_the_wrong_secret_is_not_retried(receiver: Receiver) -> None:
    receiver.reply = dingtalk_checks("SECdingtalk-secret")
    assert retry_of(DingTalkRobot(dingtalk_url(receiver), "SECsomething-else")) is False


def test_dingtalk_text_without_a_secret_and_rate_limit(receiver: Receiver) -> None:
    DingTalkRobot(dingtalk_url(receiver), None, msgtype="text").send(message())
    assert receiver.requests[0].query == f"access_token={ROBOT_KEY}"
    assert receiver.requests[0].json() == {"msgtype": "text", "text": {"content": f"{TITLE}\n{TEXT}\n{LINK}"}}
    receiver.reply = lambda request: (200, {"errcode": 130101, "errmsg": "send too fast"})
    assert retry_of(DingTalkRobot(dingtalk_url(receiver), None)) is True


# --- Feishu -----------------------------------------------------------------------------------------------


def feishu_url(receiver: Receiver) -> str:
    return f"{receiver.url}/open-apis/bot/v2/hook/{ROBOT_KEY}"


def feishu_checks(secret: str) -> Callable[[Request], Reply]:
    """Answer like Feishu: 19021 unless `sign` is base64(HMAC-SHA256(key="<timestamp>\\n<secret>", msg=""))."""
    def reply(request: Request) -> Reply:
        body = request.json()
        key = f"{body.get('timestamp')}\n{secret}".encode()
        if body.get("sign") != base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode():
            return 200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour", "data": {}}
        return 200, {"code": 0, "msg": "success", "data": {}, "StatusCode": 0, "StatusMessage": "success"}
    return reply


def test_feishu_signs_the_body_as_documented(receiver: Receiver) -> None:
    receiver.reply = feishu_checks("feishu-secret")
    FeishuRobot(feishu_url(receiver), "feishu-secret", clock=clock).send(message())
    body = receiver.requests[0].json()
    assert body["timestamp"] == str(int(NOW.timestamp()))  # seconds
    assert body["msg_type"] == "post"
    post = body["content"]["post"]["zh_cn"]
    assert post["title"] == TITLE
    assert post["content"] == [[{"tag": "text", "text": line}] for line in TEXT.split("\n")] + [
        [{"tag": "a", "text": LINK, "href": LINK}]]


def test_feishu_with_the_wrong_secret_is_not_retried(receiver: Receiver) -> None:
    receiver.reply = feishu_checks("feishu-secret")
    assert retry_of(FeishuRobot(feishu_url(receiver), "not-the-secret")) is False


def test_feishu_text_unsigned_and_the_older_answer(receiver: Receiver) -> None:
    receiver.reply = lambda request: (200, {"StatusCode": 0, "StatusMessage": "success"})
    FeishuRobot(feishu_url(receiver), msgtype="text").send(message())
    assert receiver.requests[0].json() == {"msg_type": "text", "content": {"text": f"{TITLE}\n{TEXT}\n{LINK}"}}


@pytest.mark.parametrize(("answer", "retry"), [
    ({"code": 11232, "msg": "frequency limited"}, True),
    ({"code": 9499, "msg": "Bad Request"}, False),
    ({"code": 19024, "msg": "Key Words Not Found"}, False),
])
def test_feishu_codes(receiver: Receiver, answer: dict[str, Any], retry: bool) -> None:
    receiver.reply = lambda request: (200, answer)
    assert retry_of(FeishuRobot(feishu_url(receiver))) is retry


# --- messages and configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize("change", [{"title": "two\nlines"}, {"title": " "}, {"idempotency_key": ""},
                                    {"idempotency_key": 'a"b'}, {"idempotency_key": "键"}])
def test_a_bad_message_is_refused(change: dict[str, str]) -> None:
    fields = {"title": TITLE, "text": TEXT, "link": LINK, "severity": "high", "alert_id": 1, "recipient": "x",
              "idempotency_key": "k"} | change
    with pytest.raises(ValueError):
        Message(**fields)  # type: ignore[arg-type]


def test_channels_from_config() -> None:
    mail = channel_from_config({"type": "email", "host": "smtp.care.example", "sender": SENDER, "security": "ssl",
                                "username": "u", "password": "p", "name": "managers-mail"})
    assert isinstance(mail, EmailChannel) and (mail.port, mail.name) == (465, "managers-mail")
    assert channel_from_config({"type": "email", "host": "h", "sender": SENDER}).port == 587  # type: ignore
    hook = channel_from_config({"type": "webhook", "url": "https://hooks.example/in", "secret": "s", "timeout": 2})
    assert isinstance(hook, WebhookChannel) and hook.timeout == 2
    wecom = channel_from_config({"type": "wecom", "url": "https://qyapi.weixin.qq.com/x?key=k", "msgtype": "text"})
    assert isinstance(wecom, WeComRobot) and wecom.msgtype == "text"
    ding = channel_from_config({"type": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=t",
                                "secret": "SECx"})
    assert isinstance(ding, DingTalkRobot) and ding.name == "dingtalk"
    feishu = channel_from_config({"type": "feishu", "url": "https://open.feishu.cn/open-apis/bot/v2/hook/t"})
    assert isinstance(feishu, FeishuRobot) and feishu.msgtype == "post"


@pytest.mark.parametrize(("config", "error"), [
    (["wecom"], "must be a mapping"),
    ({"type": "sms"}, "channel type must be one of"),
    ({"url": "https://x.example"}, "channel type must be one of"),
    ({"type": "wecom"}, "missing key 'url'"),
    ({"type": "wecom", "url": "https://x.example/?key=SECRET", "token": "SECRET"}, "unknown key 'token'"),
    ({"type": "wecom", "url": "qyapi.weixin.qq.com/send?key=SECRET"}, "absolute http"),
    ({"type": "wecom", "url": "https://x.example/?key=SECRET", "msgtype": "news"}, "msgtype must be one of"),
    ({"type": "feishu", "url": "https://x.example/SECRET", "msgtype": "markdown"}, "msgtype must be one of"),
    ({"type": "wecom", "url": "https://x.example/?key=SECRET", "timeout": 0}, "timeout must be"),
    ({"type": "wecom", "url": "https://x.example/?key=SECRET", "timeout": True}, "timeout must be"),
    ({"type": "webhook", "url": "https://x.example/in", "secret": ""}, "secret must be a non-empty string"),
    ({"type": "webhook", "url": "https://x.example/in"}, "missing key 'secret'"),
    ({"type": "email", "host": "h", "sender": SENDER, "port": "25"}, "port must be an integer"),
    ({"type": "email", "host": "h", "sender": SENDER, "security": "tls"}, "security must be one of"),
    ({"type": "email", "host": "h", "sender": "carewatch"}, "sender must be an e-mail address"),
    ({"type": "email", "host": "h", "sender": SENDER, "username": "u"}, "both username and password"),
    ({"type": "dingtalk", "url": "https://x.example/?access_token=SECRET", "secret": 7}, "secret must be"),
])
def test_a_bad_config_says_what_is_wrong_without_the_secret(config: Any, error: str) -> None:
    with pytest.raises(ValueError, match=error) as caught:
        channel_from_config(config)
    assert "SECRET" not in str(caught.value)
