"""Room temperature out of the comfortable range [18–28 °C] for 30 min: old people chill and overheat easily."""

from typing import ClassVar

from devices.facility import Device, Site
from devices.kinds import DeviceKind, Severity, TemperatureRole
from server.rules.bands import Band, BandRule


class RoomTemperature(BandRule):
    """Temperature sensors whose role is `room`: medium."""

    name: ClassVar[str] = "room_temperature"

    def make_bands(self, site: Site, device: Device) -> list[Band]:
        """The room's temperature."""
        limits = site.limits_of(device)
        if device.kind is not DeviceKind.TEMPERATURE_SENSOR or device.role is not TemperatureRole.ROOM or not limits:
            return []
        return [Band("t", "temperature_c", limits, Severity.MEDIUM, device.id, device.location.room)]
