"""`carewatch records verify` and the inspector's check: each site's chain intact, or where it first breaks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Alert, DrillRecord
from server.records.chain import Break, sites, walk
from server.records.sources import check_records


@dataclass(frozen=True)
class SiteCheck:
    """One site's verdict: how many links, the head hash, and every break found (first one first)."""

    site: str
    links: int
    head: str
    breaks: list[Break] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """No break anywhere."""
        return not self.breaks

    def as_dict(self) -> dict[str, Any]:
        """For the API."""
        first = self.breaks[0] if self.breaks else None
        return {"site": self.site, "links": self.links, "head": self.head, "intact": self.intact,
                "breaks": len(self.breaks),
                "first_break": {"seq": first.seq, "reason": first.reason} if first else None}


def verify(session: Session, site: str | None = None) -> list[SiteCheck]:
    """Check every site's chain (or one site's) and the records it covers."""
    names = [site] if site else sorted(set(sites(session)) | set(session.scalars(select(Alert.site).distinct()))
                                       | set(session.scalars(select(DrillRecord.site).distinct())))
    checks = []
    for name in names:
        links, head, breaks = walk(session, name)
        breaks += check_records(session, name, links)
        checks.append(SiteCheck(name, links, head, sorted(breaks, key=lambda b: b.seq)))
    return checks
