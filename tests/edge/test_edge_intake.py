"""The intake without a broker: what is ignored, what a buggy format or clock does, missing formats."""

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from devices import protocols
from devices.facility import Site
from devices.kinds import DeviceKind
from devices.loader import load_facility
from devices.messages import Reading
from edge.intake import Intake
from edge.outbox import Outbox
from tests.conftest import FACILITY_FILE
from tests.edge.edge_support import Sent
from tests.helpers import wait_until

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
BED = "bed-b103-1"


@pytest.fixture
def site() -> Site:
    return load_facility(FACILITY_FILE).site()


def bed_topic(site: Site) -> str:
    return site.device_by_id[BED].topic or ""


def test_a_message_with_nothing_to_say_is_ignored(site: Site, sent: tuple[Outbox, Sent]) -> None:
    outbox, out = sent
    intake = Intake(site, outbox, clock=lambda: NOW)
    intake.handle(bed_topic(site), b"{}")
    intake.handle(bed_topic(site), b'{"occupied": true}')
    wait_until(lambda: out.envelopes, timeout=5, what="the envelope")
    assert outbox.flush(2) and len(out.envelopes) == 1 and out.envelopes[0]["seq"] == 1
    assert (intake.stats()["ignored"], intake.stats()["forwarded"]) == (1, 1)


class BuggyFormat:
    """A vendor format with a bug: it raises something other than ProtocolError."""

    kinds = frozenset(DeviceKind)

    def subscriptions(self, device_topic: str) -> list[str]:
        return [device_topic]

    def parse(self, kind: DeviceKind, topic: str, payload: bytes) -> Reading | None:
        return Reading(occupied=json.loads(payload)["missing-key"])

    def render(self, kind: DeviceKind, reading: Reading, device_topic: str) -> list[Any]:
        return []


def test_a_bug_in_a_format_becomes_a_dead_letter_logged_once(
    site: Site, sent: tuple[Outbox, Sent], caplog: pytest.LogCaptureFixture
) -> None:
    outbox, out = sent
    intake = Intake(site, outbox, clock=lambda: NOW)
    intake.routes[bed_topic(site)] = (site.device_by_id[BED], BuggyFormat())
    caplog.set_level(logging.INFO, logger="edge")
    for _ in range(3):
        intake.handle(bed_topic(site), b'{"heart_rate_bpm": 61}')
    wait_until(lambda: len(out.envelopes) == 3, timeout=5, what="three dead letters")
    assert out.envelopes[0]["error"]["reason"] == "format error: KeyError"
    stats = intake.stats()
    assert stats["errors"] == 3 and stats["rejected_by_device"] == {BED: {"format_error": 3}}
    assert len([r for r in caplog.records if "KeyError" in r.getMessage()]) == 1
    assert "61" not in caplog.text


def test_an_unexpected_error_is_counted_not_raised(site: Site, sent: tuple[Outbox, Sent]) -> None:
    outbox, out = sent
    naive = datetime(2026, 1, 1)  # an envelope refuses a naive time: a bug, not bad input
    intake = Intake(site, outbox, clock=lambda: naive)
    intake.handle(bed_topic(site), b'{"occupied": true}')
    assert intake.stats()["errors"] == 1 and outbox.counts().pending == 0
    intake._clock = lambda: NOW
    intake.handle(bed_topic(site), b'{"occupied": true}')
    wait_until(lambda: out.envelopes, timeout=5, what="the next envelope")
    assert out.envelopes[0]["seq"] == 1  # the failed one used no seq


def test_a_device_whose_format_fails_is_skipped_not_fatal(site: Site, sent: tuple[Outbox, Sent],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    real = protocols.get

    def broken(protocol: Any) -> Any:
        if protocol == "tasmota":
            raise ImportError("tasmota format failed to import")
        return real(protocol)

    monkeypatch.setattr(protocols, "get", broken)
    intake = Intake(site, sent[0], clock=lambda: NOW)
    assert intake.unsupported == [d.id for d in site.devices if d.protocol == "tasmota"]
    assert intake.unsupported and bed_topic(site) in intake.routes


# A real device of each format, its availability topic and its vendor's "gone" message.
GONE = [
    ("bed-b101-1", "zigbee2mqtt/bed-b101-1/availability", b'{"state":"offline"}'),  # zigbee2mqtt bridge verdict
    ("bed-b102-1", "zigbee2mqtt/bed-b102-1/availability", b"offline"),  # zigbee2mqtt 1.x legacy payload
    ("plug-induction", "shellyplusplugs-kitchen1/online", b"false"),  # Shelly Gen2 Last Will
    ("plug-rice-cooker", "tele/tasmota_kitchen2/LWT", b"Offline"),  # Tasmota Last Will
    ("bed-b103-1", "carewatch/dev/bed-b103-1", b'{"online": false}'),  # carewatch's own format
]


@pytest.mark.parametrize(("device", "topic", "payload"), GONE, ids=[g[0] for g in GONE])
def test_a_device_saying_it_went_offline_is_forwarded_at_once(site: Site, sent: tuple[Outbox, Sent], device: str,
                                                             topic: str, payload: bytes) -> None:
    outbox, out = sent
    intake = Intake(site, outbox, clock=lambda: NOW)
    assert intake.routes[topic][0].id == device  # the edge subscribes to it for that device
    intake.handle(topic, payload)
    wait_until(lambda: out.envelopes, timeout=5, what="the envelope")
    (envelope,) = out.envelopes
    assert (envelope["device"], envelope["kind"], envelope["data"]) == (
        device, site.device_by_id[device].kind.value, {"online": False})
    assert "error" not in envelope and intake.stats()["forwarded"] == 1


def test_a_malformed_availability_is_a_dead_letter_and_a_cleared_one_is_ignored(site: Site,
                                                                               sent: tuple[Outbox, Sent]) -> None:
    outbox, out = sent
    intake = Intake(site, outbox, clock=lambda: NOW)
    intake.handle("tele/tasmota_kitchen2/LWT", b"")  # a retained LWT deleted: no verdict
    intake.handle("tele/tasmota_kitchen2/LWT", b"offline")
    wait_until(lambda: out.envelopes, timeout=5, what="the dead letter")
    (envelope,) = out.envelopes
    assert "data" not in envelope and envelope["error"] == {
        "reason": "availability must be 'Online' or 'Offline'", "raw": "offline"}
    stats = intake.stats()
    assert (stats["ignored"], stats["rejected"]) == (1, 1)
    assert stats["rejected_by_device"] == {"plug-rice-cooker": {"unreadable": 1}}
