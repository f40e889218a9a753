"""carewatch's own format: the device publishes the Reading fields as one JSON object on its topic.

Availability is a field like any other: a device's MQTT Last Will is `{"online": false}` on its own topic.
"""

from devices.kinds import DeviceKind
from devices.messages import Reading
from devices.protocols import Outgoing, ProtocolError
from devices.protocols.common import dumps, json_object, reading


class NativeFormat:
    """`{"occupied": true, "heart_rate_bpm": 62}` on the device's own topic."""

    kinds = frozenset(DeviceKind) - {DeviceKind.CAMERA}

    def subscriptions(self, device_topic: str) -> list[str]:
        """The device publishes on exactly its topic."""
        return [device_topic]

    def parse(self, kind: DeviceKind, topic: str, payload: bytes) -> Reading | None:
        """Reading fields as they are; unknown fields are refused, not ignored."""
        fields = json_object(payload)
        unknown = sorted(set(fields) - set(Reading.model_fields))
        if unknown:
            raise ProtocolError(f"unknown field(s) {', '.join(unknown)}")
        return reading(fields)

    def render(self, kind: DeviceKind, reading: Reading, device_topic: str) -> list[Outgoing]:
        """The reported fields as one JSON object."""
        return [Outgoing(device_topic, dumps(reading.fields()))]


FORMAT = NativeFormat()
