"""Battery low [< 15 %, clears at 20 %]: a flat sensor is a silent one."""

from typing import ClassVar

from devices.equipment import Device
from devices.facility import Site
from devices.kinds import DeviceKind, Severity
from server.rules.bands import Band, BandRule

# Kinds that run on mains or on their own supply; a battery reading from them is not expected.
NO_BATTERY = frozenset({DeviceKind.POWER_PLUG, DeviceKind.CAMERA})


class BatteryLow(BandRule):
    """Any battery device: low."""

    name: ClassVar[str] = "battery_low"

    def make_bands(self, site: Site, device: Device) -> list[Band]:
        """The battery charge."""
        if device.kind in NO_BATTERY:
            return []
        return [Band("b", "battery_pct", site.thresholds.battery_low, Severity.LOW, device.id, device.location.room)]
