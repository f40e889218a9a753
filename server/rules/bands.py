"""Threshold rules with hysteresis: a value out of its range for `for` raises, back inside by `margin` for
`clear_for` clears, so a value hovering at a limit gives one alert, not fifty.

A `BandRule` keeps one small state per band of a device (a fridge has one, a bed's vitals two) and one timer:
the earliest of its bands'.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from devices.basics import Window
from devices.equipment import Device
from devices.facility import Site
from devices.kinds import DeviceKind, Severity, TemperatureRole
from devices.thresholds import Limits
from server.rules.base import Action, Clear, Obs, Raise, State, Step, dt, in_window, next_change, ts

OK, PENDING, ON, CLEARING = "ok", "pending", "on", "clearing"


@dataclass(frozen=True)
class Band:
    """One watched value of one device: field, range, schedule, and the alert it raises."""

    name: str
    field: str
    limits: Limits
    severity: Severity
    subject: str
    room: str | None
    window: Window | None = None
    details: dict[str, Any] = field(default_factory=dict)


def beyond(limits: Limits, value: float) -> bool:
    """Outside the range: below min or above max."""
    return (limits.min is not None and value < limits.min) or (limits.max is not None and value > limits.max)


def back_inside(limits: Limits, value: float) -> bool:
    """Inside the range by at least the margin: only this ends an alarm (or a pending one)."""
    low = limits.min is None or value >= limits.min + limits.margin
    high = limits.max is None or value <= limits.max - limits.margin
    return low and high


def worse(limits: Limits, a: float, b: float) -> float:
    """Of two values, the one further outside the range."""
    def distance(v: float) -> float:
        return max((v - limits.max) if limits.max is not None else 0.0,
                   (limits.min - v) if limits.min is not None else 0.0)

    return max(a, b, key=distance)


def evaluate(site: Site, band: Band, sub: State, now: datetime) -> tuple[State, list[Action]]:
    """Move one band's state to `now`; returns the new state (with its `due`) and any Raise/Clear."""
    sub = dict(sub)
    value = sub.get("v")
    active = band.window is None or in_window(site, band.window, now)
    out = value is not None and active and beyond(band.limits, value)
    back = value is None or not active or back_inside(band.limits, value)
    phase, actions = sub.get("ph", OK), []
    if phase == OK and out:
        phase, sub["t"], sub["since"], sub["peak"] = PENDING, ts(now), ts(now), value
    if phase in (PENDING, ON) and value is not None and out:
        sub["peak"] = worse(band.limits, sub.get("peak", value), value)
    if phase == PENDING:
        if back:
            phase = OK
        elif now >= dt(sub["t"]) + band.limits.for_:
            phase = ON
            actions.append(Raise(band.subject, band.severity, band.room, _details(band, sub)))
    if phase == ON and back:
        phase, sub["t"] = CLEARING, ts(now)
    if phase == CLEARING:
        if not back:
            phase = ON
        elif now >= dt(sub["t"]) + band.limits.clear_for:
            phase = OK
            actions.append(Clear(band.subject))
    sub["ph"] = phase
    _set_due(site, band, sub, now)
    return sub, actions


def _set_due(site: Site, band: Band, sub: State, now: datetime) -> None:
    """When this band must be looked at again without a new reading: its hold-off, or a window edge."""
    dues = []
    if sub["ph"] == PENDING:
        dues.append(dt(sub["t"]) + band.limits.for_)
    elif sub["ph"] == CLEARING:
        dues.append(dt(sub["t"]) + band.limits.clear_for)
    value = sub.get("v")
    if band.window is not None and value is not None and beyond(band.limits, value):
        edge = next_change(site, band.window, now)
        if edge is not None:
            dues.append(edge)
    if dues:
        sub["due"] = ts(min(dues))
    else:
        sub.pop("due", None)
    if sub["ph"] == OK:
        for key in ("t", "since", "peak"):
            sub.pop(key, None)


def _details(band: Band, sub: State) -> dict[str, Any]:
    """What the alert shows: the value, the worst value, since when, and the limits."""
    return {"field": band.field, "value": sub.get("raw"), "peak": sub.get("peak"),
            "since": dt(sub["since"]).isoformat(), "min": band.limits.min, "max": band.limits.max,
            **band.details}


class BandRule:
    """Base of the threshold rules: subclasses say which bands a device has and how to read a value."""

    name: ClassVar[str]

    def make_bands(self, site: Site, device: Device) -> list[Band]:
        """The bands this rule watches on a device (none: the rule ignores it)."""
        raise NotImplementedError

    def bands(self, site: Site, device: Device) -> list[Band]:
        """`make_bands`, worked out once per site and device: merging limits validates models, and this runs
        for every observation. Keyed by the site object itself (kept alive here, so its id is never reused):
        another facility file or profile gets its own bands."""
        cache: dict[tuple[int, str], tuple[Site, list[Band]]] = self.__dict__.setdefault("_bands", {})
        found = cache.get((id(site), device.id))
        if found is None:
            found = cache[(id(site), device.id)] = (site, self.make_bands(site, device))
        return found[1]

    def value(self, obs: Obs, band: Band) -> tuple[bool, float | None]:
        """(whether the observation says anything about the band, the value); None forgets the value."""
        value = getattr(obs.reading, band.field)
        return value is not None, value

    def key(self, site: Site, device: Device) -> str | None:
        """The device, if it has bands."""
        return device.id if self.bands(site, device) else None

    def observe(self, obs: Obs, state: State, due: datetime | None) -> Step:
        """Take the new values, evaluate every band at the observation's time."""
        bands = self.bands(obs.site, obs.device)
        new: State | None = None  # copied only when something changes: most readings change nothing
        actions: list[Action] = []
        for band in bands:
            known, value = self.value(obs, band)
            if not known:
                continue
            before = state.get(band.name)
            if (before is None or before.get("ph", OK) == OK) and (value is None or not beyond(band.limits, value)):
                # The usual case: all is well and stays well. Nothing to remember (a value inside the range
                # cannot matter at a window's edge), so the state does not change and is not written.
                if before is not None:
                    new = new if new is not None else _current(state, bands)
                    new.pop(band.name, None)
                continue
            new = new if new is not None else _current(state, bands)
            sub = {**(before or {}), "v": value, "raw": getattr(obs.reading, band.field)}
            new[band.name], fired = evaluate(obs.site, band, sub, obs.at)
            actions += fired
        if new is None:
            return Step(state, due)
        return Step(new, _earliest(new), actions)

    def fire(self, site: Site, key: str, state: State, now: datetime) -> Step:
        """A hold-off or window edge came due: evaluate the bands whose time has come."""
        device = site.device_by_id.get(key)
        if device is None:
            return Step(None)
        bands = self.bands(site, device)
        new, actions = _current(state, bands), []
        for band in bands:
            sub = state.get(band.name)
            if sub is not None and "due" in sub and dt(sub["due"]) <= now:
                # First at the due time itself (a window edge starts the hold-off then, even if the timer
                # fires late after a restart), then now.
                sub, early = evaluate(site, band, sub, dt(sub["due"]))
                new[band.name], fired = evaluate(site, band, sub, now)
                actions += early + fired
        return Step(new, _earliest(new), actions)


def temperature_band(site: Site, device: Device, role: TemperatureRole, severity: Severity) -> list[Band]:
    """The one band of a temperature sensor of `role`, with the site's limits for the role under the device's."""
    limits = site.limits_of(device)
    if device.kind is not DeviceKind.TEMPERATURE_SENSOR or device.role is not role or limits is None:
        return []
    return [Band("t", "temperature_c", limits, severity, device.id, device.location.room)]


def _current(state: State, bands: list[Band]) -> State:
    """The state of the bands that still exist (a band dropped from the facility file is forgotten)."""
    names = {b.name for b in bands}
    return {k: v for k, v in state.items() if k in names}


def _earliest(state: State) -> datetime | None:
    """The rule's one timer: the earliest of its bands' dues."""
    dues = [sub["due"] for sub in state.values() if isinstance(sub, dict) and "due" in sub]
    return dt(min(dues)) if dues else None
