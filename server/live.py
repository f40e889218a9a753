"""Glue between committed changes and the screens: serialize once per language, publish to the hub."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.alerts.service import Status
from server.context import Context
from server.events import Event
from server.models import Alert, DeviceState, Edge
from server.pipeline import Changes
from server.views import alert_out, device_out

LANGUAGES = ("zh-CN", "en")


def broadcast_alerts(ctx: Context, alerts: list[Alert]) -> None:
    """Send changed alerts to every screen."""
    if ctx.hub is None:
        return
    events = [Event("alert", {lang: alert_out(a, ctx.facility, lang, with_events=False).model_dump(mode="json")
                              for lang in LANGUAGES}) for a in alerts]
    ctx.hub.publish_threadsafe(events)


def on_changes(ctx: Context, changes: Changes) -> None:
    """Called by the pipeline thread after each commit."""
    broadcast_alerts(ctx, changes.alerts)
    if not changes.devices or ctx.hub is None or ctx.pipeline is None:
        return
    events = []
    for key in sorted(changes.devices):
        entry = ctx.pipeline.registry.entries.get(key)
        if entry is None:
            continue
        row = DeviceState(site=entry.site, device=entry.device, kind=entry.kind, room=entry.room,
                          last_seen=entry.last_seen, online=entry.online, battery_pct=entry.battery_pct,
                          state=dict(entry.state), observations=entry.observations, rejected=entry.rejected)
        events.append(Event("device", {lang: device_out(row, ctx.facility, lang).model_dump(mode="json")
                                       for lang in LANGUAGES}))
    ctx.hub.publish_threadsafe(events)


def snapshot(ctx: Context, db: Session, language: str) -> dict[str, Any]:
    """Everything a screen shows, for a fresh start or a resync after reconnecting."""
    alerts = db.scalars(select(Alert).where(Alert.status != Status.RESOLVED).order_by(Alert.id))
    devices = db.scalars(select(DeviceState).order_by(DeviceState.site, DeviceState.device))
    edges = db.scalars(select(Edge))
    return {
        "at": ctx.clock().isoformat(),
        "alerts": [alert_out(a, ctx.facility, language, with_events=False).model_dump(mode="json") for a in alerts],
        "devices": [device_out(d, ctx.facility, language).model_dump(mode="json") for d in devices],
        "edges": [{"site": e.site, "online": e.online, "status_at": e.status_at.isoformat() if e.status_at else None,
                   "heartbeat_at": e.heartbeat_at.isoformat() if e.heartbeat_at else None} for e in edges],
    }
