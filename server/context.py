"""Everything a running server holds, reachable from requests as `request.app.state.ctx`."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from devices.facility import Facility
from server.auth.tokens import TokenSigner
from server.settings import Settings


@dataclass
class Context:
    """Settings, facility, database, login signer, live hub, clock."""

    settings: Settings
    facility: Facility
    engine: Engine
    sessions: sessionmaker[Session]
    signer: TokenSigner
    clock: Callable[[], datetime]
    hub: Any = None
    consumer: Any = None
    pipeline: Any = None
    notifier: Any = None
    scheduler: Any = None
    # Several servers (CAREWATCH_SHARDS > 1): the shards this process holds (shard -> its Shard), the
    # coordinator that leases them, the bus that tells the other processes what changed.
    shards: dict[int, Any] = field(default_factory=dict)
    coordinator: Any = None
    bus: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    def pipelines(self) -> list[Any]:
        """The pipelines running in this process: one, or one per shard held."""
        if self.pipeline is not None:
            return [self.pipeline]
        return [shard.pipeline for shard in list(self.shards.values())]

    def pipeline_for(self, site: str) -> Any:
        """The pipeline of this process that runs a site's rules, if one does."""
        return next((p for p in self.pipelines() if site in p.facility.site_by_id), None)

    def consumers(self) -> list[Any]:
        """The MQTT consumers running in this process."""
        if self.consumer is not None:
            return [self.consumer]
        return [shard.consumer for shard in list(self.shards.values())]

    @property
    def language(self) -> str:
        """Default language: the first site's."""
        return self.facility.sites[0].language.value
