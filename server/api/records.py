"""Records API: fire drill records, and the audit chain's check (read by any logged-in role)."""

import asyncio
import io
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

import segno
from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from server.api.deps import Actor, Ctx, Db, Lang, User_, chosen_site, visible_site, visible_sites
from server.api.errors import API, documented
from server.auth.users import MANAGERS
from server.live import broadcast_alerts
from server.models import Inspection, RecordPhoto
from server.records import cold_manual, drills, food, inspections, patrols, photos
from server.records.cold_log import as_csv, cold_log
from server.records.district import site_summary
from server.records.inspections import InspectionError
from server.records.verify import verify

router = APIRouter(prefix="/api/v1/records", tags=["records"], responses=documented(*API, 409, 413))


@router.get("/chain")
def chain(db: Db, ctx: Ctx, user: User_, site: str | None = None) -> list[dict[str, Any]]:
    """Per site: the chain's links and head hash, intact or not, and the first break (link and reason). The
    records it covers are checked too: a row changed in the database by hand is a break."""
    if site is not None:
        return [check.as_dict() for check in verify(db, visible_site(user, site, ctx))]
    granted = set(visible_sites(user, ctx))
    return [check.as_dict() for check in verify(db) if check.site in granted]


class DrillIn(BaseModel):
    """What the drill's leader records afterwards (each call is a new version of the record)."""

    participants: list[str] = Field(default_factory=list, max_length=200)
    residents_evacuated: int | None = Field(default=None, ge=0, le=10_000)
    problems: str | None = Field(default=None, max_length=5000)


@router.get("/drills")
def list_drills(db: Db, ctx: Ctx, user: User_, site: str | None = None,
                drill: int | None = None) -> list[dict[str, Any]]:
    """Fire drills, newest first: the newest version of each record (scenario, where, shift, who started it,
    all-clear, evacuation time in seconds, participants, residents evacuated, problems) and the alarms the
    sensors raised during it; `?drill=` for one drill (the suppression's id)."""
    granted = set(visible_sites(user, ctx))
    return [view.as_dict() for view in drills.drills(db, visible_site(user, site, ctx))
            if view.record.site in granted and drill in (None, view.record.drill)]


@router.post("/drills/{drill}")
def record_drill(drill: int, body: DrillIn, db: Db, ctx: Ctx, user: Actor) -> dict[str, Any]:
    """Record who took part, residents evacuated and problems found: a new version; the old one stays."""
    record = drills.current(db, drill)
    if record is not None:
        visible_site(user, record.site, ctx)
    if record is None or drills.revise(db, drill, user.username, ctx.clock(), **body.model_dump()) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no drill {drill}")
    db.commit()
    [view] = [v for v in drills.drills(db) if v.record.drill == drill]
    return view.as_dict()


@router.get("/cold-storage", responses={200: {"content": {"text/csv": {}}}})
def cold_storage(db: Db, ctx: Ctx, user: User_, site: str | None = None, day: date | None = None,
                 format: Literal["json", "csv"] = "json") -> Any:  # noqa: A002 (the query parameter's name)
    """The cold-storage log of a site's day (default: today at the site): each fridge and freezer's reading at
    08:00, 14:00 and 20:00 (the nearest within 30 min, in range or not) and every excursion with its alert."""
    found = chosen_site(ctx, user, site)
    when = day or found.local(ctx.clock()).date()
    logs = cold_log(db, found, when)
    if format == "csv":
        name = f"cold-storage-{found.id}-{when.isoformat()}.csv"
        return Response(as_csv(found, when, logs), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return {"site": found.id, "day": when.isoformat(), "cabinets": [asdict(log) for log in logs]}


@router.get("/patrols")
def patrol_rounds(db: Db, ctx: Ctx, user: User_, lang: Lang, site: str | None = None,
                  day: date | None = None) -> dict[str, Any]:
    """A day's patrol rounds (default: today at the site): window, each checkpoint's first check-in inside it
    (when, who), and the state: pending, done or missed."""
    found = chosen_site(ctx, user, site)
    when = day or found.local(ctx.clock()).date()
    rounds = patrols.day_status(db, found, when, ctx.clock())
    return {"site": found.id, "day": when.isoformat(), "rounds": [r.as_dict(lang) for r in rounds]}


@router.get("/patrols/checkpoints")
def patrol_checkpoints(ctx: Ctx, user: User_, lang: Lang, site: str | None = None) -> list[dict[str, Any]]:
    """The checkpoints with the link each one's QR code holds (managers: whoever has a link can check in)."""
    if user.role not in MANAGERS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "managers only: the links are what the QR codes prove")
    found = chosen_site(ctx, user, site)
    base = ctx.settings.link_base()
    return [{"checkpoint": c.id, "name": c.name.get(lang), "room": c.room,
             "link": base + patrols.link(ctx.settings.signing_key(), found.id, c.id),
             "qr": f"/api/v1/records/patrols/checkpoints/{c.id}/qr.svg?site={found.id}"}
            for c in found.patrols.checkpoints]


@router.get("/patrols/checkpoints/{checkpoint}/qr.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}})
def patrol_qr(checkpoint: str, ctx: Ctx, user: User_, site: str | None = None) -> Response:
    """The QR code to print and put on the wall at a checkpoint (managers)."""
    if user.role not in MANAGERS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "managers only: the links are what the QR codes prove")
    found = chosen_site(ctx, user, site)
    if checkpoint not in {c.id for c in found.patrols.checkpoints}:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no checkpoint {checkpoint}")
    url = ctx.settings.link_base() + patrols.link(ctx.settings.signing_key(), found.id, checkpoint)
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=8, border=4)
    return Response(out.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "private, no-store"})


class ResultIn(BaseModel):
    """One item of a form: passed, or failed with what is wrong (and who is to fix it)."""

    item: str = Field(max_length=64)
    ok: bool
    note: str | None = Field(default=None, max_length=2000)
    owner: str | None = Field(default=None, max_length=64)


class InspectionIn(BaseModel):
    """A filled-in inspection form."""

    site: str | None = None
    template: str = Field(max_length=64)
    results: list[ResultIn] = Field(min_length=1, max_length=200)
    notes: str | None = Field(default=None, max_length=5000)


class CloseIn(BaseModel):
    """How a rectification was done."""

    evidence: str = Field(min_length=1, max_length=5000)


@router.post("/inspections", status_code=status.HTTP_201_CREATED)
def record_inspection(body: InspectionIn, db: Db, ctx: Ctx, user: Actor) -> dict[str, Any]:
    """Record an inspection; every failed item opens a rectification task (owner: as given, else the inspector;
    due: the form's `fix_within` later)."""
    found = chosen_site(ctx, user, body.site)
    try:
        row, opened = inspections.record(db, found, body.template, [r.model_dump() for r in body.results],
                                         by=user.username, at=ctx.clock(), notes=body.notes)
    except InspectionError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    db.commit()
    return {"id": row.id, **inspections.inspection_body(row),
            "tasks": [inspections.task_body(t) for t in opened]}


@router.get("/inspections")
def list_inspections(db: Db, ctx: Ctx, user: User_, site: str | None = None) -> list[dict[str, Any]]:
    """Inspections, newest first, each with its photos (id, item, when, who, url)."""
    query = select(Inspection).order_by(Inspection.at.desc())
    if site:
        query = query.where(Inspection.site == visible_site(user, site, ctx))
    else:
        query = query.where(Inspection.site.in_(visible_sites(user, ctx)))
    rows = list(db.scalars(query.limit(500)))
    pictures = photos.listed(db, "inspection", [r.id for r in rows])
    return [{"id": r.id, **inspections.inspection_body(r), "photos": pictures[r.id]} for r in rows]


@router.get("/rectifications")
def list_rectifications(db: Db, ctx: Ctx, user: User_, site: str | None = None,
                        status_: Literal["open", "closed"] | None = Query(None, alias="status"),
                        ) -> list[dict[str, Any]]:
    """Rectification tasks (their newest version): problem, owner, due, open or closed, evidence, photos."""
    granted = set(visible_sites(user, ctx))
    found = [t for t in inspections.tasks(db, visible_site(user, site, ctx), status_) if t.site in granted]
    pictures = photos.listed(db, "rectification", [t.task for t in found])
    return [{**inspections.task_body(t), "photos": pictures[t.task]} for t in found]


@router.post("/rectifications/{task}/close")
def close_rectification(task: int, body: CloseIn, db: Db, ctx: Ctx, user: Actor) -> dict[str, Any]:
    """Close a task with its evidence (a new version; the open one stays as it was)."""
    found = inspections.latest(db, task)
    if found is not None:
        visible_site(user, found.site, ctx)
    try:
        row = inspections.close(db, task, evidence=body.evidence, by=user.username, at=ctx.clock())
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no rectification task {task}") from None
    except InspectionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    db.commit()
    return inspections.task_body(row)


class SampleIn(BaseModel):
    """A dish's sample going into the sample fridge."""

    site: str | None = None
    meal: str = Field(max_length=64)
    dish: str = Field(min_length=1, max_length=200)
    grams: float = Field(gt=0, le=5000)
    day: date | None = None


@router.post("/food-samples", status_code=status.HTTP_201_CREATED)
def keep_sample(body: SampleIn, db: Db, ctx: Ctx, user: Actor) -> dict[str, Any]:
    """Record a kept sample: at least the site's `sample_grams`; discard due `keep` later."""
    found = chosen_site(ctx, user, body.site)
    try:
        row = food.keep(db, found, meal=body.meal, dish=body.dish, grams=body.grams, by=user.username,
                        at=ctx.clock(), day=body.day)
    except food.SampleError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    db.commit()
    return {"id": row.id, **food.body(row)}


@router.get("/food-samples")
def list_samples(db: Db, ctx: Ctx, user: User_, site: str | None = None, day: date | None = None) -> dict[str, Any]:
    """A day's samples per meal (default: today at the site), with discard times; meals without one say so."""
    found = chosen_site(ctx, user, site)
    when = day or found.local(ctx.clock()).date()
    kept = food.samples(db, found.id, when)
    return {"site": found.id, "day": when.isoformat(),
            "meals": [{"meal": m.id, "at": m.at.isoformat(timespec="minutes"),
                       "samples": [{"id": s.id, **food.body(s)} for s in kept if s.meal == m.id]}
                      for m in found.food.meals]}


@router.get("/district")
def district(db: Db, ctx: Ctx, user: User_, days: Annotated[int, Query(ge=1, le=366)] = 30) -> list[dict[str, Any]]:
    """One line per site the user may see, over the last `days`: drills on time (last, next due, overdue
    obligations), patrol rounds done and missed, inspections recorded and forms due or missed, open and overdue
    rectifications, alerts (raised, critical, acknowledged, median minutes to acknowledge, open), and the audit
    chain's check."""
    now = ctx.clock()
    return [site_summary(db, ctx.facility.site_by_id[site], now, days) for site in visible_sites(user, ctx)]


PHOTO_BODY = {"requestBody": {"required": True, "content": {"image/jpeg": {"schema": {"type": "string",
                                                                                      "format": "binary"}},
                                                            "image/png": {"schema": {"type": "string",
                                                                                     "format": "binary"}}}}}


@router.post("/inspections/{inspection}/photos", status_code=status.HTTP_201_CREATED, openapi_extra=PHOTO_BODY)
async def inspection_photo(inspection: int, request: Request, ctx: Ctx, user: Actor,
                           item: str | None = None) -> dict[str, Any]:
    """Attach a photo (the request body, JPEG or PNG, at most 5 MB) to an inspection, or to one of its items
    (`?item=`): what the inspector saw. Its SHA-256 is chained."""
    return await _photo(request, ctx, user, "inspection", inspection, item)


@router.post("/rectifications/{task}/photos", status_code=status.HTTP_201_CREATED, openapi_extra=PHOTO_BODY)
async def rectification_photo(task: int, request: Request, ctx: Ctx, user: Actor) -> dict[str, Any]:
    """Attach a photo to a rectification task: the problem, or the evidence that it is fixed."""
    return await _photo(request, ctx, user, "rectification", task, None)


async def _photo(request: Request, ctx: Any, user: Any, record: str, ref: int, item: str | None) -> dict[str, Any]:
    """Read the body (refusing more than the limit without reading it all) and attach it."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > photos.MAX_BYTES:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"a photo may have at most "
                                f"{photos.MAX_BYTES // (1024 * 1024)} MB")
    return await asyncio.to_thread(_attach, ctx, user, record, ref, item, bytes(data),
                                   request.headers.get("content-type", ""))


def _attach(ctx: Any, user: Any, record: str, ref: int, item: str | None, data: bytes,
            media_type: str) -> dict[str, Any]:
    """Attach in a transaction of its own (the database is blocking: off the event loop)."""
    with ctx.sessions.begin() as db:
        try:
            row = photos.attach(db, record, ref, data, media_type, by=user.username, at=ctx.clock(), item=item)
        except LookupError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        except photos.PhotoError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        visible_site(user, row.site, ctx)  # raises before the commit: nothing stored for another site
        return {"id": row.id, **photos.body(row), "url": f"/api/v1/records/photos/{row.id}"}


@router.get("/photos/{photo}", response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})
def photo(photo: int, db: Db, ctx: Ctx, user: User_) -> Response:
    """A record's photo, for anyone who may see its site."""
    row = db.get(RecordPhoto, photo)
    if row is None or not user.may_see(row.site):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no photo {photo}")
    return Response(row.data, media_type=row.media_type, headers={"Cache-Control": "private, max-age=3600"})


class ColdReadingIn(BaseModel):
    """A cabinet's temperature read by hand."""

    site: str | None = None
    cabinet: str = Field(max_length=64)
    temperature_c: float = Field(ge=-40, le=40)


@router.post("/cold-readings", status_code=status.HTTP_201_CREATED)
def cold_reading(body: ColdReadingIn, db: Db, ctx: Ctx, user: Actor) -> dict[str, Any]:
    """Write down a cabinet's temperature where no sensor reads it (`food.cabinets`); out of the site's limits it
    raises `cold_storage` at once, back inside them clears it. It appears in the cold-storage log."""
    found = chosen_site(ctx, user, body.site)
    try:
        row, alert = cold_manual.record(db, found, body.cabinet, body.temperature_c, by=user.username,
                                        at=ctx.clock())
    except cold_manual.ReadingError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    db.commit()
    if alert is not None:
        broadcast_alerts(ctx, [alert])
    return {"id": row.id, **cold_manual.body(row), "alert": alert.id if alert else None}
