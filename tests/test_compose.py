"""docker-compose.yml must match the code: services, commands the CLI accepts, real settings, secrets from .env."""

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from carewatch.cli import _parser
from devices.loader import load_facility
from server.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TEXT = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load(TEXT)
SERVICES: dict[str, Any] = COMPOSE["services"]
SERVERS = ("server-1", "server-2")
CARE = ("mqtt-config", *SERVERS, "edge", "sim")  # services running the carewatch image
# Environment variables read by the CLI itself rather than by server Settings.
CLI_ENV = {"CAREWATCH_CONFIG", "CAREWATCH_MQTT_PROTOCOL", "CAREWATCH_UPLINK_URL", "CAREWATCH_EDGE_STATE",
           "CAREWATCH_MQTT_URL", "CAREWATCH_LOG_LEVEL"}
# What .env holds in the test: every variable compose interpolates, with a recognisable value.
DOTENV = {"POSTGRES_PASSWORD": "pg-pw", "CAREWATCH_MQTT_SERVER_PASSWORD": "srv-pw", "CAREWATCH_MQTT_EDGE_PASSWORD":
          "edge-pw", "CAREWATCH_SECRET_KEY": "k" * 32, "CAREWATCH_BOOTSTRAP_ADMIN": "admin:a-long-password"}
VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[?-])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:?message}` and `${VAR:-default}`; KeyError for a required one left unset."""
    def one(match: re.Match[str]) -> str:
        name, op, rest = match.groups()
        if env.get(name):
            return env[name]
        if op in (":-", "-"):
            return rest
        raise KeyError(name)
    return VARIABLE.sub(one, value)


def environment(service: str, env: dict[str, str] = DOTENV) -> dict[str, str]:
    """A service's environment as its container sees it, given `env` as .env."""
    return {k: interpolate(str(v), env) for k, v in SERVICES[service].get("environment", {}).items()}


def command(service: str) -> list[str]:
    value = SERVICES[service]["command"]
    return shlex.split(value) if isinstance(value, str) else list(value)


def parse(service: str) -> Any:
    """The service's command through the real CLI parser, with the container's environment (CLI defaults)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment(service).items():
            patch.setenv(name, value)
        return _parser().parse_args(command(service)[1:])


def test_compose_has_the_production_services_and_the_simulators_under_a_profile() -> None:
    assert set(SERVICES) == {"mqtt-config", "mosquitto", "postgres", *SERVERS, "edge", "sim-broker", "sim"}
    assert {name for name, s in SERVICES.items() if "profiles" in s} == {"sim-broker", "sim"}
    assert SERVICES["sim"]["profiles"] == SERVICES["sim-broker"]["profiles"] == ["sim"]
    for name in ("mosquitto", "postgres", *SERVERS, "edge"):
        assert SERVICES[name]["restart"] == "unless-stopped", name


@pytest.mark.parametrize("service", CARE)
def test_each_command_is_one_the_cli_accepts(service: str) -> None:
    argv = command(service)
    assert argv[:2] == ["carewatch", "server" if service in SERVERS else service]
    args = parse(service)
    assert hasattr(args, "run")
    config = Path(args.config)
    assert config.is_absolute() and config.parts[:3] == ("/", "app", "config")
    load_facility(ROOT / config.relative_to("/app"))  # the file the image copies exists and is valid
    assert SERVICES[service]["build"] == "." and SERVICES[service]["image"] == "carewatch:local"


def test_mosquitto_requires_passwords_written_by_mqtt_config() -> None:
    args = parse("mqtt-config")
    mounts = dict(v.split(":")[:2] for v in SERVICES["mqtt-config"]["volumes"])  # volume -> path
    broker = dict(v.split(":")[:2] for v in SERVICES["mosquitto"]["volumes"])
    # The conf names its files by absolute path: both containers must see the volumes at the same place.
    assert mounts == broker == {"mosquitto-config": "/mosquitto/config", "mosquitto-data": "/mosquitto/data"}
    assert (args.out, args.data_dir, args.tls_only) == ("/mosquitto/config", "/mosquitto/data", False)
    assert "command" not in SERVICES["mosquitto"]  # the image's default: /mosquitto/config/mosquitto.conf
    assert SERVICES["mosquitto"]["depends_on"]["mqtt-config"]["condition"] == "service_completed_successfully"
    assert SERVICES["mqtt-config"]["restart"] == "no" and SERVICES["mqtt-config"]["user"] == "root"


def test_mqtt_config_writes_what_mosquitto_reads(tmp_path: Path) -> None:
    from carewatch.mqtt_security import Listeners, write_config

    written = write_config(load_facility(ROOT / "config" / "facility.yaml"), tmp_path / "config",
                           listeners=Listeners(), data_dir=tmp_path / "data")
    conf = (tmp_path / "config" / "mosquitto.conf").read_text(encoding="utf-8")
    assert "allow_anonymous false" in conf and "listener 1883" in conf
    assert "persistence true" in conf and "max_queued_messages 0" in conf
    users = {a.username for a in written.accounts}
    assert {"server", "edge.hq"} <= users  # the accounts the servers' and the edge's URLs name


@pytest.mark.parametrize("server", SERVERS)
def test_server_environment_names_real_settings(server: str) -> None:
    env = environment(server)
    fields = {f"CAREWATCH_{name.upper()}" for name in Settings.model_fields}
    assert set(env) - fields - CLI_ENV == set()
    settings = Settings(**{k.removeprefix("CAREWATCH_").lower(): v for k, v in env.items()})
    assert settings.database_url == "postgresql://carewatch:pg-pw@postgres:5432/carewatch"
    assert settings.mqtt_url == "mqtt://server:srv-pw@mosquitto:1883"
    assert settings.host == "0.0.0.0" and settings.port == 8000
    assert any(p.endswith(f":{settings.port}") for p in SERVICES[server]["ports"])
    assert settings.secret_key is not None and settings.secret_key.get_secret_value() == "k" * 32


def test_two_servers_share_the_shards_and_the_client_id() -> None:
    one, two = (environment(s) for s in SERVERS)
    assert one == two
    assert one["CAREWATCH_SHARDS"] == "8" and one["CAREWATCH_MQTT_CLIENT_ID"] == "carewatch-server"
    assert "CAREWATCH_MQTT_SHARED_GROUP" not in one
    assert SERVICES["server-1"]["ports"] != SERVICES["server-2"]["ports"]
    for server in SERVERS:
        assert SERVICES[server]["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", sorted(DOTENV))
def test_every_secret_must_come_from_dotenv(name: str) -> None:
    with pytest.raises(KeyError, match=name):
        for service in SERVICES:
            environment(service, {k: v for k, v in DOTENV.items() if k != name})
    assert re.search(rf"\$\{{{name}:\?set {name}[= ]", TEXT)  # compose's refusal says what to set


def test_the_example_dotenv_names_every_variable_compose_needs() -> None:
    example = (ROOT / "deploy" / "compose.env.example").read_text(encoding="utf-8")
    names = set(re.findall(r"^#? ?(\w+)=", example, re.MULTILINE))
    assert {name for name, _, _ in VARIABLE.findall(TEXT)} <= names


def test_database_credentials_match_postgres_service() -> None:
    pg = environment("postgres")
    url = environment("server-1")["CAREWATCH_DATABASE_URL"]
    assert url == f"postgresql://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}"


def test_edge_reads_its_devices_and_sends_uplink_with_its_own_account() -> None:
    args = parse("edge")
    facility = load_facility(ROOT / "config" / "facility.yaml")
    assert args.site in facility.site_by_id
    assert args.broker_url == f"mqtt://edge.{args.site}:edge-pw@mosquitto:1883"
    assert args.uplink_url == f"mqtt://edge.{args.site}:edge-pw@mosquitto:1883"
    assert args.state_dir == "/var/lib/carewatch/edge"
    assert f"edge-data:{args.state_dir}" in SERVICES["edge"]["volumes"]
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment("edge", DOTENV | {"CAREWATCH_EDGE_DEVICE_BROKER": "sim-broker"}).items():
            patch.setenv(name, value)
        simulated = _parser().parse_args(command("edge")[1:])
    assert simulated.broker_url == "mqtt://edge.hq:edge-pw@sim-broker:1883"
    assert simulated.uplink_url == args.uplink_url  # the uplink stays on the secured broker


def test_sim_publishes_to_its_own_broker_for_the_edges_site() -> None:
    args = parse("sim")
    assert args.broker_url == "mqtt://sim-broker:1883" and args.site == parse("edge").site
    assert SERVICES["sim-broker"]["image"] == SERVICES["mosquitto"]["image"]


def test_edge_and_sim_env_only_uses_known_variables() -> None:
    for service in ("edge", "sim"):
        assert set(SERVICES[service].get("environment", {})) <= CLI_ENV


def test_dockerfile_copies_every_package_the_cli_needs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for package in ("carewatch", "devices", "edge", "server", "config"):
        assert f"COPY {package} {package}" in dockerfile
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    packages = re.search(r'include = \[(.*?)\]', pyproject)
    assert packages and {p.strip('" *') for p in packages.group(1).split(",")} <= {"carewatch", "devices", "edge",
                                                                                   "server"}
    assert "postgresql-client" in dockerfile  # `carewatch db backup` on PostgreSQL runs pg_dump
    assert re.search(r"^USER carewatch$", dockerfile, re.MULTILINE)
    assert "mkdir -p /var/lib/carewatch/edge" in dockerfile  # a fresh edge-data volume is the edge user's
