"""When an alert must reach whom: a pure function of the site's policy, the alert's times, what was already
sent, and now. Escalation stops on acknowledge; an acknowledged alert still unresolved gets reminders.

What was sent is kept (the notification outbox, later), so a restart in the middle of an escalation neither
repeats a step nor skips one. After a long outage a repeating step sends its latest round only: a phone
gets one message, not every round it missed.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from devices.duty import Policy

REMINDER = -1  # the step index of reminders after acknowledgement
ACKNOWLEDGER = "acknowledger"


@dataclass(frozen=True)
class AlertTimes:
    """What the planner needs to know of an alert."""

    raised_at: datetime
    acked_at: datetime | None = None
    resolved: bool = False


@dataclass(frozen=True)
class Due:
    """One notification round that has come due: step `step` (or REMINDER), round `round` (0 = first)."""

    step: int
    round: int
    at: datetime
    audience: str  # an Audience value, or ACKNOWLEDGER for reminders
    channels: tuple[str, ...]

    @property
    def key(self) -> tuple[int, int]:
        """What identifies the round among those already sent."""
        return self.step, self.round


def plan(policy: Policy, alert: AlertTimes, sent: set[tuple[int, int]], now: datetime
         ) -> tuple[list[Due], datetime | None]:
    """The rounds due by `now` and not sent yet, and when the next one falls due (None: nothing more)."""
    if alert.resolved:
        return [], None
    if alert.acked_at is not None:
        return _reminders(policy, alert.acked_at, sent, now)
    due: list[Due] = []
    upcoming: list[datetime] = []
    for index, step in enumerate(policy.steps):
        first = alert.raised_at + step.after
        if first > now:
            upcoming.append(first)
            continue
        rounds = _rounds_until(first, step.repeat, now)
        if (index, 0) not in sent:
            due.append(Due(index, 0, first, step.notify.value, tuple(step.channels)))
        elif rounds > 0 and (index, rounds) not in sent:
            due.append(Due(index, rounds, first + rounds * (step.repeat or timedelta(0)), step.notify.value,
                           tuple(step.channels)))
        if step.repeat:
            upcoming.append(first + (rounds + 1) * step.repeat)
    return due, min(upcoming, default=None)


def _reminders(policy: Policy, acked_at: datetime, sent: set[tuple[int, int]], now: datetime
               ) -> tuple[list[Due], datetime | None]:
    """Reminders to whoever acknowledged, every `remind_acknowledged` until the alert is resolved."""
    every = policy.remind_acknowledged
    if every is None:
        return [], None
    first = acked_at + every
    if first > now:
        return [], first
    rounds = _rounds_until(first, every, now)
    channels = tuple(policy.steps[0].channels)
    due = [] if (REMINDER, rounds) in sent else [Due(REMINDER, rounds, first + rounds * every, ACKNOWLEDGER, channels)]
    return due, first + (rounds + 1) * every


def _rounds_until(first: datetime, repeat: timedelta | None, now: datetime) -> int:
    """How many repeats after the first round have come by `now` (0 without repeat)."""
    if not repeat:
        return 0
    return int((now - first) / repeat)

