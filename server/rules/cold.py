"""Cold storage: a fridge or freezer out of its range for its `for` (a door opened for a while is not enough)."""

from typing import ClassVar

from devices.facility import Device, Site
from devices.kinds import DeviceKind, Severity, TemperatureRole
from server.rules.bands import Band, BandRule

ROLES = (TemperatureRole.FRIDGE, TemperatureRole.FREEZER)


class ColdStorage(BandRule):
    """Refrigerated cabinets 0–8 °C for 15 min (GB 31654-2021), freezers above −12 °C for 30 min: high."""

    name: ClassVar[str] = "cold_storage"

    def make_bands(self, site: Site, device: Device) -> list[Band]:
        """The temperature of a fridge or freezer sensor."""
        limits = site.limits_of(device)
        if device.kind is not DeviceKind.TEMPERATURE_SENSOR or device.role not in ROLES or limits is None:
            return []
        return [Band("t", "temperature_c", limits, Severity.HIGH, device.id, device.location.room)]
