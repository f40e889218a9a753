"""Live updates for the screen: a hub that fans committed changes out to every `/events` (SSE) stream."""

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from server import metrics

log = logging.getLogger(__name__)

QUEUE_LIMIT = 2000  # a screen further behind than this is dropped; it reconnects and resyncs


@dataclass(frozen=True)
class Event:
    """One SSE event, its payload built once per language."""

    name: str
    data: dict[str, Any]  # language -> payload: a pydantic model (serialized per stream by model_dump_json) or a dict
    site: str | None = None  # screens of one site skip the others' events


class Hub:
    """Fan-out from the pipeline thread to the event loop's SSE streams."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.clients: set[asyncio.Queue[Event | None]] = set()

    def publish_threadsafe(self, events: list[Event]) -> None:
        """Called from any thread."""
        if events and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._publish, events)

    def _publish(self, events: list[Event]) -> None:
        """On the loop: queue the events for every stream; drop streams that cannot keep up."""
        for queue in list(self.clients):
            try:
                for event in events:
                    queue.put_nowait(event)
            except asyncio.QueueFull:
                self.clients.discard(queue)
                _close(queue)
                log.warning("a screen fell %d events behind and was disconnected to resync", QUEUE_LIMIT)

    def subscribe(self) -> "asyncio.Queue[Event | None]":
        """A new stream's queue (subscribe before taking the snapshot, so nothing falls in between)."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue(QUEUE_LIMIT)
        self.clients.add(queue)
        metrics.SSE_CLIENTS.set(len(self.clients))
        return queue

    def unsubscribe(self, queue: "asyncio.Queue[Event | None]") -> None:
        """The stream ended."""
        self.clients.discard(queue)
        metrics.SSE_CLIENTS.set(len(self.clients))

    def close_all(self) -> None:
        """At shutdown: end every stream so the server can stop."""
        for queue in list(self.clients):
            _close(queue)
        self.clients.clear()


def _close(queue: "asyncio.Queue[Event | None]") -> None:
    """Tell a stream to end, even when its queue is full."""
    while True:
        try:
            queue.put_nowait(None)
            return
        except asyncio.QueueFull:
            queue.get_nowait()
