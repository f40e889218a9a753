"""What a site's safety records must show and when: the fire drill plan, the patrols and their checkpoints."""

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator

from devices.basics import Id, Names, Strict, Window, between
from devices.durations import ClockTime, Duration


class DrillEvery(StrEnum):
    """How often a site must hold a fire drill."""

    HALF_YEARLY = "half-yearly"  # the default: China's care-institution rules
    YEARLY = "yearly"
    QUARTERLY_EACH_SHIFT = "quarterly-each-shift"  # NFPA 101 for US nursing homes: every shift, every quarter


class DrillPlan(Strict):
    """The fire drill plan: how often, and how long before a drill falls due the reminder comes."""

    every: DrillEvery = DrillEvery.HALF_YEARLY
    remind_before: Annotated[Duration, AfterValidator(between(timedelta(days=1), timedelta(days=90)))] = (
        timedelta(days=14))


class Checkpoint(Strict):
    """A place a patrol must reach; its QR code on the wall opens the check-in page."""

    id: Id
    name: Names
    room: Id | None = None


class PatrolRound(Strict):
    """A patrol that must reach all of its checkpoints inside its daily window (site time; it may wrap midnight)."""

    id: Id
    name: Names
    window: Window
    checkpoints: list[Id] = Field(min_length=1)


class Patrols(Strict):
    """A site's patrol checkpoints and the rounds that must reach them every day."""

    checkpoints: list[Checkpoint] = []
    rounds: list[PatrolRound] = []

    @model_validator(mode="after")
    def _known_checkpoints(self) -> Self:
        """Every round names checkpoints that exist, and every id is unique."""
        ids = [c.id for c in self.checkpoints]
        if len(set(ids)) != len(ids) or len({r.id for r in self.rounds}) != len(self.rounds):
            raise ValueError("checkpoint and round ids must be unique")
        for patrol in self.rounds:
            unknown = sorted(set(patrol.checkpoints) - set(ids))
            if unknown:
                raise ValueError(f"round {patrol.id!r} names unknown checkpoints {unknown}")
        return self


class InspectionEvery(StrEnum):
    """How often an inspection template is due."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class InspectionItem(Strict):
    """One line of an inspection form: passed or failed, with a note."""

    id: Id
    text: Names


class InspectionTemplate(Strict):
    """An inspection form: monthly fire inspection, extinguisher check, daily hazard check (隐患排查) ..."""

    id: Id
    name: Names
    every: InspectionEvery = InspectionEvery.MONTHLY
    items: list[InspectionItem] = Field(min_length=1)
    fix_within: Annotated[Duration, AfterValidator(between(timedelta(hours=1), timedelta(days=90)))] = (
        timedelta(days=7))  # a failed item's rectification is due this long after the inspection


class Meal(Strict):
    """A meal the kitchen serves every day, at its time (site time)."""

    id: Id
    name: Names
    at: ClockTime


class FoodSafety(Strict):
    """Food samples (GB 31654-2021): every dish of every meal sampled, at least `sample_grams`, kept `keep`."""

    meals: list[Meal] = []
    sample_grams: float = Field(default=125.0, gt=0, le=1000)
    keep: Annotated[Duration, AfterValidator(between(timedelta(hours=24), timedelta(days=14)))] = timedelta(hours=48)
    sample_within: Annotated[Duration, AfterValidator(between(timedelta(minutes=15), timedelta(hours=12)))] = (
        timedelta(hours=2))  # a meal with no sample this long after it is served raises `food_sample_missing`
