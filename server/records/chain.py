"""The audit chain: every record is appended to its site's chain as a link hashed with the link before it.

A link holds the record's canonical JSON as it was written and `hash = SHA-256(canonical(prev_hash, site, seq,
kind, ref, at, body))`. Changing a link's content breaks its hash; deleting or inserting a link breaks `seq` or
the next link's `prev_hash`; changing the record in its own table makes it differ from its link (sources.py).
The chain cannot tell that its newest links were cut off: the head hash printed on exports is what proves that.
Retention removes a chain's oldest links (with their records) as a prefix and appends a `retention` link naming
the last link removed and its hash: the chain then starts at the next link, anchored by that retention link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from server.models import ChainEntry

GENESIS = "0" * 64  # the prev_hash of a site's first link
RETENTION = "retention"  # the kind of the link a retention run appends (body: pruned_through, anchor, ...)


def iso(at: datetime) -> str:
    """An instant as the chain writes it: UTC, microseconds, 'Z'."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(body: Mapping[str, Any]) -> str:
    """The one JSON text of a record: sorted keys, no spaces, UTF-8 text as is, instants via `iso`."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=lambda v: iso(v) if isinstance(v, datetime) else str(v))


def link_hash(prev_hash: str, site: str, seq: int, kind: str, ref: str, at: datetime, body: str) -> str:
    """The hash of one link (hex SHA-256)."""
    material = canonical({"prev": prev_hash, "site": site, "seq": seq, "kind": kind, "ref": ref, "at": at,
                          "body": body})
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def append(session: Session, *, site: str, kind: str, ref: str, at: datetime, body: Mapping[str, Any]) -> ChainEntry:
    """Add a record to its site's chain, in the caller's transaction."""
    _lock(session, site)
    text = canonical(body)
    head = session.execute(select(ChainEntry.seq, ChainEntry.hash).where(ChainEntry.site == site)
                           .order_by(ChainEntry.seq.desc()).limit(1)).first()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    entry = ChainEntry(site=site, seq=seq, kind=kind, ref=ref, at=at, body=text, prev_hash=prev,
                       hash=link_hash(prev, site, seq, kind, ref, at, text))
    session.add(entry)
    session.flush()
    return entry


def _lock(session: Session, site: str) -> None:
    """Serialise appends to one site's chain until the transaction ends. PostgreSQL: an advisory lock (two
    servers, or the API and the pipeline, read the same head otherwise). SQLite: its one writer at a time does
    it (the caller has written already, so the head read below is the newest)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql_text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"audit_chain:{site}"})


@dataclass(frozen=True)
class Break:
    """Where a chain stops being trustworthy, and why."""

    site: str
    seq: int
    reason: str


def walk(session: Session, site: str) -> tuple[int, str, list[Break]]:
    """Check one site's links in order: (last seq, head hash, breaks of the chain itself)."""
    prev, expected, breaks = GENESIS, 1, []
    first = session.scalar(select(ChainEntry.seq).where(ChainEntry.site == site).order_by(ChainEntry.seq).limit(1))
    if first is not None and first > 1 and (anchor := _anchor(session, site, first - 1)) is not None:
        prev, expected = anchor, first  # the links before were removed by retention, which says so in a link
    for entry in _links(session, site):
        if entry.seq != expected:
            gap = f"link {expected} is" if entry.seq == expected + 1 else f"links {expected}-{entry.seq - 1} are"
            breaks.append(Break(site, expected, f"{gap} missing (deleted)"))
        elif entry.prev_hash != prev:
            breaks.append(Break(site, entry.seq, f"link {entry.seq} does not follow link {entry.seq - 1}"))
        elif link_hash(prev, site, entry.seq, entry.kind, entry.ref, entry.at, entry.body) != entry.hash:
            breaks.append(Break(site, entry.seq, f"link {entry.seq} ({entry.kind} {entry.ref}) was altered: "
                                                 "its hash does not match its content"))
        prev, expected = entry.hash, entry.seq + 1
    return expected - 1, prev, breaks


def _anchor(session: Session, site: str, through: int) -> str | None:
    """The hash of link `through` as the retention run that removed it recorded it, if one did."""
    for body in session.scalars(select(ChainEntry.body).where(ChainEntry.site == site,
                                                              ChainEntry.kind == RETENTION)):
        found = json.loads(body)
        if found.get("pruned_through") == through:
            return str(found["anchor"])
    return None


def _links(session: Session, site: str) -> Iterator[ChainEntry]:
    """A site's links by seq, a batch at a time."""
    query = select(ChainEntry).where(ChainEntry.site == site).order_by(ChainEntry.seq)
    yield from session.scalars(query.execution_options(yield_per=1000))


def sites(session: Session) -> list[str]:
    """The sites that have a chain."""
    return sorted(session.scalars(select(ChainEntry.site).distinct()))
