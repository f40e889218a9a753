"""One-tap acknowledge links: signed, expiring, naming the alert and the person the message went to."""

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "carewatch-ack-link"


@dataclass(frozen=True)
class AckLink:
    """What a link says: acknowledge this alert, as this recipient (a staff id, or "group": log in first)."""

    alert_id: int
    recipient: str


class LinkError(ValueError):
    """A link that is forged, damaged or expired."""


def make(secret: str, link: AckLink) -> str:
    """The token to put in a URL."""
    return URLSafeTimedSerializer(secret, salt=SALT).dumps({"a": link.alert_id, "r": link.recipient})


def read(secret: str, token: str, max_age_s: float) -> AckLink:
    """The link a token stands for, or LinkError saying why not."""
    try:
        data = URLSafeTimedSerializer(secret, salt=SALT).loads(token, max_age=max_age_s)
    except SignatureExpired:
        raise LinkError("this link has expired: open the alert on the screen instead") from None
    except BadSignature:
        raise LinkError("this link is not valid") from None
    if not isinstance(data, dict) or not isinstance(data.get("a"), int) or not isinstance(data.get("r"), str):
        raise LinkError("this link is not valid")
    return AckLink(data["a"], data["r"])
