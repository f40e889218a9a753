"""The scenario catalogue: bilingual descriptions for the CLI and the README, and how to start one."""

from datetime import datetime

from devices.facility import Names
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
    "stove-unattended": _names(
        "A cooking appliance draws about 1800 W with nobody in the kitchen for kitchen_unattended + 20 s, "
        "then is switched off.",
        "厨房无人时，烹饪电器以约 1800 W 运行，超过无人看管时限 20 秒后关闭。"),
    "fridge-warm": _names(
        "A fridge cabinet warms to about 12 °C within 10 s, stays above its maximum for its `for` + 20 s, "
        "then cools back.",
        "冷藏柜 10 秒内升温至约 12 °C，超出上限的时间达到规定时长 + 20 秒，然后降温恢复。"),
    "water-leak": _names("The leak sensor under the water boiler is wet for about 60 s, then dry.",
                         "开水器下方的漏水传感器检测到漏水约 60 秒，然后恢复干燥。"),
    "smoke": _names("A smoke detector reports smoke for about 30 s, then clears.",
                    "烟雾探测器报告烟雾约 30 秒，然后解除。"),
    "sos": _names("Someone presses an SOS button.", "有人按下 SOS 紧急呼叫按钮。"),
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
