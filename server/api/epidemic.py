"""Epidemic API: a manager switches the mode per site; staff record health checks and disinfection rounds while
it is on; anyone who may see the site reads the mode, the records and the day's status (due, done, missed)."""

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field, StringConstraints

from devices.facility import Site
from server.api.deps import Actor, Ctx, Db, Lang, User_, visible_site, visible_sites
from server.api.errors import API, documented
from server.auth.tokens import Principal
from server.auth.users import MANAGERS
from server.context import Context
from server.live import broadcast_alerts
from server.models import Alert
from server.records import epidemic
from server.records.epidemic import EpidemicError, ModeError

router = APIRouter(prefix="/api/v1/records", tags=["records"], responses=documented(*API, 409))
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class SwitchIn(BaseModel):
    """Epidemic mode on or off, and why."""

    on: bool = Field(strict=True)  # "false" as a string must not switch anything on
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class CheckIn(BaseModel):
    """One resident's health check, by bed."""

    bed: str = Field(min_length=1, max_length=64)
    temperature_c: float = Field(allow_inf_nan=False)  # the range (34–43 °C) is the service's: one message
    symptoms: Text | None = None


class DisinfectionIn(BaseModel):
    """A disinfection round done."""

    round: str = Field(min_length=1, max_length=64)
    agent: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    note: Text | None = None


def _site(ctx: Context, user: Principal, site: str) -> Site:
    """The named site, checked against the facility (404) and the user's grant (403)."""
    return ctx.facility.site_by_id[str(visible_site(user, site, ctx))]


def _day(site: Site, ctx: Context, day: date | None) -> tuple[date, datetime, datetime]:
    """The day asked for (default: today at the site) and its start and end as instants."""
    when = day or site.local(ctx.clock()).date()
    start = datetime.combine(when, time(0), tzinfo=site.zone)
    return when, start, datetime.combine(when + timedelta(days=1), time(0), tzinfo=site.zone)


def _after_commit(ctx: Context, alerts: list[Alert]) -> None:
    """A fever alert goes to the screens and into escalation now, not at the next round."""
    if alerts and ctx.notifier is not None:
        ctx.notifier.wake()
    broadcast_alerts(ctx, alerts)


@router.get("/epidemic")
def modes(db: Db, ctx: Ctx, user: User_) -> list[dict[str, Any]]:
    """The epidemic mode of every site the user may see."""
    return [epidemic.mode(db, ctx.facility.site_by_id[s]).as_dict() for s in visible_sites(user, ctx)]


@router.get("/epidemic/{site}")
def mode(site: str, db: Db, ctx: Ctx, user: User_) -> dict[str, Any]:
    """A site's epidemic mode now (the newest switch, else the facility file's `enabled`) and every switch."""
    found = _site(ctx, user, site)
    return {**epidemic.mode(db, found).as_dict(),
            "switches": [{"id": s.id, **epidemic.switch_body(s)} for s in epidemic.switches(db, found.id)]}


@router.post("/epidemic/{site}", status_code=status.HTTP_201_CREATED)
def switch(site: str, body: SwitchIn, db: Db, ctx: Ctx, user: User_) -> dict[str, Any]:
    """Switch a site's epidemic mode on or off (managers); the switch is chained."""
    if user.role not in MANAGERS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "managers only switch epidemic mode")
    found = _site(ctx, user, site)
    try:
        epidemic.switch(db, found, on=body.on, reason=body.reason, by=user.username, at=ctx.clock())
    except ModeError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except EpidemicError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    db.commit()
    return epidemic.mode(db, found).as_dict()


@router.post("/epidemic/{site}/health-checks", status_code=status.HTTP_201_CREATED)
def record_check(site: str, body: CheckIn, db: Db, ctx: Ctx, user: Actor) -> dict[str, Any]:
    """Record a resident's temperature and symptoms; `fever_c` or more raises `fever` (high) for the bed."""
    found = _site(ctx, user, site)
    try:
        row, alerts = epidemic.record_check(db, found, bed=body.bed, temperature_c=body.temperature_c,
                                            symptoms=body.symptoms, by=user.username, at=ctx.clock())
    except ModeError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except EpidemicError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    db.commit()
    _after_commit(ctx, alerts)
    return {"id": row.id, **epidemic.check_body(row), "alerts": [a.id for a in alerts if not a.cleared]}


@router.get("/epidemic/{site}/health-checks")
def list_checks(site: str, db: Db, ctx: Ctx, user: User_, lang: Lang, day: date | None = None) -> dict[str, Any]:
    """A day's health checks (default: today at the site), oldest first."""
    found = _site(ctx, user, site)
    when, start, end = _day(found, ctx, day)
    rows = epidemic.checks_between(db, found.id, start, end)
    return {"site": found.id, "day": when.isoformat(),
            "checks": [{"id": r.id, **epidemic.check_body(r), "bed_name": _bed_name(found, r.bed, lang)}
                       for r in rows]}


def _bed_name(site: Site, bed: str, language: str) -> str:
    """A bed's display name (the bed id when it has none, or is gone from the file)."""
    found = site.bed_by_id.get(bed)
    return found.name.get(language) if found and found.name else bed


@router.post("/epidemic/{site}/disinfections", status_code=status.HTTP_201_CREATED)
def record_disinfection(site: str, body: DisinfectionIn, db: Db, ctx: Ctx, user: Actor) -> dict[str, Any]:
    """Record a disinfection round done (for the day whose round time is nearest)."""
    found = _site(ctx, user, site)
    try:
        row = epidemic.record_disinfection(db, found, round_id=body.round, agent=body.agent, note=body.note,
                                           by=user.username, at=ctx.clock())
    except ModeError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except EpidemicError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    db.commit()
    return {"id": row.id, **epidemic.disinfection_body(row)}


@router.get("/epidemic/{site}/disinfections")
def list_disinfections(site: str, db: Db, ctx: Ctx, user: User_, day: date | None = None) -> dict[str, Any]:
    """The records of a day's disinfection rounds (default: today at the site)."""
    found = _site(ctx, user, site)
    when, _, _ = _day(found, ctx, day)
    return {"site": found.id, "day": when.isoformat(),
            "disinfections": [{"id": d.id, **epidemic.disinfection_body(d)}
                              for d in epidemic.disinfections_on(db, found.id, when)]}


@router.get("/epidemic/{site}/day")
def day_status(site: str, db: Db, ctx: Ctx, user: User_, lang: Lang, day: date | None = None) -> dict[str, Any]:
    """A day's status (default: today at the site): each check time (off, upcoming, due, done, missed) with the
    beds checked, missing and with fever; each disinfection round (off, upcoming, due, done, late, missed)."""
    found = _site(ctx, user, site)
    when, _, _ = _day(found, ctx, day)
    slots, rounds = epidemic.day_status(db, found, when, ctx.clock())
    return {"site": found.id, "day": when.isoformat(), "on": epidemic.mode(db, found).on,
            "health_checks": [s.as_dict() for s in slots],
            "disinfection": [r.as_dict(found, lang) for r in rounds]}
