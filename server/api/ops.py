"""Operations: /healthz for probes, /metrics for Prometheus, /events (SSE) for the screen."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from server.api.deps import Ctx, Lang, User_, visible_site, visible_sites
from server.api.errors import documented, documented_beside
from server.auth.tokens import Principal
from server.live import snapshot
from server.metrics import REGISTRY

router = APIRouter(tags=["operations"])


@router.get("/healthz", responses=documented(503))
def healthz(ctx: Ctx, response: Response) -> dict[str, object]:
    """200 when the database answers and the broker is connected; 503 otherwise, saying which part is down. With
    several servers, `shards` lists the shards this one holds and runs, each with its MQTT session connected (or
    with no site to run)."""
    checks: dict[str, object] = {"database": _database_ok(ctx), "mqtt": _mqtt_ok(ctx)}
    ok = all(checks.values())
    response.status_code = 200 if ok else 503
    if ctx.coordinator is not None:
        running = dict(ctx.shards)
        checks["shards"] = sorted(k for k in set(ctx.coordinator.mine)
                                  if k not in running or running[k].consumer.connected.is_set())
    return {"status": "ok" if ok else "degraded", **checks}


@router.get("/metrics", response_class=PlainTextResponse)
def metrics() -> Response:
    """Prometheus text format."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def screen_site(ctx: Ctx, user: User_, site: str | None = None) -> str | None:
    """The site a stream is limited to: `?site=` checked against the grant (a dependency, so a refusal is a 403
    before the stream starts), or a limited user's first site."""
    return visible_site(user, site, ctx) or _first_granted(user, ctx)


@router.get("/events", response_class=EventSourceResponse, responses=documented_beside(401, 403, 404))
async def events(request: Request, ctx: Ctx, lang: Lang,
                 site: Annotated[str | None, Depends(screen_site)]) -> AsyncIterator[ServerSentEvent]:
    """Live screen: a `snapshot` event first (also after every reconnect), then `alert`, `device` and `edge`
    changes; `?site=` limits the stream to one site (a user limited to sites gets their first without it)."""
    queue = ctx.hub.subscribe()
    try:
        state = await run_in_threadpool(_snapshot, ctx, lang, site)
        yield ServerSentEvent(event="snapshot", data=state, retry=2000)
        while True:
            item = await queue.get()
            if item is None:
                return  # dropped for being too slow, or shutting down: the browser reconnects and resyncs
            if site is None or item.site == site:
                yield ServerSentEvent(event=item.name, data=item.data[lang])
    finally:
        ctx.hub.unsubscribe(queue)


def _first_granted(user: Principal, ctx: Ctx) -> str | None:
    """None for a user who may see every site; else their first site (403 when none is in the facility)."""
    if user.sites is None:
        return None
    granted = visible_sites(user, ctx)
    if not granted:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{user.username} is granted no site of this facility")
    return granted[0]


def _snapshot(ctx: Ctx, lang: str, site: str | None) -> dict[str, object]:
    """Snapshot in its own session (runs in a worker thread)."""
    with ctx.sessions() as db:
        return snapshot(ctx, db, lang, site)


def _database_ok(ctx: Ctx) -> bool:
    """Whether a trivial query succeeds."""
    try:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        return False


def _mqtt_ok(ctx: Ctx) -> bool:
    """Whether the ingest client is connected (True when ingest is off, e.g. in API-only tests)."""
    return all(consumer.connected.is_set() for consumer in ctx.consumers())
