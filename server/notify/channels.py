"""The notification channels in one place, and `channel_from_config`, which builds one from a plain dict.

A config looks like `{"type": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=..."}`.
Errors name the key but never echo a URL, secret or password: these dicts hold the robots' keys.
"""

from collections.abc import Callable, Mapping
from typing import Any

from server.notify.mail import EmailChannel
from server.notify.message import DEFAULT_TIMEOUT, Channel, DeliveryError, Message
from server.notify.robots import DingTalkRobot, FeishuRobot, WeComRobot
from server.notify.webhooks import WebhookChannel, verify_signature

__all__ = [
    "DEFAULT_TIMEOUT", "Channel", "DeliveryError", "DingTalkRobot", "EmailChannel", "FeishuRobot", "Message",
    "WeComRobot", "WebhookChannel", "channel_from_config", "verify_signature",
]

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
MAX_TIMEOUT = 60.0  # a channel holds a worker thread for this long at most


def _email(values: dict[str, Any]) -> Channel:
    """An EmailChannel; the port defaults to the one of its security."""
    security = values.pop("security", "starttls")
    port = values.pop("port", DEFAULT_PORTS.get(security, 0))
    return EmailChannel(values.pop("host"), port, security=security, **values)


def _dingtalk(values: dict[str, Any]) -> Channel:
    """A DingTalkRobot; without a secret the robot relies on its keyword or IP allow-list."""
    return DingTalkRobot(values.pop("url"), values.pop("secret", None), **values)


# type: (required keys, optional keys, builder); every type also takes an optional `name`.
KINDS: dict[str, tuple[set[str], set[str], Callable[[dict[str, Any]], Channel]]] = {
    "email": ({"host", "sender"}, {"port", "username", "password", "security", "timeout", "ca_file"}, _email),
    "webhook": ({"url", "secret"}, {"timeout"}, lambda values: WebhookChannel(**values)),
    "wecom": ({"url"}, {"msgtype", "timeout"}, lambda values: WeComRobot(**values)),
    "dingtalk": ({"url"}, {"secret", "msgtype", "timeout"}, _dingtalk),
    "feishu": ({"url"}, {"secret", "msgtype", "timeout"}, lambda values: FeishuRobot(**values)),
}


def channel_from_config(config: Mapping[str, Any]) -> Channel:
    """Build a channel from a plain dict such as `{"type": "email", "host": ...}`; a bad one raises ValueError."""
    if not isinstance(config, Mapping):
        raise ValueError(f"a channel config must be a mapping, not {type(config).__name__}")
    kind = config.get("type")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"channel type must be one of {', '.join(KINDS)}, not {kind!r}")
    required, optional, build = KINDS[kind]
    name = config.get("name")
    what = f"{kind} channel {name!r}" if isinstance(name, str) else f"{kind} channel"
    unknown = sorted(set(config) - required - optional - {"type", "name"})
    if unknown:
        raise ValueError(f"{what}: unknown key {unknown[0]!r}; it takes {', '.join(sorted(required | optional))}")
    missing = sorted(required - set(config))
    if missing:
        raise ValueError(f"{what}: missing key {missing[0]!r}")
    values = {key: _checked(what, key, value) for key, value in config.items() if key != "type"}
    return build(values)


def _checked(what: str, key: str, value: Any) -> Any:
    """A config value of the right type and range; the error names the key, not the value."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if key == "port":
        if not (number and isinstance(value, int) and 0 < value < 65536):
            raise ValueError(f"{what}: port must be an integer from 1 to 65535")
    elif key == "timeout":
        if not (number and 0 < value <= MAX_TIMEOUT):
            raise ValueError(f"{what}: timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT:g}")
    elif not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what}: {key} must be a non-empty string")
    return value
