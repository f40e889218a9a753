"""The demo tour: every scenario in turn, the first shortly after the start."""

from datetime import datetime, timedelta


class Tour:
    """Says which scenario to start when; pure, driven by the same clock as the world."""

    def __init__(self, names: list[str], every: timedelta, first_after: timedelta = timedelta(seconds=5)
                 ) -> None:
        if not names:
            raise ValueError("a tour needs at least one scenario")
        self.names, self.every, self.first_after = names, every, first_after
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
