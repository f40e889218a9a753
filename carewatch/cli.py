"""`carewatch` command line: demo, server, edge, sim, mqtt-config, mqtt-certs, check, db upgrade, backup and
restore, records verify and export, user add."""

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from devices.facility import Site
from devices.loader import FacilityError, load_facility

DEFAULT_CONFIG = "config/facility.yaml"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `carewatch` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("CAREWATCH_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "amqtt", "transitions", "httpx"):  # their INFO lines drown ours
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except FacilityError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    """All subcommands and their flags."""
    parser = argparse.ArgumentParser(prog="carewatch", description="Safety alerts for elderly-care facilities.")
    sub = parser.add_subparsers(metavar="command")
    _demo_parser(sub)
    _server_parser(sub)
    _edge_parser(sub)
    _sim_parser(sub)
    _mqtt_parsers(sub)
    check = _add(sub, "check", "validate the facility file and print a summary", _check)
    check.add_argument("--profile", help="also apply this named profile")
    db = sub.add_parser("db", help="database commands").add_subparsers(metavar="action")
    upgrade = _add(db, "upgrade", "apply database migrations", _db_upgrade)
    upgrade.add_argument("--database-url", help="default: $CAREWATCH_DATABASE_URL or sqlite:///./carewatch.db")
    _db_backup_parsers(db)
    records = sub.add_parser("records", help="safety records").add_subparsers(metavar="action")
    verify = _add(records, "verify", "check the audit chain: intact, or the first link where it breaks",
                  _records_verify)
    verify.add_argument("--site", help="only this site")
    verify.add_argument("--database-url", help="default: $CAREWATCH_DATABASE_URL or sqlite:///./carewatch.db")
    _records_export_parser(records)
    user = sub.add_parser("user", help="user commands").add_subparsers(metavar="action")
    add = _add(user, "add", "add a user who can log in", _user_add)
    add.add_argument("username")
    add.add_argument("--role", choices=["staff", "manager", "inspector", "admin"], default="staff")
    add.add_argument("--password", help="default: asked for (or $CAREWATCH_NEW_PASSWORD)")
    add.add_argument("--site", action="append", dest="sites", metavar="SITE",
                     help="a site this user may see (repeat; default: every site)")
    add.add_argument("--database-url")
    return parser


def _add(sub: argparse._SubParsersAction, name: str, help_: str,  # type: ignore[type-arg]
         run: Callable[[argparse.Namespace], int | None]) -> argparse.ArgumentParser:
    """A subcommand that takes --config."""
    parser = sub.add_parser(name, help=help_, description=help_)
    parser.add_argument("--config", default=os.environ.get("CAREWATCH_CONFIG", DEFAULT_CONFIG),
                        help=f"facility file (default: $CAREWATCH_CONFIG or {DEFAULT_CONFIG})")
    parser.set_defaults(run=run)
    return parser


def _db_backup_parsers(db: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`carewatch db backup` and `carewatch db restore`."""
    backup = _add(db, "backup", "write a consistent backup of the database while the server runs (SQLite: a copy "
                  "of the file; PostgreSQL: a pg_dump custom archive)", _db_backup)
    backup.add_argument("--out", required=True, metavar="FILE", help="backup file to write (replaced when complete)")
    backup.add_argument("--database-url", help="default: $CAREWATCH_DATABASE_URL or sqlite:///./carewatch.db")
    restore = _add(db, "restore", "load a backup into a fresh database, then apply the migrations (stop the "
                   "servers first)", _db_restore)
    restore.add_argument("file", metavar="FILE", help="a file written by `carewatch db backup`")
    restore.add_argument("--force", action="store_true", help="replace everything in a database that holds rows")
    restore.add_argument("--database-url", help="default: $CAREWATCH_DATABASE_URL or sqlite:///./carewatch.db")


def _records_export_parser(records: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`carewatch records export`."""
    from server.records.export_texts import COLUMNS  # the words only: the parser stays quick to build

    parser = _add(records, "export", "export one kind of a site's records over a period: CSV, or a PDF report "
                  "carrying the audit chain's head hash", _records_export)
    parser.add_argument("--site", help="site id (default: the first site)")
    parser.add_argument("--kind", required=True, help=", ".join(COLUMNS))
    parser.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day (default: 29 days before --to)")
    parser.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day, included (default: today)")
    parser.add_argument("--format", default="csv", help="csv (default) or pdf")
    parser.add_argument("--lang", help="zh-CN or en (default: the site's language)")
    parser.add_argument("--output", help="file to write, - for standard output (default: drills-SITE-FROM-TO.pdf "
                        "and so on, here)")
    parser.add_argument("--database-url", help="default: $CAREWATCH_DATABASE_URL or sqlite:///./carewatch.db")


def _demo_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`carewatch demo`."""
    from carewatch import demo

    parser = _add(sub, "demo", "everything in one command: broker, server, edge, simulated facility", demo.run)
    parser.add_argument("--port", type=int, default=8000, help="HTTP port of the screen (default 8000)")
    parser.add_argument("--broker-url", help="use this broker instead of starting one")
    parser.add_argument("--no-sim", action="store_true", help="no simulated devices (bring your own)")
    parser.add_argument("--scenario", action="append", default=[], help="play only these scenarios (repeatable)")
    parser.add_argument("--tour-every", type=float, default=75.0, help="seconds between scenarios of the tour")
    parser.add_argument("--data-dir", default=".carewatch/demo", help="where the demo keeps its database")
    parser.add_argument("--keep", action="store_true", help="keep the previous demo's database")


def _server_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`carewatch server`."""
    parser = _add(sub, "server", "run the server (ingest, rules, alerts, API, screen)", _server)
    parser.add_argument("--profile", help="named profile of the facility file")
    parser.add_argument("--host", help="listen address (default $CAREWATCH_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="HTTP port (default $CAREWATCH_PORT or 8000)")
    parser.add_argument("--database-url", help="default $CAREWATCH_DATABASE_URL")
    parser.add_argument("--broker-url", help="default $CAREWATCH_MQTT_URL")
    parser.add_argument("--mqtt-protocol", choices=["5", "3.1.1"], help="default $CAREWATCH_MQTT_PROTOCOL or 5")


def _edge_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`carewatch edge`."""
    parser = _add(sub, "edge", "run a site's edge agent", _edge)
    parser.add_argument("--site", help="site id (default: the first site)")
    parser.add_argument("--profile")
    parser.add_argument("--broker-url", default=os.environ.get("CAREWATCH_MQTT_URL", "mqtt://127.0.0.1:1883"),
                        help="broker the devices publish to")
    parser.add_argument("--uplink-url", default=os.environ.get("CAREWATCH_UPLINK_URL"),
                        help="broker of the server (default: the same)")
    parser.add_argument("--mqtt-protocol", choices=["5", "3.1.1"],
                        default=os.environ.get("CAREWATCH_MQTT_PROTOCOL", "5"))
    parser.add_argument("--state-dir", default=os.environ.get("CAREWATCH_EDGE_STATE", ".carewatch/edge"),
                        help="where the outbox lives")
    parser.add_argument("--no-cameras", dest="cameras", action="store_false",
                        help="do not read the site's cameras (devices only)")


def _sim_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`carewatch sim`."""
    parser = _add(sub, "sim", "simulate a site's devices, with optional scenarios", _sim)
    parser.add_argument("--site")
    parser.add_argument("--profile")
    parser.add_argument("--broker-url", default=os.environ.get("CAREWATCH_MQTT_URL", "mqtt://127.0.0.1:1883"))
    parser.add_argument("--mqtt-protocol", choices=["5", "3.1.1"],
                        default=os.environ.get("CAREWATCH_MQTT_PROTOCOL", "5"))
    parser.add_argument("--scenario", action="append", default=[], help="scenario to play (repeatable)")
    parser.add_argument("--tour", action="store_true", help="play every scenario in turn")
    parser.add_argument("--seed", type=int)


def _mqtt_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`carewatch mqtt-config` and `carewatch mqtt-certs`."""
    config = _add(sub, "mqtt-config", "write a secured Mosquitto setup from the facility file: mosquitto.conf, "
                  "ACL, password file and the credentials sheet", _mqtt_config)
    config.add_argument("--out", required=True, metavar="DIR", help="directory to write (made if absent)")
    config.add_argument("--tls-dir", metavar="DIR", help="add a TLS listener with ca.crt, server.crt and server.key "
                        "from here (see mqtt-certs)")
    config.add_argument("--rotate", action="store_true", help="new passwords for every account (default: keep)")
    config.add_argument("--site", action="append", dest="sites", metavar="SITE",
                        help="only this site's devices and edge, for a broker of its own (repeat; default: all)")
    config.add_argument("--port", type=int, default=1883, help="plain MQTT port (default 1883)")
    config.add_argument("--tls-port", type=int, default=8883, help="MQTT over TLS port (default 8883)")
    config.add_argument("--bind", help="listen on this address only (default: every interface)")
    config.add_argument("--tls-only", action="store_true", help="no plain listener (needs --tls-dir)")
    config.add_argument("--data-dir", metavar="DIR", help="Mosquitto's persistence directory (default: OUT/data)")
    config.add_argument("--run-as", metavar="USER", help="user Mosquitto switches to when started as root "
                        "(default: Mosquitto's own, mosquitto)")
    certs = _add(sub, "mqtt-certs", "make a CA (kept if present) and a server certificate for the TLS listener",
                 _mqtt_certs)
    certs.add_argument("--out", required=True, metavar="DIR", help="directory for ca.crt, ca.key, server.crt/key")
    certs.add_argument("--host", action="append", dest="hosts", default=[], metavar="NAME",
                       help="a host name clients use for the broker (repeat)")
    certs.add_argument("--ip", action="append", dest="ips", default=[], metavar="ADDR",
                       help="an IP address clients use for the broker (repeat)")


def _mqtt_config(args: argparse.Namespace) -> int:
    """Write the secured broker setup; exit 1 when the facility file cannot be secured as it is."""
    from carewatch.mqtt_acl import AclError
    from carewatch.mqtt_security import Listeners, write_config

    if args.tls_only and not args.tls_dir:
        print("error: --tls-only needs --tls-dir", file=sys.stderr)
        return 1
    listeners = Listeners(port=args.port, tls_port=args.tls_port, bind=args.bind, plain=not args.tls_only,
                          run_as=args.run_as)
    try:
        written = write_config(load_facility(args.config), Path(args.out), tls_dir=_path(args.tls_dir),
                               rotate=args.rotate, listeners=listeners, data_dir=_path(args.data_dir),
                               sites=args.sites)
    except (AclError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    roles = {role: sum(a.role == role for a in written.accounts) for role in ("device", "bridge", "edge", "server")}
    print(f"wrote {written.directory}/: mosquitto.conf, acl, passwd, credentials.yaml (secret, mode 0600)")
    print(", ".join(f"{n} {role}" for role, n in roles.items() if n) + f" account(s); {len(written.created)} "
          f"new password(s){', TLS listener' if written.tls else ''}")
    print(f"start the broker: mosquitto -c {written.directory}/mosquitto.conf")
    return 0


def _path(value: str | None) -> Path | None:
    """A Path from an optional command-line value."""
    return Path(value) if value else None


def _mqtt_certs(args: argparse.Namespace) -> int:
    """Make the CA (once) and the server certificate; exit 1 when openssl fails or a name is missing."""
    from carewatch.mqtt_certs import CertError, make_certs

    try:
        new_ca = make_certs(Path(args.out), hosts=args.hosts, ips=args.ips)
    except (CertError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{'made a new' if new_ca else 'kept the'} CA in {args.out}/ca.crt (give it to every client; keep "
          f"ca.key offline) and a server certificate for {', '.join(args.hosts + args.ips)}")
    return 0


def _check(args: argparse.Namespace) -> int:
    """Validate the facility file; print what it holds."""
    facility = load_facility(args.config, profile=args.profile)
    for site in facility.sites:
        rooms, beds = site.rooms(), site.bed_by_id
        print(f"{site.id}: {site.name.en} / {site.name.zh_CN} — {len(rooms)} rooms, {len(beds)} beds, "
              f"{len(site.devices)} devices, {len(site.staff)} staff, time zone {site.timezone}")
    print(f"{args.config}: OK")
    return 0


def _server(args: argparse.Namespace) -> int:
    """Run the server under uvicorn until Ctrl-C."""
    import uvicorn

    from server.main import create_app
    from server.settings import Settings
    from server.web.security import UnsafeSettings

    overrides = {k: v for k, v in {
        "config": args.config, "profile": args.profile, "host": args.host, "port": args.port,
        "database_url": args.database_url, "mqtt_url": args.broker_url, "mqtt_protocol": args.mqtt_protocol,
    }.items() if v is not None}
    settings = Settings(**overrides)
    try:
        app = create_app(settings)
    except UnsafeSettings as exc:  # a real server with a default secret: say what to set, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # With an SSE stream open uvicorn waits for the client on shutdown: bound it.
    uvicorn.run(app, host=settings.host, port=settings.port, timeout_graceful_shutdown=5, log_level="warning")
    return 0


def _edge(args: argparse.Namespace) -> int:
    """Run the edge agent until Ctrl-C."""
    from edge.agent import run

    run(args.config, site=args.site, device_broker_url=args.broker_url,
        uplink_broker_url=args.uplink_url or args.broker_url, protocol=args.mqtt_protocol,
        state_dir=args.state_dir, profile=args.profile, cameras=args.cameras)
    return 0


def _sim(args: argparse.Namespace) -> int:
    """Run the simulators until Ctrl-C."""
    from devices.sim.runner import run

    run(args.config, site=args.site, broker_url=args.broker_url, protocol=args.mqtt_protocol,
        profile=args.profile, scenarios=args.scenario, tour=args.tour, seed=args.seed)
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    """Apply migrations."""
    from server.db import upgrade
    from server.settings import Settings

    url = args.database_url or Settings().database_url
    upgrade(url)
    print("database is up to date")
    return 0


def _db_backup(args: argparse.Namespace) -> int:
    """Write a backup; exit 1 when it cannot be made, 2 when the database cannot be read."""
    from carewatch.backup import backup

    return _db_file_command(args, lambda url: backup(url, Path(args.out)),
                            lambda done: f"wrote {done.path} ({done.kind}, {done.size} bytes): {_rows(done.tables)}")


def _db_restore(args: argparse.Namespace) -> int:
    """Restore a backup; exit 1 when refused or failed, 2 when the database cannot be read."""
    from carewatch.backup import restore

    return _db_file_command(args, lambda url: restore(url, Path(args.file), force=args.force),
                            lambda done: f"restored {done.path} ({done.kind}) and migrated to this release: "
                                         f"{_rows(done.tables)}")


def _db_file_command(args: argparse.Namespace, run: Any, said: Any) -> int:
    """Run a backup or restore on the database of `--database-url` (or the settings) and say what it did."""
    from sqlalchemy.exc import SQLAlchemyError

    from carewatch.backup import BackupError
    from server.settings import Settings

    url = args.database_url or Settings().database_url
    try:
        done = run(url)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        return _unreadable(_url_only(url), exc)
    print(said(done))
    return 0


def _url_only(url: str) -> Any:
    """Something with the `.url` `_unreadable` prints, without opening a connection."""
    from types import SimpleNamespace

    from sqlalchemy.engine import make_url

    return SimpleNamespace(url=make_url(url))


def _rows(tables: dict[str, int]) -> str:
    """Rows in all and in a few tables people know."""
    known = ", ".join(f"{tables[t]} {t}" for t in ("alerts", "observations", "audit_chain", "users") if t in tables)
    return f"{sum(tables.values())} rows in {len(tables)} tables ({known})"


def _records_verify(args: argparse.Namespace) -> int:
    """Print each site's chain verdict; exit 1 when any is broken."""
    from sqlalchemy.exc import SQLAlchemyError

    from server.db import make_engine, make_sessions
    from server.records.verify import verify
    from server.settings import Settings

    engine = make_engine(args.database_url or Settings().database_url)
    try:
        with make_sessions(engine)() as db:
            checks = verify(db, args.site)
    except SQLAlchemyError as exc:
        return _unreadable(engine, exc)
    finally:
        engine.dispose()
    for check in checks:
        head = f"{check.links} links, head {check.head[:16]}"
        if check.intact:
            print(f"site {check.site}: {head}: intact")
        else:
            first = check.breaks[0]
            print(f"site {check.site}: {head}: BROKEN at link {first.seq}: {first.reason}"
                  f" ({len(check.breaks)} problem(s) in all)")
    if not checks:
        print("no records yet")
    return 0 if all(c.intact for c in checks) else 1


def _unreadable(engine: Any, exc: Exception) -> int:
    """No tables (a wrong URL, a database never upgraded), no server: say so, not a traceback; exit 2."""
    print(f"error: cannot read the records in {engine.url.render_as_string(hide_password=True)}: "
          f"{str(getattr(exc, 'orig', None) or exc).splitlines()[0]}", file=sys.stderr)
    return 2


def _records_export(args: argparse.Namespace) -> int:
    """Write an export; exit 1 on bad input or a PDF without a font, 2 when the database cannot be read."""
    from sqlalchemy.exc import SQLAlchemyError

    from devices.messages import utcnow
    from server.db import make_engine, make_sessions
    from server.records.export_fonts import FontMissing
    from server.records.report import export_file
    from server.settings import Settings

    now = utcnow()
    try:
        site, start, end, language = _export_input(args, now)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    engine = make_engine(args.database_url or Settings().database_url)
    try:
        with make_sessions(engine)() as db:
            content, name, _ = export_file(db, site, args.kind, start, end, fmt=args.format, language=language,
                                           now=now)
    except FontMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        return _unreadable(engine, exc)
    finally:
        engine.dispose()
    return _write(content, args.output or name)


def _export_input(args: argparse.Namespace, now: datetime) -> tuple[Site, date, date, str]:
    """The site, period and language an export asks for; ValueError saying what is wrong."""
    from server.records.export import check_kind, period

    facility = load_facility(args.config)
    site = facility.site_by_id.get(args.site or facility.sites[0].id)
    if site is None:
        raise ValueError(f"no site {args.site} in {args.config}; sites: {', '.join(facility.site_by_id)}")
    check_kind(args.kind)
    if args.format not in ("csv", "pdf"):
        raise ValueError(f"--format {args.format}: csv or pdf")
    if args.lang not in (None, "zh-CN", "en"):
        raise ValueError(f"--lang {args.lang}: zh-CN or en")
    first, last = period(site, now, _day("--from", args.start), _day("--to", args.end))
    return site, first, last, args.lang or site.language.value


def _day(flag: str, value: str | None) -> date | None:
    """A day given on the command line."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise ValueError(f"{flag} {value}: give a day as YYYY-MM-DD") from None


def _write(content: bytes, output: str) -> int:
    """Write the file (or standard output for -) and say where."""
    if output == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return 0
    try:
        with open(output, "wb") as out:
            out.write(content)
    except OSError as exc:
        print(f"error: cannot write {output}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"wrote {output} ({len(content)} bytes)")
    return 0


def _user_add(args: argparse.Namespace) -> int:
    """Create a user."""
    from devices.messages import utcnow
    from server.auth.users import Role, create_user
    from server.db import make_engine, make_sessions, upgrade
    from server.settings import Settings

    url = args.database_url or Settings().database_url
    try:
        facility = load_facility(args.config)
    except FacilityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    unknown = sorted(set(args.sites or ()) - {site.id for site in facility.sites})
    if unknown:
        print(f"error: no site {', '.join(unknown)} in {args.config}", file=sys.stderr)
        return 1
    password = args.password or os.environ.get("CAREWATCH_NEW_PASSWORD") or getpass.getpass("password: ")
    upgrade(url)
    sessions = make_sessions(make_engine(url))
    try:
        with sessions.begin() as db:
            create_user(db, username=args.username, password=password, role=Role(args.role), at=utcnow(),
                        sites=args.sites)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"user {args.username} ({args.role}) added")
    return 0


if __name__ == "__main__":
    sys.exit(main())
