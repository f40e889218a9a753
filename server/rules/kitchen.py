"""Kitchen rule: a cooking appliance drawing power while nobody has been in the kitchen for N minutes."""

from datetime import datetime, timedelta
from typing import ClassVar

from devices.equipment import Device
from devices.facility import Site
from devices.kinds import DeviceKind, PlugRole, RoomType, Severity
from server.rules.base import Action, Clear, Obs, Raise, State, Step, dt, ts


class KitchenUnattended:
    """State per kitchen: presence, when it was last occupied, and since when each appliance is on.

    Without a presence reading the rule stays silent: it cannot tell an attended stove from an
    unattended one, and guessing would alarm through every meal.
    """

    name: ClassVar[str] = "kitchen_unattended"

    def key(self, site: Site, device: Device) -> str | None:
        """The kitchen, for its cooking plugs and presence sensors."""
        room = site.room_by_id.get(device.location.room)
        if room is None or room.type is not RoomType.KITCHEN:
            return None
        cooking = device.appliance is not None and device.appliance.role is PlugRole.COOKING
        if device.kind is DeviceKind.PRESENCE_SENSOR or (device.kind is DeviceKind.POWER_PLUG and cooking):
            return room.id
        return None

    def observe(self, obs: Obs, state: State, due: datetime | None) -> Step:
        """Track presence and appliances; keep one timer for the earliest appliance to come due."""
        state = {"on": {}, **state}
        actions: list[Action] = []
        if obs.device.kind is DeviceKind.PRESENCE_SENSOR:
            raised = list(state.get("raised", []))
            _presence(state, obs)
            if obs.reading.occupied:
                actions = [Clear(d) for d in raised]  # only what was raised: a Clear costs a query
        else:
            actions = _appliance(state, obs)
        return Step(state, _next_due(obs.site, state), actions)

    def fire(self, site: Site, key: str, state: State, now: datetime) -> Step:
        """Raise for every appliance on longer than the limit with nobody there."""
        limit = site.thresholds.kitchen_unattended
        actions: list[Action] = []
        raised = set(state.get("raised", []))
        for device, since in state.get("on", {}).items():
            start = _unattended_since(state, since)
            if start is not None and dt(start) + limit <= now and device not in raised:
                details = {"unattended_since": dt(start).isoformat(), "power_w": state.get("power", {}).get(device)}
                actions.append(Raise(device, Severity.HIGH, key, details))
                raised.add(device)
        state = {**state, "raised": sorted(raised)}
        return Step(state, _next_due(site, state), actions)


def _presence(state: State, obs: Obs) -> None:
    """Remember whether someone is there and, when they leave, since when nobody is."""
    occupied = obs.reading.occupied
    if occupied is None:
        return
    if occupied:
        state.update(present=True, raised=[])
    elif state.get("present") is not False:
        state.update(present=False, left=ts(obs.at))


def _appliance(state: State, obs: Obs) -> list[Action]:
    """An appliance is on while it draws more than `appliance_on_w`; off clears its alert."""
    reading, device = obs.reading, obs.device.id
    if reading.power_w is not None:
        on = reading.power_w > obs.site.thresholds.appliance_on_w
    elif reading.on is False:
        on = False
    else:
        return []
    appliances: dict[str, float] = dict(state["on"])
    if on:
        appliances.setdefault(device, ts(obs.at))
        state["power"] = {**state.get("power", {}), device: reading.power_w}
        state["on"] = appliances
        return []
    was_on = appliances.pop(device, None) is not None
    state["on"] = appliances
    state["raised"] = [d for d in state.get("raised", []) if d != device]
    return [Clear(device)] if was_on else []


def _unattended_since(state: State, on_since: float) -> float | None:
    """When the appliance became unattended: the later of switching on and the last person leaving."""
    if state.get("present") is not False:
        return None
    return max(on_since, state.get("left", on_since))


def _next_due(site: Site, state: State) -> datetime | None:
    """Earliest time an appliance not yet raised becomes overdue."""
    limit: timedelta = site.thresholds.kitchen_unattended
    raised = set(state.get("raised", []))
    starts = [_unattended_since(state, since) for d, since in state.get("on", {}).items() if d not in raised]
    pending = [s for s in starts if s is not None]
    return dt(min(pending)) + limit if pending else None
