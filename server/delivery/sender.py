"""The notifier: a thread that turns due escalation rounds into outbox rows and delivers them, retrying with
backoff, at most `per_minute` messages per channel, and raising an alert of its own for a channel that keeps
failing. Every row is delivered at least once; receivers drop repeats by its idempotency key."""

import logging
import threading
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devices.facility import Facility, Site
from devices.kinds import Severity
from server import duty
from server.alerts import service
from server.delivery import compose, links
from server.delivery.outbox import backoff, enqueue
from server.models import Alert, Notification
from server.notify.message import DeliveryError, Message
from server.rules.base import Clear, Raise

log = logging.getLogger(__name__)

CHANNEL_FAILING = "channel_failing"
FAILING_AFTER = 3  # consecutive failed attempts before the channel's own alert
TICK_S = 0.5  # rounds fall due within a second
BATCH = 100
SENDERS = 4  # channels sent to at once
GIVE_UP = timedelta(hours=24)  # a message still undelivered after a day is of no use to anyone


@dataclass
class LinkMaker:
    """How a message's acknowledge link is made."""

    secret: str
    public_url: str

    def __call__(self, alert_id: int, recipient: str) -> str:
        """The one-tap acknowledge URL for a recipient."""
        token = links.make(self.secret, links.AckLink(alert_id, recipient))
        return f"{self.public_url.rstrip('/')}/ack/{token}"


@dataclass(frozen=True)
class Outgoing:
    """A message on its way: its outbox row, its channel and the channel object that sends it."""

    ident: int
    key: tuple[str, str]  # (site, channel)
    channel: Any
    message: Message


def _send_in_order(items: list[Outgoing]) -> list[tuple[Outgoing, Exception | None]]:
    """Send one channel's messages one after the other; each outcome is the error, or None when it was sent."""
    results: list[tuple[Outgoing, Exception | None]] = []
    for item in items:
        try:
            item.channel.send(item.message)
        except (DeliveryError, ValueError) as exc:
            results.append((item, exc))
        except Exception as exc:  # noqa: BLE001 - a channel's bug must not lose the pass's other outcomes
            log.exception("%s channel failed unexpectedly", item.key[1])
            results.append((item, DeliveryError(f"{type(exc).__name__}: {exc}", retry=True)))
        else:
            results.append((item, None))
    return results


@dataclass
class Notifier:
    """Owns the outbox's sending; `tick(now)` does one pass (tests call it with their own clock)."""

    facility: Facility
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    link: LinkMaker
    build: Callable[[dict[str, Any]], Any]  # channel config -> Channel
    on_alerts: Callable[[list[Alert]], None] = lambda alerts: None
    _channels: dict[tuple[str, str], Any] = field(default_factory=dict)
    _failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    _sent_times: dict[tuple[str, str], deque[datetime]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _wake: threading.Event = field(default_factory=threading.Event)
    _handed: dict[str, datetime] = field(default_factory=dict)
    _thread: threading.Thread | None = None
    # Channels answer in 1-50 ms each; a storm over many channels must not wait for them one by one.
    _pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(SENDERS, "carewatch-send"))

    def start(self) -> None:
        """Run `tick` every half second in a thread of its own."""
        self._thread = threading.Thread(target=self._run, name="carewatch-notifier", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A new alert was committed: look now, not at the next half second (any thread may call this)."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the pass in hand and stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        """Tick until stopped; a failing pass is logged and retried."""
        while not self._stop.is_set():
            try:
                self.tick(self.clock())
            except Exception:  # noqa: BLE001 - the next pass tries again
                log.exception("notifier pass failed")
            self._wake.wait(TICK_S)
            self._wake.clear()

    def tick(self, now: datetime) -> None:
        """Record a shift handover if one is due, queue what has come due, then deliver what is waiting."""
        with self.sessions.begin() as session:
            changes = duty.latest_changes(session)
            duty.hand_over(session, self.facility, changes, now, self._handed)
            enqueue(session, self.facility, now, lambda site, at: duty.on_duty(site, changes, at))
        outgoing = self._prepare(now)
        if outgoing:
            self._record(self._send_all(outgoing), now)

    def _prepare(self, now: datetime) -> list[Outgoing]:
        """Take the waiting rows in one transaction: drop the stale, hold back the rate-limited, compose the rest."""
        outgoing: list[Outgoing] = []
        with self.sessions.begin() as session:
            rows = session.scalars(select(Notification).where(
                Notification.status == "pending", Notification.next_attempt_at <= now)
                .order_by(Notification.next_attempt_at, Notification.id).limit(BATCH))
            for row in rows:
                item = self._compose(session, row, now)
                if item is not None:
                    outgoing.append(item)
        return outgoing

    def _compose(self, session: Session, row: Notification, now: datetime) -> Outgoing | None:
        """The message of one row, or None when it is stale (dropped) or over its channel's limit (moved on)."""
        alert = session.get(Alert, row.alert_id)
        site = self.facility.site_by_id.get(row.site)
        if alert is None or site is None:
            return None
        stale = _stale(alert, row, now)
        if stale:
            row.status, row.last_error = "dropped", stale
            return None
        key = (row.site, row.channel)
        if self._rate_limited(site, key, now, row):
            return None
        # An attempt counts against the limit when it is made, so one pass cannot overshoot it.
        self._sent_times.setdefault(key, deque()).append(now)
        row.attempts += 1
        message = Message(title=compose.title(site, alert), link=self.link(alert.id, row.recipient),
                          severity=alert.severity,
                          text=compose.text(site, alert, round_=row.round, reminder=row.step < 0),
                          alert_id=alert.id, recipient=row.address or row.recipient, idempotency_key=row.key)
        return Outgoing(row.id, key, self._channel(site, row.channel), message)

    def _send_all(self, outgoing: list[Outgoing]) -> list[tuple[Outgoing, Exception | None]]:
        """Send concurrently across channels; one channel's messages go one after the other, in order."""
        by_channel: dict[tuple[str, str], list[Outgoing]] = {}
        for item in outgoing:
            by_channel.setdefault(item.key, []).append(item)
        if len(by_channel) == 1:
            return _send_in_order(outgoing)
        futures = [self._pool.submit(_send_in_order, items) for items in by_channel.values()]
        return [result for future in futures for result in future.result()]

    def _record(self, results: list[tuple[Outgoing, Exception | None]], now: datetime) -> None:
        """Write every outcome of a pass in one transaction; announce the channel alerts it raised or cleared."""
        changed: list[Alert] = []
        with self.sessions.begin() as session:
            for item, error in results:
                row = session.get(Notification, item.ident)
                if row is None:
                    continue
                if error is None:
                    row.status, row.sent_at, row.last_error = "sent", now, None
                    changed += self._recovered(session, item.key, now)
                    continue
                retry = isinstance(error, DeliveryError) and error.retry
                row.last_error = str(error)[:300]
                row.status = "pending" if retry else "failed"
                row.next_attempt_at = now + backoff(row.attempts)
                changed += self._failed(session, item.key, now)
        if changed:
            self.on_alerts(changed)

    def _rate_limited(self, site: Site, key: tuple[str, str], now: datetime, row: Notification) -> bool:
        """At most `per_minute` messages a minute on a channel: an alarm storm must not flood a phone."""
        per_minute = int((site.channels.get(row.channel) or {}).get("per_minute", 30))
        times = self._sent_times.setdefault(key, deque())
        while times and now - times[0] >= timedelta(minutes=1):
            times.popleft()
        if len(times) < per_minute:
            return False
        row.next_attempt_at = times[0] + timedelta(minutes=1)
        return True

    def _channel(self, site: Site, name: str) -> Any:
        """The channel object of a site's channel config, built once."""
        key = (site.id, name)
        if key not in self._channels:
            self._channels[key] = self.build(dict(site.channels[name]))
        return self._channels[key]

    def _failed(self, session: Session, key: tuple[str, str], now: datetime) -> list[Alert]:
        """Count a failure; the third in a row raises the channel's own alert."""
        self._failures[key] += 1
        if self._failures[key] != FAILING_AFTER:
            return []
        action = Raise(key[1], Severity.HIGH, None, {"failures": FAILING_AFTER})
        return [service.apply_raise(session, site=key[0], rule=CHANNEL_FAILING, action=action, at=now)]

    def _recovered(self, session: Session, key: tuple[str, str], now: datetime) -> list[Alert]:
        """A success after failures clears the channel's alert."""
        failed, self._failures[key] = self._failures[key], 0
        if failed < FAILING_AFTER:
            return []
        cleared = service.apply_clear(session, site=key[0], rule=CHANNEL_FAILING, action=Clear(key[1]), at=now)
        return [cleared] if cleared else []


def _stale(alert: Alert, row: Notification, now: datetime) -> str | None:
    """Why a waiting message should no longer go out, if it should not."""
    if alert.status == service.Status.RESOLVED:
        return "the alert was resolved before delivery"
    if alert.status == service.Status.ACKNOWLEDGED and row.step >= 0:
        return "the alert was acknowledged before delivery"
    if now - row.created_at > GIVE_UP:
        return "not delivered within 24 h"
    return None
