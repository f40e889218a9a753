"""A site's own threshold rules (`watches` in the facility file): any numeric field of any device, with
hysteresis, hold-off, schedule and severity, for devices the catalogue has no rule for."""

from typing import ClassVar

from devices.equipment import Device
from devices.facility import Site
from server.rules.bands import Band, BandRule


class Watch(BandRule):
    """One band per watch that applies to the device; the alert subject is `<device>/<watch>`."""

    name: ClassVar[str] = "watch"

    def make_bands(self, site: Site, device: Device) -> list[Band]:
        """Every watch naming this device or its kind."""
        return [Band(w.id, w.field, w.limits, w.severity, f"{device.id}/{w.id}", device.location.room, w.window,
                     {"watch": w.id, "name": w.name.model_dump(by_alias=True)})
                for w in site.watches if w.applies_to(device)]
