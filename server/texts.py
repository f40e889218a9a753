"""Words the server shows people, in zh-CN and en: alert titles, severities, statuses."""

RULE_TITLES: dict[str, dict[str, str]] = {
    "bed_exit_night": {"zh-CN": "夜间离床", "en": "Bed exit at night"},
    "out_of_bed_too_long": {"zh-CN": "夜间离床时间过长", "en": "Out of bed too long at night"},
    "bathroom_too_long": {"zh-CN": "夜间如厕时间过长", "en": "In the bathroom too long at night"},
    "not_up": {"zh-CN": "未按时起床", "en": "Not up by wake-up time"},
    "repositioning_due": {"zh-CN": "到时翻身", "en": "Repositioning due"},
    "vital_signs": {"zh-CN": "生命体征异常", "en": "Vital signs out of range"},
    "exit_door_night": {"zh-CN": "夜间出口门打开", "en": "Exit door opened at night"},
    "kitchen_unattended": {"zh-CN": "厨房电器无人看管", "en": "Cooking appliance unattended"},
    "appliance_after_hours": {"zh-CN": "非工作时间厨房电器运行", "en": "Cooking appliance on after hours"},
    "appliance_overload": {"zh-CN": "电器功率超过额定值", "en": "Appliance overload"},
    "cold_storage": {"zh-CN": "冷藏/冷冻温度超限", "en": "Cold storage out of range"},
    "water_leak": {"zh-CN": "漏水", "en": "Water leak"},
    "boiler_abnormal": {"zh-CN": "开水器功率异常（干烧？）", "en": "Boiler power abnormal (running dry?)"},
    "hot_water": {"zh-CN": "热水温度过高", "en": "Hot water too hot"},
    "smoke": {"zh-CN": "烟雾报警", "en": "Smoke detected"},
    "room_temperature": {"zh-CN": "室温超出范围", "en": "Room temperature out of range"},
    "watch": {"zh-CN": "自定义阈值", "en": "Site threshold"},
    "battery_low": {"zh-CN": "电池电量低", "en": "Battery low"},
    "sos": {"zh-CN": "紧急呼叫", "en": "SOS call"},
    "device_offline": {"zh-CN": "设备离线", "en": "Device offline"},
    "edge_offline": {"zh-CN": "现场网关离线", "en": "Site gateway offline"},
    "camera_health": {"zh-CN": "摄像头故障", "en": "Camera not working"},
    "coverage": {"zh-CN": "监控盲区：区域无可用摄像头", "en": "Zones without a working camera"},
    "person_down": {"zh-CN": "有人倒地", "en": "Person down"},
    "night_activity": {"zh-CN": "夜间活动", "en": "Activity at night"},
    "no_activity": {"zh-CN": "长时间无人活动", "en": "No activity"},
    "channel_failing": {"zh-CN": "通知渠道发送失败", "en": "Notification channel failing"},
    "drill_due": {"zh-CN": "消防演练即将到期", "en": "Fire drill due soon"},
    "drill_overdue": {"zh-CN": "消防演练已逾期", "en": "Fire drill overdue"},
    "patrol_missed": {"zh-CN": "巡查未按时完成", "en": "Patrol missed"},
    "patrol_hazard": {"zh-CN": "巡查发现隐患", "en": "Hazard found on patrol"},
    "rectification_overdue": {"zh-CN": "整改逾期未完成", "en": "Rectification overdue"},
    "food_sample_missing": {"zh-CN": "餐次未留样", "en": "Meal without food samples"},
    "inspection_due": {"zh-CN": "检查即将到期", "en": "Inspection due soon"},
    "inspection_missed": {"zh-CN": "检查逾期未做", "en": "Inspection missed"},
    "health_check_missed": {"zh-CN": "健康监测未按时完成", "en": "Health checks missed"},
    "disinfection_missed": {"zh-CN": "消毒未按时完成", "en": "Disinfection round missed"},
    "fever": {"zh-CN": "发热", "en": "Fever"},
}

WORDS: dict[str, dict[str, str]] = {
    "critical": {"zh-CN": "紧急", "en": "Critical"},
    "high": {"zh-CN": "高", "en": "High"},
    "medium": {"zh-CN": "中", "en": "Medium"},
    "low": {"zh-CN": "低", "en": "Low"},
    "open": {"zh-CN": "未处理", "en": "Open"},
    "acknowledged": {"zh-CN": "已响应", "en": "Acknowledged"},
    "resolved": {"zh-CN": "已解决", "en": "Resolved"},
    "cleared": {"zh-CN": "情况已结束", "en": "Condition ended"},
    "site_gateway": {"zh-CN": "现场网关", "en": "Site gateway"},
    "fire_drill": {"zh-CN": "消防演练", "en": "Fire drill"},
    "rectification": {"zh-CN": "整改任务", "en": "Rectification task"},
    "hr": {"zh-CN": "心率", "en": "heart rate"},
    "rr": {"zh-CN": "呼吸频率", "en": "breathing rate"},
    "silenced": {"zh-CN": "已静音", "en": "Silenced"},
    "drill": {"zh-CN": "演练", "en": "Drill"},
    "maintenance": {"zh-CN": "维护中", "en": "Maintenance"},
    "coverage": {"zh-CN": "摄像头覆盖", "en": "Camera coverage"},
    "ok": {"zh-CN": "正常", "en": "Working"},
    "offline": {"zh-CN": "无画面", "en": "No picture"},
    "frozen": {"zh-CN": "画面冻结", "en": "Frozen"},
    "covered": {"zh-CN": "镜头被遮挡", "en": "Covered"},
    "blurred": {"zh-CN": "画面模糊", "en": "Blurred"},
    "moved": {"zh-CN": "视角偏移", "en": "Turned away"},
}


def rule_title(rule: str, language: str) -> str:
    """Title of an alert raised by `rule`."""
    titles = RULE_TITLES.get(rule)
    return titles.get(language, titles["en"]) if titles else rule


def word(key: str, language: str) -> str:
    """A UI word in the language, or the key itself."""
    entry = WORDS.get(key)
    return entry.get(language, entry["en"]) if entry else key

KIND_NAMES: dict[str, dict[str, str]] = {
    "bed_sensor": {"zh-CN": "床垫传感器", "en": "Bed sensor"},
    "presence_sensor": {"zh-CN": "人体存在传感器", "en": "Presence sensor"},
    "door_contact": {"zh-CN": "门磁", "en": "Door"},
    "leak_sensor": {"zh-CN": "漏水传感器", "en": "Leak sensor"},
    "smoke_detector": {"zh-CN": "烟雾探测器", "en": "Smoke detector"},
    "sos_button": {"zh-CN": "紧急呼叫按钮", "en": "SOS button"},
    "temperature_sensor": {"zh-CN": "温度传感器", "en": "Temperature sensor"},
    "power_plug": {"zh-CN": "计量插座", "en": "Power plug"},
    "camera": {"zh-CN": "摄像头", "en": "Camera"},
}
