"""Exports API: one kind of a site's safety records over a period, as CSV or as a PDF report that carries the
audit chain's head hash. Any logged-in role may export (inspectors read and export), inside their site grant."""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status

from server.api.deps import Ctx, Db, Lang, User_, chosen_site
from server.api.errors import API, documented
from server.records.export import ExportError, UnknownKind, check_kind, period
from server.records.export_fonts import FontMissing
from server.records.report import export_file

router = APIRouter(prefix="/api/v1/records", tags=["records"], responses=documented(*API, 503))


@router.get("/export/{kind}", response_class=Response,
            responses={200: {"content": {"text/csv": {}, "application/pdf": {}}}})
def export(kind: str, db: Db, ctx: Ctx, user: User_, lang: Lang, site: str | None = None,
           start: Annotated[date | None, Query(alias="from", description="first day; default: `to` - 29 days")] = None,
           end: Annotated[date | None, Query(alias="to", description="last day (included); default: today")] = None,
           format: Literal["csv", "pdf"] = "csv") -> Response:  # noqa: A002 (the query parameter's name)
    """drills, patrols, inspections, rectifications, food-samples, cold-storage or alerts of a site (default:
    the first one the user may see) over at most 400 days, headers in `lang`. The PDF's footer gives the
    site's audit chain when it was made: links, head hash, intact or not."""
    found = chosen_site(ctx, user, site)
    now = ctx.clock()
    try:
        check_kind(kind)
        first, last = period(found, now, start, end)
        font = str(ctx.settings.pdf_font) if ctx.settings.pdf_font else None
        content, name, media = export_file(db, found, kind, first, last, fmt=format, language=lang, now=now,
                                           font=font)
    except UnknownKind as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except ExportError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except FontMissing as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                        "Cache-Control": "private, no-store"})
