"""HTTP for the webhook channels: one JSON POST with a short timeout, each failure sorted into retry or not."""

import json
import logging
from typing import Any
from urllib.parse import urlsplit

import httpx

from server.notify.message import DeliveryError

log = logging.getLogger(__name__)

RETRY_STATUSES = {408, 429}  # request timeout, too many requests: the only 4xx that a later attempt can fix


def host_of(url: str) -> str:
    """The host of a URL: all that a log line or an error may show, since robot URLs carry their key."""
    return urlsplit(url).hostname or "?"


def checked_url(url: str, what: str) -> str:
    """The URL if it is an absolute http(s) URL; the error names the channel, never the URL (it may hold a key)."""
    if not isinstance(url, str):
        raise ValueError(f"{what}: url must be a string")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what}: url must be an absolute http:// or https:// URL")
    return url


def failure(channel: str, host: str, reason: str, *, retry: bool) -> DeliveryError:
    """Log a failed delivery (host only) and return the error to raise."""
    log.warning("%s to %s failed: %s (retry=%s)", channel, host, reason, retry)
    return DeliveryError(f"{channel} to {host}: {reason}", retry=retry)


_CLIENT: httpx.Client | None = None


def _client() -> httpx.Client:
    """One client for the process: a new one per message costs ~20 ms of TLS setup (measured, bench/README)."""
    global _CLIENT
    if _CLIENT is None:
        # No redirects: a signed request must not be replayed to wherever a Location header points.
        _CLIENT = httpx.Client(follow_redirects=False)
    return _CLIENT


def post_json(url: str, body: bytes, *, headers: dict[str, str], timeout: float, channel: str) -> httpx.Response:
    """POST a JSON body and return the 2xx response; anything else raises DeliveryError."""
    host = host_of(url)
    all_headers = {"Content-Type": "application/json; charset=utf-8", **headers}
    try:
        response = _client().post(url, content=body, headers=all_headers, timeout=timeout)
    except httpx.TimeoutException:
        # `from None`: the httpx exception holds the request, and so the URL with its key.
        raise failure(channel, host, f"no answer within {timeout:g} s", retry=True) from None
    except httpx.TransportError as exc:
        raise failure(channel, host, f"{type(exc).__name__}: {exc}", retry=True) from None
    status = response.status_code
    if status >= 300:
        retry = status >= 500 or status in RETRY_STATUSES
        raise failure(channel, host, f"HTTP {status} {response.reason_phrase}".rstrip(), retry=retry)
    return response


def json_answer(response: httpx.Response, channel: str) -> dict[str, Any]:
    """The JSON object a robot answers with; anything else is a failure worth retrying (a proxy's error page)."""
    try:
        answer = json.loads(response.content)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise failure(channel, response.url.host, "the answer is not a JSON object", retry=True)
    return answer


def dumps(payload: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON, Chinese kept as is rather than as \\u escapes (robots count bytes)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
