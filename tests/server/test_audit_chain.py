"""The audit chain on SQLite and PostgreSQL: every alert transition is a link; editing, deleting or adding a row
by hand in the database is found by `carewatch records verify` (and the API), at the first link it breaks."""

import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from server.alerts.service import Resolution, acknowledge, comment, resolve
from server.db import make_engine, make_sessions, upgrade
from server.models import AlertEvent, ChainEntry
from server.pipeline import Pipeline
from server.records.chain import GENESIS, canonical, link_hash
from server.records.verify import verify
from tests.conftest import ROOT
from tests.server.conftest import T0, envelope, message
from tests.server.test_pipeline import alerts


def history(pipeline: Pipeline, sessions: Any) -> int:
    """A smoke alert raised, acknowledged, commented and resolved: five transitions in the chain; its id."""
    pipeline.process([message(envelope("smoke-kitchen", T0, smoke=True))])
    [alert] = alerts(sessions, "smoke")
    with sessions.begin() as db:
        acknowledge(db, alert.id, actor="li", at=T0 + timedelta(seconds=30))
        comment(db, alert.id, actor="li", at=T0 + timedelta(seconds=40), note="burnt toast")
    pipeline.process([message(envelope("smoke-kitchen", T0 + timedelta(minutes=1), seq=2, smoke=False))])
    with sessions.begin() as db:
        resolve(db, alert.id, actor="zhao", at=T0 + timedelta(minutes=2), resolution=Resolution.FALSE_ALARM)
    return alert.id


def check(sessions: Any) -> Any:
    with sessions() as db:
        [site] = verify(db)
    return site


def run_verify(db_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "carewatch.cli", "records", "verify", "--database-url", db_url],
                          cwd=ROOT, text=True, capture_output=True, timeout=60)


def test_every_transition_is_a_link_and_an_untouched_chain_is_intact(pipeline: Pipeline, sessions: Any,
                                                                     db_url: str) -> None:
    history(pipeline, sessions)
    with sessions() as db:
        links = list(db.scalars(select(ChainEntry).order_by(ChainEntry.seq)))
        actions = [e.action for e in db.scalars(select(AlertEvent).order_by(AlertEvent.id))]
    assert actions == ["raised", "acknowledged", "comment", "cleared", "resolved"]
    assert [(link.seq, link.kind) for link in links] == [(i, "alert_event") for i in range(1, 6)]
    # Recomputed here from the stored text alone: the chain is checkable without carewatch's code.
    prev = GENESIS
    for link in links:
        assert link.prev_hash == prev
        assert link.hash == link_hash(prev, "hq", link.seq, link.kind, link.ref, link.at, link.body)
        prev = link.hash
    site = check(sessions)
    assert (site.site, site.links, site.head, site.intact) == ("hq", 5, prev, True)
    done = run_verify(db_url)
    assert done.returncode == 0 and f"site hq: 5 links, head {prev[:16]}: intact" in done.stdout


def test_a_transition_edited_in_the_database_is_found(pipeline: Pipeline, sessions: Any, db_url: str) -> None:
    history(pipeline, sessions)
    with sessions.begin() as db:
        resolved = db.scalar(select(AlertEvent.id).where(AlertEvent.action == "acknowledged"))
        # Someone makes the response look faster, straight in SQL.
        db.execute(text("UPDATE alert_events SET actor = 'wang' WHERE id = :id"), {"id": resolved})
    site = check(sessions)
    assert not site.intact and site.breaks[0].seq == 2
    assert site.breaks[0].reason == f"alert_events row {resolved} was changed after it was recorded"
    done = run_verify(db_url)
    assert done.returncode == 1
    assert f"BROKEN at link 2: alert_events row {resolved} was changed after it was recorded" in done.stdout


def test_an_edited_link_a_deleted_link_and_a_row_added_by_hand_are_found(pipeline: Pipeline, sessions: Any
                                                                        ) -> None:
    alert = history(pipeline, sessions)
    with sessions.begin() as db:
        db.execute(text("UPDATE audit_chain SET body = replace(body, 'burnt toast', 'nothing') WHERE seq = 3"))
    assert [b.seq for b in check(sessions).breaks][:1] == [3]
    with sessions.begin() as db:
        db.execute(text("DELETE FROM audit_chain WHERE seq = 3"))
    site = check(sessions)
    assert site.breaks[0].seq == 3 and site.breaks[0].reason == "link 3 is missing (deleted)"
    with sessions.begin() as db:
        db.execute(text("INSERT INTO alert_events (alert_id, at, action, actor, note) "
                        "VALUES (:a, :at, 'acknowledged', 'wang', NULL)"), {"a": alert, "at": T0})
        added = db.scalar(select(AlertEvent.id).order_by(AlertEvent.id.desc()).limit(1))
    reasons = [b.reason for b in check(sessions).breaks]
    assert f"alert_events row {added} is not in the chain (written outside carewatch)" in reasons


def test_the_api_and_the_pipeline_appending_at_once_keep_one_chain(pipeline: Pipeline, sessions: Any) -> None:
    history(pipeline, sessions)
    [alert] = alerts(sessions, "smoke")
    errors: list[BaseException] = []

    def comments(who: str) -> None:
        try:
            for i in range(10):
                with sessions.begin() as db:
                    comment(db, alert.id, actor=who, at=T0 + timedelta(minutes=3, seconds=i), note=f"{who} {i}")
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=comments, args=(who,)) for who in ("li", "wang", "zhao")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    site = check(sessions)
    assert (site.links, site.intact) == (35, True)


def test_canonical_text_is_stable() -> None:
    body = {"b": 1, "a": "烟雾", "at": T0}
    assert canonical(body) == '{"a":"烟雾","at":"' + T0.strftime("%Y-%m-%dT%H:%M:%S.%fZ") + '","b":1}'


def test_the_upgrade_chains_the_transitions_a_database_already_holds(db_url: str) -> None:
    upgrade(db_url, "0005")  # a database from before the chain, with an alert and two transitions
    engine = make_engine(db_url)
    try:
        with engine.begin() as db:
            db.execute(text("INSERT INTO alerts (site, rule, subject, severity, status, cleared, occurrences, "
                            "raised_at, last_raised_at, details) VALUES ('hq', 'smoke', 'smoke-kitchen', "
                            "'critical', 'acknowledged', false, 1, :at, :at, '{}')"), {"at": T0})
            alert = db.scalar(text("SELECT id FROM alerts"))
            for action, actor in (("raised", "system"), ("acknowledged", "li")):
                db.execute(text("INSERT INTO alert_events (alert_id, at, action, actor) VALUES (:a, :at, :w, :who)"),
                           {"a": alert, "at": T0, "w": action, "who": actor})
        upgrade(db_url)
        with make_sessions(engine)() as session:
            [site] = verify(session)
    finally:
        engine.dispose()
    assert (site.site, site.links, site.intact) == ("hq", 2, True)


def test_verify_on_a_database_without_carewatchs_tables_says_so(tmp_path: Path) -> None:
    done = run_verify(f"sqlite:///{tmp_path / 'empty.db'}")
    assert done.returncode == 2 and "no such table: audit_chain" in done.stderr and "Traceback" not in done.stderr
