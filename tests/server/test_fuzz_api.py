"""Schemathesis against the server's own OpenAPI schema: as an admin no operation answers 5xx and every response
matches the schema (status code, content type, body); without a login every operation but the public ones
answers 401, never 5xx. Seeded and bounded, so a run is the same run every time."""

import types
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from server.main import create_app
from tests.conftest import FACILITY_FILE
from tests.helpers import ADMIN, server_settings

# Per operation (55 of them) and mode: valid input reaches the handlers, invalid input the validation.
EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 10}
# Reached without a login on purpose: orchestrator probes, Prometheus, the login itself.
PUBLIC = {"GET /healthz", "GET /metrics", "POST /api/v1/auth/token"}
# No ingest, so nothing connects to a broker; the URL only has to parse.
NO_BROKER = types.SimpleNamespace(url="mqtt://127.0.0.1:9", protocol="5")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The real app on a fresh SQLite file, its bootstrap admin created."""
    db = tmp_path_factory.mktemp("fuzz-api") / "carewatch.db"
    return create_app(server_settings(FACILITY_FILE, f"sqlite:///{db}", NO_BROKER), ingest=False)


@pytest.fixture(scope="module")
def admin_headers(app: Any) -> dict[str, str]:
    """A bearer token of the bootstrap admin, so every operation is reached past its role check."""
    with TestClient(app) as client:  # runs the lifespan once: migrations and the bootstrap admin
        response = client.post("/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def api(app: Any, admin_headers: dict[str, str]) -> Any:
    """The schema as a logged-in user gets it from /openapi.json (a real server serves it to no one else)."""
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app, headers=admin_headers)
    loaded.config.max_stream_events = 1  # /events never ends: its first event (the snapshot) is the answer
    return loaded


def campaign(api: Any, check: Callable[[Any], None]) -> dict[str, str]:
    """Run `check` on seeded cases of every operation in both modes; the first failure of each, by operation."""
    failures: dict[str, str] = {}
    for result in api.get_all_operations():
        operation = result.ok()
        for mode, examples in EXAMPLES.items():
            # schemathesis's pytest plugin (from_fixture) breaks on pytest 9: drive hypothesis directly.
            @given(operation.as_strategy(generation_mode=mode))
            @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), print_blob=False)
            def run(case: Any) -> None:
                check(case)

            try:
                run()
            except Unsatisfiable:
                # Nothing to make invalid: an operation without parameters, or a path parameter any string fits.
                if mode is GenerationMode.POSITIVE:
                    raise
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - schemathesis raises a BaseExceptionGroup
                failures.setdefault(f"{operation.label} ({mode})", f"{type(exc).__name__}: {str(exc)[:1500]}")
    return failures


def test_as_admin_no_operation_fails_or_leaves_its_schema(api: Any, admin_headers: dict[str, str]) -> None:
    """Every default check: no 5xx, documented status codes, bodies and headers, bad input refused with 4xx."""
    # Schema-valid but refused is right for what a schema cannot say: either `minutes` or `ends_at`, a form id
    # that must be one of the facility file's.
    skip = [schemathesis.checks.positive_data_acceptance]
    failures = campaign(api, lambda case: case.call_and_validate(headers=admin_headers, excluded_checks=skip))
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def test_without_a_login_every_private_operation_answers_401(api: Any) -> None:
    """Anonymous requests with any parameters are refused, never crash the server."""

    def refused(case: Any) -> None:
        response = case.call()
        assert response.status_code < 500, f"{response.status_code} {response.text[:300]}"
        if case.operation.label not in PUBLIC:
            assert response.status_code in (401, 403), f"{response.status_code} {response.text[:300]}"

    failures = campaign(api, refused)
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def test_the_campaign_covers_the_whole_api(api: Any) -> None:
    """A route added later is fuzzed too: the schema is read from the app, not listed here."""
    labels = {result.ok().label for result in api.get_all_operations()}
    assert labels > PUBLIC
    assert len(labels) >= 50
