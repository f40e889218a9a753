"""Simulators: a plausible day of a site's devices, and named scenarios that raise each alert.

`World` is the pure model; `devices.sim.runner.Simulator` adds wall-clock time and MQTT.
"""

from devices.sim.catalog import SCENARIOS
from devices.sim.scenario import Scenario, ScenarioError
from devices.sim.world import World

__all__ = ["SCENARIOS", "Scenario", "ScenarioError", "World"]
