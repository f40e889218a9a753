"""The roster as it stands, a manager's change to a shift's people, and the handovers at shift changes."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from server import duty
from server.api.deps import Ctx, Db, Lang, User_
from server.api.errors import API, documented
from server.auth.tokens import Principal
from server.auth.users import MANAGERS
from server.models import Handover, RosterChange

router = APIRouter(prefix="/api/v1", tags=["duty"], responses=documented(*API))


class ShiftIn(BaseModel):
    """Who works a shift from now on."""

    staff: list[str] = Field(min_length=1, max_length=50)
    supervisor: str | None = None


class HandoverOut(BaseModel):
    """A shift change and what was handed over."""

    id: int
    site: str
    at: datetime
    from_shift: str
    to_shift: str
    summary: dict[str, Any]


def manager(user: User_) -> Principal:
    """Managers and administrators only."""
    if user.role not in MANAGERS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only managers change the roster")
    return user


@router.get("/roster")
def get_roster(db: Db, ctx: Ctx, user: User_, lang: Lang, site: str | None = None) -> dict[str, Any]:
    """Every shift with its people (the facility file's, or a manager's change), and who is on duty now."""
    found = _site(ctx, site)
    changes = duty.latest_changes(db)
    current = duty.roster(found, changes)
    if current is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"site {found.id} has no roster")
    now_on = duty.on_duty(found, changes, ctx.clock())
    shifts = []
    for shift in current.shifts:
        change = changes.get((found.id, shift.id))
        shifts.append({"id": shift.id, "name": shift.name.get(lang), "start": shift.start.strftime("%H:%M"),
                       "end": shift.end.strftime("%H:%M"), "staff": shift.staff, "supervisor": shift.supervisor,
                       "changed_by": change.by if change else None,
                       "changed_at": change.at.isoformat() if change else None})
    return {"site": found.id, "on_duty": now_on.id if now_on else None, "shifts": shifts}


@router.put("/roster/{shift}")
def change_shift(shift: str, body: ShiftIn, db: Db, ctx: Ctx, user: Annotated[Principal, Depends(manager)],
                 site: str | None = None) -> dict[str, Any]:
    """Change a shift's people; recorded with who and when, and used from the next notification on."""
    found = _site(ctx, site)
    if found.roster is None or shift not in {s.id for s in found.roster.shifts}:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no shift {shift}")
    known = {s.id for s in found.staff}
    unknown = sorted(set(body.staff) - known) + ([body.supervisor] if body.supervisor and body.supervisor not in known
                                                 else [])
    if unknown:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"no staff {', '.join(unknown)} in this site")
    db.add(RosterChange(site=found.id, shift=shift, staff=body.staff, supervisor=body.supervisor,
                        by=user.username, at=ctx.clock()))
    db.commit()
    return get_roster(db, ctx, user, ctx.language, found.id)


@router.get("/handovers", response_model=list[HandoverOut])
def handovers(db: Db, ctx: Ctx, user: User_, site: str | None = None,
              limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[Handover]:
    """The latest shift handovers, newest first."""
    query = select(Handover).where(Handover.site == _site(ctx, site).id).order_by(Handover.at.desc()).limit(limit)
    return list(db.scalars(query))


def _site(ctx: Ctx, site: str | None) -> Any:
    """The named site, or the first; 404 for an unknown one."""
    found = ctx.facility.site_by_id.get(site or ctx.facility.sites[0].id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {site}")
    return found
