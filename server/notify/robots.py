"""Group-chat robots: WeCom (企业微信), DingTalk (钉钉) and Feishu (飞书) custom robots, each as its docs say.

All three answer HTTP 200 with a JSON code: 0 is delivery, anything else a failure that retrying fixes only
when it is a rate limit or "system busy". Their URLs carry the robot's key, so only the host is ever shown.
"""

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import urlencode

from server.notify.message import DEFAULT_TIMEOUT, Clock, Message, utc_now
from server.notify.transport import checked_url, dumps, failure, host_of, json_answer, post_json


def _fit(head: str, text: str, tail: str, limit: int) -> str:
    """`head + text + tail` within `limit` UTF-8 bytes, shortening the text, never the title or the link."""
    room = limit - len((head + tail).encode())
    raw = text.encode()
    if len(raw) > room:
        text = raw[: max(room - 3, 0)].decode(errors="ignore") + "…"  # the ellipsis takes 3 bytes
    return head + text + tail


class _Robot:
    """What the three robots share: a URL, a message type, one POST, and a JSON code in the answer."""

    kind = ""
    msgtypes: tuple[str, ...] = ()
    retry_codes: frozenset[int] = frozenset()

    def __init__(self, url: str, *, msgtype: str, timeout: float, name: str | None, clock: Clock) -> None:
        self.name = name or self.kind
        self.url = checked_url(url, self.name)
        if msgtype not in self.msgtypes:
            raise ValueError(f"{self.name}: msgtype must be one of {', '.join(self.msgtypes)}")
        self.msgtype, self.timeout, self._clock = msgtype, timeout, clock

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, host={host_of(self.url)!r})"

    def send(self, message: Message) -> None:
        """POST the message; a 2xx answer whose code is 0 is delivery, anything else raises DeliveryError."""
        body = dumps(self._payload(message))
        response = post_json(self._target(), body, headers={}, timeout=self.timeout, channel=self.name)
        answer = json_answer(response, self.name)
        code, reason = self._outcome(answer)
        if code != 0:
            detail = f"{self.kind} answered {code}: {str(reason)[:200]}"
            retry = isinstance(code, int) and code in self.retry_codes
            raise failure(self.name, host_of(self.url), detail, retry=retry)

    def _target(self) -> str:
        """Where to POST; DingTalk signs the URL itself."""
        return self.url

    def _outcome(self, answer: dict[str, Any]) -> tuple[Any, Any]:
        """The answer's code (0 is success) and message."""
        return answer.get("errcode"), answer.get("errmsg", "")

    def _payload(self, message: Message) -> dict[str, Any]:
        raise NotImplementedError


class WeComRobot(_Robot):
    """企业微信群机器人: `{"msgtype": "markdown"|"text", ...}` to its webhook, success is `{"errcode": 0}`."""

    kind = "wecom"
    msgtypes = ("markdown", "text")
    retry_codes = frozenset({-1, 45009})  # -1 system busy; 45009 API rate limit (20 messages a minute per robot)

    def __init__(self, url: str, *, msgtype: str = "markdown", timeout: float = DEFAULT_TIMEOUT,
                 name: str | None = None, clock: Clock = utc_now) -> None:
        super().__init__(url, msgtype=msgtype, timeout=timeout, name=name, clock=clock)

    def _payload(self, message: Message) -> dict[str, Any]:
        # The docs cap text content at 2048 bytes and markdown at 4096 (UTF-8); the link must survive a cut.
        if self.msgtype == "text":
            content = _fit(f"{message.title}\n", message.text, f"\n{message.link}", 2048)
            return {"msgtype": "text", "text": {"content": content}}
        content = _fit(f"**{message.title}**\n", message.text, f"\n[{message.link}]({message.link})", 4096)
        return {"msgtype": "markdown", "markdown": {"content": content}}


class DingTalkRobot(_Robot):
    """钉钉自定义机器人 with 加签: `timestamp` (ms) and `sign` appended to the URL; success is `{"errcode": 0}`."""

    kind = "dingtalk"
    msgtypes = ("markdown", "text")
    retry_codes = frozenset({-1, 130101})  # -1 system busy; 130101 sending too fast (20 a minute per robot)

    def __init__(self, url: str, secret: str | None, *, msgtype: str = "markdown", timeout: float = DEFAULT_TIMEOUT,
                 name: str | None = None, clock: Clock = utc_now) -> None:
        super().__init__(url, msgtype=msgtype, timeout=timeout, name=name, clock=clock)
        self._secret = secret  # None: the robot is secured by keyword or IP allow-list instead

    def _target(self) -> str:
        if not self._secret:
            return self.url
        timestamp = str(int(self._clock().timestamp() * 1000))
        # urlencode quotes the base64 sign (`+`, `/`, `=`), the "urlEncode" step of the documented algorithm.
        query = urlencode({"timestamp": timestamp, "sign": dingtalk_sign(self._secret, timestamp)})
        return f"{self.url}{'&' if '?' in self.url else '?'}{query}"

    def _payload(self, message: Message) -> dict[str, Any]:
        if self.msgtype == "text":
            return {"msgtype": "text", "text": {"content": f"{message.title}\n{message.text}\n{message.link}"}}
        # DingTalk's markdown breaks lines only at blank lines; `title` is what the chat list shows.
        text = message.text.replace("\n", "\n\n")
        markdown = f"#### {message.title}\n\n{text}\n\n[{message.link}]({message.link})"
        return {"msgtype": "markdown", "markdown": {"title": message.title, "text": markdown}}


class FeishuRobot(_Robot):
    """飞书自定义机器人: `{"msg_type": "text"|"post", "content": ...}`, signed in the body when a secret is set;
    success is `{"code": 0}` (older answers: `StatusCode` 0)."""

    kind = "feishu"
    msgtypes = ("post", "text")
    retry_codes = frozenset({11232})  # rate limited (100 a minute, 5 a second per robot)

    def __init__(self, url: str, secret: str | None = None, *, msgtype: str = "post",
                 timeout: float = DEFAULT_TIMEOUT, name: str | None = None, clock: Clock = utc_now) -> None:
        super().__init__(url, msgtype=msgtype, timeout=timeout, name=name, clock=clock)
        self._secret = secret

    def _outcome(self, answer: dict[str, Any]) -> tuple[Any, Any]:
        code = answer.get("code", answer.get("StatusCode"))
        return code, answer.get("msg", answer.get("StatusMessage", ""))

    def _payload(self, message: Message) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        if self._secret:
            timestamp = str(int(self._clock().timestamp()))
            payload |= {"timestamp": timestamp, "sign": feishu_sign(self._secret, timestamp)}
        if self.msgtype == "text":
            text = f"{message.title}\n{message.text}\n{message.link}"
            return payload | {"msg_type": "text", "content": {"text": text}}
        lines = [[{"tag": "text", "text": line}] for line in message.text.split("\n")]
        lines.append([{"tag": "a", "text": message.link, "href": message.link}])
        # One locale only: Feishu shows it whatever the reader's language (the text is already in theirs).
        post = {"zh_cn": {"title": message.title, "content": lines}}
        return payload | {"msg_type": "post", "content": {"post": post}}


def dingtalk_sign(secret: str, timestamp: str) -> str:
    """DingTalk's 加签 before URL quoting: base64(HMAC-SHA256(key=secret, msg="<timestamp ms>\\n<secret>"))."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp: str) -> str:
    """Feishu's sign: base64(HMAC-SHA256(key="<timestamp s>\\n<secret>", msg=empty)); the key, not the message."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
