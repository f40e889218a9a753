"""Building blocks of the facility file: strict models, ids, bilingual names, daily windows, ranges."""

from datetime import time, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from devices.durations import ClockTime

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class Strict(BaseModel):
    """Base of every facility-file model: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True)


class Names(Strict):
    """A display name in both languages of the UI."""

    zh_CN: str = Field(alias="zh-CN", min_length=1)
    en: str = Field(min_length=1)

    def get(self, language: str) -> str:
        """The name in `language` (zh-CN or en)."""
        return self.zh_CN if language == "zh-CN" else self.en


class Language(StrEnum):
    """Languages of the UI and of notifications."""

    ZH_CN = "zh-CN"
    EN = "en"


class Window(Strict):
    """A daily window in the site's time zone; it may wrap midnight. start == end is all day."""

    start: ClockTime
    end: ClockTime

    def contains(self, local: time) -> bool:
        """Whether the local wall-clock time falls inside the window."""
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def between(low: timedelta, high: timedelta) -> Any:
    """Validator keeping a duration inside a sane range."""

    def check(value: timedelta | None) -> timedelta | None:
        if value is not None and not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return check
