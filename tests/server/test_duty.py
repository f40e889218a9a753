"""The roster a manager changes, who is told as a result, and the handover recorded at a shift change."""

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from devices.facility import Facility
from server import duty
from server.alerts import service
from server.delivery.outbox import enqueue
from server.models import Alert, Handover, Notification, RosterChange

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(hour: int, minute: int = 0, day: int = 28) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def test_a_manager_s_change_decides_who_is_on_duty(reference_facility: Facility, sessions: Any) -> None:
    site = reference_facility.sites[0]
    with sessions.begin() as db:
        assert duty.on_duty(site, duty.latest_changes(db), local(2)).staff == ["s-wang"]
        db.add(RosterChange(site="hq", shift="night", staff=["s-li", "s-sun"], supervisor="s-chen", by="boss",
                            at=local(1)))
    with sessions() as db:
        night = duty.on_duty(site, duty.latest_changes(db), local(2))
    assert night is not None and (night.staff, night.supervisor) == (["s-li", "s-sun"], "s-chen")


def test_the_handover_names_the_open_alerts_and_the_night_s_notes(reference_facility: Facility,
                                                                   sessions: Any) -> None:
    with sessions.begin() as db:
        alert = Alert(site="hq", rule="sos", subject="sos-r101", severity="critical", status="open", cleared=False,
                      details={}, occurrences=1, raised_at=local(5), last_raised_at=local(5))
        db.add(alert)
        db.flush()
        service.comment(db, alert.id, actor="nurse", at=local(5, 10), note="resident calm, back in bed")
    with sessions.begin() as db:
        assert duty.hand_over(db, reference_facility, {}, local(6, 59)) != []  # the night's own (23:00) first
        [made] = duty.hand_over(db, reference_facility, {}, local(7, 0, ))
        assert (made.from_shift, made.to_shift, made.at) == ("night", "day", local(7))
        assert duty.hand_over(db, reference_facility, {}, local(7, 30)) == []  # once per shift change
    [item] = made.summary["open_alerts"]
    assert (item["rule"], item["notes"][0]["note"]) == ("sos", "resident calm, back in bed")
    assert made.summary["outgoing_staff"] == ["s-wang"]


def test_escalation_reaches_the_shift_as_the_manager_set_it(reference_facility: Facility, sessions: Any) -> None:
    data = reference_facility.model_dump(by_alias=True, mode="json")
    data["sites"][0]["staff"][1]["email"] = "li@care.example"  # s-li
    data["sites"][0]["channels"] = {"mail": {"type": "email", "host": "127.0.0.1", "port": 25,
                                             "sender": "cw@care.example"}}
    data["sites"][0]["escalation"]["critical"]["steps"][0]["channels"] = ["mail"]
    facility = Facility.model_validate(data)
    site = facility.sites[0]
    with sessions.begin() as db:
        db.add(Alert(site="hq", rule="sos", subject="sos-r101", severity="critical", status="open", cleared=False,
                     details={}, occurrences=1, raised_at=local(2), last_raised_at=local(2)))
        db.add(RosterChange(site="hq", shift="night", staff=["s-li"], supervisor=None, by="boss", at=local(1)))
    with sessions.begin() as db:
        changes = duty.latest_changes(db)
        enqueue(db, facility, local(2), lambda s, at: duty.on_duty(s, changes, at))
    with sessions() as db:
        rows = db.scalars(select(Notification).where(Notification.channel == "mail")).all()
        assert [(r.recipient, r.address) for r in rows] == [("s-li", "li@care.example")]
        assert db.scalars(select(Handover)).all() == []
    assert site.on_duty(local(2)).staff == ["s-wang"]  # the file alone would have told Wang, who has no e-mail
