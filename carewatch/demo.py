"""`carewatch demo`: broker, server, edge and a simulated facility in one command, stopped by one Ctrl-C."""

import argparse
import secrets
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

from carewatch import demo_records
from carewatch.broker import EmbeddedBroker, PrivateMosquitto, free_port
from carewatch.phone import Phone, with_phone
from devices.facility import Facility
from devices.loader import load_facility

DEMO_PROFILE = "demo"
DEMO_LOGIN = ("admin", "carewatch-demo")
INSPECTOR_LOGIN = ("inspector", "carewatch-demo")  # read-only: the records pages, exports, the district view


def run(args: argparse.Namespace) -> int:
    """Start every part, serve the screen until Ctrl-C, then stop every part."""
    facility = load_facility(args.config, profile=DEMO_PROFILE)  # a broken file stops us before anything starts
    data_dir = _data_dir(Path(args.data_dir), keep=args.keep)
    broker, url, protocol = _broker(args.broker_url)
    phone = Phone().start()
    facility = with_phone(facility, phone)
    parts: list[Any] = [phone]
    if not args.no_sim:
        cameras = _cameras(facility)
        facility = with_sim_cameras(facility, cameras)
        parts.append(cameras)
    # uvicorn re-raises the SIGTERM it caught once it has shut down; with the default handler that would
    # kill us before the `finally` below, leaving the private broker running.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        _serve(args, facility, url, protocol, data_dir, parts)
    finally:
        for part in reversed(parts):
            part.stop()
        if broker is not None:
            broker.stop()
        print("carewatch demo stopped.", flush=True)
    return 0


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM stops the demo like Ctrl-C does."""
    raise KeyboardInterrupt


def _data_dir(path: Path, *, keep: bool) -> Path:
    """A fresh demo directory each run, unless asked to keep the last one."""
    if path.exists() and not keep:
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _broker(given: str | None) -> tuple[Any, str, str]:
    """The user's broker, else a private Mosquitto if installed, else the embedded amqtt broker."""
    if given:
        return None, given, "3.1.1"  # every broker speaks 3.1.1; the demo needs nothing of MQTT 5
    if PrivateMosquitto.available():
        mosquitto = PrivateMosquitto().start()
        print(f"broker: Mosquitto on 127.0.0.1:{mosquitto.port}", flush=True)
        return mosquitto, f"mqtt://127.0.0.1:{mosquitto.port}", "5"
    embedded = EmbeddedBroker(port=free_port()).start()
    print(f"broker: embedded amqtt on 127.0.0.1:{embedded.port} (mosquitto is not installed)", flush=True)
    return embedded, f"mqtt://127.0.0.1:{embedded.port}", "3.1.1"


def _cameras(facility: Facility) -> Any:
    """The site's cameras, simulated and served as MJPEG on 127.0.0.1 (serving from here on)."""
    from devices.sim.cameras.server import MjpegServer
    from devices.sim.cameras.tour import site_cameras

    server = MjpegServer(site_cameras(facility.sites[0]))
    print(f"cameras: {len(server.cameras)} simulated cameras on http://127.0.0.1:{server.port}/cam/<id>.mjpg",
          flush=True)
    return server


def with_sim_cameras(facility: Facility, server: Any) -> Facility:
    """The facility with every simulated camera's stream pointing at the demo's MJPEG server."""
    data = facility.model_dump(by_alias=True, mode="json")
    for device in data["sites"][0]["devices"]:
        if device["id"] in server.cameras:
            device.update(protocol="mjpeg", stream=server.url(device["id"]))
    return Facility.model_validate(data)


def _edge(facility: Facility, url: str, protocol: str, data_dir: Path, *, cameras: bool) -> Any:
    """The site's edge agent on the demo broker."""
    from edge.agent import EdgeAgent

    site = facility.sites[0].id
    agent = EdgeAgent(facility, site, device_broker_url=url, uplink_broker_url=url, protocol=protocol,
                      state_dir=data_dir / "edge", heartbeat_every=10.0, cameras=cameras)
    agent.start()
    return agent


def _sim(facility: Facility, url: str, protocol: str, scenarios: list[str], tour_every: float) -> Any:
    """The simulated facility; with no scenario named it tours all of them, one every `tour_every` s."""
    from devices.sim.runner import Simulator

    simulator = Simulator(facility, facility.sites[0].id, broker_url=url, protocol=protocol,
                          scenarios=scenarios, tour=not scenarios, tour_every=tour_every)
    simulator.start()
    return simulator


def _serve(args: argparse.Namespace, facility: Facility, url: str, protocol: str, data_dir: Path,
           parts: list[Any]) -> None:
    """Run the server in this thread until Ctrl-C; edge and simulators start once it listens to the broker."""
    import uvicorn

    from server.main import create_app
    from server.settings import Settings

    settings = Settings(config=Path(args.config), profile=DEMO_PROFILE,
                        database_url=f"sqlite:///{data_dir / 'demo.db'}", mqtt_url=url, mqtt_protocol=protocol,
                        mqtt_client_id=f"carewatch-demo-{secrets.token_hex(3)}",
                        port=args.port, secret_key=secrets.token_urlsafe(32),
                        bootstrap_admin=":".join(DEMO_LOGIN), demo=True,
                        public_url=f"http://127.0.0.1:{args.port}")
    app = create_app(settings, facility=facility)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning",
                                           timeout_graceful_shutdown=3))
    starter = threading.Thread(target=_start_site, args=(server, app, args, facility, url, protocol, data_dir, parts),
                               daemon=True)
    starter.start()
    server.run()
    starter.join(timeout=10)


def _camera_tour(facility: Facility, parts: list[Any], tour_every: float) -> Any:
    """Camera events (a fall, a covered lens, ...) on the simulated cameras, one every two tour stops."""
    from devices.sim.cameras.server import MjpegServer
    from devices.sim.cameras.tour import CameraTour

    server = next(p for p in parts if isinstance(p, MjpegServer))
    return CameraTour(server, facility.sites[0], every=2 * tour_every, announce=_say).start()


def _say(line: str) -> None:
    """A tour line, stamped like the simulator's."""
    print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)


def _start_site(server: Any, app: Any, args: argparse.Namespace, facility: Facility, url: str, protocol: str,
                data_dir: Path, parts: list[Any]) -> None:
    """Once the server has subscribed (a fresh broker keeps nothing for a subscriber that is not there yet),
    start the edge and the simulators, then tell the newcomer where to look."""
    while not (server.started and app.state.ctx.consumer and app.state.ctx.consumer.connected.is_set()):
        if server.should_exit:
            return
        time.sleep(0.1)
    ctx = app.state.ctx
    demo_records.add_inspector(ctx.sessions, facility, INSPECTOR_LOGIN, ctx.clock())
    demo_records.seed(ctx.sessions, facility, ctx.clock())
    parts.append(_edge(facility, url, protocol, data_dir, cameras=not args.no_sim))
    if not args.no_sim:
        parts.append(_sim(facility, url, protocol, args.scenario, args.tour_every))
        if not args.scenario:
            parts.append(_camera_tour(facility, parts, args.tour_every))
    _banner(args.port)


def _banner(port: int) -> None:
    """Where to look and how to log in."""
    print(f"""
  carewatch demo is running.
    monitoring screen: http://127.0.0.1:{port}/
    login:             {DEMO_LOGIN[0]} / {DEMO_LOGIN[1]}
    safety records:    http://127.0.0.1:{port}/records  (inspector: {INSPECTOR_LOGIN[0]} / {INSPECTOR_LOGIN[1]})
    API docs:          http://127.0.0.1:{port}/docs
  The simulated facility plays a scenario (bed exit, bathroom, vitals, exit door, stove left on,
  overload, warm fridge, leak, smoke, SOS, device offline, ...) every minute or so; each alert
  appears on the screen within 60 s (`not-up` waits for the end of the wake-up window). Its 12 cameras
  take turns too: a resident falls (person down, with a snapshot), a lens is covered, someone walks a
  corridor at night, a camera is defocused, turned, frozen or unplugged.
  Critical alerts also ring a pretend phone here ([phone] lines): again every 30 s, the supervisor at
  45 s, the manager at 90 s, until someone acknowledges (open the link and press the button).
  Press Ctrl-C to stop.
""", flush=True)
