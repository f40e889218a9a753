"""Shared fixtures: a real MQTT broker, real databases, the reference facility.

On CI (`CI=true`) a missing broker or PostgreSQL fails the run instead of skipping it.
"""

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from carewatch.broker import EmbeddedBroker, free_port, port_open
from devices.facility import Facility
from devices.loader import load_facility

ROOT = Path(__file__).resolve().parent.parent
FACILITY_FILE = ROOT / "config" / "facility.yaml"
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
MOSQUITTO = ("127.0.0.1", 1883)
POSTGRES_ADMIN_URL = os.environ.get("CAREWATCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def missing(what: str) -> None:
    """Skip when a real part is absent on a developer machine; fail on CI, where nothing may skip silently."""
    if CI:
        pytest.fail(f"{what} is required on CI (CI=true) but is not available", pytrace=False)
    pytest.skip(f"{what} is not available")


class Broker:
    """Where the tests' MQTT broker listens and what it speaks."""

    def __init__(self, host: str, port: int, kind: str) -> None:
        self.host, self.port, self.kind = host, port, kind
        self.url = f"mqtt://{host}:{port}"
        self.protocol = "5" if kind == "mosquitto" else "3.1.1"

    def __repr__(self) -> str:
        return f"Broker({self.kind} {self.host}:{self.port})"


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    """Mosquitto on 127.0.0.1:1883 when it runs (always on CI), else the embedded amqtt broker."""
    if port_open(*MOSQUITTO):
        yield Broker(*MOSQUITTO, kind="mosquitto")
        return
    if CI:
        pytest.fail("Mosquitto on 127.0.0.1:1883 is required on CI", pytrace=False)
    embedded = EmbeddedBroker(port=free_port()).start()
    try:
        yield Broker("127.0.0.1", embedded.port, kind="amqtt")
    finally:
        embedded.stop()


@pytest.fixture
def mosquitto(broker: Broker) -> Broker:
    """Tests that need MQTT 5 or shared subscriptions: Mosquitto only."""
    if broker.kind != "mosquitto":
        missing("Mosquitto on 127.0.0.1:1883")
    return broker


def _postgres_database() -> Iterator[str]:
    """A throwaway PostgreSQL database, dropped afterwards."""
    try:
        import psycopg

        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        missing(f"PostgreSQL at {POSTGRES_ADMIN_URL} ({exc.__class__.__name__})")
        return
    name = f"cw_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a fresh PostgreSQL database."""
    yield from _postgres_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """SQLAlchemy URL of a fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'carewatch.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test that takes this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'carewatch.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture(scope="session")
def reference_facility() -> Facility:
    """The reference facility as shipped."""
    return load_facility(FACILITY_FILE)


@pytest.fixture
def unique_site_file(tmp_path: Path) -> Path:
    """The reference facility under a fresh site id, so tests sharing one broker never see each other."""
    site = f"t{uuid.uuid4().hex[:10]}"
    text = FACILITY_FILE.read_text(encoding="utf-8").replace("  - id: hq\n", f"  - id: {site}\n", 1)
    # Device topics too: zigbee2mqtt's base topic and Shelly/Tasmota prefixes are configurable in the field.
    text = re.sub(r"topic: (\S+?)([,}\n])", rf"topic: {site}-\1\2", text)
    path = tmp_path / "facility.yaml"
    path.write_text(text, encoding="utf-8")
    return path
