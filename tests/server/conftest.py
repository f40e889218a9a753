"""Fixtures of the server tests: a pipeline on a real database with a clock the test moves by hand."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devices import topics
from devices.facility import Facility
from devices.messages import Envelope, Reading, new_id, to_json
from server.db import make_engine, make_sessions, upgrade
from server.ingest import Message
from server.pipeline import Pipeline
from tests.conftest import Broker
from tests.helpers import LiveServer, live_server, server_settings

T0 = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai: night at the reference site


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sessions(db_url: str) -> Iterator[Any]:
    upgrade(db_url)
    engine = make_engine(db_url)
    yield make_sessions(engine)
    engine.dispose()


@pytest.fixture
def pipeline(reference_facility: Facility, sessions: Any, clock: Clock) -> Pipeline:
    p = Pipeline(reference_facility, sessions, clock=clock)
    p.load()
    return p


def envelope(device: str, at: datetime, seq: int = 1, kind: str | None = None, **fields: Any) -> Envelope:
    site = "hq"
    return Envelope(id=new_id(), site=site, device=device, kind=kind or _kind(device), at=at, seq=seq,
                    data=Reading.model_validate(fields))


def _kind(device: str) -> str:
    prefix = device.split("-")[0]
    return {"bed": "bed_sensor", "leak": "leak_sensor", "smoke": "smoke_detector", "sos": "sos_button",
            "temp": "temperature_sensor", "plug": "power_plug", "presence": "presence_sensor"}[prefix]


def message(env: Envelope, *, topic: str | None = None) -> Message:
    return Message(topic or topics.observation(env.site, env.device), to_json(env), T0, mid=1, qos=1)



@pytest.fixture
def server(unique_site_file: Path, sqlite_url: str, broker: Broker) -> Iterator[LiveServer]:
    """A running server for the reference facility (its own site id) on SQLite and the test broker."""
    with live_server(server_settings(unique_site_file, sqlite_url, broker)) as live:
        yield live
