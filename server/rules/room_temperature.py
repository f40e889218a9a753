"""Room temperature out of the comfortable range [18–28 °C] for 30 min: old people chill and overheat easily."""

from typing import ClassVar

from devices.equipment import Device
from devices.facility import Site
from devices.kinds import Severity, TemperatureRole
from server.rules.bands import Band, BandRule, temperature_band


class RoomTemperature(BandRule):
    """Temperature sensors whose role is `room`: medium."""

    name: ClassVar[str] = "room_temperature"

    def make_bands(self, site: Site, device: Device) -> list[Band]:
        """The room's temperature."""
        return temperature_band(site, device, TemperatureRole.ROOM, Severity.MEDIUM)
