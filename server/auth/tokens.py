"""Signed, expiring login tokens: the same token works as a bearer header (scripts) and a cookie (screen)."""

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

COOKIE = "carewatch_session"


@dataclass(frozen=True)
class Principal:
    """Who is asking: the username and role (the user row is re-checked per request), and the sites they may
    see (None: every site)."""

    username: str
    role: str
    sites: frozenset[str] | None = None

    def may_see(self, site: str) -> bool:
        """Whether this user may see this site's alerts and records."""
        return self.sites is None or site in self.sites


class TokenSigner:
    """Issues and checks tokens with the server's secret key."""

    def __init__(self, secret: str, max_age_s: float) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="carewatch-login")
        self.max_age_s = max_age_s

    def issue(self, principal: Principal) -> str:
        """A token for this user."""
        return self._serializer.dumps({"u": principal.username, "r": principal.role})

    def check(self, token: str) -> Principal | None:
        """The principal in a valid, unexpired token; None otherwise."""
        try:
            data = self._serializer.loads(token, max_age=self.max_age_s)
        except (SignatureExpired, BadSignature):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("u"), str):
            return None
        return Principal(data["u"], str(data.get("r", "")))
