"""Web security in one place: response headers, the cross-site check of form posts, the reverse proxy's
headers and the refusal to start with default secrets (the login rate limit is `login_limit`)."""

from urllib.parse import urlsplit

from fastapi import FastAPI, status
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.context import Context
from server.settings import Settings
from server.web import login_limit

# Pages and scripts come from this server only. The screen hands its config to its script in a
# <script type="application/json"> block, which is data, not code: no inline script needs allowing.
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
          "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# FastAPI's Swagger UI and ReDoc load their code from a CDN and start it inline; only the demo serves them.
DOCS_POLICY = ("default-src 'self'; script-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; "
               "style-src 'self' https://cdn.jsdelivr.net https://fonts.googleapis.com 'unsafe-inline'; "
               "img-src 'self' data: https:; font-src https://fonts.gstatic.com; worker-src 'self' blob:; "
               "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
HEADERS = {
    "x-content-type-options": "nosniff",
    # same-origin: ack and patrol URLs carry their token, so no other site may see them as a referrer; and our
    # own form posts keep a real Origin header (no-referrer would turn it into "null", which the check refuses).
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",  # frame-ancestors 'none' for browsers that predate CSP
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "cross-origin-opener-policy": "same-origin",
}
HSTS = "max-age=31536000"  # no includeSubDomains: other services of the home may share the domain
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class WebSecurity:
    """ASGI middleware: the proxy's headers (when trusted), the cross-site check, security headers on every
    response. Plain ASGI, not BaseHTTPMiddleware: the screen's event stream passes through untouched."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.trust_proxy = settings.trust_proxy
        self.public_host = _host(settings.public_url)
        self.docs_policy = settings.demo

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check and decorate one HTTP request; anything else passes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.trust_proxy:
            scope = forwarded(scope)
        send = self._decorated(scope, send)
        refusal = self.cross_site(scope)
        if refusal is not None:
            await JSONResponse({"detail": refusal}, status.HTTP_403_FORBIDDEN)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def cross_site(self, scope: Scope) -> str | None:
        """Why an unsafe request from a browser on another site is refused; None to let it through.

        A browser sends Origin (or at least Referer) with every cross-site POST, so a request with neither is
        a script's, which has no victim's cookie to abuse. A bearer token is never sent by a browser on its own,
        so API calls with one pass. The login form is checked too: a forged login would log a nurse into
        someone else's account."""
        headers = Headers(scope=scope)
        if scope["method"] not in UNSAFE_METHODS or headers.get("authorization", "").lower().startswith("bearer "):
            return None
        source = headers.get("origin") or headers.get("referer")
        if source is None:
            return None
        allowed = {headers.get("host", "").lower(), self.public_host} - {""}
        if _host(source) not in allowed:  # "null" (a sandboxed or privacy-stripped origin) has no host either
            return f"cross-site request refused: {scope['method']} from {source[:100]}"
        return None

    def _decorated(self, scope: Scope, send: Send) -> Send:
        """`send` with the security headers added to the response's start."""
        policy = DOCS_POLICY if self.docs_policy and scope["path"] in DOCS_PATHS else POLICY
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in {**HEADERS, "content-security-policy": policy}.items():
                    headers.setdefault(name, value)
                if https:
                    headers.setdefault("strict-transport-security", HSTS)
            await send(message)

        return send_with_headers


def _host(url: str) -> str:
    """The host[:port] of a URL, lower-case; "" for one that is not a URL."""
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:  # e.g. a broken IPv6 literal
        return ""


def forwarded(scope: Scope) -> Scope:
    """The scope as the browser saw it, from the one trusted proxy in front: X-Forwarded-Proto for the scheme
    (so cookies get Secure and HSTS is sent) and the last X-Forwarded-For address, the one that proxy added
    (earlier ones come from the client and could be anything), for the login rate limit."""
    headers = Headers(scope=scope)
    scope = dict(scope)
    proto = headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
    if proto in ("http", "https"):
        scope["scheme"] = proto
    client = headers.get("x-forwarded-for", "").split(",")[-1].strip()
    if client:
        scope["client"] = (client, 0)
    return scope


# Secrets that must not run a real server.

MIN_SECRET = 12
KNOWN_WEAK = frozenset({
    "carewatch-demo", "carewatch", "admin", "administrator", "password", "passw0rd", "secret", "secret-key",
    "changeme", "change-me", "change-me-now", "change-this", "change-this-to-a-long-random-string",
    "a-long-password", "123456789012", "password1234", "admin1234567", "qwertyuiop12",
})


class UnsafeSettings(ValueError):
    """The server would run with a secret everyone knows."""


def weakness(value: str, *, what: str, username: str = "") -> str | None:
    """Why a secret is too weak to run a real server, or None."""
    if value.strip().casefold() in KNOWN_WEAK or (username and value.casefold() == username.casefold()):
        return f"{what} is a well-known default"
    if len(value) < MIN_SECRET:
        return f"{what} is shorter than {MIN_SECRET} characters"
    if len(set(value)) < 5:
        return f"{what} repeats too few characters"
    return None


KEY_ADVICE = "set CAREWATCH_SECRET_KEY to what python3 -c 'import secrets; print(secrets.token_urlsafe(32))' prints"
ADMIN_ADVICE = f"give CAREWATCH_BOOTSTRAP_ADMIN a password of your own, {MIN_SECRET} characters or more"


def check_secrets(settings: Settings) -> None:
    """Refuse to start a real (not demo) server with a missing or well-known secret key or admin password."""
    if settings.demo:
        return
    key = settings.secret_key.get_secret_value() if settings.secret_key is not None else None
    problems = {KEY_ADVICE: "CAREWATCH_SECRET_KEY is not set" if key is None
                else weakness(key, what="CAREWATCH_SECRET_KEY")}
    if settings.bootstrap_admin is not None:
        username, _, password = settings.bootstrap_admin.get_secret_value().partition(":")
        problems[ADMIN_ADVICE] = weakness(password, what="the password of CAREWATCH_BOOTSTRAP_ADMIN",
                                          username=username)
    found = {advice: problem for advice, problem in problems.items() if problem}
    if found:
        raise UnsafeSettings(f"refusing to start: {'; '.join(found.values())}. To fix it, {' and '.join(found)} "
                             "(only `carewatch demo` runs without)")


def install(app: FastAPI, ctx: Context) -> None:
    """Add the middleware and the login limiter to the app."""
    app.add_middleware(WebSecurity, settings=ctx.settings)
    login_limit.install(ctx)

