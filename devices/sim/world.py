"""The simulated site: its non-camera devices, the plausible day and the scenarios, on an injected clock."""

from datetime import datetime, timedelta
from random import Random

from devices.durations import format_duration
from devices.equipment import Device
from devices.facility import Site
from devices.kinds import DeviceKind
from devices.messages import Reading
from devices.sim.catalog import create
from devices.sim.day import Actor, cast
from devices.sim.device import SimDevice, report_every
from devices.sim.scenario import Scenario, ScenarioError, Stage


class World:
    """Pure simulation: `step(now)` says what every device publishes at `now`; no wall clock, no network."""

    def __init__(self, site: Site, rng: Random) -> None:
        self.site, self.rng = site, rng
        self.sims: dict[str, SimDevice] = {
            d.id: SimDevice(d, report_every(site, d)) for d in site.devices if d.kind is not DeviceKind.CAMERA
        }
        self.actors: list[Actor] = cast(site, self.sims, rng)
        self.stage = Stage(site, self.sims, rng)
        self.scenarios: list[Scenario] = []
        self.last: datetime | None = None

    def step(self, now: datetime) -> list[tuple[Device, Reading]]:
        """Advance the day and the running scenarios to `now`; the readings to publish, changed or due."""
        if now.tzinfo is None:
            raise ValueError("the simulation clock must be timezone-aware")
        # A clock that steps back (NTP) just pauses the model instead of running it backwards.
        dt = max(0.0, (now - self.last).total_seconds()) if self.last else 0.0
        self.last = now if self.last is None else max(now, self.last)
        for actor in self.actors:
            actor.advance(now, dt)
        for scenario in list(self.scenarios):
            scenario.step(now)
            if scenario.done:
                self.scenarios.remove(scenario)
        return [(sim.device, r) for sim in self.sims.values() for r in sim.report(now, self.rng)]

    def start_scenario(self, name: str, now: datetime, longest: timedelta | None = None) -> Scenario:
        """Start a named scenario at `now`; its first readings come with the next `step`.

        ScenarioError if it cannot run now, or if it would take longer than `longest` (its devices stay free).
        """
        scenario = create(name, self.stage, now)
        if longest is not None and scenario.length > longest:
            for sim in scenario.devices:
                sim.release()
            took, most = format_duration(round_s(scenario.length)), format_duration(longest)
            raise ScenarioError(f"it would take {took}, longer than {most}")
        scenario.step(now)
        self.scenarios.append(scenario)
        return scenario

    def running(self) -> list[str]:
        """Names of the scenarios under way."""
        return [s.name for s in self.scenarios]


def round_s(value: timedelta) -> timedelta:
    """A duration to the whole second, for messages."""
    return timedelta(seconds=round(value.total_seconds()))
