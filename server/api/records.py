"""Records API: fire drill records, and the audit chain's check (read by any logged-in role)."""

from dataclasses import asdict
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field

from server.api.deps import Actor, Ctx, Db, User_
from server.records import drills
from server.records.cold_log import as_csv, cold_log
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


@router.get("/cold-storage", responses={200: {"content": {"text/csv": {}}}})
def cold_storage(db: Db, ctx: Ctx, user: User_, site: str | None = None, day: date | None = None,
                 format: Literal["json", "csv"] = "json") -> Any:  # noqa: A002 (the query parameter's name)
    """The cold-storage log of a site's day (default: today at the site): each fridge and freezer's reading at
    08:00, 14:00 and 20:00 (the nearest within 30 min, in range or not) and every excursion with its alert."""
    found = ctx.facility.site_by_id.get(site or ctx.facility.sites[0].id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {site}")
    when = day or found.local(ctx.clock()).date()
    logs = cold_log(db, found, when)
    if format == "csv":
        name = f"cold-storage-{found.id}-{when.isoformat()}.csv"
        return Response(as_csv(found, when, logs), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return {"site": found.id, "day": when.isoformat(), "cabinets": [asdict(log) for log in logs]}
