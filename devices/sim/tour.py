"""The demo tour: every scenario in turn, the first shortly after the start."""

from collections.abc import Callable
from datetime import datetime, timedelta

LONGEST = timedelta(minutes=15)  # a tour stop longer than this (not-up, reference hold-offs) is skipped


class Tour:
    """Says which scenario to start when; pure, driven by the same clock as the world."""

    def __init__(self, names: list[str], every: timedelta, first_after: timedelta = timedelta(seconds=5),
                 longest: timedelta = LONGEST) -> None:
        if not names:
            raise ValueError("a tour needs at least one scenario")
        self.names, self.every, self.first_after, self.longest = names, every, first_after, longest
        self.next_at: datetime | None = None
        self.played = 0

    def due(self, now: datetime) -> str | None:
        """The scenario to start at `now`, if one is due; never a backlog after a pause."""
        if self.next_at is None:
            self.next_at = now + self.first_after
        if now < self.next_at:
            return None
        name = self.names[self.played % len(self.names)]
        self.played += 1
        self.next_at = max(self.next_at + self.every, now + self.every / 2)
        return name

    def turn(self, now: datetime, start: Callable[[str], bool]) -> str | None:
        """Start the scenario due at `now` with `start`, which says False when it cannot run (busy, not its
        hour, too long): the next one is tried at once, so a skipped stop leaves no gap. At most one round."""
        for _ in self.names:
            name = self.due(now)
            if name is None or start(name):
                return name
            self.next_at = now
        self.next_at = now + self.every  # nothing can run now: try again a turn later
        return None
