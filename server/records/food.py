"""Food samples (留样, GB 31654-2021): each dish of each meal sampled (at least `sample_grams`), kept `keep`
(discard due then), chained; a meal still without a sample `sample_within` after it is served raises
`food_sample_missing` once."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.facility import Facility, Site
from devices.kinds import Severity
from server.alerts import service
from server.models import Alert, FoodSample
from server.records.chain import append
from server.rules.base import Raise

FOOD_SAMPLE, FOOD_SAMPLE_MISSING = "food_sample", "food_sample_missing"
LOOK_BACK = timedelta(hours=6)  # meals longer ago are history, not news (a first start stays quiet)


class SampleError(ValueError):
    """A sample that cannot be recorded as given (the API answers 422 with the message)."""


def body(row: FoodSample) -> dict[str, Any]:
    """What a sample's link holds."""
    return {"site": row.site, "day": row.day, "meal": row.meal, "dish": row.dish, "grams": row.grams, "at": row.at,
            "by": row.by, "discard_due": row.discard_due}


def keep(session: Session, site: Site, *, meal: str, dish: str, grams: float, by: str, at: datetime,
         day: date | None = None) -> FoodSample:
    """Record a kept sample (the meal's day defaults to today at the site)."""
    food = site.food
    if meal not in {m.id for m in food.meals}:
        raise SampleError(f"no meal {meal!r}; meals: {', '.join(m.id for m in food.meals) or 'none in the file'}")
    if grams < food.sample_grams:
        raise SampleError(f"a sample must weigh at least {food.sample_grams:g} g, not {grams:g} g")
    # float(): the link must hold what the column gives back (150 and 150.0 are different JSON)
    row = FoodSample(site=site.id, day=(day or site.local(at).date()).isoformat(), meal=meal, dish=dish.strip(),
                     grams=float(grams), at=at, by=by, discard_due=at + food.keep)
    session.add(row)
    session.flush()
    append(session, site=site.id, kind=FOOD_SAMPLE, ref=str(row.id), at=at, body=body(row))
    return row


def samples(session: Session, site: str, day: date) -> list[FoodSample]:
    """A day's samples, in the order they were kept."""
    return list(session.scalars(select(FoodSample).where(FoodSample.site == site, FoodSample.day == day.isoformat())
                                .order_by(FoodSample.at)))


def check(session: Session, facility: Facility, now: datetime) -> list[Alert]:
    """Raise `food_sample_missing` once for each recent meal still without a sample."""
    raised = []
    for site in facility.sites:
        today = site.local(now).date()
        for day in (today - timedelta(days=1), today):
            kept = {s.meal for s in samples(session, site.id, day)}
            for meal in site.food.meals:
                due = datetime.combine(day, meal.at, tzinfo=site.zone) + site.food.sample_within
                if meal.id in kept or not due <= now < due + LOOK_BACK:
                    continue
                subject = f"food-sample:{meal.id}:{day.isoformat()}"
                if session.scalar(select(Alert.id).where(Alert.site == site.id, Alert.rule == FOOD_SAMPLE_MISSING,
                                                         Alert.subject == subject)) is None:
                    details = {"meal": meal.id, "day": day.isoformat(), "due": due.isoformat()}
                    kitchen = next((r.id for r in site.rooms() if r.type.value == "kitchen"), None)
                    raised.append(service.apply_raise(session, site=site.id, rule=FOOD_SAMPLE_MISSING, at=now,
                                                      action=Raise(subject, Severity.MEDIUM, kitchen, details)))
    return raised

