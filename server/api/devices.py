"""Devices API: the registry with each device's latest state, and the dead letters of bad input."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from server.api.deps import Ctx, Db, Lang, User_
from server.api.errors import API, documented
from server.models import DeadLetter, DeviceState, Edge
from server.views import DeviceOut, device_out

router = APIRouter(prefix="/api/v1", tags=["devices"], responses=documented(*API))


class DeadLetterOut(BaseModel):
    """A message that could not be used, and why."""

    id: int
    received_at: datetime
    site: str | None
    device: str | None
    topic: str
    reason: str
    raw: str


class EdgeOut(BaseModel):
    """A site's edge agent."""

    site: str
    online: bool
    status_at: datetime | None
    heartbeat_at: datetime | None
    info: dict[str, object]


@router.get("/devices", response_model=list[DeviceOut])
def devices(db: Db, ctx: Ctx, user: User_, lang: Lang, site: str | None = None) -> list[DeviceOut]:
    """Every device of the facility file with last seen, online, battery, latest reading, rejected count."""
    query = select(DeviceState).order_by(DeviceState.site, DeviceState.device)
    if site:
        query = query.where(DeviceState.site == site)
    return [device_out(row, ctx.facility, lang) for row in db.scalars(query)]


@router.get("/dead-letters", response_model=list[DeadLetterOut])
def dead_letters(db: Db, user: User_, device: str | None = None, site: str | None = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[DeadLetterOut]:
    """Rejected messages, newest first, with the reason and the raw payload (truncated)."""
    query = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
    if device:
        query = query.where(DeadLetter.device == device)
    if site:
        query = query.where(DeadLetter.site == site)
    return [DeadLetterOut.model_validate(row, from_attributes=True) for row in db.scalars(query)]


@router.get("/edges", response_model=list[EdgeOut])
def edges(db: Db, user: User_) -> list[EdgeOut]:
    """Each site's edge: online, last status and heartbeat."""
    return [EdgeOut.model_validate(row, from_attributes=True) for row in db.scalars(select(Edge))]
