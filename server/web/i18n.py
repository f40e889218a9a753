"""Screen texts in zh-CN and en; the JS gets the same table as JSON."""

from server.texts import KIND_NAMES, WORDS

TEXTS: dict[str, dict[str, str]] = {
    # Page frame and login.
    "title": {"zh-CN": "carewatch 监护屏", "en": "carewatch monitoring screen"},
    "login": {"zh-CN": "登录", "en": "Log in"},
    "logout": {"zh-CN": "退出", "en": "Log out"},
    "username": {"zh-CN": "用户名", "en": "Username"},
    "password": {"zh-CN": "密码", "en": "Password"},
    "login_failed": {"zh-CN": "用户名或密码错误", "en": "Wrong username or password"},
    "language": {"zh-CN": "语言", "en": "Language"},
    "signed_in_as": {"zh-CN": "当前用户", "en": "Signed in as"},
    "read_only": {"zh-CN": "只读", "en": "read only"},
    "role_admin": {"zh-CN": "管理员", "en": "administrator"},
    "role_manager": {"zh-CN": "主管", "en": "manager"},
    "role_staff": {"zh-CN": "护理人员", "en": "care staff"},
    "role_inspector": {"zh-CN": "检查员", "en": "inspector"},
    "demo_note": {"zh-CN": "演示模式：模拟设施，阈值已缩短",
                  "en": "Demo mode: simulated facility, short thresholds"},
    "connection_lost": {"zh-CN": "与服务器的连接已断开，正在重连…画面上的信息可能已过时",
                        "en": "Connection to the server lost, reconnecting… What you see may be out of date"},
    "connecting": {"zh-CN": "正在连接…", "en": "Connecting…"},
    # Alerts.
    "open_alerts": {"zh-CN": "未解决告警", "en": "Open alerts"},
    "no_alerts": {"zh-CN": "一切正常：没有未解决的告警", "en": "All is well: no open alerts"},
    "acknowledge": {"zh-CN": "响应", "en": "Acknowledge"},
    "resolve": {"zh-CN": "解决", "en": "Resolve"},
    "resolve_title": {"zh-CN": "解决告警", "en": "Resolve alert"},
    "resolve_why": {"zh-CN": "这是什么情况？", "en": "What was it?"},
    "real_event": {"zh-CN": "真实事件", "en": "Real event"},
    "false_alarm": {"zh-CN": "误报", "en": "False alarm"},
    "test": {"zh-CN": "测试", "en": "Test"},
    "drill": {"zh-CN": "演练", "en": "Drill"},
    "note": {"zh-CN": "备注（可选）", "en": "Note (optional)"},
    "cancel": {"zh-CN": "取消", "en": "Cancel"},
    "already_handled": {"zh-CN": "该告警已被他人处理", "en": "Someone else has already handled this alert"},
    "action_failed": {"zh-CN": "操作未成功，请重试", "en": "That did not work, please try again"},
    "not_allowed": {"zh-CN": "您的账号不能处理告警", "en": "Your account may not change alerts"},
    "acked_by": {"zh-CN": "响应人", "en": "Acknowledged by"},
    "raised": {"zh-CN": "发生于", "en": "Raised"},
    "times": {"zh-CN": "共 {n} 次", "en": "{n} times"},
    # Ages ("3 min ago").
    "just_now": {"zh-CN": "刚刚", "en": "just now"},
    "ago_s": {"zh-CN": "{n} 秒前", "en": "{n} s ago"},
    "ago_m": {"zh-CN": "{n} 分钟前", "en": "{n} min ago"},
    "ago_h": {"zh-CN": "{h} 小时 {m} 分钟前", "en": "{h} h {m} min ago"},
    "ago_d": {"zh-CN": "{n} 天前", "en": "{n} d ago"},
    # Sections.
    "beds": {"zh-CN": "床位", "en": "Beds"},
    "kitchen": {"zh-CN": "厨房", "en": "Kitchen"},
    "devices": {"zh-CN": "其他设备", "en": "Other devices"},
    "cameras_declared": {"zh-CN": "已登记 {n} 路摄像头，视频尚未接入",
                         "en": "{n} cameras declared; video is not connected yet"},
    # Device states.
    "occupied": {"zh-CN": "在床", "en": "In bed"},
    "empty": {"zh-CN": "离床", "en": "Out of bed"},
    "unknown": {"zh-CN": "未知", "en": "Unknown"},
    "no_sensor": {"zh-CN": "无传感器", "en": "No sensor"},
    "no_data": {"zh-CN": "暂无数据", "en": "No data yet"},
    "online": {"zh-CN": "在线", "en": "Online"},
    "offline": {"zh-CN": "离线", "en": "Offline"},
    "last_seen": {"zh-CN": "最后上报", "en": "Last seen"},
    "battery": {"zh-CN": "电量", "en": "Battery"},
    "battery_low": {"zh-CN": "电量低", "en": "Battery low"},
    "heart_rate": {"zh-CN": "心率", "en": "Heart rate"},
    "respiration": {"zh-CN": "呼吸", "en": "Breathing"},
    "per_min": {"zh-CN": "次/分", "en": "/min"},
    "on": {"zh-CN": "开", "en": "On"},
    "off": {"zh-CN": "关", "en": "Off"},
    "standby": {"zh-CN": "待机", "en": "Standby"},
    "limits": {"zh-CN": "允许范围", "en": "Allowed"},
    "above_limit": {"zh-CN": "高于上限", "en": "above limit"},
    "below_limit": {"zh-CN": "低于下限", "en": "below limit"},
    "present": {"zh-CN": "有人", "en": "Someone present"},
    "absent": {"zh-CN": "无人", "en": "Nobody present"},
    "leak": {"zh-CN": "漏水！", "en": "Water detected!"},
    "dry": {"zh-CN": "无漏水", "en": "Dry"},
    "smoke": {"zh-CN": "有烟雾！", "en": "Smoke!"},
    "no_smoke": {"zh-CN": "正常", "en": "No smoke"},
    "door_open": {"zh-CN": "开着", "en": "Open"},
    "door_closed": {"zh-CN": "关着", "en": "Closed"},
    "sos_ready": {"zh-CN": "待命", "en": "Ready"},
    "heartbeat": {"zh-CN": "最后心跳", "en": "Last heartbeat"},
    "role_cooking": {"zh-CN": "烹饪电器", "en": "Cooking appliance"},
    "role_boiler": {"zh-CN": "开水器", "en": "Water boiler"},
    "role_other": {"zh-CN": "电器", "en": "Appliance"},
    "role_fridge": {"zh-CN": "冷藏", "en": "Fridge"},
    "role_freezer": {"zh-CN": "冷冻", "en": "Freezer"},
    "role_room": {"zh-CN": "室温", "en": "Room"},
    "role_hot_water": {"zh-CN": "热水", "en": "Hot water"},
}


# Device kinds, for devices without a name of their own: the same words as the API's.
# Severities, statuses and the gateway: the same words as the API's.
TEXTS.update({key: WORDS[key] for key in ("critical", "high", "medium", "low", "open", "acknowledged", "cleared")})
TEXTS["gateway"] = WORDS["site_gateway"]
TEXTS.update({f"kind_{kind}": names for kind, names in KIND_NAMES.items()})


def texts(language: str) -> dict[str, str]:
    """Every screen text in one language."""
    return {key: values.get(language, values["en"]) for key, values in TEXTS.items()}
