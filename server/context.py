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
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def language(self) -> str:
        """Default language: the first site's."""
        return self.facility.sites[0].language.value
