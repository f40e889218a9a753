"""Texts of the resident pages (every bed tonight, one bed's night), zh-CN and en."""

RESIDENT_TEXTS: dict[str, dict[str, str]] = {
    "residents": {"zh-CN": "住户夜间情况", "en": "Residents tonight"},
    "night": {"zh-CN": "夜间时段", "en": "Night"},
    "bed": {"zh-CN": "床位", "en": "Bed"},
    "room": {"zh-CN": "房间", "en": "Room"},
    "care_profile": {"zh-CN": "护理档案", "en": "Care profile"},
    "now_state": {"zh-CN": "当前", "en": "Now"},
    "state_in_bed": {"zh-CN": "在床", "en": "In bed"},
    "state_out": {"zh-CN": "离床", "en": "Out of bed"},
    "state_no_data": {"zh-CN": "无数据", "en": "No data"},
    "since": {"zh-CN": "自 {at} 起", "en": "since {at}"},
    "exits_tonight": {"zh-CN": "今晚离床次数", "en": "Exits tonight"},
    "time_out": {"zh-CN": "离床总时长", "en": "Time out of bed"},
    "turns": {"zh-CN": "翻身", "en": "Turns"},
    "last_turn": {"zh-CN": "上次翻身", "en": "Last turn"},
    "turn_due": {"zh-CN": "下次翻身", "en": "Turn due"},
    "protocol": {"zh-CN": "翻身要求", "en": "Protocol"},
    "turn_every": {"zh-CN": "每 {d} 翻身一次", "en": "Every {d}"},
    "turn_restarted": {"zh-CN": "计时自 {at} 起（翻身、床上活动或回床都会重新计时）",
                       "en": "Clock running since {at} (a turn, movement in bed or coming back to bed restarts it)"},
    "no_protocol": {"zh-CN": "无翻身要求", "en": "No turning protocol"},
    "no_turn_yet": {"zh-CN": "尚无翻身记录", "en": "No turn recorded yet"},
    "overdue": {"zh-CN": "已超时", "en": "OVERDUE"},
    "on_time": {"zh-CN": "未到时", "en": "on time"},
    "paused": {"zh-CN": "离床中，暂停计时", "en": "Paused: out of bed"},
    "turned_by": {"zh-CN": "记录人 {by}", "en": "by {by}"},
    "log_turn": {"zh-CN": "记录翻身", "en": "Log a turn"},
    "turn_note": {"zh-CN": "备注（可不填）", "en": "Note (optional)"},
    "turn_logged": {"zh-CN": "已记录翻身 {at}", "en": "Turn logged at {at}"},
    "vitals": {"zh-CN": "生命体征", "en": "Vital signs"},
    "heart_rate": {"zh-CN": "心率", "en": "Heart rate"},
    "respiration": {"zh-CN": "呼吸", "en": "Respiration"},
    "unit_heart_rate": {"zh-CN": "次/分", "en": "bpm"},
    "unit_respiration": {"zh-CN": "次/分", "en": "/min"},
    "tonight_range": {"zh-CN": "今晚 {low}–{high}", "en": "tonight {low}–{high}"},
    "not_measured": {"zh-CN": "该传感器不测量", "en": "Not measured by this sensor"},
    "latest_at": {"zh-CN": "测于 {at}", "en": "at {at}"},
    "exits": {"zh-CN": "离床记录", "en": "Bed exits"},
    "left_at": {"zh-CN": "离床", "en": "Left bed"},
    "back_at": {"zh-CN": "回床", "en": "Back in bed"},
    "out_for": {"zh-CN": "离床时长", "en": "Out for"},
    "not_back": {"zh-CN": "尚未回床", "en": "Not back"},
    "up_at_start": {"zh-CN": "夜间开始时已不在床", "en": "Already up when the night began"},
    "no_exits": {"zh-CN": "今晚没有离床", "en": "No bed exits tonight"},
    "alerts_tonight": {"zh-CN": "今晚告警", "en": "Alerts tonight"},
    "alerts": {"zh-CN": "告警", "en": "Alerts"},
    "no_alerts_tonight": {"zh-CN": "今晚没有告警", "en": "No alerts tonight"},
    "alert": {"zh-CN": "告警", "en": "Alert"},
    "raised": {"zh-CN": "发生", "en": "Raised"},
    "alert_state": {"zh-CN": "状态", "en": "State"},
    "status_open": {"zh-CN": "未响应", "en": "Open"},
    "status_acknowledged": {"zh-CN": "已响应", "en": "Acknowledged"},
    "status_resolved": {"zh-CN": "已解决", "en": "Resolved"},
    "cleared": {"zh-CN": "已恢复", "en": "condition over"},
    "snapshot": {"zh-CN": "抓拍", "en": "Snapshot"},
    "open_snapshot": {"zh-CN": "查看抓拍", "en": "Open the snapshot"},
    "all_beds": {"zh-CN": "全部床位", "en": "All beds"},
    "open_screen": {"zh-CN": "监护屏", "en": "Monitoring screen"},
    "minutes": {"zh-CN": "{m} 分钟", "en": "{m} min"},
    "hours_minutes": {"zh-CN": "{h} 小时 {m} 分钟", "en": "{h} h {m} min"},
    "hours": {"zh-CN": "{h} 小时", "en": "{h} h"},
    "read_only_note": {"zh-CN": "只读：翻身由护理人员记录", "en": "Read only: care staff log the turns"},
}


def resident_texts(language: str) -> dict[str, str]:
    """Every resident-page text in one language."""
    return {key: values.get(language, values["en"]) for key, values in RESIDENT_TEXTS.items()}


def duration(seconds: float, language: str) -> str:
    """A time span as a nurse says it: `55 min`, `1 h 5 min` (whole minutes, rounded down)."""
    t = resident_texts(language)
    hours, minutes = divmod(int(seconds) // 60, 60)
    if not hours:
        return t["minutes"].format(m=minutes)
    return t["hours"].format(h=hours) if not minutes else t["hours_minutes"].format(h=hours, m=minutes)
