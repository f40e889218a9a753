"""A real server at DEBUG, given every kind of secret, then used (logins right and wrong, tokens, a forged
action link): none of the secrets, passwords tried or tokens issued appears in its output."""

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from carewatch.broker import free_port
from tests.conftest import FACILITY_FILE, ROOT, Broker
from tests.helpers import wait_until


def test_secrets_passwords_and_tokens_never_reach_the_log(tmp_path: Path, postgres_url: str, mosquitto: Broker) -> None:
    secret_key, admin_password, mqtt_password, db_password, tried = (
        f"{name}-{secrets.token_urlsafe(12)}" for name in ("key", "admin", "mqtt", "db", "tried"))
    port = free_port()
    db_url = postgres_url.replace("postgresql+psycopg://postgres@", f"postgresql+psycopg://postgres:{db_password}@")
    env = {**os.environ, "CAREWATCH_DATABASE_URL": db_url, "CAREWATCH_LOG_LEVEL": "DEBUG",
           "CAREWATCH_MQTT_URL": f"mqtt://server:{mqtt_password}@{mosquitto.host}:{mosquitto.port}",
           "CAREWATCH_MQTT_CLIENT_ID": f"cw-secrets-{secrets.token_hex(4)}", "CAREWATCH_SECRET_KEY": secret_key,
           "CAREWATCH_BOOTSTRAP_ADMIN": f"admin:{admin_password}"}
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "carewatch.cli", "server", "--config", str(FACILITY_FILE),
                                 "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _status(f"{url}/healthz") == 200 or proc.poll() is not None, 40, what="server healthy")
        assert proc.poll() is None, log.read_text()
        wrong = httpx.post(f"{url}/api/v1/auth/token", data={"username": "admin", "password": tried})
        right = httpx.post(f"{url}/api/v1/auth/token", data={"username": "admin", "password": admin_password})
        assert (wrong.status_code, right.status_code) == (401, 200)
        token = right.json()["access_token"]
        assert httpx.get(f"{url}/api/v1/alerts", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        forged = f"{token[:20]}.{secrets.token_urlsafe(16)}"
        assert httpx.get(f"{url}/ack/{forged}").status_code in (400, 403, 404, 410)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    text = log.read_text(errors="replace")
    assert "DEBUG" in text and "connected to" in text  # it did log, at DEBUG, its broker connection among others
    leaked = [name for name, value in (("secret key", secret_key), ("admin password", admin_password),
                                       ("MQTT password", mqtt_password), ("database password", db_password),
                                       ("a password tried", tried), ("an access token", token),
                                       ("a forged link", forged)) if value in text]
    assert not leaked, f"{leaked} in the server's log"


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=1).status_code
    except httpx.HTTPError:
        return 0
