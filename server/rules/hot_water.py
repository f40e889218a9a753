"""Hot water too hot at an outlet [> 49 °C]: above it a frail resident can be scalded in seconds."""

from typing import ClassVar

from devices.equipment import Device
from devices.facility import Site
from devices.kinds import Severity, TemperatureRole
from server.rules.bands import Band, BandRule, temperature_band


class HotWater(BandRule):
    """Temperature sensors whose role is `hot_water`: high."""

    name: ClassVar[str] = "hot_water"

    def make_bands(self, site: Site, device: Device) -> list[Band]:
        """The outlet's water temperature."""
        return temperature_band(site, device, TemperatureRole.HOT_WATER, Severity.HIGH)
