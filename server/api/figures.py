"""Response figures for managers and inspectors: how fast alerts are answered, and how many were false."""

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from server.api.deps import Ctx, Db, User_, visible_site, visible_sites
from server.api.errors import API, documented
from server.figures import figures

router = APIRouter(prefix="/api/v1", tags=["figures"], responses=documented(*API))


@router.get("/figures")
def response_figures(db: Db, ctx: Ctx, user: User_, site: str | None = None,
                     days: Annotated[float, Query(gt=0, le=366)] = 7) -> dict[str, Any]:
    """The last `days` of alerts: time to acknowledge and resolve (seconds: median, 90th percentile) per
    severity, rule, shift and person; share acknowledged within the policy's `ack_target`; escalations;
    false-alarm share per rule."""
    until = ctx.clock()
    if site is None and user.sites is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "name the site (?site=): you are granted "
                            + ", ".join(visible_sites(user, ctx)))
    return figures(db, ctx.facility, until - timedelta(days=days), until, visible_site(user, site, ctx))
