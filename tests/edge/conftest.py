"""Fixtures of the edge tests: agents that always stop, a Mosquitto we may stop and restart."""

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from carewatch.broker import PrivateMosquitto
from edge.agent import EdgeAgent
from edge.outbox import Outbox
from tests.conftest import missing
from tests.edge.edge_support import Sent, forget, restartable_mosquitto

AgentFactory = Callable[..., EdgeAgent]


@pytest.fixture
def uplink_mosquitto() -> Iterator[PrivateMosquitto]:
    """A private Mosquitto for the uplink, restartable on the same port with sessions kept."""
    if not PrivateMosquitto.available():
        missing("mosquitto binary")
    # Not under tmp_path: Mosquitto started as root drops to its own user, which cannot enter it.
    state = Path(tempfile.mkdtemp(prefix="carewatch-uplink-"))
    state.chmod(0o777)
    server = restartable_mosquitto(state).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def make_agent() -> Iterator[AgentFactory]:
    """Build (not start) edge agents, without cameras unless asked; every one is stopped at the end of the test."""
    agents: list[EdgeAgent] = []

    def build(*args: Any, **kwargs: Any) -> EdgeAgent:
        # The reference facility's cameras are at addresses no test reaches: camera tests ask for them.
        kwargs.setdefault("cameras", False)
        agent = EdgeAgent(*args, **kwargs)
        agents.append(agent)
        return agent

    yield build
    for agent in agents:
        agent.stop()
    for agent in agents:
        forget(agent)


@pytest.fixture
def sent(tmp_path: Path) -> Iterator[tuple[Outbox, "Sent"]]:
    """An outbox whose sender only records what it is handed."""
    outbox, recorder = Outbox(tmp_path / "outbox.db"), Sent()
    outbox.start(recorder.send)
    yield outbox, recorder
    outbox.close()
