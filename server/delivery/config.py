"""Channels from the facility file: secrets come from the environment (`${VAR}`), never from the file, and a
channel that cannot be built stops the server at start with the reason, not at the first alarm."""

import os
import re
from typing import Any

from devices.facility import Facility
from devices.loader import FacilityError, Problem
from server.notify import channel_from_config

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand(config: dict[str, Any], environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The config with every `${VAR}` in its strings replaced from the environment."""
    env = os.environ if environ is None else environ

    def one(match: re.Match[str]) -> str:
        name = match[1]
        if name not in env:
            raise ValueError(f"environment variable {name} is not set")
        return env[name]

    return {k: VARIABLE.sub(one, v) if isinstance(v, str) else v for k, v in config.items()}


# Keys the notifier reads itself; the channel never sees them.
NOTIFIER_KEYS = frozenset({"per_minute"})


def build(config: dict[str, Any]) -> Any:
    """A channel object from its facility-file config."""
    per_minute = config.get("per_minute", 30)
    if not isinstance(per_minute, int) or isinstance(per_minute, bool) or per_minute < 1:
        raise ValueError("per_minute must be a whole number of messages, at least 1")
    return channel_from_config(expand({k: v for k, v in config.items() if k not in NOTIFIER_KEYS}))


def check(facility: Facility, source: str) -> None:
    """Build every channel once; FacilityError naming each one that cannot be built."""
    problems = []
    for i, site in enumerate(facility.sites):
        for name, config in site.channels.items():
            try:
                build(config)
            except ValueError as exc:
                problems.append(Problem(("sites", i, "channels", name), None, str(exc)))
    if problems:
        raise FacilityError(source, problems)
