"""A scenario: a short scripted timeline that takes devices over from the day model, then hands them back."""

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random
from typing import ClassVar

from devices.facility import Site
from devices.kinds import DeviceKind
from devices.sim.device import SimDevice

S = timedelta(seconds=1)
SETTLE = 3 * S  # the device shows its normal state this long before it goes back to the day model


class ScenarioError(RuntimeError):
    """A scenario cannot run now: the site lacks the devices it needs, or they are all busy."""


@dataclass
class Stage:
    """What a scenario may use: the site, its simulated devices and the world's random source."""

    site: Site
    sims: dict[str, SimDevice]
    rng: Random

    def free(self, kind: DeviceKind, where: Callable[[SimDevice], bool] | None = None) -> list[SimDevice]:
        """Devices of a kind that no scenario holds, optionally filtered."""
        return [s for s in self.sims.values()
                if s.device.kind is kind and s.holder is None and (where is None or where(s))]

    def free_any(self, where: Callable[[SimDevice], bool]) -> list[SimDevice]:
        """Devices of any kind that no scenario holds and that `where` accepts."""
        return [s for s in self.sims.values() if s.holder is None and where(s)]

    def pick(self, candidates: list[SimDevice], what: str) -> SimDevice:
        """One of the candidates at random, or ScenarioError naming what is missing."""
        if not candidates:
            raise ScenarioError(f"no free {what} in site {self.site.id!r} (none, or all busy in a scenario)")
        return self.rng.choice(candidates)


class Scenario(ABC):
    """A scripted timeline from `start`: `apply` sets the held devices for each moment until `length`."""

    name: ClassVar[str]

    def __init__(self, stage: Stage, start: datetime) -> None:
        self.stage, self.site, self.start = stage, stage.site, start
        self.devices = self.cast(stage)
        for sim in self.devices:
            sim.hold(self.name)
        self.length = self.plan()
        self.done = False

    @abstractmethod
    def cast(self, stage: Stage) -> list[SimDevice]:
        """Choose the devices this run takes over; the first is the one the alert is about."""

    @abstractmethod
    def plan(self) -> timedelta:
        """Work out the timeline from the site's thresholds; returns its length."""

    @abstractmethod
    def apply(self, elapsed: timedelta) -> None:
        """Set the held devices as they are `elapsed` after the start."""

    @property
    def device(self) -> SimDevice:
        """The device the scenario's alert is about."""
        return self.devices[0]

    @property
    def ends_at(self) -> datetime:
        """When the devices go back to the day model."""
        return self.start + self.length

    def step(self, now: datetime) -> None:
        """Advance to `now`; past the end, hand the devices back."""
        if self.done:
            return
        elapsed = now - self.start
        if elapsed >= self.length:
            # The script's last moment always happens, however coarse the clock: a new battery, a turn.
            self.apply(self.length)
            for sim in self.devices:
                sim.release()
            self.done = True
            return
        self.apply(max(elapsed, timedelta(0)))
