"""Cooking appliance on after hours: drawing power outside the kitchen's hours [19:30–05:30]."""

from typing import ClassVar

from devices.basics import Window
from devices.equipment import Device
from devices.facility import Site
from devices.kinds import DeviceKind, PlugRole, Severity
from devices.thresholds import Limits
from server.rules.bands import Band, BandRule


class AfterHours(BandRule):
    """Cooking plugs: high. A site whose kitchen hours are all day never has an after-hours."""

    name: ClassVar[str] = "appliance_after_hours"

    def make_bands(self, site: Site, device: Device) -> list[Band]:
        """Power above the on-threshold, inside the complement of the kitchen hours."""
        hours = site.schedules.kitchen_hours
        cooking = device.appliance is not None and device.appliance.role is PlugRole.COOKING
        if device.kind is not DeviceKind.POWER_PLUG or not cooking or hours.start == hours.end:
            return []
        on_w = site.thresholds.appliance_on_w
        limits = Limits(max=on_w, margin=0.2 * on_w, for_=site.thresholds.after_hours_for)
        closed = Window(start=hours.end, end=hours.start)
        return [Band("p", "power_w", limits, Severity.HIGH, device.id, device.location.room, closed)]
