"""Exports of a site's safety records: one kind over one period (site-local days, both ends included), as rows
of plain values with column headers in zh-CN or en, and as CSV. The PDF report of the same rows is report.py."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from devices.facility import Site
from server.records.export_rows import ROWS, Scope
from server.records.export_texts import COLUMNS, REPORT, TITLES, text

KINDS = tuple(COLUMNS)
DEFAULT_DAYS = 30
MAX_DAYS = 400  # a year and a bit: an annual inspection's period, and a bounded amount of work per request


class ExportError(ValueError):
    """An export that cannot be made as asked (the API answers 422, the CLI exits 1)."""


class UnknownKind(ExportError):
    """No such kind of record (the API answers 404)."""


@dataclass(frozen=True)
class Export:
    """One kind of a site's records over a period: rows keyed like `COLUMNS[kind]`, in that order."""

    site: Site
    kind: str
    start: date
    end: date
    language: str
    rows: list[dict[str, Any]]

    @property
    def keys(self) -> list[str]:
        """The columns' keys, in file order."""
        return list(COLUMNS[self.kind])

    def headers(self) -> list[str]:
        """The column headers in the export's language."""
        return [text(COLUMNS[self.kind], key, self.language) for key in self.keys]

    def title(self) -> str:
        """Site, kind and period, as a heading."""
        name, kind = self.site.name.get(self.language), text(TITLES, self.kind, self.language)
        between = text(REPORT, "to", self.language)
        return f"{name} · {kind} · {self.start.isoformat()} {between} {self.end.isoformat()}"

    def filename(self, extension: str) -> str:
        """The download's name, e.g. drills-hq-2026-01-01-2026-06-30.pdf (site ids are safe in a file name)."""
        return f"{self.kind}-{self.site.id}-{self.start.isoformat()}-{self.end.isoformat()}.{extension}"


def check_kind(kind: str) -> str:
    """The kind, if there is such an export (UnknownKind otherwise)."""
    if kind not in KINDS:
        raise UnknownKind(f"no export of {kind!r}; kinds: {', '.join(KINDS)}")
    return kind


def period(site: Site, now: datetime, start: date | None = None, end: date | None = None) -> tuple[date, date]:
    """The days to export: as given, `end` defaulting to today at the site and `start` to DEFAULT_DAYS days
    up to `end`; ExportError for a reversed or too long period."""
    end = end or site.local(now).date()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise ExportError(f"the period starts ({start.isoformat()}) after it ends ({end.isoformat()})")
    if (end - start).days + 1 > MAX_DAYS:
        raise ExportError(f"a period of at most {MAX_DAYS} days can be exported at once, not "
                          f"{(end - start).days + 1}: split it")
    return start, end


def build(session: Session, site: Site, kind: str, start: date, end: date, *, now: datetime,
          language: str) -> Export:
    """The rows of one kind of the site's records over the period (days at the site, both included)."""
    scope = Scope(site, start, end, now, language)
    keys = list(COLUMNS[check_kind(kind)])
    # Every row gets every column, in file order, whatever its builder filled in.
    rows = [{key: row.get(key) for key in keys} for row in ROWS[kind](session, scope)]
    return Export(site, kind, start, end, language, rows)


def as_csv(export: Export) -> bytes:
    """The rows as CSV under the localized headers, empty cells for missing values."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(export.headers())
    writer.writerows([["" if row[key] is None else row[key] for key in export.keys] for row in export.rows])
    # UTF-8 with a byte-order mark: Excel (the spreadsheet care homes open it in) reads a CSV without one in
    # the system's ANSI code page (GBK on Chinese Windows) and shows the Chinese as mojibake.
    return out.getvalue().encode("utf-8-sig")
