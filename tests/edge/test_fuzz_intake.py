"""Property-based fuzzing of the edge intake on the reference site's real device topics: it never raises, every
message is forwarded, ignored, rejected (and sent upstream as a dead letter) or off-topic, and a good message
after any garbage still goes upstream."""

import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices import protocols
from devices.loader import load_facility
from edge.intake import Intake
from edge.outbox import Outbox
from tests.conftest import FACILITY_FILE
from tests.edge.edge_support import Sent
from tests.helpers import wait_until

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
SITE = load_facility(FACILITY_FILE).site()
ROUTES = [t for d in SITE.devices if d.topic and d.kind.value != "camera"
          for t in protocols.get(d.protocol).subscriptions(d.topic)]
BED = SITE.device_by_id["bed-b103-1"]
JSONS = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=12),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                         st.sampled_from(["occupancy", "ENERGY", "Power", "apower", "params", "method", "state",
                                          "temperature", "TempUnit", "occupied"]) | st.text(max_size=6), inner,
                         max_size=4), max_leaves=12)
PAYLOADS = (st.binary(max_size=200) | JSONS.map(lambda v: json.dumps(v).encode())
            | st.sampled_from([b"", b"online", b"Offline", b"[" * 5000, b"\xff", b"x" * 70_000]))
MESSAGES = st.tuples(st.sampled_from(ROUTES) | st.text(max_size=30), PAYLOADS)
OUTCOMES = ("forwarded", "ignored", "rejected", "unknown_topic")


@settings(max_examples=80, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(messages=st.lists(MESSAGES, min_size=1, max_size=5))
def test_garbage_is_counted_and_loses_no_good_message(sent: tuple[Outbox, Sent],
                                                      messages: list[tuple[str, bytes]]) -> None:
    """No exception, no `errors` (a format's bug), each message in exactly one outcome, the good one sent."""
    outbox, recorder = sent
    intake = Intake(SITE, outbox, clock=lambda: NOW)
    before = len(recorder.envelopes)
    for topic, payload in messages:
        intake.handle(topic, payload)
    intake.handle(BED.topic or "", b'{"occupied": true}')  # bed-b103-1 speaks carewatch's native format

    stats = intake.stats()
    assert stats["errors"] == 0
    assert stats["received"] == len(messages) + 1 == sum(stats[k] for k in OUTCOMES)
    assert stats["rejected"] == sum(sum(by.values()) for by in stats["rejected_by_device"].values())
    expected = stats["forwarded"] + stats["rejected"]
    wait_until(lambda: len(recorder.envelopes) - before == expected, 5, what="the envelopes upstream")
    new = recorder.envelopes[before:]
    assert sum("error" in e for e in new) == stats["rejected"]
    assert all(e["error"]["reason"] for e in new if "error" in e)
    # The outbox sends per device, not in arrival order: the good one is among them.
    assert {"device": BED.id, "data": {"occupied": True}} in [{k: e.get(k) for k in ("device", "data")} for e in new]


def test_every_device_topic_of_the_site_is_fuzzed() -> None:
    """The campaign covers each vendor format the reference site uses."""
    used = {SITE.device_by_id[d.id].protocol for d in SITE.devices if d.topic and d.kind.value != "camera"}
    assert len(used) >= 3 and len(ROUTES) >= 2 * len([d for d in SITE.devices if d.topic])
