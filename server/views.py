"""What the API and the screen show: alerts and devices with names in the reader's language."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from devices.equipment import Device
from devices.facility import Facility, Site
from server.models import Alert, DeviceState
from server.texts import KIND_NAMES, rule_title, word


class AlertEventOut(BaseModel):
    """One step in an alert's history."""

    at: datetime
    action: str
    actor: str
    note: str | None = None


class AlertOut(BaseModel):
    """An alert as people read it."""

    id: int
    site: str
    site_name: str
    rule: str
    title: str
    subject: str
    subject_name: str
    severity: str
    status: str
    cleared: bool
    room: str | None
    room_name: str | None
    details: dict[str, Any]
    occurrences: int
    raised_at: datetime
    last_raised_at: datetime
    cleared_at: datetime | None
    acked_at: datetime | None
    acked_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    assignee: str | None = None
    muted: str | None = None  # "silence", "drill" or "maintenance": recorded, not an alarm
    suppression_id: int | None = None
    events: list[AlertEventOut] = []


class DeviceOut(BaseModel):
    """A device with its latest state."""

    site: str
    device: str
    kind: str
    name: str
    room: str | None
    room_name: str | None
    bed: str | None
    protocol: str
    online: bool
    last_seen: datetime | None
    battery_pct: float | None
    state: dict[str, Any]
    observations: int
    rejected: int


def alert_out(alert: Alert, facility: Facility, language: str, *, with_events: bool = True) -> AlertOut:
    """Serialize an alert with titles and names in `language`."""
    site = facility.site_by_id.get(alert.site)
    events = [AlertEventOut(at=e.at, action=e.action, actor=e.actor, note=e.note) for e in alert.events] \
        if with_events else []
    return AlertOut(
        id=alert.id, site=alert.site, site_name=site.name.get(language) if site else alert.site,
        rule=alert.rule, title=_title(alert, language),
        subject=alert.subject, subject_name=subject_name(site, alert.subject, language),
        severity=alert.severity, status=alert.status, cleared=alert.cleared, room=alert.room,
        room_name=room_name(site, alert.room, language), details=alert.details or {},
        occurrences=alert.occurrences, raised_at=alert.raised_at, last_raised_at=alert.last_raised_at,
        cleared_at=alert.cleared_at, acked_at=alert.acked_at, acked_by=alert.acked_by,
        resolved_at=alert.resolved_at, resolved_by=alert.resolved_by, resolution=alert.resolution,
        assignee=alert.assignee, muted=alert.muted, suppression_id=alert.suppression_id, events=events,
    )


def device_out(row: DeviceState, facility: Facility, language: str) -> DeviceOut:
    """Serialize a registry row with its names from the facility file."""
    site = facility.site_by_id.get(row.site)
    device = site.device_by_id.get(row.device) if site else None
    return DeviceOut(
        site=row.site, device=row.device, kind=row.kind, name=subject_name(site, row.device, language),
        room=row.room, room_name=room_name(site, row.room, language),
        bed=device.location.bed if device else None, protocol=device.protocol.value if device else "",
        online=row.online, last_seen=row.last_seen, battery_pct=row.battery_pct, state=row.state or {},
        observations=row.observations, rejected=row.rejected,
    )


def _title(alert: Alert, language: str) -> str:
    """The rule's title; a site's own watch is called by its name."""
    name = (alert.details or {}).get("name") if alert.rule == "watch" else None
    if isinstance(name, dict) and name.get(language):
        return str(name[language])
    return rule_title(alert.rule, language)


def room_name(site: Site | None, room: str | None, language: str) -> str | None:
    """A room's display name."""
    if site is None or room is None:
        return room
    found = site.room_by_id.get(room)
    return found.name.get(language) if found else room


def subject_name(site: Site | None, subject: str, language: str) -> str:
    """Display name of what an alert is about: a bed, a device, or the site's gateway."""
    if site is None:
        return subject
    if subject == "edge":
        return word("site_gateway", language)
    if subject == "coverage":
        return word("coverage", language)
    if subject.startswith("food-sample:"):  # `food-sample:<meal>:<day>`
        _, meal_id, day = subject.split(":", 2)
        meal = next((m for m in site.food.meals if m.id == meal_id), None)
        return f"{meal.name.get(language) if meal else meal_id} · {day}"
    if subject.startswith("inspection:"):  # `inspection:<template>:<period>`
        _, template_id, period = subject.split(":", 2)
        form = next((t for t in site.inspections if t.id == template_id), None)
        return f"{form.name.get(language) if form else template_id} · {period}"
    if subject.startswith("rectification:"):  # `rectification:<task>`
        return f"{word('rectification', language)} #{subject.split(':', 1)[1]}"
    if subject.startswith("patrol-check:"):  # `patrol-check:<checkpoint>:<check>`
        _, point_id, check_id = subject.split(":", 2)
        point = next((c for c in site.patrols.checkpoints if c.id == point_id), None)
        check = next((k for k in point.checks if k.id == check_id), None) if point else None
        return (f"{point.name.get(language) if point else point_id} · "
                f"{check.text.get(language) if check else check_id}")
    if subject.startswith("patrol:"):  # `patrol:<round>:<day>`
        _, round_id, day = subject.split(":", 2)
        patrol = next((r for r in site.patrols.rounds if r.id == round_id), None)
        return f"{patrol.name.get(language) if patrol else round_id} · {day}"
    if subject.startswith("health-check:"):  # `health-check:<HH:MM>:<day>` (the time holds a colon too)
        clock, day = subject.removeprefix("health-check:").rsplit(":", 1)
        return f"{'健康监测' if language == 'zh-CN' else 'Health checks'} {clock} · {day}"
    if subject.startswith("disinfection:"):  # `disinfection:<round>:<day>`
        _, round_id, day = subject.split(":", 2)
        done = next((r for r in site.epidemic.disinfection if r.id == round_id), None)
        return f"{done.name.get(language) if done else round_id} · {day}"
    if subject.startswith("fire-drill"):  # `fire-drill`, or `fire-drill:<shift>` when each shift drills
        shift = next((s for s in site.roster.shifts if f"fire-drill:{s.id}" == subject), None) if site.roster else None
        return f"{word('fire_drill', language)} · {shift.name.get(language)}" if shift else word("fire_drill", language)
    if "/" in subject:  # `<bed>/hr` for a vital sign, `<device>/<watch>` for a site's own threshold
        head, part = subject.split("/", 1)
        watch = next((w for w in site.watches if w.id == part), None)
        return f"{subject_name(site, head, language)} · {watch.name.get(language) if watch else word(part, language)}"
    room = site.room_by_id.get(subject)
    if room is not None:
        return room.name.get(language)
    bed = site.bed_by_id.get(subject)
    if bed is not None:
        return bed.name.get(language) if bed.name else bed.id
    zone = site.zone_by_id.get(subject)
    if zone is not None:
        return zone_name(site, zone.id, language)
    device = site.device_by_id.get(subject)
    return device_name(site, device, language) if device else subject


def zone_name(site: Site, zone_id: str, language: str) -> str:
    """A zone's own name, else its room's name (a bedroom's floor zone is 'Room 103')."""
    zone = site.zone_by_id[zone_id]
    if zone.name:
        return zone.name.get(language)
    room = site.room_of_zone[zone_id]
    return room.name.get(language)


def device_name(site: Site, device: Device, language: str) -> str:
    """Its own name, else its appliance's, else its kind (and bed: two mats share a room)."""
    if device.name:
        return device.name.get(language)
    if device.appliance and device.appliance.name:
        return device.appliance.name.get(language)
    names = KIND_NAMES.get(device.kind.value)
    kind = names.get(language, names["en"]) if names else device.id
    bed = site.bed_by_id.get(device.location.bed or "")
    return f"{kind} · {bed.name.get(language) if bed.name else bed.id}" if bed else kind
