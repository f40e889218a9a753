"""HTTP API under /api/v1, plus /healthz, /metrics and /events."""
