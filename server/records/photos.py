"""Photos of the records: what an inspection found (per item) and a rectification's close-out evidence. The chain
holds each photo's SHA-256, so a photo swapped in the database shows as a break."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Inspection, RecordPhoto, Rectification
from server.records.chain import append

PHOTO = "photo"
MAX_BYTES = 5 * 1024 * 1024  # a phone photo, resized or not; more is a mistake (or a video)
MAGIC = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}


class PhotoError(ValueError):
    """A photo that cannot be attached as given (the API answers 422, or 404 for a record that is not there)."""


def body(row: RecordPhoto) -> dict[str, Any]:
    """What a photo's link holds: the hash of the bytes as they are now (so changed bytes differ from the link)."""
    return {"site": row.site, "record": row.record, "ref": row.ref, "item": row.item, "media_type": row.media_type,
            "sha256": hashlib.sha256(row.data).hexdigest(), "bytes": len(row.data), "by": row.by, "at": row.at}


def attach(session: Session, record: str, ref: int, data: bytes, media_type: str, *, by: str, at: datetime,
           item: str | None = None) -> RecordPhoto:
    """Attach a JPEG or PNG to an inspection (by id) or a rectification task (by number)."""
    site = _site_of(session, record, ref, item)
    kind = media_type.split(";")[0].strip().lower()
    if kind not in MAGIC:
        raise PhotoError(f"send a JPEG or PNG photo (Content-Type image/jpeg or image/png), not {kind or 'nothing'}")
    if not data.startswith(MAGIC[kind]):
        raise PhotoError(f"the body is not a {kind} image")
    if len(data) > MAX_BYTES:
        raise PhotoError(f"a photo may have at most {MAX_BYTES // (1024 * 1024)} MB, this one has {len(data)} bytes")
    row = RecordPhoto(site=site, record=record, ref=ref, item=item, media_type=kind,
                      sha256=hashlib.sha256(data).hexdigest(), data=data, by=by, at=at)
    session.add(row)
    session.flush()
    append(session, site=site, kind=PHOTO, ref=str(row.id), at=at, body=body(row))
    return row


def _site_of(session: Session, record: str, ref: int, item: str | None) -> str:
    """The site of the record the photo is for (LookupError when there is none; PhotoError for a wrong item)."""
    if record == "inspection":
        found = session.get(Inspection, ref)
        if found is None:
            raise LookupError(f"no inspection {ref}")
        if item is not None and item not in {r["item"] for r in found.results}:
            raise PhotoError(f"inspection {ref} has no item {item!r}")
        return found.site
    task = session.scalars(select(Rectification).where(Rectification.task == ref).limit(1)).first()
    if task is None:
        raise LookupError(f"no rectification task {ref}")
    return task.site


def listed(session: Session, record: str, refs: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The photos of some records: per ref, each photo's id, item, when and who (not the bytes)."""
    out: dict[int, list[dict[str, Any]]] = {ref: [] for ref in refs}
    if refs:
        rows = session.execute(select(RecordPhoto.id, RecordPhoto.ref, RecordPhoto.item, RecordPhoto.at,
                                      RecordPhoto.by).where(RecordPhoto.record == record, RecordPhoto.ref.in_(refs))
                               .order_by(RecordPhoto.id))
        for ident, ref, item, at, by in rows:
            out[ref].append({"id": ident, "item": item, "at": at, "by": by,
                             "url": f"/api/v1/records/photos/{ident}"})
    return out
