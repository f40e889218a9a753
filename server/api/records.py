"""Records API: the audit chain's check, for inspectors and managers (read-only, any logged-in role)."""

from typing import Any

from fastapi import APIRouter, HTTPException, status

from server.api.deps import Ctx, Db, User_
from server.records.verify import verify

router = APIRouter(prefix="/api/v1/records", tags=["records"])


@router.get("/chain")
def chain(db: Db, ctx: Ctx, user: User_, site: str | None = None) -> list[dict[str, Any]]:
    """Per site: the chain's links and head hash, intact or not, and the first break (link and reason). The
    records it covers are checked too: a row changed in the database by hand is a break."""
    if site and site not in {s.id for s in ctx.facility.sites}:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {site}")
    return [check.as_dict() for check in verify(db, site)]
