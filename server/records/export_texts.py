"""The words of the records' exports in zh-CN and en: each kind's title and columns, and the values they show."""

from __future__ import annotations

Texts = dict[str, tuple[str, str]]  # key: (zh-CN, en)

TITLES: Texts = {
    "drills": ("消防演练记录", "Fire drills"),
    "patrols": ("防火巡查记录", "Patrols"),
    "inspections": ("检查记录", "Inspections"),
    "rectifications": ("隐患整改记录", "Rectification tasks"),
    "food-samples": ("食品留样记录", "Food samples"),
    "cold-storage": ("冷藏冷冻温度记录", "Cold-storage log"),
    "alerts": ("报警处置记录", "Alert history"),
}

# Each kind's columns in the order of the file; the keys are the row dicts' keys.
COLUMNS: dict[str, Texts] = {
    "drills": {
        "started_at": ("开始时间", "Started"), "scenario": ("演练场景", "Scenario"), "where": ("范围", "Where"),
        "shift": ("班次", "Shift"), "started_by": ("发起人", "Started by"), "all_clear_at": ("解除时间", "All-clear"),
        "evacuation_s": ("疏散用时（秒）", "Evacuation (s)"), "participants": ("参加人员", "Participants"),
        "residents_evacuated": ("疏散老人数", "Residents evacuated"), "problems": ("发现问题", "Problems found"),
        "alarms": ("演练期间报警数", "Alarms during the drill"), "version": ("版本", "Version"),
        "recorded_by": ("记录人", "Recorded by"),
    },
    "patrols": {
        "day": ("日期", "Day"), "round": ("巡查轮次", "Round"), "window": ("时段", "Window"),
        "state": ("完成情况", "State"), "checkpoint": ("巡查点", "Checkpoint"), "at": ("签到时间", "Checked in"),
        "by": ("签到人", "By"),
    },
    "inspections": {
        "at": ("检查时间", "When"), "form": ("检查表", "Form"), "item": ("检查项目", "Item"),
        "result": ("结果", "Result"), "note": ("存在问题", "Problem"), "by": ("检查人", "Inspector"),
        "inspection": ("检查编号", "Inspection no."),
    },
    "rectifications": {
        "task": ("任务编号", "Task"), "opened_at": ("发现时间", "Opened"), "item": ("检查项目", "Item"),
        "problem": ("存在问题", "Problem"), "owner": ("责任人", "Owner"), "due_at": ("整改期限", "Due"),
        "status": ("状态", "Status"), "closed_at": ("完成时间", "Closed"), "closed_by": ("登记人", "Closed by"),
        "evidence": ("整改情况", "Evidence"),
    },
    "food-samples": {
        "day": ("日期", "Day"), "meal": ("餐次", "Meal"), "dish": ("菜品", "Dish"), "grams": ("留样量（克）", "Grams"),
        "at": ("留样时间", "Kept at"), "by": ("留样人", "By"), "discard_due": ("到期销毁时间", "Discard due"),
        "note": ("备注", "Note"),
    },
    "cold-storage": {
        "day": ("日期", "Day"), "cabinet": ("设备", "Cabinet"), "role": ("类型", "Type"),
        "range": ("温度范围（°C）", "Range (°C)"), "entry": ("记录项", "Entry"), "time": ("时间", "Time"),
        "temperature_c": ("温度（°C）", "Temperature (°C)"), "in_range": ("是否正常", "In range"),
        "alert": ("报警编号", "Alert"), "cleared_at": ("恢复时间", "Back in range"),
        "acked_by": ("响应人", "Acknowledged by"), "resolution": ("处理结果", "Resolution"),
    },
    "alerts": {
        "id": ("编号", "No."), "raised_at": ("报警时间", "Raised"), "alert": ("报警类型", "Alert"),
        "severity": ("级别", "Severity"), "subject": ("对象", "About"), "room": ("房间", "Room"),
        "status": ("状态", "Status"), "acked_at": ("响应时间", "Acknowledged"),
        "acked_by": ("响应人", "Acknowledged by"),
        "resolved_at": ("解决时间", "Resolved"), "resolved_by": ("解决人", "Resolved by"),
        "resolution": ("处理结果", "Resolution"), "cleared_at": ("情况结束时间", "Condition ended"),
        "muted": ("备注", "Note"),
    },
}

# Values a row shows in words (the server's alert words are in server/texts.py).
VALUES: Texts = {
    "yes": ("是", "yes"), "no": ("否", "no"),
    "pending": ("进行中", "pending"), "done": ("已完成", "done"), "missed": ("未完成", "missed"),
    "passed": ("合格", "passed"), "failed": ("不合格", "failed"),
    "open": ("整改中", "open"), "overdue": ("已逾期", "overdue"), "closed": ("已完成", "closed"),
    "no_sample": ("未留样", "no sample"), "whole_site": ("全院", "whole site"),
    "fridge": ("冷藏", "fridge"), "freezer": ("冷冻", "freezer"),
    "reading": ("定时读数", "reading"), "excursion": ("超限", "excursion"),
    "real_event": ("真实事件", "real event"), "false_alarm": ("误报", "false alarm"), "test": ("测试", "test"),
    "drill": ("演练", "drill"), "silence": ("已静音", "silenced"), "maintenance": ("维护中", "maintenance"),
}

# The report's own words.
REPORT: Texts = {
    "to": ("至", "to"),
    "generated": ("生成时间", "Generated"),
    "rows": ("共 {n} 条记录", "{n} records"),
    "empty": ("本期间无记录。", "No records in this period."),
    "chain": ("审计链共 {links} 条记录，链头哈希 {head}", "Audit chain: {links} links, head hash {head}"),
    "intact": ("生成时校验完整", "intact when generated"),
    "broken": ("生成时校验发现问题：{reason}", "BROKEN when generated: {reason}"),
    "page": ("第 {n} 页", "page {n}"),
    "check": ("核验：carewatch records verify --site {site}", "check: carewatch records verify --site {site}"),
}


def text(table: Texts, key: str, language: str, **values: object) -> str:
    """A word of a table in the language (the key itself when the table lacks it)."""
    pair = table.get(key)
    if pair is None:
        return key
    return (pair[0] if language == "zh-CN" else pair[1]).format(**values)
