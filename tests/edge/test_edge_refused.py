"""A broker refusing observations (MQTT 5 PUBACK `Not authorized`): rows are kept, logged once, sent later."""

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from carewatch.broker import PrivateMosquitto
from devices import topics
from devices.loader import load_facility
from edge.agent import EdgeAgent
from tests.conftest import missing
from tests.edge.edge_support import Collector, Device, envelopes
from tests.helpers import wait_until

pytestmark = pytest.mark.mqtt

# Observations may be read but not published: the edge's uplink account lacks the right.
ACL = "topic readwrite #\ntopic deny carewatch/v1/+/obs/#\n"


@pytest.fixture
def acl_dir() -> Iterator[Path]:
    if not PrivateMosquitto.available():
        missing("mosquitto binary")
    # Readable by the user Mosquitto drops to when started as root.
    path = Path(tempfile.mkdtemp(prefix="carewatch-acl-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_refused_rows_stay_and_go_out_after_a_restart(
    acl_dir: Path, unique_site_file: Path, make_agent: Callable[..., EdgeAgent], tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    facility = load_facility(unique_site_file)
    site = facility.site()
    bed = site.device_by_id["bed-b103-1"].topic or ""
    (acl_dir / "acl").write_text(ACL)
    (acl_dir / "acl").chmod(0o644)
    # Mosquitto 2.0.11 with an unlimited queue drops an MQTT 5 client right after refusing one of its
    # publishes; with its default queue it answers every refusal on the same connection, as a broker should.
    strict = PrivateMosquitto(extra_conf=f"acl_file {acl_dir / 'acl'}\nmax_queued_messages 1000\n").start()
    try:
        url = f"mqtt://127.0.0.1:{strict.port}"
        agent = make_agent(facility, site.id, device_broker_url=url, uplink_broker_url=url, protocol="5",
                           state_dir=tmp_path / "edge")
        agent.start()
        wait_until(agent.subscribed.is_set, what="subscribed")
        device = Device(url)
        for _ in range(3):
            device.publish(bed, b'{"occupied": true}')
        device.stop()
        wait_until(lambda: agent.stats()["outbox"]["refused"] == 3, timeout=5, what="3 refusals")
        assert agent.stats()["outbox"]["pending"] == 3
        assert len([r for r in caplog.records if "refused a message" in r.getMessage()]) == 1
        agent.stop()
    finally:
        strict.stop()

    open_broker = PrivateMosquitto().start()  # the account was fixed
    try:
        url = f"mqtt://127.0.0.1:{open_broker.port}"
        server = Collector(url, [topics.observation(site.id, "+")]).start()
        again = make_agent(facility, site.id, device_broker_url=url, uplink_broker_url=url, protocol="5",
                           state_dir=tmp_path / "edge")
        again.start()
        wait_until(lambda: len(envelopes(server.messages)) == 3, timeout=5, what="the kept rows")
        assert [e["seq"] for e in envelopes(server.messages)] == [1, 2, 3]
        again.stop()
        server.stop()
    finally:
        open_broker.stop()
