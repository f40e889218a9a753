"""Patrols: check-ins at checkpoints (from the page a checkpoint's QR code opens), the day's rounds done or
missed, and a `patrol_missed` alert when a round's window ends without every checkpoint checked in. A check-in
answers its checkpoint's checklist; a hazard noted there raises `patrol_hazard` at once."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.facility import Facility, Site
from devices.kinds import Severity
from devices.records import PatrolRound
from server.alerts import service
from server.models import Alert, PatrolCheckin
from server.records.chain import append
from server.rules.base import Raise

PATROL_CHECKIN, PATROL_MISSED, PATROL_HAZARD = "patrol_checkin", "patrol_missed", "patrol_hazard"
LOOK_BACK = timedelta(hours=6)  # rounds that ended longer ago are history, not news (a first start stays quiet)


def token(key: str, site: str, checkpoint: str) -> str:
    """The secret part of a checkpoint's QR link (valid as long as the server's secret key stays)."""
    return hmac.new(key.encode(), f"patrol:{site}:{checkpoint}".encode(), hashlib.sha256).hexdigest()[:24]


def link(key: str, site: str, checkpoint: str) -> str:
    """The path a checkpoint's QR code holds."""
    return f"/patrol/{site}/{checkpoint}?k={token(key, site, checkpoint)}"


def genuine(key: str, site: str, checkpoint: str, given: str) -> bool:
    """Whether a link's token is the checkpoint's own."""
    return hmac.compare_digest(token(key, site, checkpoint), given or "")


def body(row: PatrolCheckin) -> dict[str, Any]:
    """What a check-in's link in the audit chain holds (the checklist only where there is one, so links written
    before checklists existed still match their rows)."""
    found = {"site": row.site, "checkpoint": row.checkpoint, "at": row.at, "by": row.by}
    return {**found, "checklist": row.checklist} if row.checklist is not None else found


def check_in(session: Session, site: str, checkpoint: str, by: str, at: datetime,
             checklist: list[dict[str, Any]] | None = None) -> PatrolCheckin:
    """Record a check-in (with its checklist answered: check, ok, note) and chain it."""
    row = PatrolCheckin(site=site, checkpoint=checkpoint, by=by, at=at, checklist=checklist or None)
    session.add(row)
    session.flush()
    append(session, site=site, kind=PATROL_CHECKIN, ref=str(row.id), at=at, body=body(row))
    return row


def hazards(session: Session, row: PatrolCheckin) -> list[Alert]:
    """A `patrol_hazard` (medium) for each check of the check-in that was not ok, naming what was seen."""
    return [service.apply_raise(session, site=row.site, rule=PATROL_HAZARD, at=row.at, action=Raise(
        f"patrol-check:{row.checkpoint}:{answer['check']}", Severity.MEDIUM, None,
        {"checkpoint": row.checkpoint, "check": answer["check"], "note": answer.get("note"), "by": row.by}))
        for answer in row.checklist or () if not answer["ok"]]


@dataclass(frozen=True)
class RoundDay:
    """One round on one day: its window, the first check-in at each checkpoint inside it, and its state."""

    round: PatrolRound
    day: date
    starts: datetime
    ends: datetime
    visits: dict[str, tuple[datetime, str] | None]
    state: str  # pending, done, missed

    def as_dict(self, language: str) -> dict[str, Any]:
        """For the API."""
        return {"round": self.round.id, "name": self.round.name.get(language), "day": self.day.isoformat(),
                "starts": self.starts, "ends": self.ends, "state": self.state,
                "checkpoints": [{"checkpoint": cp, "at": v[0] if v else None, "by": v[1] if v else None}
                                for cp, v in self.visits.items()]}


def window(site: Site, patrol: PatrolRound, day: date) -> tuple[datetime, datetime]:
    """The round's window on a day (site time; an end before the start is the next morning)."""
    starts = datetime.combine(day, patrol.window.start, tzinfo=site.zone)
    ends = datetime.combine(day, patrol.window.end, tzinfo=site.zone)
    return starts, ends + timedelta(days=1) if ends <= starts else ends


def rounds_on(site: Site, visits: list[tuple[str, datetime, str]], day: date, now: datetime) -> list[RoundDay]:
    """Each round of the site on a day, from the check-ins (checkpoint, at, by) and the time now."""
    out = []
    for patrol in site.patrols.rounds:
        starts, ends = window(site, patrol, day)
        first = {cp: min(((at, by) for c, at, by in visits if c == cp and starts <= at < ends), default=None)
                 for cp in patrol.checkpoints}
        state = "done" if all(first.values()) else "missed" if now >= ends else "pending"
        out.append(RoundDay(patrol, day, starts, ends, first, state))
    return out


def day_status(session: Session, site: Site, day: date, now: datetime) -> list[RoundDay]:
    """The site's rounds on a day, from its stored check-ins."""
    start = datetime.combine(day, time(0), tzinfo=site.zone)
    rows = session.execute(select(PatrolCheckin.checkpoint, PatrolCheckin.at, PatrolCheckin.by).where(
        PatrolCheckin.site == site.id, PatrolCheckin.at >= start, PatrolCheckin.at < start + timedelta(days=2)))
    return rounds_on(site, [(c, at, by) for c, at, by in rows], day, now)


def check(session: Session, facility: Facility, now: datetime) -> list[Alert]:
    """Raise `patrol_missed` once for every round whose window ended lately without all its checkpoints."""
    raised = []
    for site in facility.sites:
        today = site.local(now).date()
        for day in (today - timedelta(days=1), today):
            for done in day_status(session, site, day, now):
                if done.state != "missed" or now - done.ends > LOOK_BACK:
                    continue
                subject = f"patrol:{done.round.id}:{day.isoformat()}"
                if session.scalar(select(Alert.id).where(Alert.site == site.id, Alert.rule == PATROL_MISSED,
                                                         Alert.subject == subject)) is not None:
                    continue  # one alert per round and day, whatever became of it
                missing = [cp for cp, v in done.visits.items() if v is None]
                details = {"round": done.round.id, "day": day.isoformat(), "missing": missing,
                           "window_end": done.ends.isoformat()}
                raised.append(service.apply_raise(session, site=site.id, rule=PATROL_MISSED, at=now,
                                                  action=Raise(subject, Severity.MEDIUM, None, details)))
    return raised

