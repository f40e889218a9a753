"""Mosquitto secured from the facility file: no anonymous clients, one password per account, ACLs, optional TLS.

`write_config` makes, in one directory: `mosquitto.conf`, `acl` (see `carewatch.mqtt_acl`), `passwd` (Mosquitto 2
PBKDF2-SHA512 hashes) and `credentials.yaml` (the clear passwords for the installer, mode 0600). Running it again
keeps every existing password unless asked to rotate them; new devices get new ones, removed devices lose theirs.
"""

import base64
import hashlib
import os
import pwd
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from carewatch.mqtt_acl import Account, accounts, acl_text
from devices.facility import Facility

CONF, ACL, PASSWD, CREDENTIALS = "mosquitto.conf", "acl", "passwd", "credentials.yaml"
TLS_FILES = ("ca.crt", "server.crt", "server.key")
# What mosquitto_passwd 2.0 writes: `$7$` = PBKDF2-SHA512, 101 iterations, 12 random bytes of salt.
HASH_ITERATIONS, SALT_BYTES = 101, 12


@dataclass(frozen=True)
class Listeners:
    """Where the broker listens: plain MQTT (with passwords) and, with certificates, TLS."""

    port: int = 1883
    tls_port: int = 8883
    bind: str | None = None  # an address to listen on; None = every interface
    plain: bool = True  # False: TLS only
    run_as: str | None = None  # Mosquitto started as root switches to this user (its default: `mosquitto`)


@dataclass(frozen=True)
class Written:
    """What `write_config` did."""

    directory: Path
    accounts: list[Account]
    created: list[str]  # usernames that got a new password
    tls: bool


def password_hash(password: str, salt: bytes | None = None) -> str:
    """A Mosquitto 2 password-file hash: `$7$<iterations>$<base64 salt>$<base64 PBKDF2-SHA512>`."""
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, HASH_ITERATIONS)
    return f"$7${HASH_ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def new_secret() -> str:
    """A random password: 192 bits, URL-safe, so it fits in `mqtt://user:password@host` as it is."""
    return secrets.token_urlsafe(24)


def read_credentials(path: Path) -> dict[str, str]:
    """Passwords by username from an earlier `credentials.yaml` (none if there is no file)."""
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(a["username"]): str(a["password"]) for a in data.get("accounts", [])}


def assign(found: list[Account], old: dict[str, str], *, rotate: bool) -> tuple[dict[str, str], list[str]]:
    """A password for every account: the old one unless rotating; and the usernames given a new one."""
    passwords, created = {}, []
    for account in found:
        kept = None if rotate else old.get(account.username)
        passwords[account.username] = kept or new_secret()
        if kept is None:
            created.append(account.username)
    return passwords, created


def passwd_text(passwords: dict[str, str]) -> str:
    """Mosquitto's password file."""
    return "".join(f"{user}:{password_hash(pw)}\n" for user, pw in passwords.items())


def credentials_text(found: list[Account], passwords: dict[str, str]) -> str:
    """The installer's sheet: each account, its password and what it may publish and subscribe to."""
    rows: list[dict[str, Any]] = []
    for a in found:
        row: dict[str, Any] = {"username": a.username, "password": passwords[a.username], "role": a.role}
        row |= {"site": a.site} if a.site else {}
        row |= {"device": a.device} if a.device else {}
        rows.append(row | {"publish": list(a.write), "subscribe": list(a.read)})
    head = ("# carewatch MQTT credentials, made by `carewatch mqtt-config`. SECRET: keep this file 0600 and give\n"
            "# each device, bridge and edge only its own entry. Run again with --rotate to replace every password.\n")
    return head + yaml.safe_dump({"accounts": rows}, allow_unicode=True, sort_keys=False, width=120)


def conf_text(directory: Path, listeners: Listeners, *, tls_dir: Path | None, data_dir: Path) -> str:
    """mosquitto.conf: authenticated listeners, the ACL, persistence, and the limits carewatch needs."""
    lines = ["# Made by `carewatch mqtt-config` from the facility file: edit the facility file and run it again.",
             "# Settings below apply to every listener (per_listener_settings false, Mosquitto's default).",
             *([f"user {listeners.run_as}"] if listeners.run_as else []),
             "allow_anonymous false", f"password_file {directory / PASSWD}", f"acl_file {directory / ACL}", ""]
    bind = f" {listeners.bind}" if listeners.bind else ""
    if listeners.plain:
        lines += ["# Plain MQTT: passwords cross the network in clear; keep it on the care home's own network.",
                  f"listener {listeners.port}{bind}", ""]
    if tls_dir is not None:
        ca, cert, key = (tls_dir / name for name in TLS_FILES)
        lines += ["# MQTT over TLS: clients check the server against ca.crt (see `carewatch mqtt-certs`).",
                  f"listener {listeners.tls_port}{bind}", f"cafile {ca}", f"certfile {cert}", f"keyfile {key}",
                  "tls_version tlsv1.2", ""]
    lines += ["# Sessions and queued QoS 1 messages survive a broker restart.", "persistence true",
              f"persistence_location {data_dir}/", "autosave_interval 30",
              "# The default of 1000 queued messages per client drops observations while a server is away.",
              "max_queued_messages 0", "max_inflight_messages 100", "message_size_limit 65536",
              "log_dest stdout", "log_type error", "log_type warning", "log_type notice", ""]
    return "\n".join(lines)


def write_config(facility: Facility, out: Path, *, tls_dir: Path | None = None, rotate: bool = False,
                 listeners: Listeners = Listeners(), data_dir: Path | None = None,
                 sites: list[str] | None = None) -> Written:
    """Write conf, ACL, password file and credentials into `out`; raises AclError or FileNotFoundError."""
    out = out.resolve()
    if tls_dir is not None:
        tls_dir = tls_dir.resolve()
        lacking = [name for name in TLS_FILES if not (tls_dir / name).is_file()]
        if lacking:
            raise FileNotFoundError(f"{tls_dir} has no {', '.join(lacking)}: make them with `carewatch mqtt-certs`")
    found = accounts(facility, sites)
    out.mkdir(parents=True, exist_ok=True)
    passwords, created = assign(found, read_credentials(out / CREDENTIALS), rotate=rotate)
    data = (data_dir or out / "data").resolve()
    data.mkdir(parents=True, exist_ok=True)
    _write(out / CREDENTIALS, credentials_text(found, passwords), 0o600)
    # The broker reads these two; only hashes and topic names, but nobody else needs them.
    _write(out / PASSWD, passwd_text(passwords), 0o640)
    _write(out / ACL, acl_text(found), 0o640)
    _write(out / CONF, conf_text(out, listeners, tls_dir=tls_dir, data_dir=data), 0o644)
    share_with_broker([out / PASSWD, out / ACL, data] + ([tls_dir / "server.key"] if tls_dir else []),
                      listeners.run_as or "mosquitto")
    return Written(out, found, created, tls_dir is not None)


def share_with_broker(paths: list[Path], user: str) -> None:
    """When run as root, give the broker's group read access: Mosquitto started as root drops to `user`
    before it reads the password file, the ACL and the key, and writes its persistence as that user."""
    if os.geteuid() != 0 or user == "root":
        return
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return  # no such user here (a config made for another machine): the installer sets owners there
    for path in paths:
        if path.is_dir():
            os.chown(path, entry.pw_uid, entry.pw_gid)
        else:
            os.chown(path, 0, entry.pw_gid)
            os.chmod(path, 0o640)


def _write(path: Path, text: str, mode: int) -> None:
    """Replace a file atomically, created with `mode` from the start (never briefly world-readable)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, mode)  # the umask may have taken bits away
    os.replace(tmp, path)
