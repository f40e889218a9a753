"""Tables: observations, device registry, dead letters, alerts and their history, users, rule state,
suppressions (silence, maintenance, drill), care events and the audit chain."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, UtcDateTime

Json = JSON().with_variant(JSON(none_as_null=True), "postgresql")


class Observation(Base):
    """One observation as the edge sent it; the envelope id makes ingest idempotent."""

    __tablename__ = "observations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    seq: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(Json)

    __table_args__ = (
        Index("ix_observations_site_device_at", "site", "device", "at"),
        # The rollup takes a site's oldest hour at a time; without this it would scan the site's every device.
        Index("ix_observations_site_at", "site", "at"),
    )


class ObservationHour(Base):
    """One device's observations of one UTC hour, rolled up once they pass `retention_observations_days`.

    `fields` holds, per field of `data`: numbers {n, min, max, mean, first, last}; booleans {n, true, changes,
    first, last}; text {n, counts: {value: n}, last}. A nested object's numbers are named `stats.fps_in`, ...
    """

    __tablename__ = "observation_hours"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    device: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)  # the hour's start, UTC
    kind: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime)
    fields: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)

    # Retention deletes by site and age across every device.
    __table_args__ = (Index("ix_observation_hours_site_hour", "site", "hour"),)


class Snapshot(Base):
    """A camera's picture of an alert (privacy areas already blurred at the edge), kept `snapshot_days`."""

    __tablename__ = "snapshots"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the observation that carried it
    site: Mapped[str] = mapped_column(String(64))
    camera: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)


class DeviceState(Base):
    """Registry of each device: last seen, online, battery, latest reading, counters."""

    __tablename__ = "devices"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    device: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    room: Mapped[str | None] = mapped_column(String(64))
    last_seen: Mapped[datetime | None] = mapped_column(UtcDateTime)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    battery_pct: Mapped[float | None] = mapped_column(Float)
    state: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    last_seq: Mapped[int | None] = mapped_column(BigInteger)
    observations: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)


class DeadLetter(Base):
    """A message that could not be used, kept with the reason so nothing is lost silently."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    site: Mapped[str | None] = mapped_column(String(64))
    device: Mapped[str | None] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(256))
    reason: Mapped[str] = mapped_column(String(300))
    raw: Mapped[str] = mapped_column(Text)


class Edge(Base):
    """A site's edge agent: online per its retained status, last heartbeat."""

    __tablename__ = "edges"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    info: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class Alert(Base):
    """A safety alert: open, acknowledged, resolved; `cleared` once the condition has ended."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(160))  # a device, a bed, a room, `<bed>/hr`, `<device>/<watch>`
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    cleared: Mapped[bool] = mapped_column(Boolean, default=False)
    room: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acked_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(String(32))
    assignee: Mapped[str | None] = mapped_column(String(64))  # who is on it (a username or staff:<id>)
    # Raised under a silence or inside a drill: recorded like any alert, but not a real alarm to notify.
    muted: Mapped[str | None] = mapped_column(String(16))
    suppression_id: Mapped[int | None] = mapped_column(ForeignKey("suppressions.id", name="fk_alerts_suppression_id"))

    events: Mapped[list["AlertEvent"]] = relationship(back_populates="alert", order_by="AlertEvent.id")

    __table_args__ = (
        # One unresolved alert per (site, rule, subject), enforced by the database itself.
        Index("uq_alerts_one_open", "site", "rule", "subject", unique=True,
              sqlite_where=text("status != 'resolved'"), postgresql_where=text("status != 'resolved'")),
        Index("ix_alerts_status_raised", "status", "raised_at"),
    )


class AlertEvent(Base):
    """Who did what to an alert, and when: every transition is recorded."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(500))

    alert: Mapped[Alert] = relationship(back_populates="events")


class User(Base):
    """A person who logs in: staff, manager, inspector or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Space-separated site ids this user may see; None: every site (an inspector is granted sites one by one).
    sites: Mapped[str | None] = mapped_column(Text)


class LoginFailure(Base):
    """One failed login, counted against its username and against its client address.

    In the database, not in memory, so that several servers count together (an attacker spread over them gets no
    more tries) and a restart forgets nothing; rows older than the window are deleted as new failures come.
    """

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))  # user or address
    key: Mapped[str] = mapped_column(String(200))  # the username as counted, or the address
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_login_failures_kind_key_at", "kind", "key", "at"),
                      Index("ix_login_failures_at", "at"))


class RuleState(Base):
    """What a rule remembers about one key (a bed, a kitchen, a cabinet), and its pending timer."""

    __tablename__ = "rule_states"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)


class Suppression(Base):
    """A time-boxed silence, maintenance window or drill, with who set it and why; kept after it ends."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))  # silence, maintenance, drill
    scope: Mapped[str] = mapped_column(String(16))  # site, room, zone, device, rule
    target: Mapped[str | None] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    author: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(64))


class CareEvent(Base):
    """Care given that rules count on, logged by staff: a resident turned (repositioned), by whom and when."""

    __tablename__ = "care_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    bed: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_care_events_site_bed_at", "site", "bed", "at"),)


class Notification(Base):
    """One message of an alert's escalation to one recipient on one channel: the outbox and its record.

    `key` makes it idempotent: the same round never becomes two rows, and receivers get it as the
    Idempotency-Key so a retried delivery can be dropped.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    site: Mapped[str] = mapped_column(String(64))
    step: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(64))  # a staff id, or "group" for a robot or webhook
    address: Mapped[str | None] = mapped_column(String(200))  # e-mail address, when the channel needs one
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Handover(Base):
    """A shift change: what the outgoing shift hands over (open alerts, their notes), recorded when it happens."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    from_shift: Mapped[str] = mapped_column(String(64))
    to_shift: Mapped[str] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class RosterChange(Base):
    """A manager's change to a shift's people, over the facility file's roster; the newest one counts."""

    __tablename__ = "roster_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    shift: Mapped[str] = mapped_column(String(64))
    staff: Mapped[list[str]] = mapped_column(Json)
    supervisor: Mapped[str | None] = mapped_column(String(64))
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class ChainEntry(Base):
    """One link of a site's audit chain: a record's canonical form, hashed with the link before it."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 ... per site: a gap is a deleted link
    kind: Mapped[str] = mapped_column(String(32))  # what the record is: alert_event, ...
    ref: Mapped[str] = mapped_column(String(64))  # the record's id in its own table
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    body: Mapped[str] = mapped_column(Text)  # the record's canonical JSON when it was written
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        # Two writers appending at once: one of them fails here and retries on the new head.
        Index("uq_audit_chain_site_seq", "site", "seq", unique=True),
        Index("ix_audit_chain_kind_ref", "kind", "ref"),
    )


class DrillRecord(Base):
    """One version of a fire drill's record; a change is a new version pointing to the one it replaces."""

    __tablename__ = "drill_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    drill: Mapped[int] = mapped_column(ForeignKey("suppressions.id"), index=True)  # the drill-mode suppression
    version: Mapped[int] = mapped_column(Integer)
    supersedes: Mapped[int | None] = mapped_column(Integer)  # the version this one replaces
    site: Mapped[str] = mapped_column(String(64))
    scenario: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(16))
    target: Mapped[str | None] = mapped_column(String(64))
    shift: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_by: Mapped[str] = mapped_column(String(64))
    all_clear_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    participants: Mapped[list[str]] = mapped_column(Json, default=list)
    residents_evacuated: Mapped[int | None] = mapped_column(Integer)
    problems: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("uq_drill_records_version", "drill", "version", unique=True),)


class PatrolCheckin(Base):
    """Someone reached a patrol checkpoint (by opening its QR code's page and pressing the button)."""

    __tablename__ = "patrol_checkins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    checkpoint: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    by: Mapped[str] = mapped_column(String(64))
    # The checkpoint's checklist as answered: [{"check", "ok", "note"}]; None where it has none.
    checklist: Mapped[list[dict[str, Any]] | None] = mapped_column(Json)

    __table_args__ = (Index("ix_patrol_checkins_site_at", "site", "at"),)


class Inspection(Base):
    """One inspection as it was filled in: the form, each item passed or failed with a note, who and when."""

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    template: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    by: Mapped[str] = mapped_column(String(64))
    results: Mapped[list[dict[str, Any]]] = mapped_column(Json)  # [{item, ok, note}]
    notes: Mapped[str | None] = mapped_column(Text)


class Rectification(Base):
    """One version of a rectification task (整改) opened by a failed inspection item; closing is a new version."""

    __tablename__ = "rectifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task: Mapped[int] = mapped_column(Integer, index=True)  # the first version's id: the task's number
    version: Mapped[int] = mapped_column(Integer)
    supersedes: Mapped[int | None] = mapped_column(Integer)
    site: Mapped[str] = mapped_column(String(64))
    inspection: Mapped[int] = mapped_column(ForeignKey("inspections.id"))
    item: Mapped[str] = mapped_column(String(64))
    problem: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))  # open, closed
    evidence: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FoodSample(Base):
    """A kept sample of one dish of one meal (留样): weight, when it went into the sample fridge, who took it."""

    __tablename__ = "food_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    day: Mapped[str] = mapped_column(String(10))  # the meal's day at the site, YYYY-MM-DD
    meal: Mapped[str] = mapped_column(String(64))
    dish: Mapped[str] = mapped_column(String(200))
    grams: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    by: Mapped[str] = mapped_column(String(64))
    discard_due: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_food_samples_site_day", "site", "day"),)


class EpidemicSwitch(Base):
    """A manager switched a site's epidemic mode on or off; the newest switch is the mode now."""

    __tablename__ = "epidemic_switches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean)  # on (True) or off
    reason: Mapped[str] = mapped_column(String(500))
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_epidemic_switches_site_at", "site", "at"),)


class HealthCheck(Base):
    """A resident's health check in epidemic mode: temperature and symptoms, by bed (ids only, never a name)."""

    __tablename__ = "health_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    bed: Mapped[str] = mapped_column(String(64))
    resident: Mapped[str | None] = mapped_column(String(64))  # the bed's care profile id when it was taken
    temperature_c: Mapped[float] = mapped_column(Float)
    fever: Mapped[bool] = mapped_column(Boolean)  # at or above the site's `fever_c` when it was taken
    symptoms: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_health_checks_site_at", "site", "at"),)


class Disinfection(Base):
    """A disinfection round done: which round, for which day, who, when, with what."""

    __tablename__ = "disinfections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    round: Mapped[str] = mapped_column(String(64))
    day: Mapped[str] = mapped_column(String(10))  # the round's day at the site, YYYY-MM-DD
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    agent: Mapped[str | None] = mapped_column(String(200))  # the disinfectant, e.g. "chlorine 500 mg/L"
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_disinfections_site_day", "site", "day"),)


class RecordPhoto(Base):
    """A photo attached to an inspection (what was found) or a rectification task (the close-out evidence)."""

    __tablename__ = "record_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    record: Mapped[str] = mapped_column(String(16))  # inspection or rectification
    ref: Mapped[int] = mapped_column(Integer)  # the inspection's id, or the task number
    item: Mapped[str | None] = mapped_column(String(64))  # the form's item it shows, if one
    media_type: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))  # of `data`: the chain holds this, so a swapped photo shows
    data: Mapped[bytes] = mapped_column(LargeBinary)
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_record_photos_record_ref", "record", "ref"),)


class ColdReading(Base):
    """A cabinet temperature read and written down by hand, for a fridge or freezer without a sensor."""

    __tablename__ = "cold_readings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    cabinet: Mapped[str] = mapped_column(String(64))
    temperature_c: Mapped[float] = mapped_column(Float)
    in_range: Mapped[bool] = mapped_column(Boolean)
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_cold_readings_site_cabinet_at", "site", "cabinet", "at"),)
