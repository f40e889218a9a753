"""Epidemic mode (疫情防控): a manager switches it on or off per site (each switch chained; the newest is the mode,
else the facility file's `enabled`). While it is on, every resident is checked at each of the file's check times
(temperature, symptoms), a reading of `fever_c` or more raises `fever` at once, and each disinfection round is
done by its person; a check time or round with nothing recorded `grace` after it raises `health_check_missed` or
`disinfection_missed` once. Residents appear by bed and care-profile id only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.facility import Facility, Site
from devices.kinds import Severity
from devices.records import DisinfectionRound
from server.alerts import service
from server.models import Alert, Disinfection, EpidemicSwitch, HealthCheck
from server.records.chain import append
from server.rules.base import Clear, Raise

EPIDEMIC_MODE, HEALTH_CHECK, DISINFECTION = "epidemic_mode", "health_check", "disinfection"  # chain kinds
HEALTH_CHECK_MISSED, DISINFECTION_MISSED, FEVER = "health_check_missed", "disinfection_missed", "fever"
LOOK_BACK = timedelta(hours=6)  # deadlines longer ago are history, not news (a first start stays quiet)
BODY_TEMPERATURE = (34.0, 43.0)  # °C; outside it the thermometer is wrong, not the resident


class EpidemicError(ValueError):
    """A record that cannot be kept as given (the API answers 422 with the message)."""


class ModeError(ValueError):
    """Not possible in the mode the site is in: recording while it is off, switching to what it is (409)."""


def switch_body(row: EpidemicSwitch) -> dict[str, Any]:
    """What a switch's link holds."""
    return {"site": row.site, "on": row.enabled, "reason": row.reason, "by": row.by, "at": row.at}


def check_body(row: HealthCheck) -> dict[str, Any]:
    """What a health check's link holds."""
    return {"site": row.site, "bed": row.bed, "resident": row.resident, "temperature_c": row.temperature_c,
            "fever": row.fever, "symptoms": row.symptoms, "by": row.by, "at": row.at}


def disinfection_body(row: Disinfection) -> dict[str, Any]:
    """What a disinfection record's link holds."""
    return {"site": row.site, "round": row.round, "day": row.day, "by": row.by, "at": row.at, "agent": row.agent,
            "note": row.note}


@dataclass(frozen=True)
class Mode:
    """A site's epidemic mode now: on or off, and the switch that made it so (None: the facility file's)."""

    site: str
    on: bool
    switch: EpidemicSwitch | None

    def as_dict(self) -> dict[str, Any]:
        """For the API."""
        s = self.switch
        return {"site": self.site, "on": self.on, "source": "switch" if s else "facility file",
                "since": s.at if s else None, "by": s.by if s else None, "reason": s.reason if s else None}


def switches(session: Session, site: str) -> list[EpidemicSwitch]:
    """A site's switches, oldest first."""
    return list(session.scalars(select(EpidemicSwitch).where(EpidemicSwitch.site == site)
                                .order_by(EpidemicSwitch.at, EpidemicSwitch.id)))


def on_at(site: Site, history: Sequence[EpidemicSwitch], at: datetime) -> bool:
    """Whether the mode was on at an instant: the newest switch by then, else the facility file's `enabled`."""
    before = [s for s in history if s.at <= at]
    return before[-1].enabled if before else site.epidemic.enabled


def mode(session: Session, site: Site) -> Mode:
    """The site's mode now."""
    history = switches(session, site.id)
    return Mode(site.id, history[-1].enabled if history else site.epidemic.enabled, history[-1] if history else None)


def switch(session: Session, site: Site, *, on: bool, reason: str, by: str, at: datetime) -> EpidemicSwitch:
    """Switch the mode on or off and chain the switch."""
    if not reason.strip():
        raise EpidemicError("say why the mode is switched (reason)")
    if mode(session, site).on == on:
        raise ModeError(f"epidemic mode is already {'on' if on else 'off'} at site {site.id}")
    row = EpidemicSwitch(site=site.id, enabled=on, reason=reason.strip(), by=by, at=at)
    session.add(row)
    session.flush()
    append(session, site=site.id, kind=EPIDEMIC_MODE, ref=str(row.id), at=at, body=switch_body(row))
    return row


def residents(site: Site) -> dict[str, str]:
    """The care-profile id of the resident in each occupied bed, by bed id (a bed without one is empty)."""
    return {b.id: b.care_profile for r in site.rooms() for b in r.beds if b.care_profile}


def _require_on(session: Session, site: Site) -> None:
    """Records are kept only while the mode is on: a fever reading must never go in without its alert."""
    if not mode(session, site).on:
        raise ModeError(f"epidemic mode is off at site {site.id}: a manager switches it on first")


def record_check(session: Session, site: Site, *, bed: str, temperature_c: float, symptoms: str | None, by: str,
                 at: datetime) -> tuple[HealthCheck, list[Alert]]:
    """Record a resident's check and chain it; a fever raises `fever` for the bed at once, a normal reading
    clears it. The alerts it changed come back with the row."""
    low, high = BODY_TEMPERATURE
    if not low <= temperature_c <= high:
        raise EpidemicError(f"a body temperature of {temperature_c:g} °C is outside {low:g}–{high:g} °C: "
                            "check the thermometer and measure again")
    if bed not in site.bed_by_id:
        raise EpidemicError(f"no bed {bed!r} at site {site.id}")
    if bed not in residents(site):
        raise EpidemicError(f"bed {bed} has no resident (no care_profile in the facility file)")
    _require_on(session, site)
    row = HealthCheck(site=site.id, bed=bed, resident=residents(site)[bed], temperature_c=temperature_c,
                      fever=temperature_c >= site.epidemic.fever_c, symptoms=(symptoms or "").strip() or None,
                      by=by, at=at)
    session.add(row)
    session.flush()
    append(session, site=site.id, kind=HEALTH_CHECK, ref=str(row.id), at=at, body=check_body(row))
    return row, _fever(session, site, row)


def _fever(session: Session, site: Site, row: HealthCheck) -> list[Alert]:
    """The fever alert a reading calls for: raised (high) at or above `fever_c`, cleared below it."""
    if not row.fever:
        cleared = service.apply_clear(session, site=site.id, rule=FEVER, action=Clear(row.bed), at=row.at)
        return [cleared] if cleared else []
    details = {"temperature_c": row.temperature_c, "fever_c": site.epidemic.fever_c, "check": row.id,
               "resident": row.resident}
    return [service.apply_raise(session, site=site.id, rule=FEVER, at=row.at,
                                action=Raise(row.bed, Severity.HIGH, site.room_of_bed.get(row.bed), details))]


def record_disinfection(session: Session, site: Site, *, round_id: str, agent: str | None, note: str | None,
                        by: str, at: datetime) -> Disinfection:
    """Record a disinfection round done, for the day whose round time is nearest, and chain it."""
    found = next((r for r in site.epidemic.disinfection if r.id == round_id), None)
    if found is None:
        known = ", ".join(r.id for r in site.epidemic.disinfection) or "none in the facility file"
        raise EpidemicError(f"no disinfection round {round_id!r}; rounds: {known}")
    _require_on(session, site)
    row = Disinfection(site=site.id, round=round_id, day=round_day(site, found, at).isoformat(), by=by, at=at,
                       agent=(agent or "").strip() or None, note=(note or "").strip() or None)
    session.add(row)
    session.flush()
    append(session, site=site.id, kind=DISINFECTION, ref=str(row.id), at=at, body=disinfection_body(row))
    return row


def _on_day(site: Site, day: date, clock: time) -> datetime:
    """A clock time of the site on a day, as an instant."""
    return datetime.combine(day, clock, tzinfo=site.zone)


def round_day(site: Site, rnd: DisinfectionRound, at: datetime) -> date:
    """The day of the round a record is for: the one whose round time is nearest (a round at 23:30 done at
    00:10 is the day before's)."""
    local = site.local(at).date()
    days = [local + timedelta(days=k) for k in (-1, 0, 1)]
    return min(days, key=lambda d: abs(at - _on_day(site, d, rnd.at)))


def checks_between(session: Session, site: str, start: datetime, end: datetime) -> list[HealthCheck]:
    """A site's health checks in [start, end), oldest first."""
    return list(session.scalars(select(HealthCheck).where(HealthCheck.site == site, HealthCheck.at >= start,
                                                          HealthCheck.at < end).order_by(HealthCheck.at)))


def disinfections_on(session: Session, site: str, day: date) -> list[Disinfection]:
    """The disinfection records for a day's rounds, oldest first."""
    return list(session.scalars(select(Disinfection).where(Disinfection.site == site,
                                                           Disinfection.day == day.isoformat())
                                .order_by(Disinfection.at)))


@dataclass(frozen=True)
class CheckTime:
    """One check time on one day: checks in [opens, deadline) count for it (opens: the previous check time's
    deadline, so each check counts once), the residents checked and not, and its state."""

    at: datetime
    opens: datetime
    deadline: datetime
    checked: dict[str, HealthCheck]
    missing: list[str]
    state: str  # off, upcoming, due, done, missed

    def as_dict(self) -> dict[str, Any]:
        """For the API."""
        return {"time": self.at.strftime("%H:%M"), "at": self.at, "opens": self.opens, "deadline": self.deadline,
                "state": self.state, "checked": sorted(self.checked), "missing": self.missing,
                "fever": sorted(bed for bed, c in self.checked.items() if c.fever)}


def check_times(site: Site, day: date, history: Sequence[EpidemicSwitch], rows: Sequence[HealthCheck],
                now: datetime) -> list[CheckTime]:
    """Each check time of a day, from the checks stored around it and the time now."""
    plan, beds = site.epidemic, list(residents(site))
    times = [_on_day(site, day - timedelta(days=1), plan.health_checks[-1])]
    times += [_on_day(site, day, clock) for clock in plan.health_checks]
    out = []
    for previous, at in zip(times, times[1:], strict=False):
        opens, deadline = previous + plan.grace, at + plan.grace
        checked: dict[str, HealthCheck] = {}
        for row in rows:
            if opens <= row.at < deadline and row.at <= now:
                checked.setdefault(row.bed, row)
        missing = [b for b in beds if b not in checked]
        state = _state(on_at(site, history, at), not missing, at, deadline, now)
        out.append(CheckTime(at, opens, deadline, checked, missing, state))
    return out


def _state(on: bool, done: bool, at: datetime, deadline: datetime, now: datetime) -> str:
    """off (nothing was due), done, missed (deadline passed), due (its time passed), or upcoming."""
    if not on:
        return "off"
    if done:
        return "done"
    return "missed" if now >= deadline else "due" if now >= at else "upcoming"


@dataclass(frozen=True)
class RoundDay:
    """One disinfection round on one day: when, by when, the records for it, and its state."""

    round: DisinfectionRound
    day: date
    at: datetime
    deadline: datetime
    records: list[Disinfection]
    state: str  # off, upcoming, due, done, late (recorded after the deadline), missed

    def as_dict(self, site: Site, language: str) -> dict[str, Any]:
        """For the API."""
        r = self.round
        room = r.place if isinstance(r.place, str) else None
        return {"round": r.id, "name": r.name.get(language), "day": self.day.isoformat(), "person": r.person,
                "room": room, "place": place_name(site, r, language), "at": self.at, "deadline": self.deadline,
                "state": self.state, "records": [{"id": d.id, **disinfection_body(d)} for d in self.records]}


def place_name(site: Site, rnd: DisinfectionRound, language: str) -> str:
    """Where a round is done: its room's name, or the file's own words."""
    if not isinstance(rnd.place, str):
        return rnd.place.get(language)
    room = site.room_by_id.get(rnd.place)
    return room.name.get(language) if room else rnd.place


def round_days(site: Site, day: date, history: Sequence[EpidemicSwitch], rows: Sequence[Disinfection],
               now: datetime) -> list[RoundDay]:
    """Each disinfection round of a day, from its records and the time now."""
    out = []
    for rnd in site.epidemic.disinfection:
        at = _on_day(site, day, rnd.at)
        deadline = at + site.epidemic.grace
        done = [d for d in rows if d.round == rnd.id and d.at <= now]
        state = _state(on_at(site, history, at), any(d.at < deadline for d in done), at, deadline, now)
        if state == "missed" and done:
            state = "late"
        out.append(RoundDay(rnd, day, at, deadline, done, state))
    return out


def day_status(session: Session, site: Site, day: date, now: datetime) -> tuple[list[CheckTime], list[RoundDay]]:
    """A day's check times and disinfection rounds, from the stored records."""
    history = switches(session, site.id)
    start = _on_day(site, day, time(0))
    rows = checks_between(session, site.id, start - timedelta(days=1), start + timedelta(days=2))
    return (check_times(site, day, history, rows, now),
            round_days(site, day, history, disinfections_on(session, site.id, day), now))


def check(session: Session, facility: Facility, now: datetime) -> list[Alert]:
    """Raise `health_check_missed` and `disinfection_missed` once for each recent check time and round missed
    at a site whose mode is on."""
    raised: list[Alert] = []
    for site in facility.sites:
        if not on_at(site, switches(session, site.id), now):
            continue
        today = site.local(now).date()
        for day in (today - timedelta(days=1), today):
            slots, rounds = day_status(session, site, day, now)
            raised += _missed_checks(session, site, day, slots, now)
            raised += _missed_rounds(session, site, day, rounds, now)
    return raised


def _missed_checks(session: Session, site: Site, day: date, slots: list[CheckTime], now: datetime) -> list[Alert]:
    """`health_check_missed` for each check time missed lately, naming the residents' beds not checked."""
    out = []
    for slot in slots:
        if slot.state == "missed" and now - slot.deadline <= LOOK_BACK:
            clock = slot.at.strftime("%H:%M")
            details = {"time": clock, "day": day.isoformat(), "deadline": slot.deadline.isoformat(),
                       "missing": slot.missing, "count": len(slot.missing), "residents": len(residents(site))}
            out += _raise_once(session, site.id, HEALTH_CHECK_MISSED, f"health-check:{clock}:{day.isoformat()}",
                               None, details, now)
    return out


def _missed_rounds(session: Session, site: Site, day: date, rounds: list[RoundDay], now: datetime) -> list[Alert]:
    """`disinfection_missed` for each round missed lately, naming its person and place."""
    out = []
    for done in rounds:
        if done.state == "missed" and now - done.deadline <= LOOK_BACK:
            place = done.round.place
            room = place if isinstance(place, str) else None
            details = {"round": done.round.id, "day": day.isoformat(), "person": done.round.person,
                       "deadline": done.deadline.isoformat()}
            out += _raise_once(session, site.id, DISINFECTION_MISSED,
                               f"disinfection:{done.round.id}:{day.isoformat()}", room, details, now)
    return out


def _raise_once(session: Session, site: str, rule: str, subject: str, room: str | None, details: dict[str, Any],
                now: datetime) -> list[Alert]:
    """Raise an alert unless one was ever raised for the subject (one per check time or round and day, whatever
    became of it)."""
    if session.scalar(select(Alert.id).where(Alert.site == site, Alert.rule == rule,
                                             Alert.subject == subject)) is not None:
        return []
    return [service.apply_raise(session, site=site, rule=rule, at=now,
                                action=Raise(subject, Severity.MEDIUM, room, details))]
