"""The managers' page: response figures of the last 7, 30 or 90 days as charts with their tables, and how the
latest notifications were delivered."""

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select

from devices.facility import Site
from server.api.deps import Ctx, Db, Lang, chosen_site
from server.figures import figures
from server.figures_daily import daily
from server.models import Alert, Notification
from server.texts import RULE_TITLES, rule_title, word
from server.web.charts import Bar, Point, bar_chart, trend_chart
from server.web.manager import SEVERITIES, page_texts, site_choices
from server.web.manager_texts import duration
from server.web.routes import TEMPLATES, who

router = APIRouter(include_in_schema=False)
DELIVERIES = 50
DAY_CHOICES = (7, 30, 90)


@router.get("/figures", response_class=HTMLResponse)
def figures_page(request: Request, ctx: Ctx, db: Db, lang: Lang, days: int = 7, site: str | None = None) -> Response:
    """Charts and tables of the response figures of a site the user may see, and the last notifications."""
    user = who(request, ctx, db)
    if user is None:
        return RedirectResponse("/login?next=/figures", status_code=303)
    found = chosen_site(ctx, user, site)
    days = max(1, min(days, 366))
    now = ctx.clock()
    got = figures(db, ctx.facility, now - timedelta(days=days), now, found.id)
    per_day = daily(db, ctx.facility, now - timedelta(days=days), now, found.id)
    t = page_texts(lang)
    labels = _labels(found, lang, t)
    return TEMPLATES.TemplateResponse(request, "figures.html", {
        "t": t, "lang": lang, "site": found, "sites": site_choices(ctx, user, lang), "got": got, "days": days,
        "day_choices": sorted({*DAY_CHOICES, days}), "labels": labels, "per_day": per_day,
        "charts": charts(got, per_day, labels, t, lang), "seconds": lambda s: duration(s, lang),
        "deliveries": _deliveries(db, found, lang)})


def _labels(site: Site, lang: str, t: dict[str, str]) -> dict[str, str]:
    """Display names of the rules, severities and shifts the figures are keyed by."""
    labels = {**{r: rule_title(r, lang) for r in RULE_TITLES}, **{s: word(s, lang) for s in SEVERITIES}, "-":
              t["no_shift"]}
    if site.roster:
        labels.update({s.id: s.name.get(lang) for s in site.roster.shifts})
    return labels


def _deliveries(db: Db, site: Site, lang: str) -> list[tuple[Notification, str]]:
    """The last notifications of the site with the title of their alert."""
    rows = db.execute(select(Notification, Alert.rule).join(Alert, Alert.id == Notification.alert_id)
                      .where(Notification.site == site.id).order_by(Notification.id.desc()).limit(DELIVERIES))
    return [(n, rule_title(rule, lang)) for n, rule in rows]


def charts(got: dict[str, Any], per_day: list[dict[str, Any]], labels: dict[str, str], t: dict[str, str],
           lang: str) -> dict[str, Markup]:
    """Every chart of the page, keyed by its id."""
    severities = {s: got["by_severity"][s] for s in SEVERITIES if s in got["by_severity"]}
    return {
        "ack-severity": _ack_chart("ack-severity", t["chart_ack_severity"], severities, labels, t, lang),
        "ack-shift": _ack_chart("ack-shift", t["chart_ack_shift"], got["by_shift"], labels, t, lang),
        "alerts-daily": _trend("alerts-daily", t["chart_alerts_daily"], per_day, "alerts", str, t, "columns"),
        "ack-daily": _trend("ack-daily", t["chart_ack_daily"], per_day, "ack_median_s",
                            lambda s: duration(s, lang), t, "line"),
        "escalated-daily": _trend("escalated-daily", t["chart_escalated_daily"], per_day, "escalated", str, t,
                                  "columns"),
        "false-alarms": _share_chart(got["false_alarm_share_by_rule"], labels, t),
    }


def _ack_chart(chart_id: str, title: str, groups: dict[str, Any], labels: dict[str, str], t: dict[str, str],
               lang: str) -> Markup:
    """Median and 90th percentile of the time to acknowledge, a pair of bars per group."""
    bars = [Bar(key, labels.get(key, key), series, row["ack_s"][series], duration(row["ack_s"][series], lang))
            for key, row in groups.items() for series in ("median", "p90")]
    items = "; ".join(f"{b.label} {t[b.series]} {b.text}" for b in bars)
    return bar_chart(chart_id, title, t["desc_bars"].replace("{items}", items or t["no_data"]), bars,
                     {"median": t["median"], "p90": t["p90"]}, empty=t["no_data"])


def _share_chart(shares: dict[str, float], labels: dict[str, str], t: dict[str, str]) -> Markup:
    """The false-alarm share of each alert kind, on a scale to 100 %."""
    bars = [Bar(rule, labels.get(rule, rule), "share", share, f"{share * 100:.0f}%") for rule, share in
            sorted(shares.items(), key=lambda pair: -pair[1])]
    items = "; ".join(f"{b.label} {b.text}" for b in bars)
    return bar_chart("false-alarms", t["chart_false_alarms"], t["desc_bars"].replace("{items}", items or t["no_data"]),
                     bars, {"share": t["share"]}, top=1, empty=t["no_data"])


def _trend(chart_id: str, title: str, per_day: list[dict[str, Any]], field: str, text: Any, t: dict[str, str],
           style: str) -> Markup:
    """One figure of each day, with a summary (total or highest) for those who cannot see the chart."""
    points = [Point(d["day"], d["day"][5:], d[field], text(d[field]) if d[field] is not None else "—")
              for d in per_day]
    measured = [p for p in points if p.value is not None]
    peak = max(measured, key=lambda p: p.value or 0, default=None)
    if peak is None or not peak.value:
        desc = t["no_data"]
    else:
        template = t["desc_trend"] if style == "columns" else t["desc_trend_ack"]
        total = sum(p.value or 0 for p in points)
        desc = (template.replace("{first}", points[0].day).replace("{last}", points[-1].day)
                .replace("{total}", f"{total:g}").replace("{peak}", peak.text).replace("{peak_day}", peak.day))
    return trend_chart(chart_id, title, desc, points, style, empty=t["no_data"])
