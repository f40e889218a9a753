"""The words of a notification, in the site's language: what, where, how urgent, when, and the link."""

from devices.facility import Site
from server.models import Alert
from server.texts import rule_title, word
from server.views import room_name, subject_name

# The acknowledge link is not in the text: every channel puts the message's link where its format wants it.
LINES = {
    "zh-CN": "{site}\n{what}：{subject}，{room}\n级别：{severity}\n时间：{time}\n{round}",
    "en": "{site}\n{what}: {subject}, {room}\nSeverity: {severity}\nTime: {time}\n{round}",
}
REPEAT = {"zh-CN": "第 {n} 次提醒，仍无人响应。\n", "en": "Reminder {n}: nobody has acknowledged yet.\n"}
REMIND_ACKED = {"zh-CN": "已响应但尚未解决。\n", "en": "Acknowledged but not resolved yet.\n"}


def title(site: Site, alert: Alert) -> str:
    """One line: severity, what, where."""
    language = site.language.value
    where = room_name(site, alert.room, language) or subject_name(site, alert.subject, language)
    return f"[{word(alert.severity, language)}] {rule_title(alert.rule, language)} · {where}"


def text(site: Site, alert: Alert, *, round_: int, reminder: bool) -> str:
    """The body: site, what and where, severity, local time, which reminder."""
    language = site.language.value
    note = REMIND_ACKED[language] if reminder else (REPEAT[language].format(n=round_) if round_ else "")
    return LINES[language].format(
        site=site.name.get(language), what=rule_title(alert.rule, language),
        subject=subject_name(site, alert.subject, language), room=room_name(site, alert.room, language) or "-",
        severity=word(alert.severity, language), time=site.local(alert.raised_at).strftime("%Y-%m-%d %H:%M:%S"),
        round=note).rstrip()
