"""Records API: fire drill records, and the audit chain's check (read by any logged-in role)."""

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from server.api.deps import Actor, Ctx, Db, User_
from server.records import drills
from server.records.verify import verify

router = APIRouter(prefix="/api/v1/records", tags=["records"])


@router.get("/chain")
def chain(db: Db, ctx: Ctx, user: User_, site: str | None = None) -> list[dict[str, Any]]:
    """Per site: the chain's links and head hash, intact or not, and the first break (link and reason). The
    records it covers are checked too: a row changed in the database by hand is a break."""
    if site and site not in {s.id for s in ctx.facility.sites}:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {site}")
    return [check.as_dict() for check in verify(db, site)]


class DrillIn(BaseModel):
    """What the drill's leader records afterwards (each call is a new version of the record)."""

    participants: list[str] = Field(default_factory=list, max_length=200)
    residents_evacuated: int | None = Field(default=None, ge=0, le=10_000)
    problems: str | None = Field(default=None, max_length=5000)


@router.get("/drills")
def list_drills(db: Db, user: User_, site: str | None = None) -> list[dict[str, Any]]:
    """Fire drills, newest first: the newest version of each record (scenario, where, shift, who started it,
    all-clear, evacuation time in seconds, participants, residents evacuated, problems) and the alarms the
    sensors raised during it."""
    return [view.as_dict() for view in drills.drills(db, site)]


@router.post("/drills/{drill}")
def record_drill(drill: int, body: DrillIn, db: Db, ctx: Ctx, user: Actor) -> dict[str, Any]:
    """Record who took part, residents evacuated and problems found: a new version; the old one stays."""
    if drills.revise(db, drill, user.username, ctx.clock(), **body.model_dump()) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no drill {drill}")
    db.commit()
    [view] = [v for v in drills.drills(db) if v.record.drill == drill]
    return view.as_dict()
