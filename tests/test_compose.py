"""docker-compose.yml must match the code: services, commands the CLI accepts, settings that exist."""

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from carewatch.cli import _parser
from devices.loader import load_facility
from server.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
# Environment variables read by the CLI itself rather than by server Settings.
CLI_ENV = {"CAREWATCH_CONFIG", "CAREWATCH_MQTT_PROTOCOL", "CAREWATCH_UPLINK_URL", "CAREWATCH_EDGE_STATE",
           "CAREWATCH_MQTT_URL", "CAREWATCH_LOG_LEVEL"}


def command(service: str) -> list[str]:
    value = SERVICES[service]["command"]
    return shlex.split(value) if isinstance(value, str) else list(value)


def test_compose_has_the_five_services() -> None:
    assert set(SERVICES) == {"mosquitto", "postgres", "server", "edge", "sim"}


@pytest.mark.parametrize("service", ["server", "edge", "sim"])
def test_each_command_is_one_the_cli_accepts(service: str) -> None:
    argv = command(service)
    assert argv[0] == "carewatch" and argv[1] == service
    args = _parser().parse_args(argv[1:])
    assert hasattr(args, "run")
    config = Path(args.config)
    assert config.is_absolute() and config.parts[:3] == ("/", "app", "config")
    load_facility(ROOT / config.relative_to("/app"))  # the file the image copies exists and is valid


@pytest.mark.parametrize("service", ["edge", "sim"])
def test_site_and_broker_point_at_real_things(service: str) -> None:
    args = _parser().parse_args(command(service)[1:])
    facility = load_facility(ROOT / "config" / "facility.yaml")
    assert args.site in facility.site_by_id
    assert args.broker_url == "mqtt://mosquitto:1883"


def test_server_environment_names_real_settings() -> None:
    env = SERVICES["server"]["environment"]
    fields = {f"CAREWATCH_{name.upper()}" for name in Settings.model_fields}
    assert set(env) - fields - CLI_ENV == set()
    settings = Settings(**{k.removeprefix("CAREWATCH_").lower(): v for k, v in env.items()})
    assert settings.database_url.startswith("postgresql://") and "@postgres:5432/" in settings.database_url
    assert settings.mqtt_url == "mqtt://mosquitto:1883"
    assert f"{settings.port}:{settings.port}" in SERVICES["server"]["ports"]
    assert settings.host == "0.0.0.0"


def test_database_credentials_match_postgres_service() -> None:
    pg = SERVICES["postgres"]["environment"]
    url = SERVICES["server"]["environment"]["CAREWATCH_DATABASE_URL"]
    assert url == f"postgresql://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}"


def test_edge_and_sim_env_only_uses_known_variables() -> None:
    for service in ("edge", "sim"):
        assert set(SERVICES[service].get("environment", {})) <= CLI_ENV


def test_mosquitto_config_mounted_exists_and_keeps_queues() -> None:
    source = SERVICES["mosquitto"]["volumes"][0].split(":")[0]
    conf = (ROOT / source).read_text(encoding="utf-8")
    assert "persistence true" in conf and "max_queued_messages 0" in conf
    assert "listener 1883" in conf


def test_dockerfile_copies_every_package_the_cli_needs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for package in ("carewatch", "devices", "edge", "server", "config"):
        assert f"COPY {package} {package}" in dockerfile
