"""Vendor formats: `parse` (vendor payload to Reading) for the edge, `render` (the inverse) for simulators."""

import importlib
from dataclasses import dataclass
from typing import Protocol as Interface

from devices.equipment import Protocol
from devices.kinds import DeviceKind
from devices.messages import Reading


class ProtocolError(ValueError):
    """A payload the format cannot read; the message is the reason kept with the dead letter."""


@dataclass(frozen=True)
class Outgoing:
    """One MQTT message a simulated device publishes."""

    topic: str
    payload: bytes
    retain: bool = False


class VendorFormat(Interface):
    """What every vendor format module provides."""

    kinds: frozenset[DeviceKind]  # the device kinds this vendor makes

    def subscriptions(self, device_topic: str) -> list[str]:
        """Exact topics the edge subscribes to for a device with this `topic` in the facility file."""
        ...

    def parse(self, kind: DeviceKind, topic: str, payload: bytes) -> Reading | None:
        """Reading from one message; None if it says nothing about this kind; ProtocolError if unreadable."""
        ...

    def render(self, kind: DeviceKind, reading: Reading, device_topic: str) -> list[Outgoing]:
        """Messages a real device of this vendor would publish for `reading`."""
        ...


_MODULES = {Protocol.ZIGBEE2MQTT: "zigbee2mqtt", Protocol.SHELLY: "shelly", Protocol.TASMOTA: "tasmota",
            Protocol.NATIVE: "native"}


def get(protocol: Protocol | str) -> VendorFormat:
    """The format module for a protocol named in the facility file (imported on first use, one by one,
    so a broken module only takes its own devices down)."""
    try:
        module = _MODULES[Protocol(protocol)]
    except (KeyError, ValueError):
        raise ProtocolError(f"no MQTT format for protocol {protocol!r}") from None
    try:
        found: VendorFormat = importlib.import_module(f"devices.protocols.{module}").FORMAT
    except ImportError as exc:
        raise ProtocolError(f"the {protocol} format cannot be loaded: {exc}") from exc
    return found


def kinds_of(protocol: Protocol | str) -> frozenset[DeviceKind]:
    """Device kinds a protocol can carry (none for cameras' rtsp)."""
    try:
        return get(protocol).kinds
    except ProtocolError:
        return frozenset()
