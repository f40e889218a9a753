"""Retention on an injected clock, on real databases: records past `retention_records_days` go with their chain
links as a prefix, the run is itself a link anchoring the chain's new start, the chain stays verifiable, and
what must stay (newer records, an inspection a kept task points to) stays."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select, text

from devices.facility import Facility
from server.models import ChainEntry, FoodSample, Inspection, PatrolCheckin, Rectification
from server.records import food, inspections, patrols
from server.records.chain import RETENTION
from server.records.verify import verify
from server.retention import run
from server.settings import Settings

OLD = datetime(2020, 3, 2, 4, 0, tzinfo=UTC)
NEW = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)
FIVE_YEARS = 1827
HAZARD = [{"item": "kitchen-off", "ok": True}, {"item": "smoking", "ok": True}]


def hazard(failed: str | None = None) -> list[dict[str, Any]]:
    return [*HAZARD, {"item": "doors", "ok": failed is None, "note": failed, "owner": "s-sun" if failed else None}]


def seed(sessions: Any, facility: Facility) -> int:
    """Records written as time goes by: old ones of each kind, an old inspection whose task stays open for
    years (closed only in the new period), then new ones."""
    site = facility.sites[0]
    checkpoint, meal = site.patrols.checkpoints[0].id, site.food.meals[0].id
    with sessions.begin() as db:
        food.keep(db, site, meal=meal, dish="congee", grams=150, by="li", at=OLD)
        patrols.check_in(db, site.id, checkpoint, "wang", OLD)
        inspections.record(db, site, "hazard-daily", hazard(), by="zhao", at=OLD)
        _, [task] = inspections.record(db, site, "hazard-daily", hazard("gate chained"), by="zhao",
                                       at=OLD + timedelta(hours=1))
        inspections.record(db, site, "hazard-daily", hazard(), by="zhao", at=OLD + timedelta(hours=2))
    with sessions.begin() as db:
        inspections.close(db, task.task, evidence="gate replaced", by="zhao", at=NEW)
        food.keep(db, site, meal=meal, dish="congee", grams=150, by="li", at=NEW)
        patrols.check_in(db, site.id, checkpoint, "wang", NEW)
    return task.inspection


def test_old_records_go_with_their_links_and_the_chain_stays_intact(reference_facility: Facility,
                                                                    sessions: Any) -> None:
    site = reference_facility.sites[0].id
    blocked = seed(sessions, reference_facility)
    with sessions() as db:
        before = db.scalar(select(ChainEntry.seq).order_by(ChainEntry.seq.desc()).limit(1))
    [(name, body)] = run(sessions, NOW, FIVE_YEARS, 90).items()
    assert name == site
    # The prefix stops at the inspection the open-for-years task points to: the first inspection, the old food
    # sample and check-in go; the inspection with the task and everything after stays.
    assert body["deleted"]["food_sample"] == 1 and body["deleted"]["patrol_checkin"] == 1
    assert body["deleted"]["inspection"] == 1 and "rectification" not in body["deleted"]
    with sessions() as db:
        assert [r.at for r in db.scalars(select(FoodSample))] == [NEW]
        assert [r.at for r in db.scalars(select(PatrolCheckin))] == [NEW]
        assert sorted(r.id for r in db.scalars(select(Inspection))) == [blocked, blocked + 1]
        assert {r.inspection for r in db.scalars(select(Rectification))} == {blocked}
        first = db.scalar(select(ChainEntry).order_by(ChainEntry.seq).limit(1))
        assert first is not None and first.seq == body["pruned_through"] + 1 > 1
        newest = db.scalar(select(ChainEntry).order_by(ChainEntry.seq.desc()).limit(1))
        assert newest is not None and (newest.kind, newest.seq) == (RETENTION, before + 1)  # the run, on record
        [check] = verify(db, site)
    assert check.intact, check.breaks


def test_a_second_run_prunes_further_and_tampering_is_still_found(reference_facility: Facility,
                                                                  sessions: Any) -> None:
    site = reference_facility.sites[0].id
    seed(sessions, reference_facility)
    run(sessions, NOW, FIVE_YEARS, 90)
    later = NEW + timedelta(days=FIVE_YEARS + 1)  # now the new records are old too
    [body] = run(sessions, later, FIVE_YEARS, 90).values()
    assert body["deleted"]["food_sample"] == 1 and body["deleted"]["rectification"] == 2
    with sessions() as db:
        assert db.scalar(text("SELECT count(*) FROM inspections")) == 0
        [check] = verify(db, site)
        assert check.intact, check.breaks
    with sessions() as db:  # what is left: the first run's link and the second's, which anchors the start
        kept = [(e.seq, e.kind) for e in db.scalars(select(ChainEntry).order_by(ChainEntry.seq))]
    assert [kind for _, kind in kept] == [RETENTION, RETENTION] and kept[0][0] == body["pruned_through"] + 1
    with sessions.begin() as db:  # someone deletes the first run's record, as if retention had never run then
        db.execute(text("DELETE FROM audit_chain WHERE seq = :seq"), {"seq": kept[0][0]})
    with sessions() as db:
        [check] = verify(db, site)
    # Link 10's own removal cannot be told from the rest: the chain now starts at 11, and no run accounts for 1-10.
    assert not check.intact and check.breaks[0].reason == f"links 1-{kept[0][0]} are missing (deleted)"


def test_records_are_kept_at_least_five_years() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 1827"):
        Settings(retention_records_days=365)
