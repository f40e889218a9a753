"""The PDF report of an export: title (site, kind, period), the rows as a table, the time it was generated, and
on every page the site's audit chain as it stood then (links, head hash, intact or not) and how to check it.
A printed report keeps the head hash: `carewatch records verify` later shows the chain still leads to it."""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from functools import partial
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus.doctemplate import BaseDocTemplate
from sqlalchemy.orm import Session

from devices.facility import Site
from server.records.export import Export, as_csv, build, check_kind
from server.records.export_fonts import LATIN, body_font
from server.records.export_texts import REPORT, text
from server.records.verify import SiteCheck, verify

PAGE = landscape(A4)  # the wide kinds (alerts: 14 columns) need the width
MARGIN = 12 * mm
FOOTER = 16 * mm  # room at the bottom of every page for the chain's lines
CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
SIZE = 8  # points: a table of many columns on one page, still legible printed


def export_file(session: Session, site: Site, kind: str, start: date, end: date, *, fmt: str, language: str,
                now: datetime, font: str | None = None) -> tuple[bytes, str, str]:
    """An export as a file: (content, file name, media type). ExportError for a kind unknown, FontMissing for a
    PDF without a font."""
    check_kind(kind)
    if fmt == "csv":
        export = build(session, site, kind, start, end, now=now, language=language)
        return as_csv(export), export.filename("csv"), "text/csv; charset=utf-8"
    body_font(language, font)  # no font: say so before the work
    export = build(session, site, kind, start, end, now=now, language=language)
    # The chain is read after the rows: the head printed covers every record the report shows.
    [check] = verify(session, site.id)
    return render(export, check, generated_at=now, font=font), export.filename("pdf"), "application/pdf"


def render(export: Export, check: SiteCheck, *, generated_at: datetime, font: str | None = None) -> bytes:
    """The report as PDF bytes (FontMissing when zh-CN is asked for and no CJK font can be found)."""
    name = body_font(export.language, font)
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN + FOOTER, title=export.title(), author="carewatch", creator="carewatch",
                            subject=f"audit chain {export.site.id}: {check.links} links, head {check.head}")
    story: list[Any] = [Paragraph(escape(export.title()), _style(name, 14, leading=18)),
                        Paragraph(escape(_generated(export, generated_at)), _style(name, 9)), Spacer(1, 4 * mm)]
    story.append(_table(export, name, doc.width) if export.rows
                 else Paragraph(escape(text(REPORT, "empty", export.language)), _style(name, 10)))
    footer = partial(_footer, lines=_footer_lines(export, check, name), font=name, language=export.language)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _generated(export: Export, at: datetime) -> str:
    """When the report was made, at the site, and how many rows it has."""
    local = export.site.local(at).strftime("%Y-%m-%d %H:%M")
    count = text(REPORT, "rows", export.language, n=len(export.rows))
    return f"{text(REPORT, 'generated', export.language)} {local} ({export.site.timezone}) · {count}"


def _style(font: str, size: float, *, leading: float | None = None, cjk: bool = False) -> ParagraphStyle:
    """A paragraph style in the report's font; `cjk`: break lines between any two characters, as Chinese is
    written without spaces."""
    return ParagraphStyle(f"cw-{font}-{size}-{cjk}", fontName=font, fontSize=size, leading=leading or size * 1.25,
                          wordWrap="CJK" if cjk else None)


def _table(export: Export, font: str, width: float) -> LongTable:
    """The rows under the headers, repeated on every page; long cells wrap inside their column."""
    widths = _widths(export, font, width)
    header = [_cell(h, font, w) for h, w in zip(export.headers(), widths, strict=True)]
    body = [[_cell(_show(row[k]), font, w) for k, w in zip(export.keys, widths, strict=True)] for row in export.rows]
    table = LongTable([header, *body], colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), font, SIZE), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef4")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa5b1")),
        ("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]))
    return table


def _widths(export: Export, font: str, width: float) -> list[float]:
    """Column widths shared out by how wide each column's text is (capped, so one long note cannot starve the
    others), and never narrower than a date's worth of digits."""
    sample = export.rows[:200]  # enough rows to see what a column holds
    want = [max(min(stringWidth(_show(row[k]), font, SIZE), 180) for row in [*sample, {k: h}])
            for k, h in zip(export.keys, export.headers(), strict=True)]
    want = [max(w, 28.0) + 6 for w in want]
    return [width * w / sum(want) for w in want]


def _cell(value: str, font: str, width: float) -> str | Paragraph:
    """A cell: the text as it is when it fits (cheap), else a paragraph that wraps (CJK wrap for Chinese)."""
    if stringWidth(value, font, SIZE) <= width - 4:
        return value
    return Paragraph(escape(value), _style(font, SIZE, cjk=bool(CJK.search(value))))


def _show(value: Any) -> str:
    """A row value as text."""
    return "" if value is None else str(value)


def _footer_lines(export: Export, check: SiteCheck, font: str) -> list[str]:
    """The chain as it stood when the report was made, and the command that checks it (in both languages when
    the font can write both)."""
    lang = export.language
    state = (text(REPORT, "intact", lang) if check.intact
             else text(REPORT, "broken", lang, reason=check.breaks[0].reason))
    chain = f"{text(REPORT, 'chain', lang, links=check.links, head=check.head)} · {state}"
    languages = ["en"] if font == LATIN else ["zh-CN", "en"]
    return [chain, "  ·  ".join(text(REPORT, "check", la, site=export.site.id) for la in languages)]


def _footer(canvas: Canvas, doc: BaseDocTemplate, *, lines: list[str], font: str, language: str) -> None:
    """Draw the footer on a page."""
    canvas.saveState()
    canvas.setFont(font, 7.5)
    canvas.setStrokeColor(colors.HexColor("#9aa5b1"))
    canvas.line(MARGIN, MARGIN + FOOTER - 3 * mm, PAGE[0] - MARGIN, MARGIN + FOOTER - 3 * mm)
    for n, line in enumerate(lines):
        canvas.drawString(MARGIN, MARGIN + FOOTER - (7 + 4 * n) * mm, line)
    canvas.drawRightString(PAGE[0] - MARGIN, MARGIN, text(REPORT, "page", language, n=doc.page))
    canvas.restoreState()
