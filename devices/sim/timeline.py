"""Scheduled actions and wall-clock helpers shared by the day model."""

import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from devices.basics import Window

Action = Callable[[], None]
DAY_MINUTES = 24 * 60


class Timeline:
    """Actions due at given instants, run in time order as the clock passes them."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, Action]] = []
        self._order = itertools.count()  # equal times keep the order they were planned in

    def at(self, when: datetime, action: Action) -> None:
        """Plan `action` for `when`."""
        heapq.heappush(self._heap, (when, next(self._order), action))

    def run_due(self, now: datetime) -> None:
        """Run every action due at or before `now`."""
        while self._heap and self._heap[0][0] <= now:
            heapq.heappop(self._heap)[2]()

    def __len__(self) -> int:
        return len(self._heap)


def minute_of_day(value: time) -> float:
    """Minutes since local midnight."""
    return value.hour * 60 + value.minute + value.second / 60


def in_span(minute: float, start: float, end: float) -> bool:
    """Whether `minute` lies in [start, end) on a 24-hour dial; the span may wrap midnight."""
    start, end, minute = start % DAY_MINUTES, end % DAY_MINUTES, minute % DAY_MINUTES
    if start <= end:
        return start <= minute < end
    return minute >= start or minute < end


def all_day(window: Window) -> bool:
    """Whether a window covers the whole day (start == end)."""
    return window.start == window.end


def next_local(after: datetime, zone: ZoneInfo, minute: float) -> datetime:
    """The first instant after `after` whose wall-clock time in `zone` is `minute` past midnight."""
    local = after.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    candidate = midnight + timedelta(minutes=minute)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate.astimezone(UTC)


def inside(window: Window, zone: ZoneInfo, *instants: datetime) -> bool:
    """Whether every instant falls inside the daily window, in the site's zone."""
    return all(window.contains(at.astimezone(zone).time()) for at in instants)
