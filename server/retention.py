"""Keeping only what may be kept, daily: camera snapshots past their site's `snapshot_days`, dead letters past
`retention_dead_letters_days`, raw observations past `retention_observations_days` (rolled up into hourly
aggregates first), and the records (chained records with their links, care events, the hourly aggregates) past
`retention_records_days`. Each site's run is itself a link of its audit chain, saying what went."""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from server import rollup
from server.models import Alert, CareEvent, DeadLetter, ObservationHour, Snapshot
from server.records.chain import sites as chain_sites
from server.records.prune import prune_site

log = logging.getLogger(__name__)


def purge_snapshots(sessions: sessionmaker[Session], now: datetime) -> int:
    """Delete every snapshot past its expiry; returns how many went."""
    with sessions.begin() as session:
        gone = session.execute(delete(Snapshot).where(Snapshot.expires_at <= now)).rowcount or 0
    if gone:
        log.info("deleted %d camera snapshots past their retention", gone)
    return gone


def run(sessions: sessionmaker[Session], now: datetime, records_days: int, dead_letter_days: int,
        observations_days: int = 14) -> dict[str, dict]:
    """One retention run over every site (the raw observations' rollup first, in its own transactions by the hour,
    then a transaction per site); what each site's retention link says."""
    cutoff = now - timedelta(days=records_days)
    rolled = rollup.rollup(sessions, now, observations_days)
    with sessions() as session:
        names = sorted(set(chain_sites(session)) | set(session.scalars(select(Alert.site).distinct()))
                       | set(rolled) | set(rollup.sites_of(session, ObservationHour.site)))
    done = {}
    for site in names:
        with sessions.begin() as session:
            extra = _plain(session, site, now, cutoff, now - timedelta(days=dead_letter_days))
            extra["observations_rolled_up"] = rolled.get(site, 0)
            done[site] = prune_site(session, site, cutoff, now, extra)
    with sessions.begin() as session:  # dead letters whose site could not even be read
        session.execute(delete(DeadLetter).where(DeadLetter.site.is_(None),
                                                 DeadLetter.received_at < now - timedelta(days=dead_letter_days)))
    return done


def _plain(session: Session, site: str, now: datetime, cutoff: datetime, letters_cutoff: datetime) -> dict[str, int]:
    """The site's records that are not chained: snapshots, care events, dead letters, hourly aggregates."""
    counts = {
        "snapshots": session.execute(delete(Snapshot).where(Snapshot.site == site, Snapshot.expires_at <= now)),
        "care_events": session.execute(delete(CareEvent).where(CareEvent.site == site, CareEvent.at < cutoff)),
        "dead_letters": session.execute(delete(DeadLetter).where(DeadLetter.site == site,
                                                                 DeadLetter.received_at < letters_cutoff)),
    }
    gone = {name: result.rowcount or 0 for name, result in counts.items()}
    gone["observation_hours"] = rollup.purge(session, site, cutoff)
    return gone


def schedule(jobs: BackgroundScheduler, sessions: sessionmaker[Session], clock: Callable[[], datetime],
             records_days: int, dead_letter_days: int, observations_days: int = 14) -> None:
    """Purge expired snapshots hourly (the API already refuses them; this frees the space) and run the whole
    retention daily, raw observations' rollup included."""
    jobs.add_job(lambda: purge_snapshots(sessions, clock()), "interval", hours=1, id="purge-snapshots",
                 coalesce=True)
    jobs.add_job(lambda: run(sessions, clock(), records_days, dead_letter_days, observations_days), "interval", days=1,
                 id="retention", coalesce=True)
