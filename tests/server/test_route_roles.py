"""Every route of the app, API and pages, declares who may call it. Without a login each non-public route asks
for one (401, or a redirect to /login); a role below the route's gets 403; an inspector's pages show no
controls. A route missing from the table fails until someone declares it here."""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from devices.facility import Site
from devices.loader import load_facility
from devices.messages import utcnow
from server.auth.users import Role, create_user
from server.main import create_app
from server.records import patrols
from tests.helpers import ADMIN, server_settings

PUBLIC, LOGIN, ACTOR, MANAGER, ADMIN_ONLY = "public", "any logged-in user", "actors", "managers", "admins"
# Who a restricted route lets in; everyone else gets 403.
ALLOWED = {ACTOR: {Role.STAFF, Role.MANAGER, Role.ADMIN}, MANAGER: {Role.MANAGER, Role.ADMIN},
           ADMIN_ONLY: {Role.ADMIN}}
USERS = {Role.INSPECTOR: ("inspector1", "inspector-pass-1"), Role.STAFF: ("carer1", "carer-pass-1"),
         Role.MANAGER: ("manager1", "manager-pass-1"), Role.ADMIN: ADMIN}

ROLES = {
    # Public: nobody is logged in yet, or the route is its own credential.
    "GET /login": PUBLIC, "POST /login": PUBLIC, "POST /logout": PUBLIC, "GET /lang/{code}": PUBLIC,
    "POST /api/v1/auth/token": PUBLIC,
    "GET /healthz": PUBLIC,  # probes of the orchestrator carry no login
    # Prometheus scrapes without a login. The counters carry site and device ids and rule names, never a
    # resident's name or health data (DESIGN: ids only); keep the port off the internet or filter it at the proxy.
    "GET /metrics": PUBLIC,
    "GET /static": PUBLIC,
    "GET /ack/{token}": PUBLIC, "POST /ack/{token}": PUBLIC,  # the signed link is the credential (or asks a login)
    # The demo's API pages (Swagger UI, ReDoc run code from a CDN: a real server does not serve them).
    "GET /docs": PUBLIC, "GET /docs/oauth2-redirect": PUBLIC, "GET /redoc": PUBLIC,
    # Any logged-in user: reading, within their site grant.
    "GET /openapi.json": LOGIN,  # public in the demo, a login on a real server
    "GET /": LOGIN, "GET /events": LOGIN, "GET /roster": LOGIN, "GET /figures": LOGIN, "GET /records": LOGIN,
    "GET /district": LOGIN, "GET /residents": LOGIN, "GET /residents/{bed}": LOGIN, "GET /history": LOGIN,
    "GET /history.csv": LOGIN, "GET /silences": LOGIN,
    "GET /api/v1/auth/me": LOGIN, "GET /api/v1/alerts": LOGIN, "GET /api/v1/alerts/{alert_id}": LOGIN,
    "GET /api/v1/alerts/{alert_id}/notifications": LOGIN, "GET /api/v1/cameras": LOGIN,
    "GET /api/v1/suppressions": LOGIN, "GET /api/v1/beds/{bed}/turns": LOGIN, "GET /api/v1/devices": LOGIN,
    "GET /api/v1/dead-letters": LOGIN, "GET /api/v1/edges": LOGIN, "GET /api/v1/roster": LOGIN,
    "GET /api/v1/handovers": LOGIN, "GET /api/v1/figures": LOGIN, "GET /api/v1/records/chain": LOGIN,
    "GET /api/v1/records/drills": LOGIN, "GET /api/v1/records/cold-storage": LOGIN,
    "GET /api/v1/records/patrols": LOGIN, "GET /api/v1/records/inspections": LOGIN,
    "GET /api/v1/records/rectifications": LOGIN, "GET /api/v1/records/food-samples": LOGIN,
    "GET /api/v1/records/district": LOGIN, "GET /api/v1/records/photos/{photo}": LOGIN,
    "GET /api/v1/records/export/{kind}": LOGIN, "GET /api/v1/records/epidemic": LOGIN,
    "GET /api/v1/records/epidemic/{site}": LOGIN, "GET /api/v1/records/epidemic/{site}/health-checks": LOGIN,
    "GET /api/v1/records/epidemic/{site}/disinfections": LOGIN, "GET /api/v1/records/epidemic/{site}/day": LOGIN,
    "GET /api/v1/beds": LOGIN, "GET /api/v1/beds/{bed}": LOGIN,
    # Actors (staff, managers, admins): whatever changes alerts or writes records.
    "POST /api/v1/alerts/{alert_id}/ack": ACTOR, "POST /api/v1/alerts/{alert_id}/resolve": ACTOR,
    "POST /api/v1/alerts/{alert_id}/comment": ACTOR, "POST /api/v1/alerts/{alert_id}/assign": ACTOR,
    "GET /api/v1/snapshots/{ident}": ACTOR,  # CAREWATCH_SNAPSHOT_ROLES, by default the actors
    "POST /api/v1/suppressions": ACTOR, "POST /api/v1/suppressions/{suppression_id}/end": ACTOR,
    "POST /api/v1/beds/{bed}/turns": ACTOR, "POST /residents/{bed}/turn": ACTOR,
    "POST /api/v1/records/drills/{drill}": ACTOR, "POST /api/v1/records/inspections": ACTOR,
    "POST /api/v1/records/rectifications/{task}/close": ACTOR, "POST /api/v1/records/food-samples": ACTOR,
    "POST /api/v1/records/inspections/{inspection}/photos": ACTOR,
    "POST /api/v1/records/rectifications/{task}/photos": ACTOR, "POST /api/v1/records/cold-readings": ACTOR,
    "POST /api/v1/records/epidemic/{site}/health-checks": ACTOR,
    "POST /api/v1/records/epidemic/{site}/disinfections": ACTOR,
    # A checkpoint's page asks for a login itself (with a genuine link; a forged one is a 404 for anyone).
    "GET /patrol/{site}/{checkpoint}": ACTOR, "POST /patrol/{site}/{checkpoint}": ACTOR,
    # Managers (and admins): how the site runs.
    "PUT /api/v1/roster/{shift}": MANAGER, "POST /roster/{shift}": MANAGER,
    "GET /api/v1/records/patrols/checkpoints": MANAGER,
    "GET /api/v1/records/patrols/checkpoints/{checkpoint}/qr.svg": MANAGER,
    "POST /api/v1/records/epidemic/{site}": MANAGER, "POST /silences": MANAGER,
    "POST /silences/{suppression_id}/end": MANAGER,
}
# GET pages an inspector reads: none may offer them a form that changes something (logging out aside).
PAGES = ("/", "/roster", "/silences", "/residents", "/residents/{bed}", "/history", "/figures", "/records",
         "/district")


@dataclass
class Env:
    """The app, a client per role (None: not logged in), and real ids to put in paths."""

    app: FastAPI
    clients: dict[Role | None, TestClient]
    site: Site

    def url(self, route: str) -> str:
        """A route's path with real ids in it."""
        method, path = route.split(" ", 1)
        if path == "/static":
            return "/static/screen.css"
        if path.startswith("/patrol/"):
            return patrols.link(self.app.state.ctx.settings.signing_key(), self.site.id, "cp-kitchen")
        ids = {"site": self.site.id, "bed": "b103-2", "shift": "day", "checkpoint": "cp-kitchen",
               "kind": "drills", "code": "en", "token": "not-a-link"}
        return re.sub(r"{(\w+)(:\w+)?}", lambda m: ids.get(m.group(1), "1"), path)

    def call(self, who: Role | None, route: str) -> Any:
        """Call a route as `who`, with a body that passes validation where the role is checked after it."""
        method = route.split(" ", 1)[0]
        body = BODIES.get(route, lambda site: {})(self.site)
        return self.clients[who].request(method, self.url(route), follow_redirects=False, **body)


BODIES: dict[str, Callable[[Site], dict[str, Any]]] = {
    "POST /roster/{shift}": lambda site: {"data": {"staff": "s-wang"}},
    "POST /residents/{bed}/turn": lambda site: {"data": {"site": site.id}},
    "POST /silences": lambda site: {"data": {"site": site.id}},
    "POST /api/v1/records/epidemic/{site}": lambda site: {"json": {"on": False, "reason": "role check"}},
}


def route_table(app: FastAPI) -> set[str]:
    """`METHOD path` of every route the app serves (HEAD goes with GET)."""
    found = set()
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            found.add(f"GET {route.path}")
            continue
        found |= {f"{method} {route.path}" for method in route.methods or () if method != "HEAD"}
    return found


@pytest.fixture
def env(unique_site_file: Path, sqlite_url: str, broker: Any) -> Iterator[Env]:
    """The app without ingest, with a user of every role logged in through the form."""
    app = create_app(server_settings(unique_site_file, sqlite_url, broker), ingest=False)
    with TestClient(app) as anonymous:
        with app.state.ctx.sessions.begin() as db:
            for role, (name, password) in USERS.items():
                if role != Role.ADMIN:
                    create_user(db, username=name, password=password, role=role, at=utcnow())
        clients: dict[Role | None, TestClient] = {None: anonymous}
        for role, (name, password) in USERS.items():
            clients[role] = TestClient(app)
            clients[role].post("/login", data={"username": name, "password": password})
        yield Env(app, clients, load_facility(unique_site_file).site())


def test_every_route_declares_who_may_call_it(env: Env, unique_site_file: Path, sqlite_url: str,
                                              broker: Any) -> None:
    demo = create_app(server_settings(unique_site_file, sqlite_url, broker, demo=True), ingest=False)
    served = route_table(env.app) | route_table(demo)
    undeclared = sorted(served - ROLES.keys())
    assert not undeclared, f"declare who may call {undeclared} in ROLES of tests/server/test_route_roles.py"
    assert not sorted(ROLES.keys() - served), "ROLES names routes the app no longer serves: remove them"


def test_without_a_login_every_private_route_asks_for_one(env: Env) -> None:
    for route, who in ROLES.items():
        if route in route_table(env.app):
            response = env.call(None, route)
            assert response.status_code != 500, route
            if who != PUBLIC:
                asks = response.status_code == 401 or (
                    response.status_code == 303 and response.headers["location"].startswith("/login"))
                assert asks, f"{route} answered {response.status_code} without a login"


def test_a_role_below_the_route_is_refused(env: Env) -> None:
    refused = {route: [role.value for role in USERS if role not in ALLOWED[who]]
               for route, who in ROLES.items() if who in ALLOWED}
    for route, roles in refused.items():
        for role in roles:
            response = env.call(Role(role), route)
            assert response.status_code == 403, f"{route} as {role}: {response.status_code} {response.text[:200]}"


def test_the_roles_a_route_lets_in_are_not_refused(env: Env) -> None:
    """The other way round: the table is not stricter than the app (ids are made up: 404 and 422 are fine)."""
    for route, who in ROLES.items():
        for role in ALLOWED.get(who, ()):
            response = env.call(role, route)
            assert response.status_code not in (401, 403, 500), f"{route} as {role}: {response.status_code}"


def test_an_inspectors_pages_offer_no_controls(env: Env) -> None:
    env.clients[Role.ADMIN].post("/api/v1/suppressions", json={
        "site": env.site.id, "mode": "silence", "scope": "device", "target": env.site.devices[0].id,
        "minutes": 30, "reason": "battery swap"})  # so /silences lists one a manager could end
    for page in PAGES:
        html = env.clients[Role.INSPECTOR].get(env.url(f"GET {page}")).text
        forms = re.findall(r'<form method="post"(?: action="([^"]*)")?', html)
        assert [action for action in forms if action != "/logout"] == [], page
    assert '"canAct": false' in env.clients[Role.INSPECTOR].get("/").text
    for page in ("/roster", "/silences", "/residents/{bed}"):  # while the same pages give managers their forms
        assert '<form method="post" action="/' + page.split("/")[1] in env.clients[Role.ADMIN].get(
            env.url(f"GET {page}")).text, page


def test_api_pages_are_the_demos_only(env: Env, unique_site_file: Path, sqlite_url: str, broker: Any) -> None:
    anonymous, admin = env.clients[None], env.clients[Role.ADMIN]
    assert anonymous.get("/docs").status_code == 404 and anonymous.get("/redoc").status_code == 404
    assert anonymous.get("/openapi.json").status_code == 401
    assert "/api/v1/alerts" in admin.get("/openapi.json").json()["paths"]
    with TestClient(create_app(server_settings(unique_site_file, sqlite_url, broker, demo=True),
                               ingest=False)) as demo:
        docs = demo.get("/docs")
        assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.headers["content-security-policy"]
        assert demo.get("/openapi.json").status_code == 200
        assert "cdn.jsdelivr.net" not in demo.get("/login").headers["content-security-policy"]
