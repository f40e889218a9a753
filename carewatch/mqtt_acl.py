"""Who may do what on the broker, from the facility file: one account per MQTT device, per zigbee2mqtt bridge,
per edge, and one for the servers; each may write only its own topics.

Pure functions: `accounts` builds the list, `acl_text` renders Mosquitto's ACL file from it.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from devices import topics
from devices.equipment import CAMERA_PROTOCOLS, Device, Protocol
from devices.facility import Facility, Site
from devices.protocols import get as vendor_format

SERVER_USER = "server"
# Tasmota announces itself here on every connect by default; carewatch never reads it, so several devices may
# share it. It must be granted: Mosquitto 2.0 closes the connection of a client whose publish it denies.
TASMOTA_DISCOVERY = "tasmota/discovery/"


@dataclass(frozen=True)
class Account:
    """One MQTT username and the topic filters it may publish to (`write`) and subscribe to (`read`)."""

    username: str
    role: str  # device, bridge, edge or server
    site: str | None
    write: tuple[str, ...]
    read: tuple[str, ...]
    device: str | None = None
    bridge: str | None = None  # a zigbee2mqtt device's bridge account, which may publish for it


class AclError(ValueError):
    """The facility file cannot be secured as it is: two accounts would share a topic or a name."""


def device_topics(device: Device) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What a device publishes and what it listens to, as its vendor's firmware uses its `topic`."""
    topic = device.topic or ""
    if device.protocol is Protocol.ZIGBEE2MQTT:
        # `<base>/<name>` carries the state, `<name>/availability` the Will; commands come on /set and /get.
        return (topic, f"{topic}/availability"), (f"{topic}/set", f"{topic}/set/#", f"{topic}/get", f"{topic}/get/#")
    if device.protocol is Protocol.SHELLY:
        # Gen2: `<prefix>/online`, `<prefix>/status/<component>`, `<prefix>/events/rpc`; RPC in on `<prefix>/rpc`.
        write = (f"{topic}/online", f"{topic}/status/#", f"{topic}/events/#")
        return write, (f"{topic}/rpc", f"{topic}/command", f"{topic}/command/#")
    if device.protocol is Protocol.TASMOTA:
        # FullTopic `%prefix%/%topic%/`: telemetry on tele/ and stat/, commands on cmnd/.
        write = (f"tele/{topic}/#", f"stat/{topic}/#", f"{TASMOTA_DISCOVERY}+/config", f"{TASMOTA_DISCOVERY}+/sensors")
        return write, (f"cmnd/{topic}/#",)
    return (topic,), ()  # native: its readings and its Will, both on exactly its topic


def zigbee_base(device: Device) -> str:
    """The zigbee2mqtt base topic of a device: the first level of its topic (`zigbee2mqtt` by default)."""
    return (device.topic or "").split("/", 1)[0]


def mqtt_devices(site: Site) -> list[Device]:
    """The site's devices that speak MQTT (cameras stream video to the edge instead)."""
    return [d for d in site.devices if d.protocol not in CAMERA_PROTOCOLS]


def device_account(site: Site, device: Device) -> Account:
    """A device's own account: its topics only."""
    write, read = device_topics(device)
    bridge = _bridge_name(site, zigbee_base(device)) if device.protocol is Protocol.ZIGBEE2MQTT else None
    return Account(f"{site.id}.{device.id}", "device", site.id, write, read, device=device.id, bridge=bridge)


def _bridge_name(site: Site, base: str) -> str:
    """Username of a site's zigbee2mqtt bridge for one base topic."""
    return f"{site.id}.z2m.{base}"


def bridge_accounts(site: Site) -> list[Account]:
    """One account per zigbee2mqtt base topic: the bridge publishes for all its devices and its own state."""
    bases = sorted({zigbee_base(d) for d in mqtt_devices(site) if d.protocol is Protocol.ZIGBEE2MQTT})
    return [Account(_bridge_name(site, base), "bridge", site.id, (f"{base}/#",), (f"{base}/#",)) for base in bases]


def edge_account(site: Site) -> Account:
    """The site's edge: reads exactly what it subscribes to, writes only its site's uplink."""
    read = [t for d in mqtt_devices(site) for t in vendor_format(d.protocol).subscriptions(d.topic or "")]
    write = (f"{topics.PREFIX}/{site.id}/obs/+", f"{topics.PREFIX}/{site.id}/edge/+")
    return Account(f"edge.{site.id}", "edge", site.id, write, tuple(read))


def server_account(sites: Iterable[Site]) -> Account:
    """The servers read every site's uplink, directly or as a shared subscription; they publish nothing."""
    # Mosquitto 2.0 checks a shared subscription's messages against their real topic; the `$share` line is
    # for brokers that check the subscribed filter itself.
    read: list[str] = []
    for site in sites:
        obs, edge = f"{topics.PREFIX}/{site.id}/obs/+", f"{topics.PREFIX}/{site.id}/edge/+"
        read += [obs, edge, topics.shared("+", obs)]
    return Account(SERVER_USER, "server", None, (), tuple(read))


def accounts(facility: Facility, site_ids: Iterable[str] | None = None) -> list[Account]:
    """Every account of the chosen sites (default: all) plus the server's; AclError if two would clash."""
    wanted = set(site_ids) if site_ids is not None else set(facility.site_by_id)
    unknown = sorted(wanted - set(facility.site_by_id))
    if unknown:
        raise AclError(f"no site {', '.join(unknown)} in the facility file")
    sites = [s for s in facility.sites if s.id in wanted]
    found = [server_account(sites)]
    for site in sites:
        found += [device_account(site, d) for d in mqtt_devices(site)] + bridge_accounts(site) + [edge_account(site)]
    check(found)
    return found


def check(found: list[Account]) -> None:
    """No two accounts share a name; no device or bridge may write where another site's or device's goes."""
    names = [a.username for a in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise AclError(f"two accounts would be named {', '.join(twice)}: rename a site or device")
    writers = [a for a in found if a.role in ("device", "bridge")]
    uplink = next((a for a in writers if any(overlaps(t, f"{topics.PREFIX}/#") for t in a.write)), None)
    if uplink:
        raise AclError(f"{uplink.username} would publish under {topics.PREFIX}/, where only edges may: "
                       "give the device another topic")
    for i, one in enumerate(writers):
        for other in writers[i + 1:]:
            if _same_bridge(one, other):
                continue
            clash = next(((a, b) for a in _own(one) for b in _own(other) if overlaps(a, b)), None)
            if clash:
                raise AclError(f"{one.username} and {other.username} could both publish to {clash[0]} / {clash[1]}: "
                               "give them distinct topics (or another zigbee2mqtt base topic per site)")


def _own(account: Account) -> list[str]:
    """The topics that say who is speaking: all but Tasmota's discovery."""
    return [t for t in account.write if not t.startswith(TASMOTA_DISCOVERY)]


def _same_bridge(one: Account, other: Account) -> bool:
    """A zigbee2mqtt bridge writes its own devices' topics by design (on MQTT it is those devices)."""
    return one.bridge == other.username or other.bridge == one.username


def overlaps(a: str, b: str) -> bool:
    """Whether some topic matches both filters (`+` one level, `#` the rest)."""
    left, right = a.split("/"), b.split("/")
    for x, y in zip(left, right, strict=False):
        if "#" in (x, y):
            return True
        if x != y and "+" not in (x, y):
            return False
    if len(left) == len(right):
        return True
    longer = left if len(left) > len(right) else right
    return longer[min(len(left), len(right))] == "#"  # `a/#` also matches `a` itself


def acl_text(found: list[Account]) -> str:
    """Mosquitto's ACL file: a `user` block per account; whatever is not granted is denied."""
    lines = ["# Made by `carewatch mqtt-config` from the facility file: edit the facility file and run it again.",
             "# Mosquitto 2.0 drops a publish to a topic not granted here and closes the publisher's connection;",
             "# a subscriber gets only messages on topics it may read.", ""]
    for account in found:
        where = f" site {account.site}" if account.site else ""
        lines += [f"# {account.role}{where}", f"user {account.username}"]
        lines += [f"topic write {t}" for t in account.write]
        lines += [f"topic read {t}" for t in account.read]
        lines.append("")
    return "\n".join(lines)
