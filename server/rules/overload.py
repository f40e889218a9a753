"""Appliance overload: a plug drawing more than its appliance's maximum (`max_w`, default 110 % of `rated_w`)
for `overload_for` [30 s]."""

from typing import ClassVar

from devices.equipment import Device
from devices.facility import Site
from devices.kinds import DeviceKind, Severity
from devices.thresholds import Limits
from server.rules.bands import Band, BandRule

MARGIN = 0.05  # back under 95 % of the maximum ends the alarm


class Overload(BandRule):
    """Plugs whose appliance has `rated_w` or `max_w`: high (an overloaded socket or a failing appliance is a
    fire risk)."""

    name: ClassVar[str] = "appliance_overload"

    def make_bands(self, site: Site, device: Device) -> list[Band]:
        """Power against the rating."""
        top = device.appliance.max_power() if device.appliance else None
        if device.kind is not DeviceKind.POWER_PLUG or top is None:
            return []
        limits = Limits(max=top, margin=MARGIN * top, for_=site.thresholds.overload_for)
        details = {"rated_w": device.appliance.rated_w if device.appliance else None, "max_w": top}
        return [Band("p", "power_w", limits, Severity.HIGH, device.id, device.location.room, details=details)]
