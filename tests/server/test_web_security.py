"""Web security as a browser and an attacker meet it: headers on every response, no inline script for the CSP to
refuse, cross-site form posts refused, cookies a script cannot read, guessing passwords slowed down (on an injected
clock), and a real server that will not start with a secret everybody knows."""

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from devices.messages import utcnow
from server.auth.users import Role, create_user
from server.main import create_app
from server.models import LoginFailure
from server.web.security import UnsafeSettings
from tests.helpers import ADMIN, server_settings
from tests.server.conftest import Clock

TEMPLATES = Path(__file__).resolve().parents[2] / "server" / "web" / "templates"
MANAGER = ("manager1", "manager-pass-1")
EVIL = "https://evil.example"


@pytest.fixture
def make_client(unique_site_file: Path, sqlite_url: str, broker: Any, clock: Clock) -> Iterator[Any]:
    """Start the app (pages only) with some settings on the test's clock; closed at the end."""
    opened: list[TestClient] = []

    def make(base_url: str = "http://testserver", **settings: Any) -> TestClient:
        app = create_app(server_settings(unique_site_file, sqlite_url, broker, **settings), clock=clock, ingest=False)
        client = TestClient(app, base_url=base_url).__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Any) -> TestClient:
    client: TestClient = make_client()
    with client.app.state.ctx.sessions.begin() as db:  # type: ignore[attr-defined]
        create_user(db, username=MANAGER[0], password=MANAGER[1], role=Role.MANAGER, at=utcnow())
    return client


def log_in(client: TestClient, user: tuple[str, str], **headers: str) -> Any:
    """Log in through the form, as a browser does."""
    return client.post("/login", data={"username": user[0], "password": user[1]}, headers=headers,
                       follow_redirects=False)


def token(client: TestClient, user: tuple[str, str], **headers: str) -> Any:
    """Ask the API for a bearer token."""
    return client.post("/api/v1/auth/token", data={"username": user[0], "password": user[1]}, headers=headers)


# Headers.

def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    log_in(client, ADMIN)
    for path in ("/", "/login", "/records", "/api/v1/alerts", "/static/screen.js", "/no-such-page", "/healthz"):
        headers = client.get(path, follow_redirects=False).headers
        policy = headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self';" in policy, path
        assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy, path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["referrer-policy"] == "same-origin", path
        assert "camera=()" in headers["permissions-policy"], path
        assert "strict-transport-security" not in headers, path  # plain http: a browser would ignore it anyway
    assert client.get("/api/v1/records/patrols/checkpoints/cp-kitchen/qr.svg").headers["cache-control"] == \
        "private, no-store"  # a route's own headers stay


def test_https_gets_hsts(make_client: Any) -> None:
    assert make_client("https://testserver").get("/login").headers["strict-transport-security"] == "max-age=31536000"


def test_no_template_has_inline_script_the_policy_would_block() -> None:
    """The CSP allows this server's script files only: inline code would silently stop working in the browser."""
    for template in TEMPLATES.glob("*.html"):
        html = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, f"{template.name}: {tag}"
        assert not re.search(r"\son[a-z]+=", html), f"{template.name} has an inline event handler"
        assert not re.search(r"\sstyle=|<style", html), f"{template.name} has inline style"
        assert "javascript:" not in html, template.name


# Cross-site requests.

def test_a_form_posted_from_another_site_is_refused(client: TestClient) -> None:
    log_in(client, MANAGER)
    before = client.get("/api/v1/roster").json()
    forged = client.post("/roster/day", data={"staff": "s-li"}, headers={"Origin": EVIL}, follow_redirects=False)
    assert forged.status_code == 403 and "cross-site" in forged.json()["detail"]
    assert client.get("/api/v1/roster").json() == before
    by_referer = client.post("/logout", headers={"Referer": f"{EVIL}/page"}, follow_redirects=False)
    assert by_referer.status_code == 403
    sandboxed = client.post("/logout", headers={"Origin": "null"}, follow_redirects=False)
    assert sandboxed.status_code == 403
    assert client.post("/logout", headers={"Referer": "http://[broken"}).status_code == 403  # not a 500
    assert log_in(client, ADMIN, Origin=EVIL).status_code == 403  # nobody is logged into someone else's account


def test_our_own_pages_and_scripts_still_post(client: TestClient) -> None:
    log_in(client, MANAGER, Origin="http://testserver")
    own = client.post("/roster/day", data={"staff": "s-li"}, headers={"Origin": "http://testserver"},
                      follow_redirects=False)
    assert (own.status_code, own.headers["location"]) == (303, "/roster")
    assert client.get("/api/v1/roster").json()["shifts"][0]["staff"] == ["s-li"]
    assert client.post("/logout", follow_redirects=False).status_code == 303  # no Origin: not a browser


def test_bearer_token_calls_are_not_cross_site_requests(client: TestClient) -> None:
    bearer = {"Authorization": f"Bearer {token(client, MANAGER).json()['access_token']}", "Origin": EVIL}
    response = client.put("/api/v1/roster/day", json={"staff": ["s-wang"]}, headers=bearer)
    assert response.status_code == 200, response.text


def test_the_public_address_counts_as_our_own(make_client: Any) -> None:
    """Behind a proxy that does not pass the Host header on, the browser's origin is CAREWATCH_PUBLIC_URL's."""
    client = make_client(public_url="https://care.example")
    assert log_in(client, ADMIN, Origin="https://care.example").status_code == 303


# Cookies.

def test_the_session_cookie_is_http_only_lax_and_secure_over_https(make_client: Any) -> None:
    plain = log_in(make_client(), ADMIN).headers["set-cookie"].lower()
    assert "httponly" in plain and "samesite=lax" in plain and "secure" not in plain
    assert "secure" in log_in(make_client("https://testserver"), ADMIN).headers["set-cookie"].lower()


def test_a_trusted_proxy_says_the_browser_used_https(make_client: Any) -> None:
    forwarded = {"X-Forwarded-Proto": "https"}
    trusted = log_in(make_client(trust_proxy=True), ADMIN, **forwarded)
    assert "secure" in trusted.headers["set-cookie"].lower()
    assert "strict-transport-security" in trusted.headers
    untrusted = log_in(make_client(), ADMIN, **forwarded)  # anyone can send the header: ignored by default
    assert "secure" not in untrusted.headers["set-cookie"].lower()
    assert "strict-transport-security" not in untrusted.headers


# Login rate limit.

def test_five_wrong_passwords_lock_the_username_for_five_minutes(client: TestClient, clock: Clock) -> None:
    for _ in range(5):
        assert log_in(client, (ADMIN[0], "wrong-guess")).headers["location"].startswith("/login?error=1")
    locked = log_in(client, ADMIN)  # even the right password waits: else guessing goes on
    assert locked.status_code == 429 and locked.headers["retry-after"] == "300"
    assert "Too many failed logins: try again in 5 min" in client.post(
        "/login?lang=en", data={"username": ADMIN[0], "password": ADMIN[1]}).text
    api = token(client, ADMIN)
    assert api.status_code == 429 and api.headers["retry-after"] == "300"
    clock.now += timedelta(minutes=4)
    assert log_in(client, ADMIN).headers["retry-after"] == "60"
    clock.now += timedelta(minutes=1)
    assert log_in(client, ADMIN).status_code == 303
    assert log_in(client, MANAGER).status_code == 303  # another username was never locked


def test_a_successful_login_forgets_the_typos(client: TestClient) -> None:
    for _ in range(4):
        log_in(client, (ADMIN[0], "typo"))
    assert token(client, ADMIN).status_code == 200
    for _ in range(4):
        assert token(client, (ADMIN[0], "typo")).status_code == 401
    assert log_in(client, ADMIN).status_code == 303


def test_guessing_many_usernames_from_one_address_is_limited_too(client: TestClient, clock: Clock) -> None:
    for n in range(20):
        assert token(client, (f"user{n}", "guess-1234")).status_code == 401
    assert token(client, ("user-new", "guess-1234")).status_code == 429
    assert log_in(client, ADMIN).status_code == 429  # the address, not the username, is held back
    clock.now += timedelta(minutes=5)
    assert log_in(client, ADMIN).status_code == 303


def test_behind_a_trusted_proxy_the_limit_counts_the_browsers_address(make_client: Any) -> None:
    client = make_client(trust_proxy=True)
    for n in range(20):  # 20 failures through the proxy, from as many addresses as guesses
        assert token(client, (f"user{n}", "guess-1234"), **{"X-Forwarded-For": f"10.0.0.{n}"}).status_code == 401
    assert token(client, ADMIN, **{"X-Forwarded-For": "10.0.1.1"}).status_code == 200
    for n in range(5):  # the username is counted whatever the address
        token(client, (ADMIN[0], "typo"), **{"X-Forwarded-For": f"10.0.2.{n}"})
    assert token(client, ADMIN, **{"X-Forwarded-For": "10.0.3.1"}).status_code == 429


def test_servers_sharing_a_database_count_failed_logins_together(unique_site_file: Path, postgres_url: str,
                                                                   broker: Any, clock: Clock) -> None:
    """Behind a load balancer an attacker's guesses spread over the servers; a restart must not reset them."""
    def server() -> TestClient:
        app = create_app(server_settings(unique_site_file, postgres_url, broker), clock=clock, ingest=False)
        return TestClient(app).__enter__()

    first, second = server(), server()
    for n in range(5):  # alternating, as a round-robin proxy would send them
        assert log_in((first, second)[n % 2], (ADMIN[0], "wrong-guess")).status_code == 303
    assert log_in(second, ADMIN).status_code == 429 and log_in(first, ADMIN).status_code == 429
    first.__exit__(None, None, None)
    second.__exit__(None, None, None)
    restarted = server()
    try:
        assert token(restarted, ADMIN).headers["retry-after"] == "300"
        clock.now += timedelta(minutes=5)
        assert token(restarted, ADMIN).status_code == 200
        with restarted.app.state.ctx.sessions() as db:  # type: ignore[attr-defined]
            left = db.scalars(select(LoginFailure.kind)).all()
        assert left == ["address"] * 5  # the username's count went with the good login; the window's end prunes
        token(restarted, ("nobody", "guess-1234"))
        with restarted.app.state.ctx.sessions() as db:  # type: ignore[attr-defined]
            assert db.scalar(select(func.count()).select_from(LoginFailure)) == 2  # the old five are gone
    finally:
        restarted.__exit__(None, None, None)


def test_a_username_with_a_nul_character_is_a_wrong_login_on_either_database(unique_site_file: Path, db_url: str,
                                                                             broker: Any, clock: Clock) -> None:
    """PostgreSQL text cannot hold NUL: a login carrying one must be an ordinary failure, counted, not a 500."""
    app = create_app(server_settings(unique_site_file, db_url, broker), clock=clock, ingest=False)
    with TestClient(app) as client:
        for _ in range(5):
            assert token(client, (f"{ADMIN[0]}\x00", "guess\x00")).status_code == 401
        assert log_in(client, (f"{ADMIN[0]}\x00", "guess")).headers["retry-after"] == "300"
        assert log_in(client, ADMIN).status_code == 303  # another name: the real admin is not held back


# Default secrets.

@pytest.mark.parametrize(("settings", "says"), [
    ({"secret_key": None}, "CAREWATCH_SECRET_KEY is not set"),
    ({"secret_key": "change-this-to-a-long-random-string"}, "CAREWATCH_SECRET_KEY is a well-known default"),
    ({"secret_key": "s3cret"}, "CAREWATCH_SECRET_KEY is shorter than 12 characters"),
    ({"bootstrap_admin": "admin:carewatch-demo"}, "CAREWATCH_BOOTSTRAP_ADMIN is a well-known default"),
    ({"bootstrap_admin": "admin:admin"}, "CAREWATCH_BOOTSTRAP_ADMIN is a well-known default"),
    ({"bootstrap_admin": "admin:Pa55word!"}, "CAREWATCH_BOOTSTRAP_ADMIN is shorter than 12 characters"),
])
def test_a_real_server_refuses_a_secret_everybody_knows(unique_site_file: Path, tmp_path: Path, broker: Any,
                                                        settings: dict[str, Any], says: str) -> None:
    db = tmp_path / "refused.db"
    with pytest.raises(UnsafeSettings) as refused:
        create_app(server_settings(unique_site_file, f"sqlite:///{db}", broker, **settings), ingest=False)
    advice = "secrets.token_urlsafe(32)" if "SECRET_KEY" in says else "a password of your own, 12 characters or more"
    assert says in str(refused.value) and advice in str(refused.value)
    assert not db.exists()  # refused before anything started


def test_the_demo_runs_with_its_own_well_known_login(unique_site_file: Path, sqlite_url: str, broker: Any) -> None:
    settings = server_settings(unique_site_file, sqlite_url, broker, demo=True, secret_key=None,
                               bootstrap_admin="admin:carewatch-demo")
    with TestClient(create_app(settings, ingest=False)) as demo:
        assert log_in(demo, ("admin", "carewatch-demo")).status_code == 303


def test_without_a_login_a_broken_body_is_still_asked_for_a_login(client: TestClient) -> None:
    """FastAPI reads the body before the login check: an anonymous caller must learn only that it needs one."""
    broken = client.post("/api/v1/beds/b101/turns", content=b"{not json", headers={"Content-Type": "application/json"})
    wrong = client.put("/api/v1/roster/day", json={"staff": 5})
    assert [r.status_code for r in (broken, wrong)] == [401, 401]
    assert broken.headers["www-authenticate"] == "Bearer" and broken.json() == {"detail": "Not authenticated"}
    bearer = {"Authorization": f"Bearer {token(client, MANAGER).json()['access_token']}"}
    assert client.put("/api/v1/roster/day", json={"staff": 5}, headers=bearer).status_code == 422  # then judged
