"""`python -m edge`: run the edge agent of one site until SIGINT or SIGTERM."""

import argparse
import logging
import os

from edge.agent import run
from edge.outbox import OutboxLimits


def parser() -> argparse.ArgumentParser:
    """Command-line flags, the same as `carewatch edge`."""
    p = argparse.ArgumentParser(prog="python -m edge", description=__doc__)
    p.add_argument("--config", default="config/facility.yaml", help="facility YAML file")
    p.add_argument("--site", default=None, help="site id (default: the first site of the file)")
    p.add_argument("--broker-url", default=os.environ.get("CAREWATCH_MQTT_URL", "mqtt://127.0.0.1:1883"),
                   help="broker the devices publish to (default: $CAREWATCH_MQTT_URL or local)")
    p.add_argument("--uplink-url", default=None, help="broker of the server (default: --broker-url)")
    p.add_argument("--mqtt-protocol", choices=["5", "3.1.1"], default="5", help="MQTT version")
    p.add_argument("--state-dir", default=None, help="outbox directory (default: .carewatch/edge-<site>)")
    p.add_argument("--profile", default=None, help="named profile of the facility file, e.g. demo")
    p.add_argument("--no-cameras", dest="cameras", action="store_false",
                   help="do not read the site's cameras (devices only)")
    p.add_argument("--outbox-max-mb", type=float, default=None,
                   help="most the outbox may hold (default: $CAREWATCH_OUTBOX_MAX_MB or 512)")
    p.add_argument("--outbox-min-free-mb", type=float, default=None,
                   help="free space the outbox leaves on its disk (default: $CAREWATCH_OUTBOX_MIN_FREE_MB or 64)")
    return p


def limits(args: argparse.Namespace) -> OutboxLimits:
    """Outbox limits: the flags over the environment; ValueError naming the setting when one is not a size."""
    environ = dict(os.environ)
    for name, value in (("CAREWATCH_OUTBOX_MAX_MB", args.outbox_max_mb),
                        ("CAREWATCH_OUTBOX_MIN_FREE_MB", args.outbox_min_free_mb)):
        if value is not None:
            environ[name] = str(value)
    return OutboxLimits.from_env(environ)


def main(argv: list[str] | None = None) -> None:
    """Parse flags, set up logging and run the agent."""
    p = parser()
    args = p.parse_args(argv)
    try:
        outbox_limits = limits(args)
    except ValueError as exc:
        p.error(str(exc))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run(args.config, site=args.site, device_broker_url=args.broker_url, uplink_broker_url=args.uplink_url,
        protocol=args.mqtt_protocol, state_dir=args.state_dir, profile=args.profile, cameras=args.cameras,
        outbox_limits=outbox_limits)


if __name__ == "__main__":
    main()
