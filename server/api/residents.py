"""Resident view API: every bed's night in one line, and one bed's night in full (exits, time out of bed, turns,
vitals, alerts). Read-only, for every role, within the sites the user is granted."""

from typing import Any

from fastapi import APIRouter, HTTPException, status

from devices.facility import Site
from server.api.deps import Ctx, Db, Lang, User_, chosen_site, visible_site, visible_sites
from server.api.errors import API, documented
from server.auth.tokens import Principal
from server.context import Context
from server.residents import bed_night

router = APIRouter(prefix="/api/v1", tags=["residents"], responses=documented(*API))


@router.get("/beds")
def beds(db: Db, ctx: Ctx, user: User_, lang: Lang, site: str | None = None) -> list[dict[str, Any]]:
    """Each bed of a site (default: every site the user may see): state now, exits and time out of bed tonight,
    last turn and turn due, latest vitals, how many alerts tonight."""
    chosen = visible_site(user, site, ctx)
    now = ctx.clock()
    return [bed_night(db, site=s, bed=bed, now=now, language=lang, snapshots=False).summary()
            for s in (ctx.facility.site_by_id[i] for i in ([chosen] if chosen else visible_sites(user, ctx)))
            for bed in s.bed_by_id]


@router.get("/beds/{bed}")
def bed(bed: str, db: Db, ctx: Ctx, user: User_, lang: Lang, site: str | None = None) -> dict[str, Any]:
    """One bed's night (default site: the first the user may see): each exit, each alert, with its snapshot link
    for the roles that may see snapshots."""
    found = site_of_bed(ctx, user, site, bed)
    return bed_night(db, site=found, bed=bed, now=ctx.clock(), language=lang,
                     snapshots=user.role in ctx.settings.snapshot_roles).detail()


def site_of_bed(ctx: Context, user: Principal, site: str | None, bed: str) -> Site:
    """As `chosen_site`, and the site must hold the bed (else 404)."""
    found = chosen_site(ctx, user, site)
    if bed not in found.bed_by_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no bed {bed} at site {found.id}")
    return found
