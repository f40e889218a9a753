"""The records' periodic checks, run by the scheduler: drills and inspections falling due, missed patrol rounds,
overdue rectifications, meals without food samples, epidemic mode's missed health checks and disinfection rounds. Each
is a `check(session, facility, now) -> changed alerts`."""

from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from devices.facility import Facility
from server.models import Alert
from server.records import calendar, epidemic, food, inspection_calendar, inspections, patrols

Check = Callable[[Session, Facility, datetime], list[Alert]]
FIRST_CHECK = timedelta(minutes=5)  # after the start: nothing on the calendar is urgent to the minute
CHECKS: tuple[tuple[str, Check, timedelta], ...] = (
    ("drill-calendar", calendar.check, timedelta(hours=1)),
    ("patrols", patrols.check, timedelta(minutes=5)),  # a missed night round is news within minutes
    ("rectifications", inspections.check, timedelta(hours=1)),
    ("inspection-calendar", inspection_calendar.check, timedelta(hours=1)),
    ("food-samples", food.check, timedelta(minutes=5)),
    ("epidemic", epidemic.check, timedelta(minutes=5)),
)


def schedule(jobs: BackgroundScheduler, sessions: sessionmaker[Session], facility: Facility,
             clock: Callable[[], datetime], on_alerts: Callable[[list[Alert]], None]) -> None:
    """Add every check at its interval, the first run FIRST_CHECK after the start."""
    for name, check, every in CHECKS:
        jobs.add_job(_run, "interval", args=[check, sessions, facility, clock, on_alerts],
                     seconds=every.total_seconds(), id=name, coalesce=True,
                     next_run_time=datetime.now().astimezone() + FIRST_CHECK)


def _run(check: Check, sessions: sessionmaker[Session], facility: Facility, clock: Callable[[], datetime],
         on_alerts: Callable[[list[Alert]], None]) -> None:
    """One check in its own transaction; the alerts it changed go to the screens after the commit."""
    with sessions.begin() as db:
        changed = check(db, facility, clock())
    if changed:
        on_alerts(changed)
