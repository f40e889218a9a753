"""Alerts API: list, read, acknowledge, resolve. Changes are broadcast to the screens after commit."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from server.alerts import service
from server.alerts.service import Resolution, Status, TransitionError
from server.api.deps import Actor, Ctx, Db, Lang, User_, visible_site, visible_sites
from server.api.errors import API, documented
from server.auth.tokens import Principal
from server.live import broadcast_alerts
from server.models import Alert, Notification
from server.views import AlertOut, alert_out

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], responses=documented(*API, 409))


class AckIn(BaseModel):
    """Optional note with an acknowledgement."""

    note: str | None = Field(None, max_length=500)


class CommentIn(BaseModel):
    """A note on an alert."""

    note: str = Field(min_length=1, max_length=500)


class AssignIn(BaseModel):
    """Who is on it: a username or `staff:<id>`; null for nobody."""

    assignee: str | None = Field(None, min_length=1, max_length=64)


class NotificationOut(BaseModel):
    """One message of the alert's escalation and how its delivery went."""

    id: int
    step: int
    round: int
    channel: str
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class ResolveIn(BaseModel):
    """Why the alert is resolved."""

    resolution: Resolution
    note: str | None = Field(None, max_length=500)


@router.get("", response_model=list[AlertOut])
def list_alerts(db: Db, ctx: Ctx, user: User_, lang: Lang,
                status_: Annotated[list[Status] | None, Query(alias="status")] = None,
                site: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[AlertOut]:
    """Alerts, newest first; `?status=open` (repeatable), `?site=`."""
    rows = service.list_alerts(db, statuses=[s.value for s in status_ or []], site=visible_site(user, site, ctx),
                               limit=limit, sites=None if user.sites is None else visible_sites(user, ctx))
    return [alert_out(a, ctx.facility, lang) for a in rows]


@router.get("/{alert_id}", response_model=AlertOut)
def get_alert(alert_id: int, db: Db, ctx: Ctx, user: User_, lang: Lang) -> AlertOut:
    """One alert with its history."""
    alert = db.get(Alert, alert_id)
    if alert is None or not user.may_see(alert.site):  # another site's alert is none of this user's business
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}")
    return alert_out(alert, ctx.facility, lang)


@router.post("/{alert_id}/ack", response_model=AlertOut)
def acknowledge(alert_id: int, db: Db, ctx: Ctx, user: Actor, lang: Lang, body: AckIn | None = None) -> AlertOut:
    """Take the alert: stops escalation; records who and when."""
    return _transition(db, ctx, user, lang, alert_id, lambda: service.acknowledge(
        db, alert_id, actor=user.username, at=ctx.clock(), note=body.note if body else None))


@router.post("/{alert_id}/resolve", response_model=AlertOut)
def resolve(alert_id: int, body: ResolveIn, db: Db, ctx: Ctx, user: Actor, lang: Lang) -> AlertOut:
    """Close the alert with its reason (real event, false alarm, test, drill)."""
    return _transition(db, ctx, user, lang, alert_id, lambda: service.resolve(
        db, alert_id, actor=user.username, at=ctx.clock(), resolution=body.resolution, note=body.note))


@router.post("/{alert_id}/comment", response_model=AlertOut)
def add_comment(alert_id: int, body: CommentIn, db: Db, ctx: Ctx, user: Actor, lang: Lang) -> AlertOut:
    """Add a note to the alert's history."""
    return _transition(db, ctx, user, lang, alert_id, lambda: service.comment(
        db, alert_id, actor=user.username, at=ctx.clock(), note=body.note))


@router.post("/{alert_id}/assign", response_model=AlertOut)
def assign(alert_id: int, body: AssignIn, db: Db, ctx: Ctx, user: Actor, lang: Lang) -> AlertOut:
    """Say who is on it."""
    return _transition(db, ctx, user, lang, alert_id, lambda: service.assign(
        db, alert_id, actor=user.username, at=ctx.clock(), assignee=body.assignee))


@router.get("/{alert_id}/notifications", response_model=list[NotificationOut])
def notifications(alert_id: int, db: Db, user: User_) -> list[Notification]:
    """Every message of the alert's escalation, oldest first, with its delivery status."""
    found = db.get(Alert, alert_id)
    if found is None or not user.may_see(found.site):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}")
    query = select(Notification).where(Notification.alert_id == alert_id).order_by(Notification.id)
    return list(db.scalars(query))


def _transition(db: Db, ctx: Ctx, user: Principal, lang: str, alert_id: int,
                change: Callable[[], Alert]) -> AlertOut:
    """Run a transition, commit, broadcast; 404 for an unknown alert (or another site's, for a user limited to
    sites), 409 for an impossible transition."""
    found = db.get(Alert, alert_id)
    if found is None or not user.may_see(found.site):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}")
    try:
        alert = change()
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}") from None
    except TransitionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    db.commit()
    db.refresh(alert)
    broadcast_alerts(ctx, [alert])
    return alert_out(alert, ctx.facility, lang)
