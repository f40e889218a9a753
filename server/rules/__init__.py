"""Safety rules, one module per rule; `ALL` is the catalogue the pipeline runs."""

from server.rules.base import Rule
from server.rules.beds import BedExitNight, OutOfBedTooLong
from server.rules.cold import ColdStorage
from server.rules.instant import Smoke, Sos, WaterLeak
from server.rules.kitchen import KitchenUnattended

ALL: tuple[Rule, ...] = (
    BedExitNight(),
    OutOfBedTooLong(),
    KitchenUnattended(),
    ColdStorage(),
    WaterLeak(),
    Smoke(),
    Sos(),
)

BY_NAME: dict[str, Rule] = {rule.name: rule for rule in ALL}
