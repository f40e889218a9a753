"""What a site's safety records must show and when: the fire drill plan (more record kinds follow)."""

from datetime import timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator

from devices.basics import Strict, between
from devices.durations import Duration


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
