"""The daily digest: yesterday's response figures for the managers, on the site's digest channels, at the
site's digest time. APScheduler runs it in the one process that sends notifications."""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.orm import Session, sessionmaker

from devices.facility import Facility, Site
from server.delivery.outbox import PERSONAL
from server.figures import figures
from server.notify.message import DeliveryError, Message

log = logging.getLogger(__name__)

WORDS = {
    "zh-CN": {"title": "{site} 每日安全摘要 {day}", "alerts": "告警 {n} 条", "line":
              "{sev}：{n} 条，响应中位 {median} 秒，达标 {within}", "fa": "误报比例（按规则）：{items}"},
    "en": {"title": "{site} daily safety digest {day}", "alerts": "{n} alerts", "line":
           "{sev}: {n}, median time to acknowledge {median} s, within target {within}",
           "fa": "False-alarm share by rule: {items}"},
}


def text_of(site: Site, got: dict[str, Any]) -> str:
    """The digest's body in the site's language."""
    w = WORDS[site.language.value]
    lines = [w["alerts"].format(n=got["alerts"])]
    for severity, row in got["by_severity"].items():
        within = "-" if row["within_target"] is None else f"{row['within_target']:.0%}"
        lines.append(w["line"].format(sev=severity, n=row["alerts"], median=row["ack_s"]["median"] or "-",
                                      within=within))
    shares = ", ".join(f"{rule} {share:.0%}" for rule, share in got["false_alarm_share_by_rule"].items())
    lines.append(w["fa"].format(items=shares or "-"))
    return "\n".join(lines)


def send(site: Site, sessions: sessionmaker[Session], facility: Facility, build: Callable[[dict[str, Any]], Any],
         now: datetime, link: str) -> int:
    """Compute the last day's figures and send them; returns how many messages went out."""
    if site.digest is None:
        return 0
    with sessions() as session:
        got = figures(session, facility, now - timedelta(days=1), now, site.id)
    day = site.local(now).strftime("%Y-%m-%d")
    title = WORDS[site.language.value]["title"].format(site=site.name.get(site.language.value), day=day)
    sent = 0
    for name in site.digest.channels:
        config = site.channels[name]
        people = [m.email for m in site.managers() if m.email] if config.get("type") in PERSONAL else ["group"]
        for address in people:
            message = Message(title=title, text=text_of(site, got), link=link, severity="low", alert_id=0,
                              recipient=address or "group", idempotency_key=f"digest:{site.id}:{day}:{name}:{address}")
            try:
                build(dict(config)).send(message)
                sent += 1
            except (DeliveryError, ValueError) as exc:
                log.warning("daily digest of %s on %s not sent: %s", site.id, name, exc)
    return sent


def scheduler(facility: Facility, sessions: sessionmaker[Session], build: Callable[[dict[str, Any]], Any],
              clock: Callable[[], datetime], link: str) -> BackgroundScheduler:
    """A scheduler with one daily job per site that has a digest, at its time in its zone (not started)."""
    jobs = BackgroundScheduler()
    for site in facility.sites:
        if site.digest is not None:
            trigger = CronTrigger(hour=site.digest.at.hour, minute=site.digest.at.minute, timezone=site.zone)
            jobs.add_job(_job, trigger, args=[site, sessions, facility, build, clock, link], id=f"digest-{site.id}",
                         misfire_grace_time=3600, coalesce=True)
    return jobs


def _job(site: Site, sessions: sessionmaker[Session], facility: Facility, build: Callable[[dict[str, Any]], Any],
         clock: Callable[[], datetime], link: str) -> None:
    """The scheduled digest, at the clock's now."""
    send(site, sessions, facility, build, clock(), link)
