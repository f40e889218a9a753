"""Vital signs out of range: heart or breathing rate from a bed sensor outside the resident's limits for a
hold-off [180 s], so a cough or a sensor glitch does not alert."""

from typing import ClassVar

from devices.equipment import Device
from devices.facility import Site
from devices.kinds import DeviceKind, Severity
from server.rules.bands import Band, BandRule
from server.rules.base import Obs

VITALS = (("hr", "heart_rate_bpm", "heart_rate"), ("rr", "respiration_rpm", "respiration"))


class VitalSigns(BandRule):
    """Bed sensors that report vitals: high, one alert per bed and vital (`b101-1/hr`, `b101-1/rr`)."""

    name: ClassVar[str] = "vital_signs"

    def make_bands(self, site: Site, device: Device) -> list[Band]:
        """Heart and breathing rate, with the resident's own limits over the site's."""
        bed = device.location.bed
        if device.kind is not DeviceKind.BED_SENSOR or not bed:
            return []
        profile = site.profile_of_bed(bed)
        bands = []
        for name, field, setting in VITALS:
            limits = getattr(site.thresholds, setting).merged(getattr(profile, setting) if profile else None)
            bands.append(Band(name, field, limits, Severity.HIGH, f"{bed}/{name}", device.location.room))
        return bands

    def value(self, obs: Obs, band: Band) -> tuple[bool, float | None]:
        """An empty bed measures nothing: its last vitals are forgotten, not kept as if still true."""
        if obs.reading.occupied is False:
            return True, None
        return super().value(obs, band)
