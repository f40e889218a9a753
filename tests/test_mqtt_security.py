"""The generated Mosquitto setup, on a Mosquitto of our own: who may connect, and who may publish where.

Mosquitto 2.0.11 drops a publish the ACL denies and closes the publisher's connection (QoS 1 gets PUBACK 135
first; eclipse-mosquitto/mosquitto#2579). "Dropped" is shown by order, not by waiting: after the broker has cut
the forger off, the same account sends an allowed marker over a new connection; Mosquitto handles packets one
at a time, so the marker arriving with nothing before it proves the forgery was never delivered.
"""

import base64
import copy
import getpass
import queue
import shutil
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from carewatch.broker import free_port, mosquitto_binary, wait_for_port
from carewatch.cli import main
from carewatch.mqtt_acl import AclError, accounts, overlaps
from carewatch.mqtt_certs import make_certs
from carewatch.mqtt_security import CREDENTIALS, Listeners, password_hash, read_credentials, write_config
from devices.facility import Facility
from devices.loader import parse_facility
from tests.conftest import FACILITY_FILE, missing

WAIT = 5.0  # seconds any single expected message or CONNACK may take on a loaded CI machine


def two_sites() -> Facility:
    """The reference facility plus a copy of its site as `north`, whose devices have their own topics."""
    data = yaml.safe_load(FACILITY_FILE.read_text(encoding="utf-8"))
    north = copy.deepcopy(data["sites"][0])
    north["id"] = "north"
    for device in north["devices"]:
        if "topic" in device:
            device["topic"] = f"north-{device['topic']}"
    data["sites"].append(north)
    return parse_facility(yaml.safe_dump(data, allow_unicode=True))


@dataclass
class Secured:
    """A running Mosquitto with the generated config, and what clients need to reach it."""

    port: int
    tls_port: int
    ca: Path
    passwords: dict[str, str]


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    """Certificates, config and a private Mosquitto on free ports (never the shared one), stopped at the end."""
    binary = mosquitto_binary()
    if binary is None:
        missing("the mosquitto binary")
    if shutil.which("openssl") is None:
        missing("openssl")
    root = tmp_path_factory.mktemp("mqtt-security")
    make_certs(root / "tls", hosts=["localhost"], ips=["127.0.0.1"])
    # `user` = us: Mosquitto started as root would otherwise switch to `mosquitto`, who cannot enter tmp_path.
    listeners = Listeners(port=free_port(), tls_port=free_port(), bind="127.0.0.1", run_as=getpass.getuser())
    write_config(two_sites(), root / "mq", tls_dir=root / "tls", listeners=listeners)
    log = (root / "mosquitto.log").open("wb")
    proc = subprocess.Popen([str(binary), "-c", str(root / "mq" / "mosquitto.conf")], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port("127.0.0.1", listeners.port)
        wait_for_port("127.0.0.1", listeners.tls_port)
        yield Secured(listeners.port, listeners.tls_port, root / "tls" / "ca.crt",
                      read_credentials(root / "mq" / CREDENTIALS))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


class Client:
    """A paho MQTT 5 client that records its CONNACK (None if closed without one) and the messages it gets."""

    def __init__(self, username: str | None, password: str | None, *, ca: Path | None = None,
                 protocol: int = mqtt.MQTTv5) -> None:
        self.paho = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}",
                                protocol=protocol)
        if username is not None:
            self.paho.username_pw_set(username, password)
        if ca is not None:
            self.paho.tls_set(ca_certs=str(ca), cert_reqs=ssl.CERT_REQUIRED)
        self.connack: queue.Queue[Any] = queue.Queue()
        self.subscribed = threading.Event()
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.paho.on_connect = lambda c, u, f, reason, p: self.connack.put(reason)
        # None: closed before a CONNACK (a TLS port spoken to in clear), or cut off later (a denied publish).
        self.paho.on_disconnect = lambda c, u, f, reason, p: self.connack.put(None)
        self.paho.on_subscribe = lambda c, u, mid, reasons, p: self.subscribed.set()
        self.paho.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload))
        self.acks: queue.Queue[Any] = queue.Queue()
        self.paho.on_publish = lambda c, u, mid, reason, p: self.acks.put(reason)

    def connect(self, port: int, *, background: bool = True) -> Any:
        """Connect and return the CONNACK reason code (None when none came: not an MQTT answer). Driven by
        hand until then, and paho's thread started only once in, so a refused client never waits to retry."""
        try:
            self.paho.connect("127.0.0.1", port, keepalive=10)
        except (OSError, ssl.SSLError):
            return None
        deadline = time.monotonic() + WAIT
        while self.connack.empty() and time.monotonic() < deadline:
            if self.paho.loop(0.05) != mqtt.MQTT_ERR_SUCCESS:
                break  # closed: after a refusing CONNACK, or without one
        reason = self.connack.get_nowait() if not self.connack.empty() else None
        if background and reason is not None and not reason.is_failure:
            self.paho.loop_start()
        return reason

    def subscribe(self, *topics: str) -> None:
        """Subscribe at QoS 1 and wait for the SUBACK."""
        self.paho.subscribe([(t, 1) for t in topics])
        assert self.subscribed.wait(WAIT), "no SUBACK"

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Publish and wait until it is sent (QoS 1: acknowledged; Mosquitto acks even a publish it drops)."""
        self.paho.publish(topic, payload, qos=qos).wait_for_publish(WAIT)

    def received_until(self, marker: bytes) -> list[tuple[str, bytes]]:
        """Every message up to and including the one carrying `marker`."""
        seen = []
        while not seen or seen[-1][1] != marker:
            seen.append(self.messages.get(timeout=WAIT))
        return seen

    def close(self) -> None:
        """Disconnect and stop the network thread (if it runs)."""
        self.paho.disconnect()
        self.paho.loop_stop()


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    """Clients made in a test, all closed after it."""
    made: list[Client] = []
    yield made
    for client in made:
        client.close()


def connected(secured: Secured, clients: list[Client], username: str) -> Client:
    """A client of `username` with its generated password, connected to the plain listener; devices speak
    MQTT 3.1.1 like their firmware (zigbee2mqtt, Tasmota, Shelly), carewatch's edge and server MQTT 5."""
    client = Client(username, secured.passwords[username], protocol=_protocol(username))
    clients.append(client)
    reason = client.connect(secured.port)
    assert reason is not None and not reason.is_failure, f"{username} was refused: {reason}"
    return client


def _protocol(username: str) -> int:
    """MQTT 3.1.1 for devices, 5 for carewatch's edge and server."""
    return mqtt.MQTTv5 if username.startswith(("edge.", "server")) else mqtt.MQTTv311


def test_an_anonymous_client_is_refused(secured: Secured, clients: list[Client]) -> None:
    client = Client(None, None)
    clients.append(client)
    reason = client.connect(secured.port)
    assert reason is not None and str(reason) == "Not authorized"


def test_a_wrong_password_is_refused(secured: Secured, clients: list[Client]) -> None:
    client = Client("hq.bed-b101-1", secured.passwords["hq.bed-b101-1"] + "x")
    clients.append(client)
    reason = client.connect(secured.port)
    # Mosquitto 2.0 answers a wrong password as it answers no password: 135, not 134.
    assert reason is not None and str(reason) == "Not authorized"


def forge(secured: Secured, username: str, topic: str, qos: int) -> Client:
    """Publish where `username` may not and see the broker close the connection (driven by hand: paho's
    thread would wait a second to reconnect)."""
    client = Client(username, secured.passwords[username], protocol=_protocol(username))
    reason = client.connect(secured.port, background=False)
    assert reason is not None and not reason.is_failure
    deadline = time.monotonic() + WAIT
    client.paho.publish(topic, b"forged", qos=qos)
    rc = mqtt.MQTT_ERR_SUCCESS
    while rc == mqtt.MQTT_ERR_SUCCESS and time.monotonic() < deadline:
        rc = client.paho.loop(0.05)
    assert rc != mqtt.MQTT_ERR_SUCCESS, f"{username} was not cut off after publishing to {topic}"
    return client


def test_a_device_publishes_to_its_own_topic_and_the_edge_receives_it(secured: Secured,
                                                                       clients: list[Client]) -> None:
    edge = connected(secured, clients, "edge.hq")
    edge.subscribe("zigbee2mqtt/bed-b101-1", "zigbee2mqtt/bed-b101-1/availability")
    bed = connected(secured, clients, "hq.bed-b101-1")
    bed.publish("zigbee2mqtt/bed-b101-1", b'{"occupancy": true}')
    bed.publish("zigbee2mqtt/bed-b101-1/availability", b'{"state": "online"}')
    assert edge.received_until(b'{"state": "online"}') == [
        ("zigbee2mqtt/bed-b101-1", b'{"occupancy": true}'),
        ("zigbee2mqtt/bed-b101-1/availability", b'{"state": "online"}')]


def test_a_device_publishing_as_another_device_is_dropped(secured: Secured, clients: list[Client]) -> None:
    edge = connected(secured, clients, "edge.hq")
    edge.subscribe("zigbee2mqtt/bed-b101-1", "zigbee2mqtt/bed-b101-2", "tele/tasmota_kitchen2/SENSOR",
                   "carewatch/dev/bed-b103-1")
    forge(secured, "hq.bed-b101-1", "zigbee2mqtt/bed-b101-2", qos=0)
    forge(secured, "hq.bed-b101-1", "tele/tasmota_kitchen2/SENSOR", qos=1)
    forge(secured, "hq.plug-rice-cooker", "carewatch/dev/bed-b103-1", qos=1)
    connected(secured, clients, "hq.bed-b101-1").publish("zigbee2mqtt/bed-b101-1", b"marker")
    assert edge.received_until(b"marker") == [("zigbee2mqtt/bed-b101-1", b"marker")]


def test_an_mqtt5_publisher_is_told_not_authorized(secured: Secured) -> None:
    # So a carewatch edge publishing where its ACL does not reach reconnects over and over: it shows in the log.
    edge = forge(secured, "edge.hq", "carewatch/v1/north/obs/sos-r101", qos=1)
    assert str(edge.acks.get_nowait()) == "Not authorized"


def test_a_device_cannot_forge_an_observation_for_the_server(secured: Secured, clients: list[Client]) -> None:
    server = connected(secured, clients, "server")
    server.subscribe("$share/carewatch/carewatch/v1/hq/obs/+")
    forge(secured, "hq.bed-b101-1", "carewatch/v1/hq/obs/bed-b101-1", qos=1)
    connected(secured, clients, "edge.hq").publish("carewatch/v1/hq/obs/bed-b101-1", b"from the edge")
    assert server.received_until(b"from the edge") == [("carewatch/v1/hq/obs/bed-b101-1", b"from the edge")]


def test_an_edge_cannot_publish_to_another_sites_uplink(secured: Secured, clients: list[Client]) -> None:
    server = connected(secured, clients, "server")
    server.subscribe("carewatch/v1/+/obs/+", "carewatch/v1/+/edge/+")
    forge(secured, "edge.hq", "carewatch/v1/north/obs/sos-r101", qos=1)
    forge(secured, "edge.hq", "carewatch/v1/north/edge/status", qos=0)
    connected(secured, clients, "edge.hq").publish("carewatch/v1/hq/edge/status", b"online")
    assert server.received_until(b"online") == [("carewatch/v1/hq/edge/status", b"online")]


def test_the_server_may_not_publish(secured: Secured) -> None:
    forge(secured, "server", "zigbee2mqtt/sos-r101/set", qos=0)


def test_an_edge_reads_only_its_own_sites_devices(secured: Secured, clients: list[Client]) -> None:
    edge = connected(secured, clients, "edge.hq")
    edge.subscribe("north-zigbee2mqtt/#", "zigbee2mqtt/sos-r101")
    connected(secured, clients, "north.sos-r101").publish("north-zigbee2mqtt/sos-r101", b"north's button")
    connected(secured, clients, "hq.sos-r101").publish("zigbee2mqtt/sos-r101", b"hq's button")
    assert edge.received_until(b"hq's button") == [("zigbee2mqtt/sos-r101", b"hq's button")]


def test_tls_with_the_generated_ca_works(secured: Secured, clients: list[Client]) -> None:
    client = Client("server", secured.passwords["server"], ca=secured.ca)
    clients.append(client)
    reason = client.connect(secured.tls_port)
    assert reason is not None and not reason.is_failure


def test_a_plain_connection_to_the_tls_port_gets_no_connack(secured: Secured, clients: list[Client]) -> None:
    client = Client("server", secured.passwords["server"])
    clients.append(client)
    assert client.connect(secured.tls_port) is None


def test_tls_with_another_ca_is_refused(secured: Secured, clients: list[Client], tmp_path: Path) -> None:
    make_certs(tmp_path, hosts=["localhost"], ips=["127.0.0.1"])
    client = Client("server", secured.passwords["server"], ca=tmp_path / "ca.crt")
    clients.append(client)
    assert client.connect(secured.tls_port) is None


def test_running_again_keeps_passwords_and_rotate_replaces_them(tmp_path: Path) -> None:
    facility = two_sites()
    first = write_config(facility, tmp_path)
    before = read_credentials(tmp_path / CREDENTIALS)
    again = write_config(facility, tmp_path)
    assert read_credentials(tmp_path / CREDENTIALS) == before and again.created == []
    rotated = write_config(facility, tmp_path, rotate=True)
    after = read_credentials(tmp_path / CREDENTIALS)
    assert len(first.created) == len(rotated.created) == len(before) == len(after)
    assert all(after[user] != before[user] for user in before)
    assert (tmp_path / CREDENTIALS).stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "passwd").stat().st_mode & 0o007 == 0


def test_every_mqtt_device_bridge_and_edge_gets_an_account(reference_facility: Facility) -> None:
    found = {a.username: a for a in accounts(reference_facility)}
    site = reference_facility.sites[0]
    mqtt_devices = [d for d in site.devices if d.topic]
    assert len(found) == len(mqtt_devices) + 3  # + the zigbee2mqtt bridge, the edge and the server
    assert found["hq.plug-rice-cooker"].write[:2] == ("tele/tasmota_kitchen2/#", "stat/tasmota_kitchen2/#")
    assert found["hq.z2m.zigbee2mqtt"].write == ("zigbee2mqtt/#",)
    assert found["server"].write == ()
    assert not any(a.username.endswith("cam-01") for a in found.values())  # cameras stream video, not MQTT


def test_devices_sharing_a_topic_or_writing_the_uplink_are_refused(reference_facility: Facility) -> None:
    site = reference_facility.sites[0]
    twin = site.devices[0].model_copy(update={"id": "twin"})
    site = site.model_copy(update={"devices": [*site.devices, twin]})
    clash = reference_facility.model_copy(update={"sites": [site]})
    with pytest.raises(AclError, match="could both publish"):
        accounts(clash)
    spoof = site.devices[0].model_copy(update={"id": "spoof", "topic": "carewatch/v1/hq/obs/sos-r101"})
    site = site.model_copy(update={"devices": [spoof]})
    with pytest.raises(AclError, match="where only edges may"):
        accounts(reference_facility.model_copy(update={"sites": [site]}))


def test_topic_filters_overlap_as_mosquitto_matches_them() -> None:
    assert overlaps("zigbee2mqtt/#", "zigbee2mqtt") and overlaps("tele/+/SENSOR", "tele/plug/#")
    assert not overlaps("zigbee2mqtt/bed-1", "zigbee2mqtt/bed-2") and not overlaps("a", "a/b")


def test_password_hash_is_what_mosquitto_passwd_writes() -> None:
    # `mosquitto_passwd -b` 2.0.11 wrote this line for alice / secret.
    expected = ("$7$101$2v9bTfLNnOdaeBEU$3u3jm8vE22VE/9YzeD0qlL8k0OcJIt/SpIFGCB6uthy2DAyYo4SbyNVlXxYcaxWybfunAB2aptL"
                "eaJxRpKw0lg==")
    assert password_hash("secret", base64.b64decode("2v9bTfLNnOdaeBEU")) == expected


def test_the_cli_writes_the_setup_and_refuses_an_unknown_site(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mqtt-config", "--config", str(FACILITY_FILE), "--out", str(tmp_path / "mq")]) == 0
    assert "38 new password(s)" in capsys.readouterr().out
    assert {p.name for p in (tmp_path / "mq").iterdir()} >= {"mosquitto.conf", "acl", "passwd", CREDENTIALS}
    assert "allow_anonymous false" in (tmp_path / "mq" / "mosquitto.conf").read_text()
    assert main(["mqtt-config", "--config", str(FACILITY_FILE), "--out", str(tmp_path / "x"), "--site", "nope"]) == 1
    assert "no site nope" in capsys.readouterr().err
