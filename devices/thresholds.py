"""What the rules measure against: schedules, limits with hysteresis, per-site thresholds, a site's own watches."""

from datetime import time, timedelta
from enum import StrEnum
from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from devices.basics import Id, Names, Strict, Window, between
from devices.durations import Duration
from devices.kinds import DeviceKind, Severity


class Schedules(Strict):
    """Daily windows that rules use, in the site's time zone."""

    night: Window = Window(start=time(22), end=time(6))
    kitchen_hours: Window = Window(start=time(5, 30), end=time(19, 30))
    wake: Window = Window(start=time(6), end=time(9, 30))


class Limits(Strict):
    """A range a numeric reading should stay in, with hysteresis: one alert for a value hovering at a limit.

    Out of range (below `min` or above `max`) for `for` raises; back inside by `margin` for `clear_for` clears.
    """

    min: float | None = None
    max: float | None = None
    margin: float = Field(default=0, ge=0)
    for_: Duration = Field(alias="for", default=timedelta(0))
    clear_for: Duration = timedelta(0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        """A range with at least one end, ends in order, and a margin that leaves room to clear."""
        if self.min is None and self.max is None:
            raise ValueError("set min, max or both")
        if self.min is not None and self.max is not None:
            if self.min >= self.max:
                raise ValueError("min must be below max")
            if 2 * self.margin >= self.max - self.min:
                raise ValueError("margin must be less than half the range, or nothing would ever clear")
        return self

    def merged(self, override: "LimitsOverride | None") -> "Limits":
        """These limits with the values a care profile or device sets itself."""
        if override is None:
            return self
        # None means "not set": a profile re-validates the whole file, which marks every field as set.
        mine = override.model_dump(by_alias=True, exclude_unset=True, exclude_none=True)
        return self.model_validate({**self.model_dump(by_alias=True), **mine})


class LimitsOverride(Strict):
    """Part of a `Limits`: what a resident's care profile changes of the site's values."""

    min: float | None = None
    max: float | None = None
    margin: float | None = Field(default=None, ge=0)
    for_: Duration | None = Field(alias="for", default=None)
    clear_for: Duration | None = None


class TurnInterval(StrEnum):
    """Turning (repositioning) protocols: every 1, 2, 4 or 6 hours."""

    Q1H = "q1h"
    Q2H = "q2h"
    Q4H = "q4h"
    Q6H = "q6h"


DEFAULT_TURNING = {TurnInterval.Q1H: timedelta(hours=1), TurnInterval.Q2H: timedelta(hours=2),
                   TurnInterval.Q4H: timedelta(hours=4), TurnInterval.Q6H: timedelta(hours=6)}
# Mains-powered kinds report every few minutes; battery sensors check in about hourly.
DEFAULT_OFFLINE_BY_KIND = {DeviceKind.POWER_PLUG: timedelta(minutes=10), DeviceKind.BED_SENSOR: timedelta(minutes=10),
                           DeviceKind.PRESENCE_SENSOR: timedelta(minutes=10)}


class Thresholds(Strict):
    """Rule thresholds of a site; devices and care profiles may override some."""

    bed_exit_confirm: Duration = timedelta(seconds=10)
    out_of_bed_max: Duration = timedelta(minutes=45)
    bathroom_max: Duration = timedelta(minutes=15)
    turning: dict[TurnInterval, Duration] = DEFAULT_TURNING
    heart_rate: Limits = Limits(min=40, max=120, margin=3, for_=timedelta(seconds=180), clear_for=timedelta(seconds=60))
    respiration: Limits = Limits(min=8, max=28, margin=1, for_=timedelta(seconds=180), clear_for=timedelta(seconds=60))
    appliance_on_w: float = Field(default=30, gt=0)
    kitchen_unattended: Duration = timedelta(minutes=10)
    after_hours_for: Duration = timedelta(minutes=1)
    overload_for: Duration = timedelta(seconds=30)
    abnormal_power_for: Duration = timedelta(minutes=2)
    fridge: Limits = Limits(min=0, max=8, margin=0.5, for_=timedelta(minutes=15), clear_for=timedelta(minutes=2))
    freezer: Limits = Limits(max=-12, margin=1, for_=timedelta(minutes=30), clear_for=timedelta(minutes=2))
    hot_water: Limits = Limits(max=49, margin=1, for_=timedelta(minutes=1), clear_for=timedelta(minutes=1))
    room_temperature: Limits = Limits(min=18, max=28, margin=0.5, for_=timedelta(minutes=30),
                                      clear_for=timedelta(minutes=5))
    battery_low: Limits = Limits(min=15, margin=5)
    offline_after: Duration = timedelta(minutes=60)
    offline_after_kind: dict[DeviceKind, Duration] = DEFAULT_OFFLINE_BY_KIND

    _confirm = field_validator("bed_exit_confirm")(between(timedelta(seconds=3), timedelta(minutes=60)))
    _out = field_validator("out_of_bed_max")(between(timedelta(seconds=10), timedelta(hours=12)))
    _bath = field_validator("bathroom_max")(between(timedelta(seconds=10), timedelta(hours=4)))
    _kitchen = field_validator("kitchen_unattended")(between(timedelta(seconds=10), timedelta(hours=4)))
    _offline = field_validator("offline_after")(between(timedelta(seconds=10), timedelta(days=2)))

    @field_validator("turning")
    @classmethod
    def _turns(cls, value: dict[TurnInterval, timedelta]) -> dict[TurnInterval, timedelta]:
        """Every protocol keeps an interval (a profile may shorten them all for a demo)."""
        check = between(timedelta(seconds=10), timedelta(hours=12))
        return {**DEFAULT_TURNING, **{k: check(v) for k, v in value.items()}}


class Watch(Strict):
    """A site's own threshold rule on any numeric field of some devices (a humidity sensor, a medicine fridge)."""

    id: Id
    name: Names
    field: str
    devices: list[Id] = []
    kind: DeviceKind | None = None
    limits: Limits
    window: Window | None = None
    severity: Severity = Severity.MEDIUM

    @field_validator("field")
    @classmethod
    def _numeric(cls, value: str) -> str:
        """Only a field that holds a number can have limits."""
        numeric = _numeric_fields()
        if value not in numeric:
            raise ValueError(f"{value!r} is not a numeric reading field (one of {', '.join(sorted(numeric))})")
        return value

    @model_validator(mode="after")
    def _targets(self) -> Self:
        """A watch looks at something."""
        if not self.devices and self.kind is None:
            raise ValueError("name the `devices` to watch, or a device `kind`")
        return self

    def applies_to(self, device: Any) -> bool:
        """Whether the watch looks at this device."""
        return device.id in self.devices or (self.kind is not None and device.kind is self.kind)


def _numeric_fields() -> set[str]:
    """Reading fields that hold numbers."""
    from devices.messages import Reading

    return {name for name, f in Reading.model_fields.items() if "float" in str(f.annotation)}


