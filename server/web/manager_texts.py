"""Texts of the manager pages (figures charts, alert history, silences and maintenance), zh-CN and en."""

MANAGER_TEXTS: dict[str, dict[str, str]] = {
    "history": {"zh-CN": "告警记录", "en": "Alert history"},
    "silences": {"zh-CN": "静音与维护", "en": "Silences and maintenance"},
    "site": {"zh-CN": "机构", "en": "Site"},
    "period": {"zh-CN": "时段", "en": "Period"},
    "days_n": {"zh-CN": "{n} 天", "en": "{n} days"},
    "show": {"zh-CN": "显示", "en": "Show"},
    "numbers": {"zh-CN": "数据表", "en": "The numbers"},
    "median": {"zh-CN": "中位数", "en": "Median"},
    "p90": {"zh-CN": "90% 分位", "en": "90th percentile"},
    "share": {"zh-CN": "误报比例", "en": "False alarms"},
    "no_data": {"zh-CN": "暂无数据", "en": "Nothing to show"},
    "no_shift": {"zh-CN": "不在班次内", "en": "No shift"},
    "day": {"zh-CN": "日期", "en": "Day"},
    "chart_ack_severity": {"zh-CN": "各级别响应时间", "en": "Time to acknowledge by severity"},
    "chart_ack_shift": {"zh-CN": "各班次响应时间", "en": "Time to acknowledge by shift"},
    "chart_alerts_daily": {"zh-CN": "每日告警数", "en": "Alerts per day"},
    "chart_ack_daily": {"zh-CN": "每日响应时间中位数", "en": "Median time to acknowledge per day"},
    "chart_escalated_daily": {"zh-CN": "每日升级次数", "en": "Escalations per day"},
    "chart_false_alarms": {"zh-CN": "各告警类型误报比例", "en": "False-alarm share per alert kind"},
    "desc_bars": {"zh-CN": "横向条形图，每条旁标有数值：{items}",
                  "en": "Horizontal bars, each labelled with its value: {items}"},
    "desc_trend": {"zh-CN": "{first} 至 {last} 每日数值，共 {total}，最高 {peak}（{peak_day}）",
                   "en": "Daily values from {first} to {last}: total {total}, highest {peak} on {peak_day}"},
    "desc_trend_ack": {"zh-CN": "{first} 至 {last} 每日数值，最高 {peak}（{peak_day}）",
                       "en": "Daily values from {first} to {last}: highest {peak} on {peak_day}"},
    "unit_s": {"zh-CN": "秒", "en": "s"},
    "unit_min": {"zh-CN": "分钟", "en": "min"},
    "unit_h": {"zh-CN": "小时", "en": "h"},
    # Alert history
    "filter": {"zh-CN": "筛选", "en": "Filter"},
    "reset": {"zh-CN": "清除筛选", "en": "Clear filters"},
    "any": {"zh-CN": "全部", "en": "Any"},
    "rule": {"zh-CN": "告警类型", "en": "Alert kind"},
    "severity": {"zh-CN": "级别", "en": "Severity"},
    "status": {"zh-CN": "状态", "en": "Status"},
    "resolution": {"zh-CN": "处理结果", "en": "Resolution"},
    "from": {"zh-CN": "起", "en": "From"},
    "to": {"zh-CN": "止", "en": "To"},
    "text": {"zh-CN": "位置/设备含", "en": "Where contains"},
    "raised": {"zh-CN": "发生时间", "en": "Raised"},
    "alert": {"zh-CN": "告警", "en": "Alert"},
    "where": {"zh-CN": "位置", "en": "Where"},
    "acked_by": {"zh-CN": "响应人", "en": "Acknowledged by"},
    "resolved_by": {"zh-CN": "处理人", "en": "Resolved by"},
    "time_to_ack": {"zh-CN": "响应用时", "en": "Time to acknowledge"},
    "found_n": {"zh-CN": "共 {n} 条", "en": "{n} alerts"},
    "page_of": {"zh-CN": "第 {page}/{pages} 页", "en": "Page {page} of {pages}"},
    "newer": {"zh-CN": "较新", "en": "Newer"},
    "older": {"zh-CN": "较早", "en": "Older"},
    "csv": {"zh-CN": "导出 CSV", "en": "Download CSV"},
    "none_found": {"zh-CN": "没有符合条件的告警", "en": "No alert matches"},
    "res_real_event": {"zh-CN": "真实事件", "en": "Real event"},
    "res_false_alarm": {"zh-CN": "误报", "en": "False alarm"},
    "res_test": {"zh-CN": "测试", "en": "Test"},
    "res_drill": {"zh-CN": "演练", "en": "Drill"},
    "muted_silence": {"zh-CN": "静音中", "en": "Silenced"},
    "muted_drill": {"zh-CN": "演练中", "en": "In a drill"},
    "muted_maintenance": {"zh-CN": "维护中", "en": "In maintenance"},
    # Silences and maintenance
    "current": {"zh-CN": "生效中及计划中", "en": "In force and planned"},
    "past": {"zh-CN": "已结束", "en": "Over"},
    "new_suppression": {"zh-CN": "新建维护或静音", "en": "New maintenance window or silence"},
    "mode": {"zh-CN": "类别", "en": "Kind"},
    "mode_silence": {"zh-CN": "静音", "en": "Silence"},
    "mode_maintenance": {"zh-CN": "维护", "en": "Maintenance"},
    "mode_drill": {"zh-CN": "演练", "en": "Drill"},
    "covers": {"zh-CN": "范围", "en": "Covers"},
    "whole_site": {"zh-CN": "整个机构", "en": "The whole site"},
    "scope_room": {"zh-CN": "房间", "en": "Rooms"},
    "scope_zone": {"zh-CN": "区域", "en": "Zones"},
    "scope_device": {"zh-CN": "设备", "en": "Devices"},
    "scope_rule": {"zh-CN": "告警类型", "en": "Alert kinds"},
    "starts": {"zh-CN": "开始", "en": "Starts"},
    "starts_hint": {"zh-CN": "留空即现在开始", "en": "empty: now"},
    "ends": {"zh-CN": "结束", "en": "Ends"},
    "minutes": {"zh-CN": "时长（分钟）", "en": "Minutes"},
    "reason": {"zh-CN": "原因", "en": "Reason"},
    "author": {"zh-CN": "设置人", "en": "Set by"},
    "create": {"zh-CN": "创建", "en": "Create"},
    "end_now": {"zh-CN": "立即结束", "en": "End now"},
    "ended_by": {"zh-CN": "提前结束：{who}，{at}", "en": "Ended early by {who} at {at}"},
    "expired": {"zh-CN": "到期结束", "en": "Ran its course"},
    "in_force": {"zh-CN": "生效中", "en": "In force"},
    "planned": {"zh-CN": "计划中", "en": "Planned"},
    "none_yet": {"zh-CN": "暂无", "en": "None"},
    "refused": {"zh-CN": "未创建：", "en": "Not created: "},
    "managers_only": {"zh-CN": "维护和静音由管理人员设置。", "en": "Managers set maintenance windows and silences."},
}


def manager_texts(language: str) -> dict[str, str]:
    """Every manager-page text in one language."""
    return {key: values.get(language, values["en"]) for key, values in MANAGER_TEXTS.items()}


def duration(seconds: float | None, language: str) -> str:
    """A time span as people read it: seconds under two minutes, minutes under two hours, else hours."""
    if seconds is None:
        return "—"
    t = manager_texts(language)
    if seconds < 120:
        return f"{seconds:.0f} {t['unit_s']}"
    if seconds < 7200:
        return f"{seconds / 60:.1f} {t['unit_min']}"
    return f"{seconds / 3600:.1f} {t['unit_h']}"
