"""The systemd units in deploy/systemd must match the code: commands the CLI accepts, state where the flags say,
environment files naming real settings; and the EMQX override must still stand in for the Mosquitto service."""

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from carewatch.cli import _parser
from devices.loader import load_facility
from server.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "deploy" / "systemd"
SETTINGS = {f"CAREWATCH_{name.upper()}" for name in Settings.model_fields}
CLI_ENV = {"CAREWATCH_CONFIG", "CAREWATCH_MQTT_PROTOCOL", "CAREWATCH_UPLINK_URL", "CAREWATCH_EDGE_STATE",
           "CAREWATCH_MQTT_URL", "CAREWATCH_LOG_LEVEL"}
OTHER_ENV = {"SSL_CERT_FILE"}  # Python's ssl reads it: how the edge and server trust the broker's CA


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file as systemd reads it: sections of keys, a key given twice keeps both values (EnvironmentFile)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in (UNITS / name).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(section: dict[str, list[str]], key: str) -> str:
    """A key given exactly once."""
    [value] = section[key]
    return value


def env_file(name: str) -> dict[str, str]:
    """An example environment file: NAME=value lines."""
    lines = (UNITS / name).read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def parse(exec_start: str) -> Any:
    """ExecStart through the real CLI parser, with the installed venv's `carewatch` as the program."""
    argv = shlex.split(exec_start)
    assert argv[0] == "/opt/carewatch/bin/carewatch"
    args = _parser().parse_args(argv[1:])
    assert hasattr(args, "run")
    assert args.config == "/etc/carewatch/facility.yaml"
    return args


@pytest.mark.parametrize("name", ["carewatch-edge.service", "carewatch-server@.service"])
def test_units_restart_run_as_their_user_and_are_hardened(name: str) -> None:
    service = unit(name)["Service"]
    assert one(service, "Restart") == "always" and int(one(service, "RestartSec")) > 0
    assert one(service, "User") == one(service, "Group") == "carewatch"
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "CapabilityBoundingSet": ""}.items():
        assert one(service, key) == value, key
    assert unit(name)["Install"]["WantedBy"] == ["multi-user.target"]
    assert "network-online.target" in one(unit(name)["Unit"], "After")


def test_edge_unit_keeps_its_outbox_in_its_state_directory() -> None:
    service = unit("carewatch-edge.service")["Service"]
    args = parse(one(service, "ExecStart"))
    assert args.run.__name__ == "_edge"
    state = Path("/var/lib") / one(service, "StateDirectory")  # where systemd makes it, owned by User=
    assert Path(args.state_dir) == state
    assert str(state) in one(service, "ReadWritePaths").split()
    assert one(service, "EnvironmentFile") == "/etc/carewatch/edge.env"


def test_edge_env_file_names_what_the_edge_reads() -> None:
    env = env_file("edge.env.example")
    assert set(env) <= CLI_ENV | SETTINGS | OTHER_ENV
    assert {"CAREWATCH_MQTT_URL", "CAREWATCH_UPLINK_URL"} <= set(env)
    assert env["CAREWATCH_MQTT_URL"].startswith("mqtt://edge.hq:")  # the edge account `mqtt-config` makes
    assert "hq" in load_facility(ROOT / "config" / "facility.yaml").site_by_id


def test_server_template_runs_one_server_per_instance() -> None:
    service = unit("carewatch-server@.service")["Service"]
    args = parse(one(service, "ExecStart"))
    assert args.run.__name__ == "_server"
    assert service["EnvironmentFile"] == ["/etc/carewatch/server.env", "-/etc/carewatch/server-%i.env"]
    state = Path("/var/lib") / one(service, "StateDirectory")
    assert one(service, "WorkingDirectory") == str(state) and str(state) in one(service, "ReadWritePaths").split()
    assert "%i" in one(unit("carewatch-server@.service")["Unit"], "Description")


def test_server_env_file_names_real_settings() -> None:
    env = env_file("server.env.example")
    assert set(env) - SETTINGS - OTHER_ENV == set()
    assert env["CAREWATCH_MQTT_CLIENT_ID"] == "carewatch-server" and int(env["CAREWATCH_SHARDS"]) > 1
    assert env["CAREWATCH_DATABASE_URL"].startswith("postgresql://")  # shards need PostgreSQL's locks
    assert "CAREWATCH_MQTT_SHARED_GROUP" not in env


class ComposeLoader(yaml.SafeLoader):
    """YAML with compose's merge tags: `!reset` and `!override` replace what the base file says."""


for tag in ("!reset", "!override"):
    ComposeLoader.add_constructor(tag, lambda loader, node: (loader.construct_sequence(node)
                                                             if isinstance(node, yaml.SequenceNode)
                                                             else loader.construct_mapping(node)))


def test_emqx_override_stands_in_for_mosquitto() -> None:
    text = (ROOT / "deploy" / "emqx" / "docker-compose.emqx.yml").read_text(encoding="utf-8")
    override = yaml.load(text, Loader=ComposeLoader)  # noqa: S506 - a safe loader with two more tags
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    broker = override["services"]["mosquitto"]
    assert "mosquitto" in compose["services"] and broker["image"].startswith("emqx/emqx:5")
    assert "1883:1883" in broker["ports"]
    mounts = [v.split(":")[0] for v in broker["volumes"]]
    for mount in mounts:
        if mount.startswith("./") and not mount.endswith("/secrets"):
            assert (ROOT / mount).is_file(), mount  # paths are relative to docker-compose.yml's directory
    hocon = (ROOT / "deploy" / "emqx" / "base.hocon").read_text(encoding="utf-8")
    assert "no_match = deny" in hocon and "built_in_database" in hocon and "durable_sessions" in hocon
