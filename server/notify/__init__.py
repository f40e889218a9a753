"""Notification channels (issue 4, "Alerts that reach a person"): e-mail, signed webhook, WeCom, DingTalk, Feishu."""

from server.notify.channels import (
    DEFAULT_TIMEOUT,
    Channel,
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

__all__ = [
    "DEFAULT_TIMEOUT", "Channel", "DeliveryError", "DingTalkRobot", "EmailChannel", "FeishuRobot", "Message",
    "WeComRobot", "WebhookChannel", "channel_from_config", "verify_signature",
]
