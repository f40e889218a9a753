"""Safety rules, one module per rule; `ALL` is the catalogue the pipeline runs."""

from server.rules.after_hours import AfterHours
from server.rules.base import Rule
from server.rules.bathroom import BathroomTooLong
from server.rules.battery import BatteryLow
from server.rules.beds import BedExitNight, OutOfBedTooLong
from server.rules.boiler import BoilerAbnormal
from server.rules.cameras import CameraHealth, Coverage, NightActivity, NoActivity, PersonDown
from server.rules.cold import ColdStorage
from server.rules.exit_door import ExitDoorNight
from server.rules.hot_water import HotWater
from server.rules.instant import Smoke, Sos, WaterLeak
from server.rules.kitchen import KitchenUnattended
from server.rules.overload import Overload
from server.rules.room_temperature import RoomTemperature
from server.rules.turning import RepositioningDue
from server.rules.vitals import VitalSigns
from server.rules.wake import NotUpBy
from server.rules.watch import Watch

ALL: tuple[Rule, ...] = (
    BedExitNight(),
    OutOfBedTooLong(),
    BathroomTooLong(),
    NotUpBy(),
    RepositioningDue(),
    VitalSigns(),
    Sos(),
    ExitDoorNight(),
    KitchenUnattended(),
    AfterHours(),
    Overload(),
    ColdStorage(),
    WaterLeak(),
    BoilerAbnormal(),
    HotWater(),
    Smoke(),
    RoomTemperature(),
    Watch(),
    BatteryLow(),
    CameraHealth(),
    Coverage(),
    PersonDown(),
    NightActivity(),
    NoActivity(),
)

BY_NAME: dict[str, Rule] = {rule.name: rule for rule in ALL}
