"""Cameras API: each camera's health and counters, the sites' live coverage, and alert snapshots."""

from typing import Any

from fastapi import APIRouter, HTTPException, Response, status

from server.api.deps import Ctx, Db, Lang, User_
from server.api.errors import API, documented
from server.cameras import cameras_out, stored_rows
from server.models import Snapshot

router = APIRouter(prefix="/api/v1", tags=["cameras"], responses=documented(*API))


@router.get("/cameras")
def cameras(db: Db, ctx: Ctx, user: User_, lang: Lang, site: str | None = None) -> list[dict[str, Any]]:
    """Per site: every camera with its health (ok, offline, frozen, covered, blurred, moved, or null before its
    first report) and counters, and the coverage (zones a working camera sees, of the zones cameras should see)."""
    sites = [s for s in ctx.facility.sites if site in (None, s.id)]
    if site and not sites:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {site}")
    return [cameras_out(s, stored_rows(db, s), lang) for s in sites]


@router.get("/snapshots/{ident}", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}, "description": "the JPEG"}})
def snapshot(ident: str, db: Db, ctx: Ctx, user: User_) -> Response:
    """A camera's picture of an alert, for the roles the settings allow (never kept past its site's
    `snapshot_days`); privacy areas were blurred at the edge before it was encoded."""
    if user.role not in ctx.settings.snapshot_roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "your role may not see camera snapshots")
    found = db.get(Snapshot, ident)
    if found is None or found.expires_at <= ctx.clock():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such snapshot (or it has expired)")
    # Health data: no shared cache may keep it.
    return Response(found.jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})
