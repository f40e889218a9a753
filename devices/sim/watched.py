"""The ranges a site's rules and its own watches hold a device's readings to: the day model stays inside them."""

from devices.equipment import Device
from devices.facility import Site
from devices.thresholds import Limits


def limits_on(site: Site, device: Device, field: str) -> list[Limits]:
    """Every range a catalogue rule (temperature by role) or a site's watch sets on this field of the device."""
    own = site.limits_of(device) if field == "temperature_c" else None
    watched = [w.limits for w in site.watches if w.field == field and w.applies_to(device)]
    return ([own] if own else []) + watched


def kept_inside(value: float, ranges: list[Limits], pad: float = 0.5) -> float:
    """The value moved at least `pad` (and the range's margin) inside every range: only a scenario breaks them."""
    for limits in ranges:
        room = max(pad, limits.margin)
        if limits.max is not None:
            value = min(value, limits.max - room)
        if limits.min is not None:
            value = max(value, limits.min + room)
    return value
