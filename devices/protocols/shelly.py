"""Shelly Gen2+ metering switches (Plus Plug S, Plus/Pro 1PM): the `switch:0` component over MQTT.

Per the Gen2 API docs (shelly-api-docs.shelly.cloud/gen2): with "generic status update over MQTT"
on, the whole Switch status is published on `<topic_prefix>/status/switch:0`; RPC notifications
(`NotifyStatus`, `NotifyFullStatus`) go to `<topic_prefix>/events/rpc`, a NotifyStatus carrying only
what changed. Switch status: `output` (bool), `apower` (W), `voltage` (V), `current` (A),
`aenergy.total` (Wh), `temperature.tC` (the relay's own temperature, not the room's: not read).

Availability: the device publishes `true` on `<topic_prefix>/online` when it connects and leaves `false`
there as its MQTT Last Will (the will of a Gen2 CONNECT, as ioBroker.shelly logs it: topic
`shellypro2pm-30c6f7850a64/online`, payload `false`, not retained). Shelly makes no bed sensors.
"""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from devices.kinds import DeviceKind
from devices.messages import Reading, utcnow
from devices.protocols import Outgoing, ProtocolError
from devices.protocols.common import Fields, availability, dumps, in_order, json_object, reading, reports, strict

KINDS = frozenset({DeviceKind.POWER_PLUG})
STATUS_SUFFIX = "/status/switch:0"
EVENTS_SUFFIX = "/events/rpc"
ONLINE_SUFFIX = "/online"
# Both carry component status: NotifyFullStatus is sent on (re)connect, NotifyStatus on every change.
STATUS_METHODS = frozenset({"NotifyStatus", "NotifyFullStatus"})
MAINS_HZ = 50.0  # the facility's grid (CN); the device reports it, carewatch does not read it


class Strict(BaseModel):
    """Vendor JSON typed strictly (`"output": "true"` is an error); keys we do not read are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, allow_inf_nan=False)


class Energy(Strict):
    """`aenergy`: active energy counters."""

    total: float | None = None  # Wh since the counters were reset


class Switch(Strict):
    """Status of component `switch:0`, whole or (in NotifyStatus) in part; null means gone."""

    output: bool | None = None
    apower: float | None = None
    voltage: float | None = None
    current: float | None = None
    aenergy: Energy | None = None


class Frame(Strict):
    """A JSON-RPC notification frame as it arrives on `events/rpc`."""

    method: str
    params: Fields | None = None


class Params(Strict):
    """A status notification's params: one entry per component that changed."""

    switch: Switch | None = Field(default=None, alias="switch:0")


class ShellyFormat:
    """`{"id": 0, "output": true, "apower": 1520.3, ...}` on `<prefix>/status/switch:0`."""

    @property
    def kinds(self) -> frozenset[DeviceKind]:
        """The device kinds this vendor makes."""
        return KINDS

    def subscriptions(self, device_topic: str) -> list[str]:
        """The facility file names the device's MQTT topic prefix."""
        return [device_topic + STATUS_SUFFIX, device_topic + EVENTS_SUFFIX, device_topic + ONLINE_SUFFIX]

    def parse(self, kind: DeviceKind, topic: str, payload: bytes) -> Reading | None:
        """Reading from a switch status, a status notification or the Last Will; other notifications say nothing."""
        if topic.endswith(ONLINE_SUFFIX):
            said = availability(payload, "true", "false")
            return said if kind in KINDS else None
        if not topic.endswith((STATUS_SUFFIX, EVENTS_SUFFIX)):
            return None
        data = json_object(payload)
        if kind not in KINDS:
            return None
        if topic.endswith(STATUS_SUFFIX):
            return reading(_fields(strict(Switch, data)))
        return _notification(data)

    def render(self, kind: DeviceKind, reading: Reading, device_topic: str) -> list[Outgoing]:
        """The switch status (and availability) the device publishes; measurements the reading lacks are left out."""
        if kind not in KINDS:
            raise ProtocolError(f"shelly has no {kind} devices")
        announce = Outgoing(device_topic + ONLINE_SUFFIX, b"true" if reading.online else b"false")
        status = [Outgoing(device_topic + STATUS_SUFFIX, dumps(_status(reading, utcnow())))] if reports(reading) else []
        return in_order(reading.online, announce, status)


def _notification(data: Fields) -> Reading | None:
    """Reading from a NotifyStatus/NotifyFullStatus about switch:0; None for any other notification."""
    frame = strict(Frame, data)
    if frame.method not in STATUS_METHODS or frame.params is None:
        return None
    switch = strict(Params, frame.params, "params").switch
    return None if switch is None else reading(_fields(switch))


def _fields(s: Switch) -> Fields:
    """Reading fields of a (possibly partial) switch status."""
    energy_wh = None if s.aenergy is None else s.aenergy.total
    return {
        "on": s.output,
        "power_w": s.apower,
        "voltage_v": s.voltage,
        "current_a": s.current,
        "energy_wh": energy_wh,
    }


def _status(r: Reading, now: datetime) -> Fields:
    """The Switch.GetStatus object for `r`, with the keys a real device adds (id, source, freq, by_minute)."""
    status: Fields = {
        "id": 0,
        "source": "init",
        "output": r.on,
        "apower": r.power_w,
        "voltage": r.voltage_v,
        "freq": None if r.voltage_v is None else MAINS_HZ,
        "current": r.current_a,
    }
    if r.energy_wh is not None:
        # by_minute: mWh of the last three whole minutes, newest first.
        minute = (r.power_w or 0.0) * 1000 / 60
        minute_ts = int(now.timestamp()) // 60 * 60
        status["aenergy"] = {
            "total": r.energy_wh,
            "by_minute": [round(minute, 3)] * 3,
            "minute_ts": minute_ts,
        }
    return {k: v for k, v in status.items() if v is not None}


FORMAT = ShellyFormat()
