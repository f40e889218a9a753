"""The rows of each kind of export, read through the records' own queries where they fit: plain values (text,
numbers, local times as `YYYY-MM-DD HH:MM`, None for nothing) in the export's language, oldest first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Alert, Inspection, Rectification
from server.records import cold_log, drills, food, inspections, patrols
from server.records.export_scope import Scope
from server.texts import rule_title, word
from server.views import device_name, room_name, subject_name

Row = dict[str, Any]


def drill_rows(session: Session, scope: Scope) -> list[Row]:
    """Each drill started in the period: its newest version, evacuation time and alarm count."""
    views = [v for v in drills.drills(session, scope.site.id) if scope.inside(v.record.started_at)]
    return [_drill(scope, view) for view in reversed(views)]  # drills() lists the newest first


def _drill(scope: Scope, view: drills.DrillView) -> Row:
    """One drill's row."""
    r = view.record
    shifts = {s.id: s for s in scope.site.roster.shifts} if scope.site.roster else {}
    evacuation = view.as_dict()["evacuation_s"]
    where = (scope.word("whole_site") if r.scope == "site" or not r.target
             else subject_name(scope.site, r.target, scope.language))
    shift = shifts[r.shift].name.get(scope.language) if r.shift in shifts else r.shift
    return {"started_at": scope.time(r.started_at), "scenario": r.scenario, "where": where, "shift": shift,
            "started_by": r.started_by, "all_clear_at": scope.time(r.all_clear_at),
            "evacuation_s": round(evacuation) if evacuation is not None else None,
            "participants": scope.join([scope.person(p) or p for p in r.participants]),
            "residents_evacuated": r.residents_evacuated, "problems": r.problems, "alarms": len(view.alarms),
            "version": r.version, "recorded_by": r.recorded_by}


def patrol_rows(session: Session, scope: Scope) -> list[Row]:
    """Each round of each day, a row per checkpoint: the first check-in inside the window, or none."""
    names = {c.id: c.name.get(scope.language) for c in scope.site.patrols.checkpoints}
    rows = []
    for day in scope.days():
        for done in patrols.day_status(session, scope.site, day, scope.now):
            window = f"{done.round.window.start:%H:%M}–{done.round.window.end:%H:%M}"
            rows += [{"day": day.isoformat(), "round": done.round.name.get(scope.language), "window": window,
                      "state": scope.word(done.state), "checkpoint": names.get(cp, cp),
                      "at": scope.time(visit[0]) if visit else None, "by": visit[1] if visit else None}
                     for cp, visit in done.visits.items()]
    return rows


def inspection_rows(session: Session, scope: Scope) -> list[Row]:
    """Each inspection of the period, a row per item: passed, or failed with what is wrong."""
    query = (select(Inspection).where(Inspection.site == scope.site.id, Inspection.at >= scope.since,
                                      Inspection.at < scope.until).order_by(Inspection.at, Inspection.id))
    rows = []
    for found in session.scalars(query):
        rows += [{"at": scope.time(found.at), "form": _form(scope, found.template),
                  "item": _item(scope, found.template, r["item"]),
                  "result": scope.word("passed" if r["ok"] else "failed"), "note": r.get("note"), "by": found.by,
                  "inspection": found.id} for r in found.results]
    return rows


def rectification_rows(session: Session, scope: Scope) -> list[Row]:
    """Each task opened in the period, as it stands now: open, overdue or closed with its evidence."""
    site = scope.site.id
    opened = {task: at for task, at in session.execute(select(Rectification.task, Rectification.recorded_at).where(
        Rectification.site == site, Rectification.version == 1))}
    forms = {ident: form for ident, form in session.execute(select(Inspection.id, Inspection.template).where(
        Inspection.site == site))}
    rows = []
    for task in inspections.tasks(session, site):
        if task.task not in opened or not scope.inside(opened[task.task]):
            continue
        closed = task.status == "closed"
        state = "closed" if closed else "overdue" if task.due_at <= scope.now else "open"
        rows.append({"task": task.task, "opened_at": scope.time(opened[task.task]),
                     "item": _item(scope, forms.get(task.inspection, ""), task.item), "problem": task.problem,
                     "owner": scope.person(task.owner), "due_at": scope.time(task.due_at), "status": scope.word(state),
                     "closed_at": scope.time(task.recorded_at) if closed else None,
                     "closed_by": task.recorded_by if closed else None, "evidence": task.evidence})
    return rows


def _form(scope: Scope, template: str) -> str:
    """An inspection form's name."""
    form = next((t for t in scope.site.inspections if t.id == template), None)
    return form.name.get(scope.language) if form else template


def _item(scope: Scope, template: str, item: str) -> str:
    """An inspection item's text (its id when the form no longer has it)."""
    form = next((t for t in scope.site.inspections if t.id == template), None)
    found = next((i for i in form.items if i.id == item), None) if form else None
    return found.text.get(scope.language) if found else item


def food_rows(session: Session, scope: Scope) -> list[Row]:
    """Each day's samples meal by meal; a meal past its sampling time without one gets a row saying so."""
    rows = []
    for day in scope.days():
        kept = food.samples(session, scope.site.id, day)
        for meal in scope.site.food.meals:
            mine = [s for s in kept if s.meal == meal.id]
            due = datetime.combine(day, meal.at, tzinfo=scope.site.zone) + scope.site.food.sample_within
            name = meal.name.get(scope.language)
            rows += [{"day": day.isoformat(), "meal": name, "dish": s.dish, "grams": _number(s.grams),
                      "at": scope.time(s.at), "by": s.by, "discard_due": scope.time(s.discard_due)} for s in mine]
            if not mine and due <= scope.now:
                rows.append({"day": day.isoformat(), "meal": name, "note": scope.word("no_sample")})
    return rows


def cold_rows(session: Session, scope: Scope) -> list[Row]:
    """Each fridge and freezer's day: the fixed readings, then every excursion with its alert."""
    rows = []
    for day in scope.days():
        for log in cold_log.cold_log(session, scope.site, day):
            device = scope.site.device_by_id.get(log.device)
            head = {"day": day.isoformat(), "cabinet": device_name(scope.site, device, scope.language) if device
                    else log.device, "role": scope.word(log.role), "range": _range(log.min, log.max)}
            rows += [{**head, "entry": f"{scope.word('reading')} {r.due:%H:%M}", "time": scope.time(r.at),
                      "temperature_c": r.temperature_c,
                      "in_range": None if r.in_range is None else scope.word("yes" if r.in_range else "no")}
                     for r in log.readings]
            rows += [{**head, "entry": scope.word("excursion"), "time": scope.time(e["raised_at"]),
                      "temperature_c": e["peak"] or e["value"], "in_range": scope.word("no"), "alert": e["alert"],
                      "cleared_at": scope.time(e["cleared_at"]), "acked_by": e["acked_by"],
                      "resolution": scope.word(e["resolution"])} for e in log.excursions]
    return rows


def alert_rows(session: Session, scope: Scope) -> list[Row]:
    """Each alert raised in the period: who acknowledged and resolved it and when, and how it ended."""
    query = (select(Alert).where(Alert.site == scope.site.id, Alert.raised_at >= scope.since,
                                 Alert.raised_at < scope.until).order_by(Alert.raised_at, Alert.id))
    lang, site = scope.language, scope.site
    return [{"id": a.id, "raised_at": scope.time(a.raised_at), "alert": rule_title(a.rule, lang),
             "severity": word(a.severity, lang), "subject": subject_name(site, a.subject, lang),
             "room": room_name(site, a.room, lang), "status": word(a.status, lang), "acked_at": scope.time(a.acked_at),
             "acked_by": a.acked_by, "resolved_at": scope.time(a.resolved_at), "resolved_by": a.resolved_by,
             "resolution": scope.word(a.resolution), "cleared_at": scope.time(a.cleared_at),
             "muted": scope.word(a.muted)} for a in session.scalars(query)]


def _range(low: float | None, high: float | None) -> str | None:
    """A cabinet's limits as 0–8 (an open end left blank)."""
    if low is None and high is None:
        return None
    return f"{'' if low is None else _number(low)}–{'' if high is None else _number(high)}"


def _number(value: float | None) -> float | int | None:
    """130.0 as 130: what a person wrote down."""
    return int(value) if value is not None and float(value).is_integer() else value


ROWS: dict[str, Callable[[Session, Scope], list[Row]]] = {
    "drills": drill_rows, "patrols": patrol_rows, "inspections": inspection_rows,
    "rectifications": rectification_rows, "food-samples": food_rows, "cold-storage": cold_rows, "alerts": alert_rows,
}
