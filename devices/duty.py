"""Who is on duty and who is told: the roster of shifts, and the escalation policy of each severity.

A shift's staff get an alert first; its supervisor if nobody acknowledges; then the site's managers. The
roster covers every minute of the day exactly once, so "on duty" is never empty by accident.
"""

from datetime import time, timedelta
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from devices.basics import Id, Names, Strict, Window
from devices.durations import ClockTime, Duration
from devices.kinds import Severity

MINUTES = 24 * 60


class Shift(Strict):
    """One shift of the day (it may cross midnight) and the people on it."""

    id: Id
    name: Names
    start: ClockTime
    end: ClockTime
    staff: list[Id] = Field(min_length=1)
    supervisor: Id | None = None

    @property
    def window(self) -> Window:
        """The shift's hours as a daily window."""
        return Window(start=self.start, end=self.end)


class Roster(Strict):
    """The shifts of a site, covering the whole day without overlap."""

    shifts: list[Shift] = Field(min_length=1)

    @model_validator(mode="after")
    def _covers_the_day(self) -> Self:
        """Every minute of the day belongs to exactly one shift."""
        counts = [0] * MINUTES
        for shift in self.shifts:
            for minute in _minutes(shift.start, shift.end):
                counts[minute] += 1
        gaps, overlaps = _spans(counts, 0), _spans(counts, 2)
        if gaps:
            raise ValueError(f"no shift covers {gaps[0]}: every minute of the day needs one")
        if overlaps:
            raise ValueError(f"two shifts cover {overlaps[0]}: shifts must not overlap")
        return self

    def shift_at(self, local: time) -> Shift:
        """The shift on duty at a wall-clock time at the site."""
        return next(s for s in self.shifts if s.window.contains(local))


class Audience(StrEnum):
    """Whom a step of an escalation policy tells."""

    ON_DUTY = "on_duty"  # the staff of the shift on duty
    SUPERVISOR = "supervisor"  # the supervisor of the shift on duty
    MANAGERS = "managers"  # every staff member with the role manager


class EscalationStep(Strict):
    """`after` the alert was raised and while nobody has acknowledged it, tell `notify` on `channels`,
    again every `repeat` if set."""

    after: Duration = timedelta(0)
    notify: Audience
    channels: list[Id] = Field(min_length=1)
    repeat: Duration | None = None


class Policy(Strict):
    """How alerts of one severity reach people; reminders once acknowledged but still unresolved; and the
    time within which someone should acknowledge (the response figures count the share that did)."""

    steps: list[EscalationStep] = Field(min_length=1)
    remind_acknowledged: Duration | None = None
    ack_target: Duration | None = None

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        """Steps come in the order they fire."""
        afters = [s.after for s in self.steps]
        if afters != sorted(afters):
            raise ValueError("escalation steps must be in order of `after`")
        return self


class Digest(Strict):
    """A daily summary of the response figures for the managers, at a wall-clock time at the site."""

    at: ClockTime = time(7, 30)
    channels: list[Id] = Field(min_length=1)


class Escalation(Strict):
    """An escalation policy per severity; a severity without one is shown on the screen only."""

    critical: Policy | None = None
    high: Policy | None = None
    medium: Policy | None = None
    low: Policy | None = None

    def policy(self, severity: Severity) -> Policy | None:
        """The policy of a severity."""
        found: Policy | None = getattr(self, severity.value)
        return found


def _minutes(start: time, end: time) -> list[int]:
    """Minutes of the day inside [start, end), wrapping midnight; start == end is the whole day."""
    first, last = start.hour * 60 + start.minute, end.hour * 60 + end.minute
    length = (last - first) % MINUTES or MINUTES
    return [(first + i) % MINUTES for i in range(length)]


def _spans(counts: list[int], bad: int) -> list[str]:
    """The first minutes (as HH:MM) where the count is `bad` (0) or at least `bad` (2)."""
    hits = [m for m, c in enumerate(counts) if (c == 0 if bad == 0 else c >= bad)]
    return [f"{m // 60:02d}:{m % 60:02d}" for m in hits[:1]]
