"""Device kinds and the roles a device plays at its location."""

from enum import StrEnum


class DeviceKind(StrEnum):
    """What a device is; decides which reading fields it reports."""

    BED_SENSOR = "bed_sensor"
    PRESENCE_SENSOR = "presence_sensor"
    DOOR_CONTACT = "door_contact"
    LEAK_SENSOR = "leak_sensor"
    SMOKE_DETECTOR = "smoke_detector"
    SOS_BUTTON = "sos_button"
    TEMPERATURE_SENSOR = "temperature_sensor"
    POWER_PLUG = "power_plug"
    CAMERA = "camera"


class PlugRole(StrEnum):
    """What a metering plug powers: rules differ for a stove and a boiler."""

    COOKING = "cooking"
    BOILER = "boiler"
    OTHER = "other"


class TemperatureRole(StrEnum):
    """What a temperature sensor watches: each has its own limits."""

    FRIDGE = "fridge"
    FREEZER = "freezer"
    ROOM = "room"
    HOT_WATER = "hot_water"
    OTHER = "other"  # watched only by the site's own `watches`


class RoomType(StrEnum):
    """Kinds of rooms; rules and the screen treat them differently."""

    BEDROOM = "bedroom"
    BATHROOM = "bathroom"
    KITCHEN = "kitchen"
    CORRIDOR = "corridor"
    ACTIVITY = "activity"
    COURTYARD = "courtyard"
    OFFICE = "office"
    ENTRANCE = "entrance"
    UTILITY = "utility"


class ZoneType(StrEnum):
    """Kinds of zones inside a room, as a camera sees them."""

    FLOOR = "floor"
    BED = "bed"
    EXIT = "exit"
    KITCHEN = "kitchen"
    DAY_ROOM = "day_room"
    OUTDOOR = "outdoor"
    PASSAGE = "passage"


class Severity(StrEnum):
    """Alert severity, from most to least urgent."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """Sort key: 0 is the most urgent."""
        return list(Severity).index(self)
