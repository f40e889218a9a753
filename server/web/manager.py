"""Manager pages: the alert history with filters (any logged-in role reads it) and the silences and maintenance
windows (everyone sees them, managers set and end them through the API's own checks)."""

import csv
import io
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import Select, func, or_, select

from devices.facility import Site
from server import suppressions
from server.alerts.service import Resolution, Status
from server.api import care
from server.api.deps import Ctx, Db, Lang, chosen_site, visible_sites
from server.auth.tokens import Principal
from server.auth.users import MANAGERS
from server.models import Alert, Suppression
from server.suppressions import RULE_NAMES, Scope, zone_rooms
from server.texts import RULE_TITLES, rule_title, word
from server.views import alert_out, subject_name
from server.web.i18n import texts
from server.web.manager_texts import duration, manager_texts
from server.web.routes import TEMPLATES, who

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
CSV_MAX = 10_000  # a CSV of one filter; the records exports cover whole periods
SEVERITIES = ("critical", "high", "medium", "low")
RULES = tuple(dict.fromkeys([*RULE_TITLES, *RULE_NAMES]))


def page_texts(lang: str) -> dict[str, str]:
    """The screen's texts with the manager pages' own on top."""
    return {**texts(lang), **manager_texts(lang)}


def site_choices(ctx: Ctx, user: Principal, lang: str) -> list[tuple[str, str]]:
    """(id, name) of the sites the user may pick."""
    return [(s, ctx.facility.site_by_id[s].name.get(lang)) for s in visible_sites(user, ctx)]


# Alert history


@dataclass(frozen=True)
class Filters:
    """What the history is narrowed to; empty means any."""

    rule: str = ""
    severity: str = ""
    status: str = ""
    resolution: str = ""
    since: str = ""
    until: str = ""
    q: str = ""

    def params(self, site: str, **more: Any) -> str:
        """The query string of this filter (for the page links and the CSV)."""
        values = {"site": site, **{k: v for k, v in asdict(self).items() if v}, **more}
        return urlencode({("from" if k == "since" else "to" if k == "until" else k): v for k, v in values.items()})


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> str:
    """`value` if empty or allowed, else a clear 422."""
    if value and value not in allowed:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name} must be one of {', '.join(allowed)}")
    return value


def _day(name: str, value: str) -> date | None:
    """A YYYY-MM-DD date, or None when empty; a clear 422 otherwise."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name} must be a date (YYYY-MM-DD)") from None


def filters(rule: str = "", severity: str = "", status_: str = "", resolution: str = "", since: str = "",
            until: str = "", q: str = "") -> Filters:
    """Checked filters; an empty form field means "any"."""
    for name, value in (("from", since), ("to", until)):
        _day(name, value)
    return Filters(_one_of("rule", rule, RULES), _one_of("severity", severity, SEVERITIES),
                   _one_of("status", status_, tuple(Status)), _one_of("resolution", resolution, tuple(Resolution)),
                   since, until, q.strip()[:100])


def history_query(site: Site, f: Filters) -> Select[tuple[Alert]]:
    """The alerts of a site that pass the filters, newest first; dates are the site's local days."""
    query = select(Alert).where(Alert.site == site.id).order_by(Alert.raised_at.desc(), Alert.id.desc())
    for column, value in ((Alert.rule, f.rule), (Alert.severity, f.severity), (Alert.status, f.status),
                          (Alert.resolution, f.resolution)):
        if value:
            query = query.where(column == value)
    if since := _day("from", f.since):
        query = query.where(Alert.raised_at >= datetime.combine(since, time(), site.zone))
    if until := _day("to", f.until):  # "to" includes its whole day
        query = query.where(Alert.raised_at < datetime.combine(until + timedelta(days=1), time(), site.zone))
    if f.q:
        named = _named(site, f.q)
        query = query.where(or_(Alert.subject.contains(f.q, autoescape=True), Alert.subject.in_(named),
                                *(Alert.subject.startswith(f"{n}/", autoescape=True) for n in named)))
    return query


def _named(site: Site, text: str) -> list[str]:
    """Ids of the rooms, zones, beds and devices whose name, in either language, contains `text`: people search
    for "Room 101", not for "r101"."""
    wanted = text.casefold()
    ids = [*site.room_by_id, *site.zone_by_id, *site.bed_by_id, *site.device_by_id]
    return [i for i in dict.fromkeys(ids)
            if any(wanted in subject_name(site, i, lang).casefold() for lang in ("zh-CN", "en"))]


def history_row(alert: Alert, ctx: Ctx, site: Site, lang: str) -> dict[str, Any]:
    """One line of the history as people read it."""
    out = alert_out(alert, ctx.facility, lang, with_events=False)
    t = manager_texts(lang)

    def local(at: datetime | None) -> str:
        return site.local(at).strftime("%Y-%m-%d %H:%M") if at else ""

    acked = (alert.acked_at - alert.raised_at).total_seconds() if alert.acked_at else None
    return {"id": alert.id, "raised": local(alert.raised_at), "title": out.title, "where": out.subject_name,
            "severity": alert.severity, "severity_word": word(alert.severity, lang),
            "status": alert.status, "status_word": word(alert.status, lang),
            "muted": t.get(f"muted_{alert.muted}", "") if alert.muted else "",
            "resolution": t.get(f"res_{alert.resolution}", alert.resolution or ""),
            "acked_by": alert.acked_by or "", "acked_at": local(alert.acked_at),
            "resolved_by": alert.resolved_by or "", "resolved_at": local(alert.resolved_at),
            "time_to_ack": duration(acked, lang)}


@router.get("/history", response_class=HTMLResponse)
def history_page(request: Request, ctx: Ctx, db: Db, lang: Lang, site: str | None = None, rule: str = "",
                 severity: str = "", state: Annotated[str, Query(alias="status")] = "", resolution: str = "",
                 since: Annotated[str, Query(alias="from")] = "", to: str = "", q: str = "",
                 page: int = 1) -> Response:
    """The alerts of a site, filtered, newest first, 50 a page."""
    user = who(request, ctx, db)
    if user is None:
        return RedirectResponse("/login?next=/history", status_code=303)
    found = chosen_site(ctx, user, site)
    f = filters(rule, severity, state, resolution, since, to, q)
    query = history_query(found, f)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(page, 1), pages)
    rows = [history_row(a, ctx, found, lang) for a in db.scalars(query.offset((page - 1) * PER_PAGE).limit(PER_PAGE))]
    return TEMPLATES.TemplateResponse(request, "history.html", {
        "t": page_texts(lang), "lang": lang, "site": found, "sites": site_choices(ctx, user, lang), "f": f,
        "rows": rows, "total": total, "page": page, "pages": pages, "link": lambda **more: f.params(found.id, **more),
        "rules": sorted(((r, rule_title(r, lang)) for r in RULES), key=lambda pair: pair[1]),
        "severities": SEVERITIES, "statuses": tuple(Status), "resolutions": tuple(Resolution),
        "words": {w: word(w, lang) for w in (*SEVERITIES, *Status)}, "can_manage": user.role in MANAGERS})


@router.get("/history.csv")
def history_csv(request: Request, ctx: Ctx, db: Db, lang: Lang, site: str | None = None, rule: str = "",
                severity: str = "", state: Annotated[str, Query(alias="status")] = "", resolution: str = "",
                since: Annotated[str, Query(alias="from")] = "", to: str = "", q: str = "") -> Response:
    """The same filter as the page, every matching alert (up to 10 000), for a spreadsheet."""
    user = who(request, ctx, db)
    if user is None:
        return RedirectResponse("/login?next=/history", status_code=303)
    found = chosen_site(ctx, user, site)
    f = filters(rule, severity, state, resolution, since, to, q)
    t = manager_texts(lang)
    out = io.StringIO()
    sheet = csv.writer(out)
    keys = ("raised", "alert", "where", "severity", "status", "resolution", "acked_by", "resolved_by", "time_to_ack")
    sheet.writerow(["#", *(t[k] for k in keys)])
    for alert in db.scalars(history_query(found, f).limit(CSV_MAX)):
        r = history_row(alert, ctx, found, lang)
        sheet.writerow([r["id"], r["raised"], r["title"], r["where"], r["severity_word"],
                        " ".join(filter(None, (r["status_word"], r["muted"]))), r["resolution"],
                        f"{r['acked_by']} {r['acked_at']}".strip(), f"{r['resolved_by']} {r['resolved_at']}".strip(),
                        r["time_to_ack"]])
    # The byte-order mark makes Excel read the Chinese as UTF-8.
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="alerts-{found.id}.csv"'})


# Silences and maintenance


def covers(site: Site, scope: str, target: str | None, lang: str) -> str:
    """What a suppression covers, by name."""
    if scope == Scope.SITE:
        return site.name.get(lang)
    if scope == Scope.RULE:
        return rule_title(target or "", lang)
    return subject_name(site, target or "", lang)


def suppression_row(row: Suppression, site: Site, now: datetime, lang: str) -> dict[str, Any]:
    """One silence, maintenance window or drill as people read it."""
    t = manager_texts(lang)

    def local(at: datetime) -> str:
        return site.local(at).strftime("%Y-%m-%d %H:%M")

    if row.ended_at is not None:
        state = t["ended_by"].replace("{who}", row.ended_by or "").replace("{at}", local(row.ended_at))
    elif row.ends_at <= now:
        state = t["expired"]
    else:
        state = t["in_force"] if row.starts_at <= now else t["planned"]
    return {"id": row.id, "mode": row.mode, "mode_word": t.get(f"mode_{row.mode}", row.mode),
            "covers": covers(site, row.scope, row.target, lang), "starts": local(row.starts_at),
            "ends": local(row.ends_at), "author": row.author, "reason": row.reason, "state": state,
            "live": row.ended_at is None and row.ends_at > now}


def targets(site: Site, lang: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """What a form may cover, grouped: the site, rooms, zones, devices, alert kinds (value `scope:target`)."""
    t = manager_texts(lang)
    return [
        (t["whole_site"], [("site:", site.name.get(lang))]),
        (t["scope_room"], [(f"room:{r}", subject_name(site, r, lang)) for r in site.room_by_id]),
        (t["scope_zone"], [(f"zone:{z}", subject_name(site, z, lang)) for z in zone_rooms(site)]),
        (t["scope_device"], [(f"device:{d}", f"{subject_name(site, d, lang)} ({d})") for d in site.device_by_id]),
        (t["scope_rule"], [(f"rule:{r}", rule_title(r, lang)) for r in RULE_NAMES]),
    ]


def render_silences(request: Request, ctx: Ctx, db: Db, lang: str, user: Principal, site: Site,
                    error: str | None = None, form: dict[str, str] | None = None, code: int = 200) -> Response:
    """The page: what is in force or planned, what is over, and the form for managers."""
    now = ctx.clock()
    current = [suppression_row(r, site, now, lang) for r in suppressions.current(db, now, site.id)]
    past = [suppression_row(r, site, now, lang) for r in suppressions.history(db, site.id)
            if r.ended_at is not None or r.ends_at <= now]
    return TEMPLATES.TemplateResponse(request, "silences.html", {
        "t": page_texts(lang), "lang": lang, "site": site, "sites": site_choices(ctx, user, lang),
        "current": current, "past": past, "can_manage": user.role in MANAGERS, "targets": targets(site, lang),
        "error": error, "form": form or {"mode": "maintenance", "minutes": "60"}}, status_code=code)


@router.get("/silences", response_class=HTMLResponse)
def silences_page(request: Request, ctx: Ctx, db: Db, lang: Lang, site: str | None = None) -> Response:
    """Silences and maintenance windows of a site, current and past."""
    user = who(request, ctx, db)
    if user is None:
        return RedirectResponse("/login?next=/silences", status_code=303)
    return render_silences(request, ctx, db, lang, user, chosen_site(ctx, user, site))


def _manager(request: Request, ctx: Ctx, db: Db) -> Principal:
    """The logged-in manager of a form post; 401 without a login, 403 for any other role."""
    user = who(request, ctx, db)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "login required")
    if user.role not in MANAGERS:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "managers set and end silences and maintenance")
    return user


def _body(site: Site, form: dict[str, str]) -> care.SuppressionIn:
    """The API's request body from the form (its validation applies); a start is the site's local time."""
    scope, _, target = form["what"].partition(":")
    starts = datetime.fromisoformat(form["starts"]).replace(tzinfo=site.zone) if form["starts"] else None
    return care.SuppressionIn.model_validate({
        "site": site.id, "mode": form["mode"], "scope": scope, "target": target or None, "starts_at": starts,
        "minutes": form["minutes"], "reason": form["reason"]})


@router.post("/silences")
def silences_create(request: Request, ctx: Ctx, db: Db, lang: Lang, site: Annotated[str, Form()],
                    mode: Annotated[str, Form()] = "", what: Annotated[str, Form()] = "",
                    minutes: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
                    starts: Annotated[str, Form()] = "") -> Response:
    """A manager's form: the API creates it, with the API's checks; a refusal shows the form again, filled in."""
    user = _manager(request, ctx, db)
    found = chosen_site(ctx, user, site)
    form = {"mode": mode, "what": what, "minutes": minutes, "reason": reason, "starts": starts}
    try:
        care.create_suppression(_body(found, form), db, ctx, user)
    except ValidationError as exc:
        error = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'form'}: {e['msg']}" for e in exc.errors())
    except ValueError as exc:  # a start that is not a date and time
        error = f"starts: {exc}"
    except HTTPException as exc:
        if exc.status_code != status.HTTP_422_UNPROCESSABLE_CONTENT:
            raise
        error = str(exc.detail)
    else:
        return RedirectResponse(f"/silences?site={found.id}", status_code=303)
    return render_silences(request, ctx, db, lang, user, found, error, form, status.HTTP_422_UNPROCESSABLE_CONTENT)


@router.post("/silences/{suppression_id}/end")
def silences_end(suppression_id: int, request: Request, ctx: Ctx, db: Db) -> Response:
    """A manager ends a silence or maintenance window early (through the API: who and when are recorded)."""
    user = _manager(request, ctx, db)
    existing = db.get(Suppression, suppression_id)
    if existing is None or not user.may_see(existing.site):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no suppression {suppression_id}")
    care.end_suppression(suppression_id, db, ctx, user)
    return RedirectResponse(f"/silences?site={existing.site}", status_code=303)
