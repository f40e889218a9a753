"""The scenario scripts, one per rule, in the tour's order; timings come from the site's thresholds, so under
`demo` each alerts within about 60 s (not-up waits for the end of a wake-up window). The scripts live by theme
in scenes_beds.py, scenes_rooms.py, scenes_power.py and scenes_readings.py."""

from devices.sim.scenario import Scenario
from devices.sim.scenes_beds import BedExitNight, NotUp, OutOfBedTooLong, RepositioningDue, VitalsOutOfRange
from devices.sim.scenes_power import ApplianceAfterHours, ApplianceOverload, BoilerAbnormal, StoveUnattended
from devices.sim.scenes_readings import (
    BatteryLow,
    DeviceOffline,
    FridgeWarm,
    HotWaterTooHot,
    RoomTemperature,
    WatchMedicineFridge,
)
from devices.sim.scenes_rooms import BathroomTooLong, ExitDoorNight, Smoke, Sos, WaterLeak

ORDER: tuple[type[Scenario], ...] = (
    BedExitNight, OutOfBedTooLong, BathroomTooLong, NotUp, RepositioningDue, VitalsOutOfRange, ExitDoorNight,
    StoveUnattended, ApplianceAfterHours, ApplianceOverload, FridgeWarm, BoilerAbnormal, HotWaterTooHot,
    RoomTemperature, WatchMedicineFridge, WaterLeak, Smoke, Sos, BatteryLow, DeviceOffline,
)
KINDS: dict[str, type[Scenario]] = {cls.name: cls for cls in ORDER}
