"""The demo's paperwork: at its first start, the records a home would already hold (a fire drill two months ago,
each inspection form's last two periods, 30 days of patrol rounds, yesterday's and today's food samples, the
sample fridge's readings), written in time order as staff would have, so the records pages, the district view, the
exports and `records verify` have something true to show and the calendar is not overdue from the first minute."""

from collections.abc import Callable
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devices.facility import Facility, Site
from server.auth.users import Role, create_user
from server.models import DrillRecord, User
from server.records import cold_manual, drills, food, inspections, patrols
from server.records.inspection_calendar import period_of
from server.suppressions import Mode, Scope, create

Step = tuple[datetime, Callable[[Session], object]]
PATROL_DAYS = 30  # the district view looks back this far


def add_inspector(sessions: sessionmaker[Session], facility: Facility, login: tuple[str, str], now: datetime) -> None:
    """The demo's read-only inspector, granted every site (the district view has them all)."""
    with sessions.begin() as db:
        if db.scalar(select(User.id).where(User.username == login[0])) is None:
            create_user(db, username=login[0], password=login[1], role=Role.INSPECTOR, at=now,
                        sites=[site.id for site in facility.sites])


def seed(sessions: sessionmaker[Session], facility: Facility, now: datetime) -> int:
    """Write the records of every site that has none yet; how many were written."""
    written = 0
    for site in facility.sites:
        with sessions() as db:
            if db.scalar(select(DrillRecord.id).where(DrillRecord.site == site.id).limit(1)) is not None:
                continue  # a kept demo database has its records already
        steps = sorted(_drill(site, now) + _inspections(site, now) + _rounds(site, now) + _meals(site, now)
                       + _fridge(site, now), key=lambda step: step[0])
        with sessions.begin() as db:
            for _, write in steps:
                write(db)
        written += len(steps)
    return written


def _at(site: Site, day_offset: int, clock: time, now: datetime) -> datetime:
    """A site-local time `day_offset` days from today."""
    day = site.local(now).date() + timedelta(days=day_offset)
    return datetime.combine(day, clock, tzinfo=site.zone)


def _drill(site: Site, now: datetime) -> list[Step]:
    """A drill 75 days ago: started, all clear after 6 min 40 s, its outcome recorded the same afternoon."""
    start = _at(site, -75, time(10), now)
    leader = site.staff[0].id if site.staff else "demo"

    def write(db: Session) -> None:
        row = create(db, site=site.id, mode=Mode.DRILL, scope=Scope.SITE, target=None, starts_at=start,
                     ends_at=start + timedelta(hours=1), author=leader, reason="厨房起火，全员疏散 / kitchen fire, "
                     "full evacuation", now=start)
        shift = site.on_duty(start)
        drills.started(db, row, start, shift.id if shift else None)
        drills.all_clear(db, row, start + timedelta(minutes=6, seconds=40), leader)
        drills.revise(db, row.id, leader, start + timedelta(hours=4), participants=[s.id for s in site.staff],
                      residents_evacuated=12, problems="西侧楼梯应急灯不亮 / west stair emergency light out")
    return [(start, write)]


def _inspections(site: Site, now: datetime) -> list[Step]:
    """Each form filled in during its current and previous period (the daily hazard check found a problem)."""
    steps: list[Step] = []
    for form in site.inspections:
        current = period_of(site, form.every, now)
        previous = period_of(site, form.every, current.start - timedelta(seconds=1))
        for period in (previous, current):
            at = min(period.start + timedelta(hours=9), now - timedelta(minutes=30))
            failed = form.every.value == "daily" and period is current
            results = [{"item": item.id, "ok": not (failed and n == 0),
                        "note": f"未做到：{item.text.zh_CN} / not so: {item.text.en}" if failed and n == 0 else None,
                        "owner": site.staff[-1].id if failed and n == 0 and site.staff else None}
                       for n, item in enumerate(form.items)]
            steps.append((at, lambda db, form=form, results=results, at=at: inspections.record(
                db, site, form.id, results, by=site.staff[-1].id if site.staff else "demo", at=at)))
    return steps


def _rounds(site: Site, now: datetime) -> list[Step]:
    """The last 30 days' patrol rounds: every checkpoint reached in its window, where the window began; except
    one night round five days ago, when nobody went (the district view shows it missed)."""
    steps: list[Step] = []
    today = site.local(now).date()
    for day in (today - timedelta(days=n) for n in range(PATROL_DAYS, -1, -1)):
        for k, patrol in enumerate(site.patrols.rounds):
            if day == today - timedelta(days=5) and k == len(site.patrols.rounds) - 1:
                continue
            starts, _ = patrols.window(site, patrol, day)
            for n, checkpoint in enumerate(patrol.checkpoints):
                at = starts + timedelta(minutes=5 + 4 * n)
                point = next(c for c in site.patrols.checkpoints if c.id == checkpoint)
                answers = [{"check": c.id, "ok": True, "note": None} for c in point.checks]
                if at < now:
                    steps.append((at, lambda db, cp=checkpoint, at=at, answers=answers: patrols.check_in(
                        db, site.id, cp, site.staff[0].id if site.staff else "demo", at, answers)))
    return steps


def _meals(site: Site, now: datetime) -> list[Step]:
    """Two dishes sampled at every meal served since yesterday."""
    steps: list[Step] = []
    for offset in (-1, 0):
        for meal in site.food.meals:
            at = _at(site, offset, meal.at, now) + timedelta(minutes=20)
            for dish in ("米饭 / rice", "清蒸鱼 / steamed fish"):
                if at < now:
                    steps.append((at, lambda db, meal=meal, dish=dish, at=at: food.keep(
                        db, site, meal=meal.id, dish=dish, grams=150, by="kitchen", at=at)))
    return steps


def _fridge(site: Site, now: datetime) -> list[Step]:
    """The hand-logged cabinets read at 08:00 and 14:00 today, where those have passed."""
    steps: list[Step] = []
    for cabinet in site.food.cabinets:
        for clock, value in ((time(8, 5), 3.5), (time(14, 5), 4.0)):
            at = _at(site, 0, clock, now)
            if at < now:
                steps.append((at, lambda db, c=cabinet.id, v=value, at=at: cold_manual.record(
                    db, site, c, v, by="kitchen", at=at)))
    return steps
