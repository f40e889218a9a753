"""The README tells a newcomer the truth: its two commands exist, every facility key and setting is documented."""

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from devices.facility import Facility
from devices.sim import SCENARIOS
from server.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def keys_of(model: type[BaseModel], seen: set[type] | None = None) -> set[str]:
    """Every key a facility file may hold (aliases as written in YAML), through nested models."""
    seen = seen or set()
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        keys.add(field.alias or name)
        for inner in _models(field.annotation):
            if inner not in seen:
                seen.add(inner)
                keys |= keys_of(inner, seen)
    return keys


def _models(annotation: Any) -> list[type[BaseModel]]:
    """Pydantic models inside an annotation such as `list[Device] | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models(arg)]


def test_two_commands_are_in_the_readme_and_exist() -> None:
    assert "./dev demo" in README and "./dev test" in README
    dev = (ROOT / "dev").read_text(encoding="utf-8")
    assert "carewatch demo" in dev and "pytest" in dev
    assert "./dev test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_facility_key_is_documented() -> None:
    section = README.split("## Describe your own facility", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"[A-Za-z_][A-Za-z0-9_-]*", section))
    assert keys_of(Facility) - documented == set()


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"CAREWATCH_{name.upper()}" in README, name


def test_every_scenario_is_documented() -> None:
    for name in SCENARIOS:
        assert f"`{name}`" in README, name
