"""Keeping only what may be kept: camera snapshots go when their site's `snapshot_days` are over."""

import logging
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from server.models import Snapshot

log = logging.getLogger(__name__)


def purge_snapshots(sessions: sessionmaker[Session], now: datetime) -> int:
    """Delete every snapshot past its expiry; returns how many went."""
    with sessions.begin() as session:
        gone = session.execute(delete(Snapshot).where(Snapshot.expires_at <= now)).rowcount or 0
    if gone:
        log.info("deleted %d camera snapshots past their retention", gone)
    return gone


def schedule(jobs: BackgroundScheduler, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
    """Purge hourly (the API already refuses an expired snapshot; this frees the space)."""
    jobs.add_job(lambda: purge_snapshots(sessions, clock()), "interval", hours=1, id="purge-snapshots",
                 coalesce=True)
