"""Inspections and rectification (整改): a form filled in item by item; each failed item opens a task with an
owner and a due date; closing it (with evidence) is a new version; a task past due raises
`rectification_overdue` until it is closed. Inspections and every task version are chained."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from devices.facility import Facility, Site
from devices.kinds import Severity
from server.alerts import service
from server.models import Alert, Inspection, Rectification
from server.records.chain import append
from server.rules.base import Clear, Raise

INSPECTION, RECTIFICATION = "inspection", "rectification"
RECTIFICATION_OVERDUE = "rectification_overdue"
TASK_FIELDS = ("task", "version", "supersedes", "site", "inspection", "item", "problem", "owner", "due_at", "status",
               "evidence", "recorded_by", "recorded_at")


class InspectionError(ValueError):
    """The form or the change cannot be recorded as given (the API answers 422 or 409 with the message)."""


def inspection_body(row: Inspection) -> dict[str, Any]:
    """What an inspection's link holds."""
    return {"site": row.site, "template": row.template, "at": row.at, "by": row.by, "results": row.results,
            "notes": row.notes}


def task_body(row: Rectification) -> dict[str, Any]:
    """What a task version's link holds."""
    return {name: getattr(row, name) for name in TASK_FIELDS}


def record(session: Session, site: Site, template_id: str, results: list[dict[str, Any]], *, by: str,
           at: datetime, notes: str | None = None) -> tuple[Inspection, list[Rectification]]:
    """Record a filled-in form (every item once: ok, note, owner) and open a task for each failed item."""
    template = next((t for t in site.inspections if t.id == template_id), None)
    if template is None:
        raise InspectionError(f"no inspection form {template_id!r}; forms: {', '.join(t.id for t in site.inspections)}")
    expected, given = [i.id for i in template.items], [r["item"] for r in results]
    if sorted(given) != sorted(expected):
        missing, extra = sorted(set(expected) - set(given)), sorted(set(given) - set(expected))
        raise InspectionError(f"give every item of {template_id!r} once: missing {missing}, unknown {extra}")
    if any(not r["ok"] and not (r.get("note") or "").strip() for r in results):
        raise InspectionError("a failed item needs a note saying what is wrong (it becomes the task)")
    row = Inspection(site=site.id, template=template_id, at=at, by=by, notes=notes,
                     results=[{"item": r["item"], "ok": r["ok"], "note": r.get("note")} for r in results])
    session.add(row)
    session.flush()
    append(session, site=site.id, kind=INSPECTION, ref=str(row.id), at=at, body=inspection_body(row))
    tasks = [_open(session, row, r, template.fix_within + at, by, at) for r in results if not r["ok"]]
    return row, tasks


def _open(session: Session, inspection: Inspection, result: dict[str, Any], due: datetime, by: str,
          at: datetime) -> Rectification:
    """The first version of a failed item's task (its id is the task's number)."""
    task = Rectification(task=0, version=1, supersedes=None, site=inspection.site, inspection=inspection.id,
                         item=result["item"], problem=result["note"], owner=result.get("owner") or by, due_at=due,
                         status="open", evidence=None, recorded_by=by, recorded_at=at)
    session.add(task)
    session.flush()
    task.task = task.id
    session.flush()
    append(session, site=task.site, kind=RECTIFICATION, ref=str(task.id), at=at, body=task_body(task))
    return task


def close(session: Session, task_id: int, *, evidence: str, by: str, at: datetime) -> Rectification:
    """Close a task with its evidence: a new version (LookupError unknown, InspectionError already closed)."""
    newest = latest(session, task_id)
    if newest is None:
        raise LookupError(f"no rectification task {task_id}")
    if newest.status == "closed":
        raise InspectionError(f"task {task_id} is already closed")
    values = {**task_body(newest), "version": newest.version + 1, "supersedes": newest.id, "status": "closed",
              "evidence": evidence, "recorded_by": by, "recorded_at": at}
    row = Rectification(**values)
    session.add(row)
    session.flush()
    append(session, site=row.site, kind=RECTIFICATION, ref=str(row.id), at=at, body=task_body(row))
    return row


def latest(session: Session, task_id: int) -> Rectification | None:
    """A task's newest version."""
    return session.scalars(select(Rectification).where(Rectification.task == task_id)
                           .order_by(Rectification.version.desc()).limit(1)).first()


def tasks(session: Session, site: str | None = None, status: str | None = None) -> list[Rectification]:
    """Every task's newest version, oldest task first; optionally one site's, or only open or closed ones."""
    newest = select(Rectification.task, func.max(Rectification.version).label("v")).group_by(
        Rectification.task).subquery()
    query = select(Rectification).join(newest, (Rectification.task == newest.c.task)
                                       & (Rectification.version == newest.c.v)).order_by(Rectification.task)
    if site:
        query = query.where(Rectification.site == site)
    if status:
        query = query.where(Rectification.status == status)
    return list(session.scalars(query))


def check(session: Session, facility: Facility, now: datetime) -> list[Alert]:
    """Raise `rectification_overdue` for open tasks past due; clear it for tasks closed since."""
    changed: list[Alert] = []
    for task in tasks(session):
        subject = f"rectification:{task.task}"
        existing = service.open_alert(session, site=task.site, rule=RECTIFICATION_OVERDUE, subject=subject)
        if task.status == "open" and task.due_at <= now and existing is None:
            details = {"task": task.task, "item": task.item, "problem": task.problem, "owner": task.owner,
                       "due": task.due_at.isoformat()}
            changed.append(service.apply_raise(session, site=task.site, rule=RECTIFICATION_OVERDUE, at=now,
                                               action=Raise(subject, Severity.MEDIUM, None, details)))
        elif task.status == "closed" and existing is not None and not existing.cleared:
            cleared = service.apply_clear(session, site=task.site, rule=RECTIFICATION_OVERDUE, at=now,
                                          action=Clear(subject))
            changed += [cleared] if cleared else []
    return changed

