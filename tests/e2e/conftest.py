"""End-to-end fixtures: the edge tests' restartable uplink Mosquitto and self-stopping agents."""

from tests.edge.conftest import make_agent, uplink_mosquitto

__all__ = ["make_agent", "uplink_mosquitto"]
