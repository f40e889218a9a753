"""What one export covers (a site, its days, a language) and how its rows write times, words and people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from devices.facility import Site
from server.records.export_texts import VALUES, text


@dataclass(frozen=True)
class Scope:
    """What one export covers (site, days, language) and the time now, with the helpers every kind uses."""

    site: Site
    start: date
    end: date
    now: datetime
    language: str

    @property
    def since(self) -> datetime:
        """The period's first instant: midnight at the site."""
        return datetime.combine(self.start, time(0), tzinfo=self.site.zone)

    @property
    def until(self) -> datetime:
        """The instant after the period: the next midnight after its last day."""
        return datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=self.site.zone)

    def inside(self, at: datetime) -> bool:
        """Whether an instant falls in the period."""
        return self.since <= at < self.until

    def days(self) -> list[date]:
        """The period's days up to today at the site (later days hold no records yet)."""
        last = min(self.end, self.site.local(self.now).date())
        return [self.start + timedelta(days=n) for n in range((last - self.start).days + 1)]

    def time(self, at: datetime | None) -> str | None:
        """An instant as the site's wall clock reads it."""
        return self.site.local(at).strftime("%Y-%m-%d %H:%M") if at else None

    def word(self, key: str | None) -> str | None:
        """A value in words (yes, done, overdue, freezer ...)."""
        return text(VALUES, key, self.language) if key else None

    def person(self, ident: str | None) -> str | None:
        """A staff member's name from the facility file; a username or unknown id as it is."""
        staff = next((s for s in self.site.staff if s.id == ident), None)
        return staff.name.get(self.language) if staff else ident

    def join(self, items: list[str]) -> str:
        """A list as one cell."""
        return ("、" if self.language == "zh-CN" else ", ").join(items)
