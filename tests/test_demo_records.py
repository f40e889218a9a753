"""The demo's seeded paperwork: written once, chained intact, and nothing on the calendar overdue at the start."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from carewatch import demo_records
from devices.facility import Facility
from server.db import make_engine, make_sessions, upgrade
from server.records import calendar, food, inspection_calendar, patrols
from server.records.verify import verify


@pytest.mark.parametrize("now", [datetime(2026, 11, 29, 2, 30, tzinfo=UTC),  # 10:30 at the site
                                 datetime(2026, 11, 30, 15, 50, tzinfo=UTC)])  # 23:50, a night round under way
def test_the_seed_is_written_once_intact_and_leaves_nothing_overdue(reference_facility: Facility, tmp_path: Path,
                                                                     now: datetime) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    try:
        assert demo_records.seed(sessions, reference_facility, now) > 20
        assert demo_records.seed(sessions, reference_facility, now) == 0  # a kept database is not seeded twice
        with sessions.begin() as db:
            [check] = verify(db)
            assert check.intact and check.links > 20
            raised = [(a.rule, a.subject) for c in (calendar.check, inspection_calendar.check, patrols.check,
                                                     food.check) for a in c(db, reference_facility, now)]
        assert raised == []
    finally:
        engine.dispose()
