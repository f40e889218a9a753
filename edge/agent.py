"""The on-site edge agent: device topics in, carewatch envelopes out through the durable outbox."""

import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

import paho.mqtt.client as mqtt

from devices.facility import Facility
from devices.loader import FacilityError, load_facility
from devices.messages import utcnow
from devices.mqtt import ProtocolVersion, connect, make_client, parse_url
from edge.cameras.manager import Cameras
from edge.cameras.worker import Clock
from edge.intake import Intake
from edge.outbox import Outbox, OutboxLimits
from edge.store import OutboxBusyError
from edge.uplink import Uplink

log = logging.getLogger(__name__)

# The broker keeps the device-side session (and queues device messages) this long while the
# edge is away, so a restart or upgrade loses no button press.
DEVICE_SESSION_EXPIRY = 24 * 3600


class EdgeAgent:
    """Subscribes to one site's device topics and forwards envelopes upstream."""

    def __init__(
        self,
        facility: Facility,
        site_id: str | None,
        *,
        device_broker_url: str,
        uplink_broker_url: str | None = None,
        protocol: ProtocolVersion = "5",
        state_dir: Path,
        heartbeat_every: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
        cameras: bool = True,
        outbox_limits: OutboxLimits | None = None,
    ) -> None:
        self.site = facility.site(site_id)
        self.device_address = parse_url(device_broker_url)
        uplink_address = parse_url(uplink_broker_url or device_broker_url)
        # From the environment unless given: `carewatch edge`, `python -m edge` and the demo all build agents.
        limits = outbox_limits or OutboxLimits.from_env()
        self.outbox = Outbox(Path(state_dir) / "outbox.db", limits=limits)
        try:
            self._clock = clock
            self.intake = Intake(self.site, self.outbox, clock=clock)
            self.cameras = Cameras(self.site, self.outbox, clock=Clock(now=clock)) if cameras else None
            self.uplink = Uplink(self.site.id, uplink_address, protocol=protocol, outbox=self.outbox,
                                 heartbeat_every=heartbeat_every, heartbeat=self._heartbeat)
            self.devices = make_client(f"carewatch-edge-{self.site.id}-devices", self.device_address,
                                       protocol=protocol, persistent=True)
        except BaseException:
            self.outbox.close()  # release the state directory's lock
            raise
        self.devices.on_connect = self._on_device_connect
        self.devices.on_message = self._on_device_message
        self.devices.on_disconnect = self._on_device_disconnect
        self.devices.on_subscribe = self._on_device_subscribe
        self.devices_connected = threading.Event()
        self.subscribed = threading.Event()  # set once the broker has granted the device topics
        self._started = self._stopped = False
        self._callback_errors = 0

    def start(self) -> None:
        """Start the outbox worker, the uplink, the device subscriber and the cameras."""
        # The outbox first: rows a previous process left are handed to paho before any new one.
        self.outbox.start(self.uplink.send)
        self.uplink.start()
        connect(self.devices, self.device_address, session_expiry=DEVICE_SESSION_EXPIRY)
        if self.cameras is not None:
            self.cameras.start()
        self._started = True
        log.info("edge for site %s: %d device topics, %d devices without a format", self.site.id,
                 len(self.intake.routes), len(self.intake.unsupported))

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the cameras and device reading, commit the outbox, wait briefly for PUBACKs, say `offline`."""
        if self._stopped:
            return
        self._stopped = True
        if not self._started:
            self.outbox.close()
            return
        if self.cameras is not None:
            # Before the outbox closes: a worker may be putting an envelope right now.
            self.cameras.stop(min(timeout, 3.0))
        self.devices.disconnect()
        self.devices.loop_stop()
        self.outbox.flush(timeout)
        if self.uplink.connected.is_set():
            # Fewer duplicates after a restart; whatever is not acked stays in the outbox anyway.
            self.outbox.drain(min(timeout, 2.0))
        self.uplink.stop()
        self.outbox.close()

    def stats(self) -> dict[str, Any]:
        """Counters of the intake and the outbox, the outbox's fill and drops, and the state of both connections."""
        return {
            "site": self.site.id,
            "devices_connected": self.devices_connected.is_set(),
            "uplink_connected": self.uplink.connected.is_set(),
            **self.intake.stats(),
            "callback_errors": self.uplink.errors + self._callback_errors,
            "outbox": self.outbox.counts().as_dict(),
            "outbox_space": self.outbox.space().as_dict(),
            "cameras": self.cameras.stats() if self.cameras is not None else {},
        }

    def _heartbeat(self) -> dict[str, Any]:
        """Heartbeat body: when (the agent's clock), outbox pending, its fill and drops, and the counters."""
        stats = self.stats()
        return {"at": self._clock().isoformat(), "pending": stats["outbox"]["pending"],
                "outbox_space": stats["outbox_space"], "counters": stats}

    def _on_device_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                           props: Any) -> None:
        """Subscribe on every connect, so a broker that lost our session still sends everything."""
        try:
            if reason.is_failure:
                log.error("device broker %s refused the connection: %s", self.device_address, reason)
                return
            self.devices_connected.set()
            if self.intake.routes:
                client.subscribe([(topic, 1) for topic in self.intake.routes])
        except Exception:
            self._failed("on_connect")

    def _on_device_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: list[Any],
                             props: Any) -> None:
        """Say so when the broker refuses some device topics (an ACL, usually)."""
        try:
            refused = sum(1 for r in reasons if r.is_failure)
            if refused:
                log.error("device broker %s refused %d of %d device topics", self.device_address, refused,
                          len(reasons))
        except Exception:
            self._failed("on_subscribe")
        self.subscribed.set()

    def _failed(self, where: str) -> None:
        """Count an unexpected error in a device callback; paho's thread must never see it."""
        self._callback_errors += 1
        log.exception("device client: unexpected error in %s", where)

    def _on_device_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                              props: Any) -> None:
        """Note the loss; paho reconnects and the broker kept our session."""
        if self.devices_connected.is_set() and not self._stopped:
            log.warning("device broker %s lost (%s)", self.device_address, reason)
        self.devices_connected.clear()

    def _on_device_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        """One device message (on paho's thread): the intake never raises."""
        self.intake.handle(message.topic, bytes(message.payload))


def run(
    config_path: str,
    *,
    site: str | None,
    device_broker_url: str,
    uplink_broker_url: str | None,
    protocol: ProtocolVersion,
    state_dir: str | Path | None,
    profile: str | None,
    cameras: bool = True,
    outbox_limits: OutboxLimits | None = None,
) -> None:
    """Run an edge agent until SIGINT or SIGTERM; a bad facility file, URL or outbox limit exits with status 2."""
    try:
        facility = load_facility(config_path, profile=profile)
        site_id = facility.site(site).id
        agent = EdgeAgent(facility, site_id, device_broker_url=device_broker_url,
                          uplink_broker_url=uplink_broker_url, protocol=protocol,
                          state_dir=Path(state_dir or Path(".carewatch") / f"edge-{site_id}"), cameras=cameras,
                          outbox_limits=outbox_limits)
    except (FacilityError, KeyError, ValueError, OSError, OutboxBusyError) as exc:
        # KeyError's str() adds quotes; its message is the first argument.
        print(f"carewatch edge: {exc.args[0] if isinstance(exc, KeyError) else exc}", file=sys.stderr)
        raise SystemExit(2) from None
    stop = threading.Event()
    previous = _on_signals(stop)
    agent.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        agent.stop()
        _restore(previous)


def _on_signals(stop: threading.Event) -> dict[int, Any]:
    """Let SIGINT and SIGTERM set `stop`; returns the handlers replaced (none outside the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    return {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}


def _restore(previous: dict[int, Any]) -> None:
    """Put back the signal handlers `_on_signals` replaced."""
    for signum, handler in previous.items():
        signal.signal(signum, handler)
