"""The notification outbox: rows for every round the escalation planner says is due, one per recipient and
channel; the sender works through them. A row is also the record of who was told what, when."""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.duty import Shift
from devices.facility import Facility, Site
from devices.kinds import Severity
from server.alerts.service import Status
from server.escalation import ACKNOWLEDGER, AlertTimes, Due, plan
from server.models import Alert, Notification

SCREEN = "screen"  # the screen shows every alert anyway: its rounds are recorded, not sent
GROUP = "group"  # the recipient of a robot or webhook: a group chat, not one person
PERSONAL = frozenset({"email"})  # channel types that send to each person's own address
STAFF_PREFIX = "staff:"  # how an acknowledgement through a one-tap link names its actor
ShiftAt = Callable[[Site, datetime], Shift | None]


@dataclass(frozen=True)
class Recipient:
    """A person to tell: staff id and e-mail address (if any)."""

    staff: str
    email: str | None


def enqueue(session: Session, facility: Facility, now: datetime, shift_at: ShiftAt = lambda site, at: site.on_duty(at)
            ) -> tuple[int, datetime | None]:
    """Add the rows of every round due by `now`; returns how many, and when the next round falls due.
    `shift_at` says who is on duty (the roster as managers changed it)."""
    alerts = list(session.scalars(select(Alert).where(Alert.status != Status.RESOLVED, Alert.muted.is_(None))))
    if not alerts:
        return 0, None
    sent = _sent_rounds(session, [a.id for a in alerts])
    added, upcoming = 0, []
    for alert in alerts:
        site = facility.site_by_id.get(alert.site)
        policy = site.escalation.policy(Severity(alert.severity)) if site else None
        if site is None or policy is None:
            continue
        due, following = plan(policy, AlertTimes(alert.raised_at, alert.acked_at), sent[alert.id], now)
        for round_ in due:
            added += _add_rows(session, site, alert, round_, now, shift_at(site, now))
        if following is not None:
            upcoming.append(following)
    return added, min(upcoming, default=None)


def _sent_rounds(session: Session, alert_ids: list[int]) -> dict[int, set[tuple[int, int]]]:
    """The (step, round) pairs already in the outbox, per alert."""
    rows = session.execute(select(Notification.alert_id, Notification.step, Notification.round)
                           .where(Notification.alert_id.in_(alert_ids)))
    found: dict[int, set[tuple[int, int]]] = defaultdict(set)
    for alert_id, step, round_ in rows:
        found[alert_id].add((step, round_))
    return found


def _add_rows(session: Session, site: Site, alert: Alert, due: Due, now: datetime, shift: Shift | None) -> int:
    """The rows of one round: one per channel, and per person for personal channels (e-mail)."""
    people = recipients(site, alert, due.audience, shift)
    count = 0
    for channel in due.channels:
        kind = (site.channels.get(channel) or {}).get("type", SCREEN)
        targets = [(p.staff, p.email) for p in people if p.email] if kind in PERSONAL else [(GROUP, None)]
        for who, address in targets:
            key = f"{alert.id}:{due.step}:{due.round}:{channel}:{who}"
            screen = channel == SCREEN
            session.add(Notification(key=key, alert_id=alert.id, site=site.id, step=due.step, round=due.round,
                                     channel=channel, recipient=who, address=address,
                                     status="sent" if screen else "pending", attempts=0, next_attempt_at=now,
                                     created_at=now, sent_at=now if screen else None))
            count += 1
    session.flush()
    return count


def recipients(site: Site, alert: Alert, audience: str, shift: Shift | None) -> list[Recipient]:
    """The people a round is for: the shift on duty, its supervisor, the managers, or who acknowledged."""
    by_id = {s.id: s for s in site.staff}
    if audience == "on_duty":
        ids = shift.staff if shift else []
    elif audience == "supervisor":
        ids = [shift.supervisor] if shift and shift.supervisor else []
    elif audience == "managers":
        ids = [m.id for m in site.managers()]
    elif audience == ACKNOWLEDGER and alert.acked_by and alert.acked_by.startswith(STAFF_PREFIX):
        ids = [alert.acked_by.removeprefix(STAFF_PREFIX)]
    else:
        ids = []
    return [Recipient(i, by_id[i].email) for i in ids if i in by_id]


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt: 1 s, 2 s, 4 s ... at most 5 minutes."""
    return timedelta(seconds=min(300, 2 ** max(0, attempts - 1)))
