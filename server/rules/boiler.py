"""Boiler running dry or abnormal: its plug's power outside every normal band (standby, heating) for
`abnormal_power_for` [2 min]. A dry element trips or burns; a failing one draws half its power."""

from typing import ClassVar

from devices.equipment import Device, PowerBand
from devices.facility import Site
from devices.kinds import DeviceKind, PlugRole, Severity
from devices.thresholds import Limits
from server.rules.bands import Band, BandRule
from server.rules.base import Obs

TOLERANCE = 0.02  # of the largest band's top: how far outside every band counts as abnormal


class BoilerAbnormal(BandRule):
    """Boiler plugs: high. The band's value is the distance (W) to the nearest normal band, negative inside."""

    name: ClassVar[str] = "boiler_abnormal"

    def make_bands(self, site: Site, device: Device) -> list[Band]:
        """One band on the distance to normal."""
        appliance = device.appliance
        if device.kind is not DeviceKind.POWER_PLUG or appliance is None or appliance.role is not PlugRole.BOILER:
            return []
        normal = appliance.normal_bands()
        if not normal:
            return []
        # Out when more than `tolerance` W outside every band; back once inside one (distance <= 0).
        tolerance = TOLERANCE * max(b.max for b in normal)
        limits = Limits(max=tolerance, margin=tolerance, for_=site.thresholds.abnormal_power_for)
        details = {"normal_w": [[b.min, b.max] for b in normal]}
        return [Band("p", "power_w", limits, Severity.HIGH, device.id, device.location.room, details=details)]

    def value(self, obs: Obs, band: Band) -> tuple[bool, float | None]:
        """Signed distance of the power from the normal bands."""
        power = obs.reading.power_w
        if power is None:
            return False, None
        appliance = obs.device.appliance
        return True, distance(appliance.normal_bands() if appliance else [], power)


def distance(bands: list[PowerBand], power: float) -> float:
    """How far (W) the power lies outside the nearest band; inside a band, minus the distance to its edge."""
    inside = [min(power - b.min, b.max - power) for b in bands if b.min <= power <= b.max]
    if inside:
        return -max(inside)
    return min(b.min - power if power < b.min else power - b.max for b in bands)
