"""What a site's safety records must show and when: the fire drill plan, the patrols and their checkpoints,
inspections, food samples and epidemic mode."""

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, field_validator, model_validator

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


class PatrolCheck(Strict):
    """One thing to look at on arrival at a checkpoint (stoves off, exit clear): ticked, or a hazard noted."""

    id: Id
    text: Names


class Checkpoint(Strict):
    """A place a patrol must reach; its QR code on the wall opens the check-in page (with its checklist)."""

    id: Id
    name: Names
    room: Id | None = None
    checks: list[PatrolCheck] = []


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


class ManualCabinet(Strict):
    """A fridge or freezer with no sensor: its temperature is read and written down by hand (site limits apply)."""

    id: Id
    name: Names
    role: Literal["fridge", "freezer"]


class FoodSafety(Strict):
    """Food samples (GB 31654-2021): every dish of every meal sampled, at least `sample_grams`, kept `keep`; and
    the cabinets without a sensor whose temperatures are logged by hand."""

    meals: list[Meal] = []
    cabinets: list[ManualCabinet] = []
    sample_grams: float = Field(default=125.0, gt=0, le=1000)
    keep: Annotated[Duration, AfterValidator(between(timedelta(hours=24), timedelta(days=14)))] = timedelta(hours=48)
    sample_within: Annotated[Duration, AfterValidator(between(timedelta(minutes=15), timedelta(hours=12)))] = (
        timedelta(hours=2))  # a meal with no sample this long after it is served raises `food_sample_missing`


class DisinfectionRound(Strict):
    """A disinfection round of epidemic mode: the same person disinfects the same place at the same time daily."""

    id: Id
    name: Names
    place: Annotated[str, Field(min_length=1, max_length=64)] | Names  # a room id (checked), or {zh-CN, en} text
    person: Id  # a staff id of the site
    at: ClockTime


class Epidemic(Strict):
    """Epidemic mode (switched per site at run time; `enabled` is the state until the first switch): resident
    health checks at fixed times each day, disinfection rounds, and a fever reading alerting."""

    enabled: bool = False
    health_checks: list[ClockTime] = [time(8), time(16)]
    grace: Annotated[Duration, AfterValidator(between(timedelta(minutes=15), timedelta(hours=12)))] = (
        timedelta(hours=2))  # a check time or round with nothing recorded this long after it is missed
    fever_c: float = Field(default=37.3, ge=36.5, le=40.0)
    disinfection: list[DisinfectionRound] = []

    @field_validator("health_checks")
    @classmethod
    def _in_order(cls, value: list[time]) -> list[time]:
        """The check times in the order of the day, however the file lists them."""
        return sorted(value)

    @model_validator(mode="after")
    def _checks_and_rounds(self) -> Self:
        """At least two distinct check times, each deadline before the next check time, unique round ids."""
        times = self.health_checks
        if len(times) < 2:
            raise ValueError(f"health_checks needs at least 2 times a day (residents are checked at least "
                             f"twice daily), not {len(times)}")
        if len(set(times)) != len(times):
            raise ValueError("health_checks has the same time twice")
        gap = min(_gap(a, b) for a, b in zip(times, times[1:] + times[:1], strict=True))
        if self.grace >= gap:
            # Otherwise a check could count for two check times: each must be done before the next is due.
            raise ValueError(f"grace ({self.grace}) must be shorter than the shortest gap between health "
                             f"check times ({gap})")
        ids = [r.id for r in self.disinfection]
        if len(set(ids)) != len(ids):
            raise ValueError("disinfection round ids must be unique")
        return self

    def problems(self, staff: set[str], rooms: set[str]) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """Rounds naming a person not on the site's staff, or a place id that is not one of its rooms (key path
        under `epidemic`, message)."""
        for i, done in enumerate(self.disinfection):
            if done.person not in staff:
                yield ("disinfection", i, "person"), f"no staff {done.person!r} in this site"
            if isinstance(done.place, str) and done.place not in rooms:
                yield (("disinfection", i, "place"), f"no room {done.place!r} in this site (a place that is not a "
                       "room is written as {zh-CN: ..., en: ...})")


def _gap(first: time, then: time) -> timedelta:
    """How long after one clock time the next comes (across midnight for the day's last)."""
    day = datetime(2000, 1, 1)
    gap = datetime.combine(day, then) - datetime.combine(day, first)
    return gap if gap > timedelta(0) else gap + timedelta(days=1)
