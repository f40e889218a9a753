"""Glue between committed changes and the screens: build each payload once per language, publish to the hub.

Alert and device payloads stay pydantic models: FastAPI's SSE encoder then writes each one with
`model_dump_json` (~5 µs) instead of `jsonable_encoder` + `json.dumps` on a dict (~50 µs), and it does that
for every screen (bench/screen_fanout.py: 50 screens at ~56 events/s each)."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.messages import Reading
from server import suppressions
from server.alerts.service import Status
from server.context import Context
from server.events import Event
from server.models import Alert, DeviceState, Edge, Suppression
from server.pipeline import Changes
from server.rules.base import Obs
from server.views import alert_out, device_out

LANGUAGES = ("zh-CN", "en")


def broadcast_alerts(ctx: Context, alerts: list[Alert], *, announce: bool = True) -> None:
    """Send changed alerts to every screen (of every server process)."""
    if announce and ctx.bus is not None and alerts:
        ctx.bus.announce("alerts", [a.id for a in alerts])
    if ctx.hub is None:
        return
    events = [Event("alert", {lang: alert_out(a, ctx.facility, lang, with_events=False) for lang in LANGUAGES},
                    a.site) for a in alerts]
    ctx.hub.publish_threadsafe(events)


def broadcast_suppressions(ctx: Context, *, announce: bool = True) -> None:
    """Send every screen the silences, maintenance windows and drills now in force."""
    if announce and ctx.bus is not None:
        ctx.bus.announce("suppressions", [])
    if ctx.hub is None:
        return
    with ctx.sessions() as db:
        rows = suppressions.current(db, ctx.clock())
    by_site: dict[str, list[dict[str, Any]]] = {s.id: [] for s in ctx.facility.sites}
    for row in rows:
        by_site.setdefault(row.site, []).append(suppression_out(row))
    ctx.hub.publish_threadsafe([Event("suppressions", {lang: items for lang in LANGUAGES}, site)
                                for site, items in by_site.items()])


def suppression_out(row: Suppression) -> dict[str, Any]:
    """A suppression as the screen shows it."""
    return {"id": row.id, "site": row.site, "mode": row.mode, "scope": row.scope, "target": row.target,
            "starts_at": row.starts_at.isoformat(), "ends_at": row.ends_at.isoformat(), "author": row.author,
            "reason": row.reason}


def on_changes(ctx: Context, changes: Changes, pipeline: Any = None) -> None:
    """Called by a pipeline thread after each commit."""
    if changes.alerts and ctx.notifier is not None:
        ctx.notifier.wake()  # the first round of a new alert goes out now
    broadcast_alerts(ctx, changes.alerts)
    broadcast_edges(ctx, changes.edges)
    pipeline = pipeline or ctx.pipeline
    if not changes.devices or pipeline is None:
        return
    if ctx.bus is not None:
        ctx.bus.gather("devices", sorted(changes.devices))
    if ctx.hub is None or not ctx.hub.clients:
        return
    rows = []
    for key in sorted(changes.devices):
        entry = pipeline.registry.entries.get(key)
        if entry is not None:
            rows.append(DeviceState(site=entry.site, device=entry.device, kind=entry.kind, room=entry.room,
                                    last_seen=entry.last_seen, online=entry.online, battery_pct=entry.battery_pct,
                                    state=dict(entry.state), observations=entry.observations,
                                    rejected=entry.rejected))
    broadcast_devices(ctx, rows)


def broadcast_devices(ctx: Context, rows: list[DeviceState]) -> None:
    """Send changed devices to this process's screens."""
    if ctx.hub is not None:
        ctx.hub.publish_threadsafe([Event("device", {lang: device_out(row, ctx.facility, lang) for lang in LANGUAGES},
                                          row.site) for row in rows])


def on_remote(ctx: Context, message: dict[str, Any]) -> None:
    """What another server process committed: show it on our screens, act on it if it is ours to act on."""
    kind, items = message.get("k"), message.get("i") or []
    if kind == "alerts":
        if ctx.notifier is not None:
            ctx.notifier.wake()
        if ctx.hub is not None and ctx.hub.clients:
            with ctx.sessions() as db:
                broadcast_alerts(ctx, list(db.scalars(select(Alert).where(Alert.id.in_(items)))), announce=False)
    elif kind == "devices" and ctx.hub is not None and ctx.hub.clients:
        keys = {tuple(key) for key in items}
        sites = sorted({site for site, _ in keys})
        with ctx.sessions() as db:
            rows = db.scalars(select(DeviceState).where(DeviceState.site.in_(sites))).all()
        broadcast_devices(ctx, [r for r in rows if (r.site, r.device) in keys])
    elif kind == "edges":
        broadcast_edges(ctx, set(items), announce=False)
    elif kind == "suppressions":
        for pipeline in ctx.pipelines():
            pipeline.suppressions_changed()
        broadcast_suppressions(ctx, announce=False)
    elif kind == "turn":
        hand_turn(ctx, *items, announce=False)


def hand_turn(ctx: Context, site_id: str, device_id: str, at: str, action: str, *, announce: bool = True) -> None:
    """A turn logged on a screen goes to the pipeline running the site's rules, in this process or another."""
    pipeline = ctx.pipeline_for(site_id)
    if pipeline is not None:
        site = ctx.facility.site_by_id[site_id]
        pipeline.submit(Obs(site, site.device_by_id[device_id], datetime.fromisoformat(at),
                            Reading(movement=True, action=action)))
    elif announce and ctx.bus is not None:
        ctx.bus.announce("turn", [site_id, device_id, at, action])


def broadcast_edges(ctx: Context, sites: set[str], *, announce: bool = True) -> None:
    """Send the edges whose status or heartbeat changed."""
    if announce and ctx.bus is not None and sites:
        ctx.bus.announce("edges", sorted(sites))
    if not sites or ctx.hub is None:
        return
    with ctx.sessions() as db:
        rows = db.scalars(select(Edge).where(Edge.site.in_(sorted(sites)))).all()
    ctx.hub.publish_threadsafe([Event("edge", {lang: edge_out(e) for lang in LANGUAGES}, e.site) for e in rows])


def edge_out(edge: Edge) -> dict[str, Any]:
    """An edge as the screen shows it."""
    return {"site": edge.site, "online": edge.online,
            "status_at": edge.status_at.isoformat() if edge.status_at else None,
            "heartbeat_at": edge.heartbeat_at.isoformat() if edge.heartbeat_at else None}


def snapshot(ctx: Context, db: Session, language: str, site: str | None = None) -> dict[str, Any]:
    """Everything a screen shows (of one site, if given), for a fresh start or a resync after reconnecting."""
    alerts = select(Alert).where(Alert.status != Status.RESOLVED).order_by(Alert.id)
    devices = select(DeviceState).order_by(DeviceState.site, DeviceState.device)
    edges = select(Edge)
    if site:
        alerts, devices, edges = alerts.where(Alert.site == site), devices.where(DeviceState.site == site), \
            edges.where(Edge.site == site)
    return {
        "at": ctx.clock().isoformat(),
        "alerts": [alert_out(a, ctx.facility, language, with_events=False).model_dump(mode="json")
                   for a in db.scalars(alerts)],
        "devices": [device_out(d, ctx.facility, language).model_dump(mode="json") for d in db.scalars(devices)],
        "edges": [edge_out(e) for e in db.scalars(edges)],
        "suppressions": [suppression_out(s) for s in suppressions.current(db, ctx.clock(), site)],
    }
