"""Device registry: last seen, online, battery and latest reading of every device, and who went silent."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from devices.equipment import Device
from devices.facility import Facility
from devices.kinds import DeviceKind, Severity
from server.models import DeviceState, Edge
from server.rules.base import Clear, Raise
from server.rules.engine import Fired

DEVICE_OFFLINE = "device_offline"
EDGE_OFFLINE = "edge_offline"


@dataclass
class Entry:
    """What the registry keeps in memory per device."""

    site: str
    device: str
    kind: str
    room: str | None
    last_seen: datetime | None = None
    online: bool = False
    battery_pct: float | None = None
    state: dict[str, Any] = field(default_factory=dict)
    last_seq: int | None = None
    observations: int = 0
    rejected: int = 0
    behind_edge: bool = False  # went silent while its site's edge was down: no alert of its own


class Registry:
    """In-memory mirror of the `devices` table, owned by the pipeline thread."""

    def __init__(self, facility: Facility, started_at: datetime) -> None:
        self.facility = facility
        self.started_at = started_at
        self.entries: dict[tuple[str, str], Entry] = {}
        self._dirty: set[tuple[str, str]] = set()
        # Sites whose edge is down, and when each edge came back: its devices are silent because of it.
        self.edges_down: set[str] = set()
        self.edge_back: dict[str, datetime] = {}

    def load(self, session: Session) -> None:
        """Read the table and add every device of the facility file that is not in it yet."""
        rows = {(r.site, r.device): r for r in session.scalars(select(DeviceState))}
        self.edges_down = {e.site for e in session.scalars(select(Edge)) if e.status_at is not None and not e.online
                           and e.site in self.facility.site_by_id}
        for site in self.facility.sites:
            for device in site.devices:
                row = rows.get((site.id, device.id))
                entry = _entry(site.id, device, row)
                self.entries[(site.id, device.id)] = entry
                if row is None:
                    session.add(DeviceState(**_row(entry)))

    def seen(self, site: str, device: str, at: datetime, fields: dict[str, Any], seq: int) -> list[Fired]:
        """Record an observation; a device that was offline comes back (its alert clears). A device whose own
        availability message (Last Will) says offline goes offline at once."""
        entry = self.entries[(site, device)]
        entry.last_seq = seq
        entry.observations += 1
        self._dirty.add((site, device))
        if fields.get("online") is False:
            return self._said_offline(site, device, entry, at)
        if set(fields) == {"online"}:
            # Retained "online" messages come again at every edge reconnect: proof of nothing. Only a
            # reading from the device itself shows it is alive.
            return []
        back = not entry.online and entry.last_seen is not None
        entry.last_seen = max(entry.last_seen, at) if entry.last_seen else at
        entry.online = True
        entry.state = {**entry.state, **{k: v for k, v in fields.items() if k != "online"}}
        entry.battery_pct = fields.get("battery_pct", entry.battery_pct)
        return [Fired(site, DEVICE_OFFLINE, Clear(device))] if back else []

    def _said_offline(self, site: str, device_id: str, entry: Entry, at: datetime) -> list[Fired]:
        """The vendor's availability message says the device is gone: no need to wait for its silence."""
        device = self.facility.site_by_id[site].device_by_id[device_id]
        was_online = entry.online or entry.last_seen is None
        entry.online = False
        entry.last_seen = entry.last_seen or at  # offline from now on; its silence is not counted again
        if not was_online:
            return []
        details = {**_silence(entry), "said_offline_at": at.isoformat()}
        return [Fired(site, DEVICE_OFFLINE, Raise(device_id, _offline_severity(device), device.location.room, details))]

    def rejected(self, site: str, device: str) -> None:
        """Count a message of a known device that could not be used."""
        entry = self.entries.get((site, device))
        if entry is not None:
            entry.rejected += 1
            self._dirty.add((site, device))

    def check_offline(self, now: datetime, skip: Callable[[str, Device], bool] = lambda s, d: False) -> list[Fired]:
        """Devices silent for longer than their `offline_after` go offline and raise an alert (unless `skip`:
        a device in maintenance is expected to be quiet). While a site's edge is down its devices go offline
        without an alert each: the edge's alert is the one grouped alert for all of them."""
        fired: list[Fired] = []
        grouped: set[str] = set()
        for (site_id, device_id), entry in self.entries.items():
            site = self.facility.site_by_id[site_id]
            device = site.device_by_id.get(device_id)
            if device is None or (not entry.online and entry.last_seen is not None) or skip(site_id, device):
                continue
            # Count silence from our own start, and from the edge's return: a backlog needs a moment.
            reference = max(entry.last_seen or self.started_at, self.started_at,
                            self.edge_back.get(site_id, self.started_at))
            if now - reference <= site.offline_after(device):
                continue
            entry.online = False
            self._dirty.add((site_id, device_id))
            if site_id in self.edges_down:
                entry.behind_edge = True
                grouped.add(site_id)
                continue
            fired.append(Fired(site_id, DEVICE_OFFLINE, Raise(device_id, _offline_severity(device),
                                                              device.location.room, _silence(entry))))
        # The edge's alert names the devices silent behind it (details only, no new occurrence).
        fired += [Fired(s, EDGE_OFFLINE, Raise("edge", Severity.HIGH, None, {"silent_devices": self.behind(s)},
                                               count=False)) for s in sorted(grouped)]
        return fired

    def edge_changed(self, site: str, online: bool, at: datetime) -> None:
        """A site's edge went down or came back; devices silenced by it are judged afresh from its return."""
        if not online:
            self.edges_down.add(site)
            return
        self.edges_down.discard(site)
        self.edge_back[site] = at
        for (site_id, _), entry in self.entries.items():
            if site_id == site and entry.behind_edge:
                entry.online, entry.behind_edge = True, False  # unknown: its own silence counts from now

    def behind(self, site: str) -> list[str]:
        """The devices of a site silent behind its dead edge."""
        return sorted(d for (s, d), e in self.entries.items() if s == site and e.behind_edge)

    def flush(self, session: Session) -> None:
        """Write the entries that changed, in the caller's transaction."""
        if self._dirty:
            # One Core UPDATE by primary key, executed for every changed device: the ORM's bulk UPDATE did the same
            # with ~0.5 ms more Python per call, which one-message batches (a district's normal rate) paid each.
            session.execute(_UPDATE, [{**_row(self.entries[key]), "k_site": key[0], "k_device": key[1]}
                                      for key in self._dirty])
        self._dirty.clear()

    def take_changed(self) -> set[tuple[str, str]]:
        """Keys changed since the last flush (for the screen), without clearing them."""
        return set(self._dirty)


_DEVICES = DeviceState.__table__
_UPDATE = update(_DEVICES).where(_DEVICES.c.site == bindparam("k_site"), _DEVICES.c.device == bindparam("k_device"))


def _entry(site: str, device: Device, row: DeviceState | None) -> Entry:
    """Registry entry from its table row, or a fresh one for a new device."""
    if row is None:
        return Entry(site, device.id, device.kind.value, device.location.room)
    return Entry(site, device.id, device.kind.value, device.location.room, row.last_seen, row.online,
                 row.battery_pct, dict(row.state or {}), row.last_seq, row.observations, row.rejected)


def _row(e: Entry) -> dict[str, Any]:
    """Column values of an entry."""
    return {"site": e.site, "device": e.device, "kind": e.kind, "room": e.room, "last_seen": e.last_seen,
            "online": e.online, "battery_pct": e.battery_pct, "state": e.state, "last_seq": e.last_seq,
            "observations": e.observations, "rejected": e.rejected}


def _offline_severity(device: Device) -> Severity:
    """A silent smoke detector, leak sensor or SOS button hides a critical alarm: high, else medium."""
    critical = {DeviceKind.SMOKE_DETECTOR, DeviceKind.LEAK_SENSOR, DeviceKind.SOS_BUTTON}
    return Severity.HIGH if device.kind in critical else Severity.MEDIUM


def _silence(entry: Entry) -> dict[str, Any]:
    """Alert details: when the device was last heard."""
    return {"last_seen": entry.last_seen.isoformat() if entry.last_seen else None}


def edge_status(session: Session, site: str, online: bool, at: datetime) -> list[Fired]:
    """A site's edge said online or offline (its retained status / Last Will)."""
    edge = session.get(Edge, site) or Edge(site=site, info={})
    was_online = edge.online if edge.status_at is not None else None
    edge.online, edge.status_at = online, at
    session.merge(edge)
    if online:
        return [Fired(site, EDGE_OFFLINE, Clear("edge"))] if was_online is False else []
    if was_online is False:
        return []  # the retained status again, after our own reconnect: nothing new
    return [Fired(site, EDGE_OFFLINE, Raise("edge", Severity.HIGH, None, {"since": at.isoformat()}))]


def edge_heartbeat(session: Session, site: str, info: dict[str, Any], at: datetime) -> None:
    """Keep the edge's latest heartbeat (outbox depth, counters)."""
    edge = session.get(Edge, site) or Edge(site=site, online=True, info={})
    edge.heartbeat_at, edge.info = at, info
    session.merge(edge)
