"""Prometheus metrics of the server, served on /metrics."""

import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

OBSERVATIONS = Counter("carewatch_observations_total", "Observations stored", registry=REGISTRY)
DUPLICATES = Counter("carewatch_duplicates_total", "Redelivered observations skipped by id", registry=REGISTRY)
REJECTED = Counter("carewatch_rejected_total", "Messages kept as dead letters", ["site", "device", "reason"],
                   registry=REGISTRY)
ALERTS_RAISED = Counter("carewatch_alerts_raised_total", "Alert raises by rule", ["rule"], registry=REGISTRY)
BATCH_SECONDS = Histogram("carewatch_batch_seconds", "Time to store and evaluate one batch", registry=REGISTRY,
                          buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
MQTT_CONNECTED = Gauge("carewatch_mqtt_connected", "1 while connected to the broker", registry=REGISTRY)
SSE_CLIENTS = Gauge("carewatch_sse_clients", "Screens connected to /events", registry=REGISTRY)

_logged: set[tuple[str, str]] = set()


def observe_batch(stored: int, duplicates: int) -> None:
    """Count one committed batch."""
    OBSERVATIONS.inc(stored)
    DUPLICATES.inc(duplicates)


def log_rejection_once(log: logging.Logger, dead: Any) -> None:
    """Log a rejection once per (site, device) so one broken device cannot flood the log."""
    key = (dead.site or "?", dead.device or "?")
    if key in _logged or len(_logged) > 10_000:
        return
    _logged.add(key)
    log.warning("dead letter from %s/%s on %s: %s (further ones are only counted)", key[0], key[1],
                dead.topic, dead.reason)
