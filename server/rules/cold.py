"""Cold storage: a fridge or freezer out of its range for its `for` (a door opened for a while is not enough)."""

from typing import ClassVar

from devices.equipment import Device
from devices.facility import Site
from devices.kinds import Severity, TemperatureRole
from server.rules.bands import Band, BandRule, temperature_band


class ColdStorage(BandRule):
    """Refrigerated cabinets 0–8 °C for 15 min (GB 31654-2021), freezers above −12 °C for 30 min: high."""

    name: ClassVar[str] = "cold_storage"

    def make_bands(self, site: Site, device: Device) -> list[Band]:
        """The temperature of a fridge or freezer sensor."""
        return (temperature_band(site, device, TemperatureRole.FRIDGE, Severity.HIGH)
                or temperature_band(site, device, TemperatureRole.FREEZER, Severity.HIGH))
