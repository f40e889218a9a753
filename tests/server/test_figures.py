"""Response figures from alerts with known times: medians, the 90th percentile, the share within target,
escalations, false alarms, and the shift each alert fell in."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from devices.facility import Facility
from server.figures import figures
from server.models import Alert, Notification

NIGHT = datetime(2026, 11, 28, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)  # the night shift
DAY = datetime(2026, 11, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)  # the day shift
S = timedelta(seconds=1)


def alert(db: Any, rule: str, severity: str, raised: datetime, ack_s: float | None = None,
          resolve_s: float | None = None, resolution: str | None = None, muted: str | None = None) -> Alert:
    row = Alert(site="hq", rule=rule, subject=f"s{raised.timestamp()}{rule}{ack_s}", severity=severity,
                status="resolved" if resolve_s else ("acknowledged" if ack_s else "open"), cleared=False,
                details={}, occurrences=1, raised_at=raised, last_raised_at=raised, muted=muted,
                acked_at=raised + ack_s * S if ack_s is not None else None, acked_by="nurse" if ack_s else None,
                resolved_at=raised + resolve_s * S if resolve_s else None, resolution=resolution)
    db.add(row)
    db.flush()
    return row


def test_figures_per_severity_shift_person_and_rule(reference_facility: Facility, sessions: Any) -> None:
    with sessions.begin() as db:
        for ack_s in (30, 60, 90, 200):  # critical target 2 min: 3 of 4 within
            alert(db, "sos", "critical", NIGHT, ack_s, ack_s + 600, "real_event")
        late = alert(db, "smoke", "critical", DAY, 400, 900, "false_alarm")
        db.add(Notification(key="k", alert_id=late.id, site="hq", step=1, round=0, channel="screen",
                            recipient="group", status="sent", attempts=0, next_attempt_at=DAY, created_at=DAY))
        alert(db, "smoke", "critical", DAY, 20, 60, "real_event")
        alert(db, "bed_exit_night", "high", NIGHT)  # nobody answered yet
        alert(db, "smoke", "critical", NIGHT, 5, 10, "drill", muted="drill")  # not counted
    with sessions() as db:
        got = figures(db, reference_facility, NIGHT - timedelta(hours=1), DAY + timedelta(hours=1))
    critical = got["by_severity"]["critical"]
    assert (got["alerts"], critical["alerts"], critical["acknowledged"]) == (7, 6, 6)
    assert critical["ack_s"] == {"median": 75.0, "p90": 200.0}
    assert critical["within_target"] == round(4 / 6, 3)  # 30, 60, 90 and 20 s; not 200 and 400 s
    assert critical["escalated"] == 1
    assert got["by_severity"]["high"]["acknowledged"] == 0 and got["by_severity"]["high"]["ack_s"]["median"] is None
    assert set(got["by_shift"]) == {"night", "day"} and got["by_shift"]["night"]["alerts"] == 5
    assert got["by_person"]["nurse"]["acknowledged"] == 6
    assert got["false_alarm_share_by_rule"] == {"smoke": 0.5, "sos": 0.0}
