"""Screen texts in zh-CN and en; the JS gets the same table as JSON."""

TEXTS: dict[str, dict[str, str]] = {
    "title": {"zh-CN": "carewatch 监护屏", "en": "carewatch monitoring screen"},
    "login": {"zh-CN": "登录", "en": "Log in"},
    "logout": {"zh-CN": "退出", "en": "Log out"},
    "username": {"zh-CN": "用户名", "en": "Username"},
    "password": {"zh-CN": "密码", "en": "Password"},
    "login_failed": {"zh-CN": "用户名或密码错误", "en": "Wrong username or password"},
    "open_alerts": {"zh-CN": "未解决告警", "en": "Open alerts"},
    "no_alerts": {"zh-CN": "一切正常", "en": "All is well: no open alerts"},
    "beds": {"zh-CN": "床位", "en": "Beds"},
    "kitchen": {"zh-CN": "厨房", "en": "Kitchen"},
    "devices": {"zh-CN": "设备", "en": "Devices"},
    "acknowledge": {"zh-CN": "响应", "en": "Acknowledge"},
    "resolve": {"zh-CN": "解决", "en": "Resolve"},
    "real_event": {"zh-CN": "真实事件", "en": "Real event"},
    "false_alarm": {"zh-CN": "误报", "en": "False alarm"},
    "test": {"zh-CN": "测试", "en": "Test"},
    "drill": {"zh-CN": "演练", "en": "Drill"},
    "occupied": {"zh-CN": "在床", "en": "In bed"},
    "empty": {"zh-CN": "离床", "en": "Out of bed"},
    "unknown": {"zh-CN": "未知", "en": "Unknown"},
    "online": {"zh-CN": "在线", "en": "Online"},
    "offline": {"zh-CN": "离线", "en": "Offline"},
    "on": {"zh-CN": "开", "en": "On"},
    "off": {"zh-CN": "关", "en": "Off"},
    "connection_lost": {"zh-CN": "与服务器的连接已断开，正在重连…", "en": "Connection to the server lost, reconnecting…"},
    "acked_by": {"zh-CN": "响应人", "en": "Acknowledged by"},
    "ago": {"zh-CN": "前", "en": "ago"},
    "cleared": {"zh-CN": "已恢复", "en": "Condition ended"},
    "critical": {"zh-CN": "紧急", "en": "Critical"},
    "high": {"zh-CN": "高", "en": "High"},
    "medium": {"zh-CN": "中", "en": "Medium"},
    "low": {"zh-CN": "低", "en": "Low"},
    "open": {"zh-CN": "未处理", "en": "Open"},
    "acknowledged": {"zh-CN": "已响应", "en": "Acknowledged"},
    "last_seen": {"zh-CN": "最后上报", "en": "Last seen"},
    "battery": {"zh-CN": "电量", "en": "Battery"},
    "demo_note": {"zh-CN": "演示模式：模拟设施，阈值已缩短", "en": "Demo mode: simulated facility, short thresholds"},
}


def texts(language: str) -> dict[str, str]:
    """Every screen text in one language."""
    return {key: values.get(language, values["en"]) for key, values in TEXTS.items()}
