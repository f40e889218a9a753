"""Hot water too hot at an outlet [> 49 °C]: above it a frail resident can be scalded in seconds."""

from typing import ClassVar

from devices.facility import Device, Site
from devices.kinds import DeviceKind, Severity, TemperatureRole
from server.rules.bands import Band, BandRule


class HotWater(BandRule):
    """Temperature sensors whose role is `hot_water`: high."""

    name: ClassVar[str] = "hot_water"

    def make_bands(self, site: Site, device: Device) -> list[Band]:
        """The outlet's water temperature."""
        limits = site.limits_of(device)
        if device.kind is not DeviceKind.TEMPERATURE_SENSOR or device.role is not TemperatureRole.HOT_WATER:
            return []
        return [Band("t", "temperature_c", limits, Severity.HIGH, device.id, device.location.room)] if limits else []
