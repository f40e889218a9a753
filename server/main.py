"""The server application: FastAPI app, and the lifespan that starts and stops ingest around it."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import IntegrityError

from devices.facility import Facility
from devices.loader import load_facility
from devices.messages import utcnow
from server import __doc__ as about
from server import cluster, digest, live, retention
from server.api import alerts, auth, cameras, care, devices, duty, epidemic, errors, exports, figures, ops, records
from server.api import residents as residents_api
from server.api.deps import principal
from server.auth.tokens import TokenSigner
from server.auth.users import bootstrap_admin
from server.bus import Bus
from server.consumer import Consumer
from server.context import Context
from server.db import make_engine, make_sessions, upgrade
from server.delivery import config as channels
from server.delivery.sender import LinkMaker, Notifier
from server.events import Hub
from server.live import broadcast_alerts, on_changes
from server.pipeline import Pipeline
from server.records import watch as records_watch
from server.settings import Settings
from server.web import ack, manager, patrol, records_pages, residents, security
from server.web import figures as figures_page
from server.web import roster as roster_page
from server.web import routes as web

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "web" / "static"


def create_app(settings: Settings | None = None, *, facility: Facility | None = None,
               clock: Callable[[], datetime] = utcnow, ingest: bool = True) -> FastAPI:
    """Build the app; the facility file is read here, so a broken one stops everything before it starts."""
    settings = settings or Settings()
    facility = facility or load_facility(settings.config, profile=settings.profile)
    channels.check(facility, str(settings.config))  # a broken channel stops us now, not at the first alarm
    security.check_secrets(settings)  # after the facility file: its errors are the ones people fix first
    if settings.shards > 1 and not settings.database_url.startswith(("postgresql", "postgres:")):
        raise ValueError("CAREWATCH_SHARDS > 1 (several server processes) needs PostgreSQL: its advisory locks "
                         "decide which process runs which sites")
    engine = make_engine(settings.database_url)
    ctx = Context(settings=settings, facility=facility, engine=engine, sessions=make_sessions(engine),
                  signer=TokenSigner(settings.signing_key(), settings.session_hours * 3600), clock=clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(_prepare, ctx)
        ctx.hub = Hub(asyncio.get_running_loop())
        if ingest:
            await asyncio.to_thread(_start_ingest, ctx)
        # Everything loaded so far lives as long as the server: keep it out of the garbage collector's
        # full passes, which otherwise cost 15-30 % of ingest time walking objects that never die.
        gc.freeze()
        try:
            yield
        finally:
            ctx.hub.close_all()
            if ctx.coordinator is not None:
                await asyncio.to_thread(ctx.coordinator.stop)
            if ctx.bus is not None:
                await asyncio.to_thread(ctx.bus.stop)
            if ctx.notifier is not None:
                await asyncio.to_thread(ctx.notifier.stop)
            if ctx.scheduler is not None:
                ctx.scheduler.shutdown(wait=False)
            if ctx.consumer is not None:
                await asyncio.to_thread(ctx.consumer.stop)
            engine.dispose()

    # The API schema is for logged-in users outside the demo. The Swagger and ReDoc pages run code from a CDN on
    # our origin, next to the user's session cookie, and need a CSP that allows it: the demo only serves them.
    demo = settings.demo
    app = FastAPI(title="carewatch", description=about, version="0.1.0", lifespan=lifespan,
                  openapi_url="/openapi.json" if demo else None, docs_url="/docs" if demo else None,
                  redoc_url="/redoc" if demo else None)
    app.state.ctx = ctx
    if not demo:
        app.add_api_route("/openapi.json", lambda: app.openapi(), include_in_schema=False,
                          dependencies=[Depends(principal)])
    security.install(app, ctx)
    errors.install(app)
    for router in (auth.router, alerts.router, cameras.router, care.router, devices.router, duty.router,
                   figures.router, ops.router, records.router, exports.router, epidemic.router, web.router,
                   ack.router, roster_page.router, figures_page.router, patrol.router, records_pages.router,
                   residents.router, residents_api.router, manager.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _prepare(ctx: Context) -> None:
    """Migrate the database and create the bootstrap admin."""
    if ctx.settings.migrate:
        upgrade(ctx.settings.database_url)
    if ctx.settings.secret_key is None:
        log.warning("CAREWATCH_SECRET_KEY is not set: logins will not survive a restart")
    if ctx.settings.bootstrap_admin is not None:
        try:
            with ctx.sessions.begin() as db:
                created = bootstrap_admin(db, ctx.settings.bootstrap_admin.get_secret_value(), ctx.clock())
        except IntegrityError:
            created = None  # another server process starting at the same moment created it first
        if created is not None:
            log.info("created the bootstrap admin %r", created.username)


def _start_ingest(ctx: Context) -> None:
    """Load rule state and timers, then subscribe; with shards, join the other processes instead."""
    if ctx.settings.shards > 1:
        _start_cluster(ctx)
        return
    ctx.pipeline, ctx.consumer = _pipeline(ctx, ctx.facility, ctx.settings.mqtt_client_id)
    if ctx.settings.notify:
        _start_notifier(ctx)


def _pipeline(ctx: Context, facility: Facility, client_id: str) -> tuple[Pipeline, Consumer]:
    """A pipeline for some sites, loaded from the database, and its running MQTT consumer."""
    s = ctx.settings
    pipeline = Pipeline(facility, ctx.sessions, clock=ctx.clock)
    pipeline.load()
    consumer = Consumer(pipeline, facility, url=s.mqtt_url, protocol=s.mqtt_protocol, client_id=client_id,
                        shared_group=s.mqtt_shared_group, session_expiry=s.mqtt_session_expiry,
                        batch_size=s.batch_size, on_changes=lambda changes: on_changes(ctx, changes, pipeline),
                        clock=ctx.clock)
    consumer.start()
    return pipeline, consumer


def _start_cluster(ctx: Context) -> None:
    """Listen to the other processes, then lease our share of the shards (and maybe leadership)."""
    s = ctx.settings
    url = cluster.libpq_url(s.database_url)
    ctx.bus = Bus(url, lambda message: live.on_remote(ctx, message))
    ctx.bus.start()
    ctx.coordinator = cluster.Coordinator(
        url, s.shards, start_shard=lambda shard: _start_shard(ctx, shard),
        stop_shard=lambda shard: _stop_shard(ctx, shard),
        start_leader=lambda: _start_notifier(ctx) if s.notify else None, stop_leader=lambda: _stop_notifier(ctx))
    ctx.coordinator.start()


def _start_shard(ctx: Context, shard: int) -> None:
    """Run the pipeline of one shard's sites under the shard's own MQTT session."""
    sites = cluster.sites_of(ctx.facility, shard, ctx.settings.shards)
    if not sites:
        return  # more shards than sites: nothing to run
    facility = cluster.facility_subset(ctx.facility, sites)
    pipeline, consumer = _pipeline(ctx, facility, f"{ctx.settings.mqtt_client_id}-shard-{shard}")
    ctx.shards[shard] = cluster.Shard(pipeline, consumer)


def _stop_shard(ctx: Context, shard: int) -> None:
    """Finish the shard's batch in hand and disconnect; what is unacked comes to the next holder."""
    running = ctx.shards.pop(shard, None)
    if running is not None:
        running.consumer.stop()


def _start_notifier(ctx: Context) -> None:
    """Escalation, delivery and the calendar in threads of this process (the leader's, with several)."""
    ctx.notifier = Notifier(ctx.facility, ctx.sessions, ctx.clock,
                            LinkMaker(ctx.settings.signing_key(), ctx.settings.link_base()), channels.build,
                            on_alerts=lambda alerts: broadcast_alerts(ctx, alerts))
    ctx.notifier.start()
    # Calendar work (the daily digest) runs in the same one process as the notifier.
    ctx.scheduler = digest.scheduler(ctx.facility, ctx.sessions, channels.build, ctx.clock, ctx.settings.link_base())
    retention.schedule(ctx.scheduler, ctx.sessions, ctx.clock, ctx.settings.retention_records_days,
                       ctx.settings.retention_dead_letters_days,
                       observations_days=ctx.settings.retention_observations_days)
    records_watch.schedule(ctx.scheduler, ctx.sessions, ctx.facility, ctx.clock,
                           lambda alerts: broadcast_alerts(ctx, alerts))
    ctx.scheduler.start()


def _stop_notifier(ctx: Context) -> None:
    """This process no longer leads: stop escalation and the calendar (another process takes them over)."""
    if ctx.scheduler is not None:
        ctx.scheduler.shutdown(wait=False)
        ctx.scheduler = None
    if ctx.notifier is not None:
        ctx.notifier.stop()
        ctx.notifier = None
