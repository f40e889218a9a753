"""Food samples (留样): kept per meal and dish with their discard time, too light a sample refused, a meal without
samples alerting once, two hours after it is served; chained like every record."""

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from devices.facility import Facility
from server.records.food import FOOD_SAMPLE_MISSING, SampleError, check, keep, samples
from server.records.verify import verify

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 27)


def at(hour: int, minute: int = 0, day: int = 27) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def test_samples_are_kept_with_their_discard_time_and_a_light_one_is_refused(reference_facility: Facility,
                                                                            sessions: Any) -> None:
    site = reference_facility.sites[0]
    with sessions.begin() as db:
        rice = keep(db, site, meal="lunch", dish="rice", grams=130, by="sun", at=at(11, 40))
        assert rice.discard_due == at(11, 40) + timedelta(hours=48) and rice.day == "2026-11-27"
        with pytest.raises(SampleError, match="at least 125 g, not 90 g"):
            keep(db, site, meal="lunch", dish="soup", grams=90, by="sun", at=at(11, 41))
        with pytest.raises(SampleError, match="no meal 'supper'"):
            keep(db, site, meal="supper", dish="soup", grams=150, by="sun", at=at(11, 41))
    with sessions() as db:
        assert [(s.meal, s.dish, s.grams) for s in samples(db, site.id, DAY)] == [("lunch", "rice", 130)]


def test_a_meal_without_samples_alerts_once_two_hours_after_it_is_served(reference_facility: Facility,
                                                                        sessions: Any) -> None:
    site = reference_facility.sites[0]
    with sessions.begin() as db:
        keep(db, site, meal="breakfast", dish="congee", grams=150, by="sun", at=at(7, 20))
    with sessions.begin() as db:
        assert check(db, reference_facility, at(13, 29)) == []  # lunch at 11:30: not yet two hours
        [missing] = check(db, reference_facility, at(13, 30))
        assert (missing.rule, missing.subject, missing.severity, missing.room) == (
            FOOD_SAMPLE_MISSING, "food-sample:lunch:2026-11-27", "medium", "kitchen")
        assert check(db, reference_facility, at(13, 35)) == []  # once
    with sessions.begin() as db:
        # Nothing for yesterday's meals at a first start long after them (beyond six hours): history, not news.
        assert [a.subject for a in check(db, reference_facility, at(19, 30))] == ["food-sample:dinner:2026-11-27"]
    with sessions.begin() as db:
        db.execute(text("UPDATE food_samples SET grams = 200"))
    with sessions() as db:
        [chain] = verify(db, site.id)
    assert not chain.intact and "food_samples row" in chain.breaks[0].reason
