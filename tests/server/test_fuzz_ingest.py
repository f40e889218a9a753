"""Property-based fuzzing of ingest: `decode` classifies any message without raising, and `Pipeline.process` on a
real database keeps every good message of a batch however bad the others are, each bad one counted."""

import json
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from devices import topics
from devices.facility import Facility
from devices.loader import load_facility
from devices.messages import MAX_PAYLOAD_BYTES, RAW_KEEP_CHARS, new_id, to_json
from server import metrics
from server.ingest import Dead, EdgeStatus, Heartbeat, Incoming, Message, decode
from server.models import DeadLetter, Observation
from server.pipeline import Pipeline
from tests.conftest import FACILITY_FILE
from tests.server.conftest import T0, envelope, message

FACILITY = load_facility(FACILITY_FILE)
SITE = FACILITY.site()
DEVICES = [d.id for d in SITE.devices]
# Real topics first: garbage on a topic the server subscribes to is what reaches the pipeline.
TOPICS = (st.sampled_from([topics.observation(SITE.id, d) for d in DEVICES])
          | st.sampled_from([f"carewatch/v1/{SITE.id}/edge/status", f"carewatch/v1/{SITE.id}/edge/heartbeat",
                             f"carewatch/v1/{SITE.id}/edge/other", "carewatch/v1/elsewhere/obs/x",
                             f"carewatch/v1/{SITE.id}/obs/ghost", "carewatch/v1", "other/topic", ""])
          | st.text(max_size=40))
JSONS = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=12),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                    max_size=4), max_leaves=12)
FIELDS = ["v", "id", "site", "device", "kind", "at", "seq", "data", "error"]


@st.composite
def mutated_envelope(draw: Any) -> bytes:
    """A real device's envelope with one key deleted, replaced by junk, or junk added (in `data` too)."""
    device = draw(st.sampled_from(DEVICES))
    body = json.loads(to_json(envelope_for(device)))
    target = body["data"] if draw(st.booleans()) else body
    key = draw(st.sampled_from([*FIELDS, *target]) | st.text(max_size=8))
    if draw(st.booleans()) and key in target:
        del target[key]
    else:
        target[key] = draw(JSONS)
    return json.dumps(body).encode()


def envelope_for(device: str) -> Any:
    """A valid envelope for a device of the reference site."""
    kind = SITE.device_by_id[device].kind.value
    from devices.messages import Envelope, Reading

    return Envelope(id=new_id(), site=SITE.id, device=device, kind=kind, at=T0, seq=1, data=Reading(online=True))


PAYLOADS = (st.binary(max_size=200) | JSONS.map(lambda v: json.dumps(v).encode()) | mutated_envelope()
            | st.sampled_from([b"online", b"OFFLINE ", b"{}", b'{"a": NaN}', b'{"a": "\\u0000"}', b"[" * 3000,
                               b"x" * (MAX_PAYLOAD_BYTES + 1), b"\x00\xff"]))
MESSAGES = st.builds(lambda t, p: Message(t, p, T0, mid=1, qos=1), TOPICS, PAYLOADS)
FUZZ = settings(max_examples=60, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@settings(max_examples=1500, derandomize=True, deadline=None, database=None)
@given(MESSAGES)
def test_decode_classifies_any_message_without_raising(msg: Message) -> None:
    """Every message is an observation, an edge status or heartbeat, or a dead letter with a reason."""
    found = decode(msg, FACILITY)
    assert isinstance(found, Incoming | Dead | EdgeStatus | Heartbeat)
    if isinstance(found, Dead):
        assert found.reason.strip() and len(found.reason) <= 300
        assert len(found.raw) <= RAW_KEEP_CHARS and "\x00" not in found.raw + found.reason + found.topic


def rejected_total() -> float:
    """All dead letters counted in /metrics since the process started."""
    return sum(s.value for m in metrics.REJECTED.collect() for s in m.samples if s.name.endswith("_total"))


def count(sessions: Any, model: Any) -> int:
    with sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model)))


@FUZZ
@given(bad=st.lists(MESSAGES, min_size=1, max_size=6), position=st.integers(0, 6))
def test_bad_messages_lose_no_good_one_and_each_is_counted(pipeline: Pipeline, sessions: Any, bad: list[Message],
                                                           position: int) -> None:
    """A good observation among any garbage is stored; each message is stored, a dead letter, or edge news."""
    good = envelope("smoke-kitchen", T0 + timedelta(seconds=1), smoke=False)
    batch = [*bad[:position], message(good), *bad[position:]]
    expected = [decode(m, pipeline.facility) for m in batch]
    dead_before, rows_before, counted_before = count(sessions, DeadLetter), count(sessions, Observation), \
        rejected_total()

    changes = pipeline.process(batch)

    dead = sum(isinstance(d, Dead) for d in expected)
    assert changes.dead == dead
    assert count(sessions, DeadLetter) - dead_before == dead
    assert rejected_total() - counted_before == dead
    assert count(sessions, Observation) - rows_before == changes.observations >= 1
    with sessions() as db:
        assert db.get(Observation, good.id) is not None, "the good message was lost"
    incoming = sum(isinstance(d, Incoming) for d in expected)
    assert changes.observations + changes.duplicates == incoming


def test_the_fuzzed_topics_are_the_reference_sites(reference_facility: Facility) -> None:
    """The campaign aims at the topics the server really subscribes to."""
    assert SITE.id == reference_facility.site().id and len(DEVICES) >= 20
