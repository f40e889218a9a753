"""The scenario catalogue: bilingual descriptions for the CLI and the README, and how to start one."""

from datetime import datetime

from devices.basics import Names
from devices.sim.scenario import Scenario, Stage
from devices.sim.scenarios import KINDS


def _names(en: str, zh: str) -> Names:
    """A description in both UI languages."""
    return Names.model_validate({"en": en, "zh-CN": zh})


SCENARIOS: dict[str, Names] = {
    "bed-exit-night": _names(
        "A resident whose care profile watches bed exits gets up and is back after bed_exit_confirm + 10 s "
        "(an alert inside the night window).",
        "需防离床的住户起床，离床确认时间 + 10 秒后回到床上（夜间时段内报警）。"),
    "out-of-bed-too-long": _names(
        "A resident leaves bed and stays away until out_of_bed_max + 20 s, then comes back.",
        "住户离床未归，超过离床时长上限 20 秒后才回到床上。"),
    "bathroom-too-long": _names(
        "A bathroom presence sensor sees someone for bathroom_max + 20 s, then the bathroom is empty again "
        "(an alert inside the night window).",
        "卫生间存在传感器持续检测到有人，超过如厕时长上限 20 秒后才无人（夜间时段内报警）。"),
    "not-up": _names(
        "A resident stays in bed until 1 min past the next end of their wake-up window, then gets up "
        "(runs until that time comes).",
        "住户一直卧床，直到其起床时段结束后 1 分钟才起床（持续到该时刻为止）。"),
    "repositioning-due": _names(
        "A resident on a turning protocol is not turned for the turning interval + 20 s, then a caregiver "
        "turns them.",
        "需定时翻身的住户超过翻身间隔 20 秒仍未翻身，随后护理员为其翻身。"),
    "vitals-out-of-range": _names(
        "The vitals mat reads a heart rate of about 135 bpm for the heart-rate hold-off + 20 s, then a "
        "resting rate again.",
        "生命体征床垫测得心率约 135 次/分，持续心率报警时长 + 20 秒，然后恢复静息心率。"),
    "exit-door-night": _names(
        "An exit door stands open for about 20 s at night (not played outside the night window).",
        "夜间出口门被打开约 20 秒（不在夜间时段则不播放）。"),
    "stove-unattended": _names(
        "A cooking appliance draws about 1800 W with nobody in the kitchen for kitchen_unattended + 20 s, "
        "then is switched off.",
        "厨房无人时，烹饪电器以约 1800 W 运行，超过无人看管时限 20 秒后关闭。"),
    "appliance-after-hours": _names(
        "A cooking appliance draws about 1800 W outside kitchen hours for after_hours_for + 20 s, the cook in "
        "the kitchen (not played inside kitchen hours).",
        "非厨房工作时间，烹饪电器以约 1800 W 运行，超过非工作时间用电时限 20 秒后关闭，厨师在场（工作时间内不播放）。"),
    "appliance-overload": _names(
        "An appliance draws 1.2 times its rated power for overload_for + 20 s, then is switched off.",
        "电器以额定功率的 1.2 倍运行，超过过载时限 20 秒后关闭。"),
    "fridge-warm": _names(
        "A fridge cabinet warms to about 12 °C within 10 s, stays above its maximum for its `for` + 20 s, "
        "then cools back.",
        "冷藏柜 10 秒内升温至约 12 °C，超出上限的时间达到规定时长 + 20 秒，然后降温恢复。"),
    "boiler-abnormal": _names(
        "The water boiler draws about 40 % of its rated power (a failing element) for abnormal_power_for + 20 s, "
        "then runs normally again.",
        "电开水器仅以约 40% 的额定功率运行（加热元件故障），持续异常功率时限 + 20 秒，然后恢复正常。"),
    "hot-water-too-hot": _names(
        "The hot-water outlet reaches about 55 °C within 10 s and stays above its maximum for its `for` + 20 s, "
        "then cools back.",
        "热水出水温度 10 秒内升至约 55 °C，超出上限的时间达到规定时长 + 20 秒，然后降温恢复。"),
    "room-temperature": _names(
        "A room warms to about 31 °C within 10 s and stays above its maximum for its `for` + 20 s, then cools back.",
        "房间温度 10 秒内升至约 31 °C，超出上限的时间达到规定时长 + 20 秒，然后恢复。"),
    "watch-medicine-fridge": _names(
        "A device of the site's first watch leaves its limits for the watch's `for` + 20 s (the medicine fridge "
        "warms to about 11 °C), then comes back.",
        "站点第一条自定义监测的设备超出其限值，持续该监测规定时长 + 20 秒（药品冷藏柜升温至约 11 °C），然后恢复。"),
    "water-leak": _names("The leak sensor under the water boiler is wet for about 60 s, then dry.",
                         "开水器下方的漏水传感器检测到漏水约 60 秒，然后恢复干燥。"),
    "smoke": _names("A smoke detector reports smoke for about 30 s, then clears.",
                    "烟雾探测器报告烟雾约 30 秒，然后解除。"),
    "sos": _names("Someone presses an SOS button.", "有人按下 SOS 紧急呼叫按钮。"),
    "battery-low": _names(
        "A battery device's charge drops to about 10 % for 20 s, then its battery is replaced (100 %).",
        "一个电池供电设备的电量降至约 10% 并持续 20 秒，然后更换电池（100%）。"),
    "device-offline": _names(
        "A temperature sensor goes silent for offline_after + 60 s, then reports again.",
        "一个温度传感器停止上报，持续离线时限 + 60 秒，然后恢复上报。"),
}


def check(names: list[str]) -> None:
    """Raise ValueError naming the known scenarios if any name is unknown."""
    unknown = [n for n in names if n not in KINDS]
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")


def create(name: str, stage: Stage, now: datetime) -> Scenario:
    """Start scenario `name` at `now` (ValueError if unknown, ScenarioError if it cannot run)."""
    check([name])
    return KINDS[name](stage, now)
