"""The schedule helpers of server/rules/base.py: daily windows and wall-clock times in the site's time zone,
across midnight and across both DST transitions of Europe/Berlin and America/New_York.

Every expected instant is written out in UTC, so a helper that adds 24 hours instead of moving to the same wall-clock
time, or that reads the clock in the wrong zone, fails here.

DST dates of 2026: Berlin springs forward on 29 March (02:00 CET -> 03:00 CEST) and falls back on 25 October
(03:00 CEST -> 02:00 CET); New York springs forward on 8 March (02:00 EST -> 03:00 EDT) and falls back on 1 November
(02:00 EDT -> 01:00 EST).
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest

from devices.basics import Window
from devices.facility import Site
from server.rules.base import at_local, in_night, in_window, next_change, next_night_start, next_time

NIGHT = Window(start=time(22), end=time(6))
KITCHEN = Window(start=time(5, 30), end=time(19, 30))
ALL_DAY = Window(start=time(0), end=time(0))


@cache
def site(zone: str) -> Site:
    """A minimal site in `zone` with the default schedules (night 22:00-06:00)."""
    return Site.model_validate({"id": "s", "name": {"zh-CN": "站", "en": "Site"}, "timezone": zone,
                                "buildings": [{"id": "b", "name": {"zh-CN": "楼", "en": "Building"}}]})


def utc(month: int, day: int, hour: int, minute: int = 0, second: int = 0, year: int = 2026) -> datetime:
    """An instant, written in UTC."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def wall(zone: str, month: int, day: int, hour: int, minute: int = 0, second: int = 0, fold: int = 0) -> datetime:
    """A wall-clock time in `zone` (fold=1: the second pass of a repeated hour) as an aware UTC instant."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


SH, BER, NY = "Asia/Shanghai", "Europe/Berlin", "America/New_York"


def test_the_wall_clock_helper_agrees_with_the_utc_offsets_written_by_hand() -> None:
    """The DST cases below rely on `wall`; pin it to instants written out by hand."""
    assert wall(BER, 10, 25, 2, 30) == utc(10, 25, 0, 30)  # CEST, first pass
    assert wall(BER, 10, 25, 2, 30, fold=1) == utc(10, 25, 1, 30)  # CET, second pass
    assert wall(BER, 3, 29, 3, 0) == utc(3, 29, 1, 0)  # CEST, just after the gap
    assert wall(NY, 11, 1, 1, 30) == utc(11, 1, 5, 30)  # EDT, first pass
    assert wall(NY, 11, 1, 1, 30, fold=1) == utc(11, 1, 6, 30)  # EST, second pass
    assert wall(NY, 3, 8, 3, 0) == utc(3, 8, 7, 0)  # EDT, just after the gap


# --- in_window / in_night ---------------------------------------------------------------------------------------------

IN_WINDOW = [
    # (zone, window, instant, inside)
    # A window that wraps midnight, at its edges: start is in, end is out.
    (SH, NIGHT, wall(SH, 11, 27, 21, 59, 59), False),
    (SH, NIGHT, wall(SH, 11, 27, 22, 0), True),
    (SH, NIGHT, wall(SH, 11, 27, 23, 59, 59), True),
    (SH, NIGHT, wall(SH, 11, 28, 0, 0), True),
    (SH, NIGHT, wall(SH, 11, 28, 5, 59, 59), True),
    (SH, NIGHT, wall(SH, 11, 28, 6, 0), False),
    (SH, NIGHT, wall(SH, 11, 28, 12, 0), False),
    # A window inside one day.
    (SH, KITCHEN, wall(SH, 11, 27, 5, 29, 59), False),
    (SH, KITCHEN, wall(SH, 11, 27, 5, 30), True),
    (SH, KITCHEN, wall(SH, 11, 27, 19, 29, 59), True),
    (SH, KITCHEN, wall(SH, 11, 27, 19, 30), False),
    # start == end is all day.
    (SH, ALL_DAY, wall(SH, 11, 27, 3, 0), True),
    (SH, ALL_DAY, wall(SH, 11, 27, 15, 0), True),
    # The same instant (03:00 UTC on 1 June) is 05:00 in Berlin, 23:00 in New York, 11:00 in Shanghai.
    (BER, NIGHT, utc(6, 1, 3), True),
    (NY, NIGHT, utc(6, 1, 3), True),
    (SH, NIGHT, utc(6, 1, 3), False),
    (BER, NIGHT, utc(6, 1, 4), False),  # 06:00 CEST: the night has ended in Berlin (not yet at 05:00 CET)
    # The repeated hour of a fall-back night is night twice; the hour after a spring-forward gap too.
    (BER, NIGHT, utc(10, 25, 0, 30), True),  # 02:30 CEST
    (BER, NIGHT, utc(10, 25, 1, 30), True),  # 02:30 CET
    (BER, NIGHT, utc(10, 25, 4, 59, 59), True),  # 05:59:59 CET
    (BER, NIGHT, utc(10, 25, 5, 0), False),  # 06:00 CET
    (BER, NIGHT, utc(3, 29, 3, 59, 59), True),  # 05:59:59 CEST
    (BER, NIGHT, utc(3, 29, 4, 0), False),  # 06:00 CEST
    (NY, NIGHT, utc(11, 1, 10, 59, 59), True),  # 05:59:59 EST
    (NY, NIGHT, utc(11, 1, 11, 0), False),  # 06:00 EST
    (NY, NIGHT, utc(3, 8, 9, 59, 59), True),  # 05:59:59 EDT
    (NY, NIGHT, utc(3, 8, 10, 0), False),  # 06:00 EDT
    (NY, NIGHT, utc(3, 8, 2, 59, 59), False),  # 21:59:59 EST on 7 March
    (NY, NIGHT, utc(3, 8, 3, 0), True),  # 22:00 EST on 7 March
]


@pytest.mark.parametrize(("zone", "window", "at", "inside"), IN_WINDOW)
def test_in_window(zone: str, window: Window, at: datetime, inside: bool) -> None:
    assert in_window(site(zone), window, at) is inside


def test_in_night_is_the_site_night_window() -> None:
    berlin = site(BER)
    assert in_night(berlin, utc(10, 25, 1, 30)) is True
    assert in_night(berlin, utc(10, 25, 12, 0)) is False


# --- at_local ---------------------------------------------------------------------------------------------------------

AT_LOCAL = [
    # (zone, day, clock, instant)
    (SH, date(2026, 11, 27), time(22), utc(11, 27, 14)),
    (BER, date(2026, 10, 24), time(22), utc(10, 24, 20)),  # CEST
    (BER, date(2026, 10, 25), time(22), utc(10, 25, 21)),  # CET, same day as the change
    (BER, date(2026, 3, 29), time(22), utc(3, 29, 20)),  # CEST, same day as the change
    (NY, date(2026, 11, 1), time(9, 30), utc(11, 1, 14, 30)),  # EST
    (NY, date(2026, 3, 8), time(9, 30), utc(3, 8, 13, 30)),  # EDT
    # A repeated wall time is its first occurrence.
    (BER, date(2026, 10, 25), time(2, 30), utc(10, 25, 0, 30)),
    (NY, date(2026, 11, 1), time(1, 30), utc(11, 1, 5, 30)),
    # A wall time that does not exist (spring-forward gap) moves past the gap, by the gap's length.
    (BER, date(2026, 3, 29), time(2, 30), utc(3, 29, 1, 30)),  # = 03:30 CEST
    (NY, date(2026, 3, 8), time(2, 30), utc(3, 8, 7, 30)),  # = 03:30 EDT
]


@pytest.mark.parametrize(("zone", "day", "clock", "instant"), AT_LOCAL)
def test_at_local(zone: str, day: date, clock: time, instant: datetime) -> None:
    assert at_local(site(zone), day, clock) == instant


# --- next_time --------------------------------------------------------------------------------------------------------

NEXT_TIME = [
    # (zone, clock, after, next)
    # Later the same day, and strictly after: at the very instant it is the next day's.
    (SH, time(22), wall(SH, 11, 27, 21, 59, 59), wall(SH, 11, 27, 22)),
    (SH, time(22), wall(SH, 11, 27, 22), wall(SH, 11, 28, 22)),
    (SH, time(22), wall(SH, 11, 27, 22, 0, 1), wall(SH, 11, 28, 22)),
    # Across midnight.
    (SH, time(6), wall(SH, 11, 27, 23, 0), utc(11, 27, 22)),  # 06:00 on the 28th
    (SH, time(0), wall(SH, 11, 27, 23, 59, 59), utc(11, 27, 16)),  # 00:00 on the 28th
    (SH, time(23, 59, 59), wall(SH, 11, 28, 0, 0), utc(11, 28, 15, 59, 59)),  # 23:59:59 on the 28th
    # Berlin fall-back: from a Saturday evening (CEST) to Sunday's wake-window end and night start (CET).
    (BER, time(9, 30), wall(BER, 10, 24, 22, 0), utc(10, 25, 8, 30)),  # 09:30 CET: 25 h after 09:30 CEST
    (BER, time(22), wall(BER, 10, 24, 22, 0, 1), utc(10, 25, 21)),  # 22:00 CET: 25 h later
    (BER, time(6), wall(BER, 10, 24, 23, 0), utc(10, 25, 5)),  # the night's end, after the extra hour
    (BER, time(22), utc(10, 25, 1, 30), utc(10, 25, 21)),  # from inside the repeated hour
    # Berlin spring-forward: the other way round.
    (BER, time(9, 30), wall(BER, 3, 28, 22, 0), utc(3, 29, 7, 30)),  # 09:30 CEST
    (BER, time(22), wall(BER, 3, 28, 22, 0, 1), utc(3, 29, 20)),  # 22:00 CEST: 23 h later
    (BER, time(6), wall(BER, 3, 28, 23, 0), utc(3, 29, 4)),  # 06:00 CEST
    (BER, time(22), utc(3, 29, 1, 0), utc(3, 29, 20)),  # from 03:00 CEST, just after the gap
    # New York fall-back and spring-forward.
    (NY, time(9, 30), wall(NY, 10, 31, 22, 0), utc(11, 1, 14, 30)),  # 09:30 EST
    (NY, time(22), wall(NY, 10, 31, 22, 0, 1), utc(11, 2, 3)),  # 22:00 EST on 1 November
    (NY, time(6), wall(NY, 10, 31, 23, 0), utc(11, 1, 11)),  # 06:00 EST
    (NY, time(9, 30), wall(NY, 3, 7, 22, 0), utc(3, 8, 13, 30)),  # 09:30 EDT
    (NY, time(22), wall(NY, 3, 7, 22, 0, 1), utc(3, 9, 2)),  # 22:00 EDT on 8 March
    (NY, time(6), wall(NY, 3, 7, 23, 0), utc(3, 8, 10)),  # 06:00 EDT
    # A UTC date that is not the site's date: 23:00 EDT on 31 October is already 1 November in UTC.
    (NY, time(23, 30), utc(11, 1, 3, 0), utc(11, 1, 3, 30)),  # 23:30 EDT, 31 October
    # A wall time skipped by the gap: that day's instant is past the gap; a time just after it, the next day's.
    (BER, time(2, 30), wall(BER, 3, 29, 1, 59, 59), utc(3, 29, 1, 30)),
    (BER, time(2, 30), utc(3, 29, 1, 30), utc(3, 30, 0, 30)),  # then 02:30 CEST on the 30th
]


@pytest.mark.parametrize(("zone", "clock", "after", "expected"), NEXT_TIME)
def test_next_time(zone: str, clock: time, after: datetime, expected: datetime) -> None:
    got = next_time(site(zone), clock, after)
    assert got == expected
    assert got > after
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0)


@pytest.mark.parametrize("zone", [SH, BER, NY])
def test_next_time_shows_the_clock_every_day_of_a_dst_year(zone: str) -> None:
    """Walking a whole year day by day from 22:00 to the next 22:00: every step lands on 22:00 wall time, and the
    steps are 24 h except the two DST days (23 h and 25 h) of zones that have them."""
    here = site(zone)
    at, steps = wall(zone, 1, 1, 22), []
    for _ in range(365):
        nxt = next_time(here, time(22), at)
        assert here.local(nxt).time() == time(22)
        steps.append(nxt - at)
        at = nxt
    odd = sorted(s for s in steps if s != timedelta(hours=24))
    assert odd == ([] if zone == SH else [timedelta(hours=23), timedelta(hours=25)])


# --- next_change ------------------------------------------------------------------------------------------------------

NEXT_CHANGE = [
    # (zone, window, after, next)
    (SH, NIGHT, wall(SH, 11, 27, 12, 0), wall(SH, 11, 27, 22)),  # day: the night starts
    (SH, NIGHT, wall(SH, 11, 27, 23, 0), wall(SH, 11, 28, 6)),  # night before midnight: it ends tomorrow
    (SH, NIGHT, wall(SH, 11, 28, 0, 30), wall(SH, 11, 28, 6)),  # night after midnight: it ends today
    (SH, NIGHT, wall(SH, 11, 28, 6, 0), wall(SH, 11, 28, 22)),  # at the end itself: the next start
    (SH, KITCHEN, wall(SH, 11, 27, 19, 29), wall(SH, 11, 27, 19, 30)),
    (SH, KITCHEN, wall(SH, 11, 27, 19, 30), wall(SH, 11, 28, 5, 30)),
    # Across the DST nights.
    (BER, NIGHT, utc(10, 25, 1, 0), utc(10, 25, 5)),  # 02:00 CET -> 06:00 CET
    (BER, NIGHT, utc(10, 25, 5, 0), utc(10, 25, 21)),  # 06:00 CET -> 22:00 CET
    (BER, NIGHT, utc(3, 29, 0, 30), utc(3, 29, 4)),  # 01:30 CET -> 06:00 CEST
    (BER, KITCHEN, wall(BER, 10, 24, 20, 0), utc(10, 25, 4, 30)),  # kitchen opens 05:30 CET
    (NY, NIGHT, utc(11, 1, 5, 30), utc(11, 1, 11)),  # 01:30 EDT -> 06:00 EST
    (NY, NIGHT, utc(3, 8, 6, 30), utc(3, 8, 10)),  # 01:30 EST -> 06:00 EDT
    (NY, KITCHEN, wall(NY, 3, 8, 12, 0), utc(3, 8, 23, 30)),  # kitchen closes 19:30 EDT
]


@pytest.mark.parametrize(("zone", "window", "after", "expected"), NEXT_CHANGE)
def test_next_change(zone: str, window: Window, after: datetime, expected: datetime) -> None:
    here = site(zone)
    got = next_change(here, window, after)
    assert got == expected
    # It is a change: inside on one side of it and outside on the other.
    assert in_window(here, window, got - timedelta(seconds=1)) != in_window(here, window, got)


def test_an_all_day_window_never_changes() -> None:
    assert next_change(site(BER), ALL_DAY, utc(10, 25, 1)) is None


# --- next_night_start -------------------------------------------------------------------------------------------------

NEXT_NIGHT = [
    # (zone, at, night start)
    (SH, wall(SH, 11, 27, 21, 59, 59), wall(SH, 11, 27, 22)),
    (SH, wall(SH, 11, 27, 22, 0), wall(SH, 11, 27, 22)),  # it is night: `at` itself
    (SH, wall(SH, 11, 27, 23, 59, 59), wall(SH, 11, 27, 23, 59, 59)),
    (SH, wall(SH, 11, 28, 0, 0), wall(SH, 11, 28, 0, 0)),
    (SH, wall(SH, 11, 28, 5, 59, 59), wall(SH, 11, 28, 5, 59, 59)),
    (SH, wall(SH, 11, 28, 6, 0), wall(SH, 11, 28, 22)),  # the night has just ended: tonight's
    (SH, wall(SH, 11, 28, 12, 0), wall(SH, 11, 28, 22)),
    # Night start on the DST days, asked in the morning after the change and the evening before.
    (BER, utc(10, 25, 5, 0), utc(10, 25, 21)),  # 06:00 CET -> 22:00 CET
    (BER, wall(BER, 10, 24, 12, 0), utc(10, 24, 20)),  # 22:00 CEST on Saturday
    (BER, utc(3, 29, 4, 0), utc(3, 29, 20)),  # 06:00 CEST -> 22:00 CEST
    (BER, utc(10, 25, 1, 30), utc(10, 25, 1, 30)),  # inside the repeated hour it is night
    (NY, utc(11, 1, 11, 0), utc(11, 2, 3)),  # 06:00 EST -> 22:00 EST
    (NY, utc(3, 8, 10, 0), utc(3, 9, 2)),  # 06:00 EDT -> 22:00 EDT
    (NY, utc(3, 8, 7, 30), utc(3, 8, 7, 30)),  # 03:30 EDT, after the gap: night
]


@pytest.mark.parametrize(("zone", "at", "expected"), NEXT_NIGHT)
def test_next_night_start(zone: str, at: datetime, expected: datetime) -> None:
    assert next_night_start(site(zone), at) == expected


def test_next_night_start_follows_the_site_schedule() -> None:
    """A site whose night starts at 23:30 on the Berlin fall-back day."""
    late = Site.model_validate({**site(BER).model_dump(by_alias=True),
                                     "schedules": {"night": {"start": "23:30", "end": "05:00"}}})
    assert next_night_start(late, utc(10, 25, 12)) == utc(10, 25, 22, 30)  # 23:30 CET
    assert next_night_start(late, utc(10, 25, 3, 59, 59)) == utc(10, 25, 3, 59, 59)  # 04:59:59 CET: night
    assert next_night_start(late, utc(10, 25, 4, 0)) == utc(10, 25, 22, 30)  # 05:00 CET: day
