"""Silences, maintenance, drills, and turns logged by caregivers. Every change is recorded with who and why,
and reaches the pipeline (and the screens) at once."""

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AwareDatetime, BaseModel, Field, model_validator
from sqlalchemy import select

from devices.kinds import DeviceKind
from server import suppressions
from server.alerts import service
from server.alerts.service import Resolution, Status
from server.api.deps import Actor, Ctx, Db, User_
from server.api.errors import API, documented
from server.auth.users import MANAGERS
from server.duty import latest_changes, on_duty
from server.live import broadcast_alerts, broadcast_suppressions, hand_turn
from server.models import Alert, CareEvent, Suppression
from server.records import drills
from server.suppressions import RULE_NAMES, Mode, Scope, SuppressionError

router = APIRouter(prefix="/api/v1", tags=["care"], responses=documented(*API, 409))


class SuppressionIn(BaseModel):
    """A silence, maintenance window or drill: what it covers, for how long, and why."""

    site: str | None = Field(None, description="defaults to the first site")
    mode: Mode
    scope: Scope
    target: str | None = Field(None, max_length=64, description="room, zone, device or rule id; none for a site")
    starts_at: AwareDatetime | None = Field(None, description="defaults to now")
    ends_at: AwareDatetime | None = None
    minutes: int | None = Field(None, ge=1, le=30 * 24 * 60, description="instead of ends_at")
    reason: str = Field(min_length=3, max_length=500)

    @model_validator(mode="after")
    def _one_end(self) -> "SuppressionIn":
        """One way to say when it ends; a target unless it covers the site."""
        if (self.ends_at is None) == (self.minutes is None):
            raise ValueError("give either ends_at or minutes")
        if self.scope is not Scope.SITE and not self.target:
            raise ValueError(f"a {self.scope.value} scope needs its target")
        return self


class SuppressionOut(BaseModel):
    """A suppression as recorded."""

    id: int
    site: str
    mode: str
    scope: str
    target: str | None
    starts_at: datetime
    ends_at: datetime
    author: str
    reason: str
    created_at: datetime
    ended_at: datetime | None
    ended_by: str | None


class TurnIn(BaseModel):
    """A turn done by a caregiver."""

    site: str | None = None
    note: str | None = Field(None, max_length=500)


class TurnOut(BaseModel):
    """A logged turn."""

    id: int
    site: str
    bed: str
    at: datetime
    actor: str
    note: str | None


@router.get("/suppressions", response_model=list[SuppressionOut])
def list_suppressions(db: Db, ctx: Ctx, user: User_, site: str | None = None,
                      history: bool = False) -> list[Suppression]:
    """Silences, maintenance and drills not yet over; `?history=true` for all of them, newest first."""
    if history:
        return suppressions.history(db, site)
    return suppressions.current(db, ctx.clock(), site)


@router.post("/suppressions", response_model=SuppressionOut, status_code=status.HTTP_201_CREATED)
def create_suppression(body: SuppressionIn, db: Db, ctx: Ctx, user: Actor) -> Suppression:
    """Start a silence or drill (staff: a device, room or zone for up to 12 h; drills up to 4 h) or anything
    else (managers)."""
    now = ctx.clock()
    site = body.site or ctx.facility.sites[0].id
    starts = body.starts_at or now
    ends = body.ends_at or starts + timedelta(minutes=body.minutes or 0)
    refused = None if user.role in MANAGERS else suppressions.staff_may(body.mode, body.scope, ends - starts)
    if refused:
        raise HTTPException(status.HTTP_403_FORBIDDEN, refused)
    try:
        suppressions.check(ctx.facility, RULE_NAMES, site=site, mode=body.mode, scope=body.scope,
                           target=body.target, starts_at=starts, ends_at=ends)
    except SuppressionError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    row = suppressions.create(db, site=site, mode=body.mode, scope=body.scope, target=body.target, starts_at=starts,
                              ends_at=ends, author=user.username, reason=body.reason, now=now)
    if row.mode == Mode.DRILL:  # a drill is also a fire drill record, from its first second
        shift = on_duty(ctx.facility.site_by_id[site], latest_changes(db), starts)
        drills.started(db, row, now, shift.id if shift else None)
    db.commit()
    _changed(ctx)
    return row


@router.post("/suppressions/{suppression_id}/end", response_model=SuppressionOut)
def end_suppression(suppression_id: int, db: Db, ctx: Ctx, user: Actor) -> Suppression:
    """End a silence, maintenance window or drill early."""
    existing = db.get(Suppression, suppression_id)
    if existing is not None and existing.mode == Mode.MAINTENANCE and user.role not in MANAGERS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only managers end maintenance")
    closed: list[Alert] = []
    try:
        row = suppressions.end(db, suppression_id, actor=user.username, at=ctx.clock())
        if row.mode == Mode.DRILL:  # ending a drill early is its all-clear: the evacuation time stops
            drills.all_clear(db, row, ctx.clock(), user.username)
            closed = _close_drill_alarms(db, row, user.username, ctx.clock())
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no suppression {suppression_id}") from None
    except SuppressionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    db.commit()
    _changed(ctx)
    broadcast_alerts(ctx, closed)
    return row


def _close_drill_alarms(db: Db, drill: Suppression, actor: str, at: datetime) -> list[Alert]:
    """The all-clear resolves the alarms the drill muted (reason: drill); they stay listed in its record."""
    muted = db.scalars(select(Alert).where(Alert.suppression_id == drill.id, Alert.muted == "drill",
                                           Alert.status != Status.RESOLVED))
    return [service.resolve(db, alert.id, actor=actor, at=at, resolution=Resolution.DRILL, note="all clear")
            for alert in muted]


@router.post("/beds/{bed}/turns", response_model=TurnOut, status_code=status.HTTP_201_CREATED)
def log_turn(bed: str, db: Db, ctx: Ctx, user: Actor, body: TurnIn | None = None) -> CareEvent:
    """A caregiver repositioned the resident of a bed: recorded, and it resets the turning clock."""
    site = ctx.facility.site_by_id.get((body.site if body else None) or ctx.facility.sites[0].id)
    if site is None or bed not in site.bed_by_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no bed {bed}")
    now = ctx.clock()
    row = CareEvent(site=site.id, bed=bed, kind="turn", at=now, actor=user.username, note=body.note if body else None)
    db.add(row)
    db.commit()
    sensor = next((d for d in site.devices if d.kind is DeviceKind.BED_SENSOR and d.location.bed == bed), None)
    if sensor is not None:
        hand_turn(ctx, site.id, sensor.id, now.isoformat(), f"staff:{user.username}"[:64])
    return row


@router.get("/beds/{bed}/turns", response_model=list[TurnOut])
def list_turns(bed: str, db: Db, ctx: Ctx, user: User_, site: str | None = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[CareEvent]:
    """The turns logged for a bed of a site (default the first), newest first."""
    site_id = site or ctx.facility.sites[0].id
    query = select(CareEvent).where(CareEvent.site == site_id, CareEvent.bed == bed, CareEvent.kind == "turn")
    return list(db.scalars(query.order_by(CareEvent.at.desc()).limit(limit)))


def _changed(ctx: Ctx) -> None:
    """Tell the pipeline and the screens that suppressions changed."""
    for pipeline in ctx.pipelines():
        pipeline.suppressions_changed()
    broadcast_suppressions(ctx)
