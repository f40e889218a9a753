"""Residents on a turning protocol: in bed day and night; a caregiver turns them well before each turn is due."""

from datetime import datetime, timedelta
from random import Random

from devices.sim.device import SimDevice
from devices.sim.residents import Vitals

EARLIEST, LATEST = 0.6, 0.9  # of the interval: turned in good time, never late


class Bedridden:
    """The bed of a resident who cannot turn themselves: always occupied, a `movement` pulse at each turn."""

    def __init__(self, sim: SimDevice, rng: Random, every: timedelta) -> None:
        self.sim, self.rng, self.every = sim, rng, every
        self.vitals = Vitals(sim, rng)
        self.next_turn: datetime | None = None

    def advance(self, now: datetime, dt: float) -> None:
        """Occupied; a turn when it is due, unless a scenario scripts the mat's movement (it turns them itself)."""
        self.sim.set(occupied=True)
        if self.next_turn is None or now >= self.next_turn:
            if self.next_turn is not None and not self.sim.scripted("movement"):
                self.sim.pulse(movement=True)
            # Counted from now even when skipped: the scenario's own last turn comes no earlier than this.
            self.next_turn = now + self.every * self.rng.uniform(EARLIEST, LATEST)
        self.vitals.advance(now, True)
