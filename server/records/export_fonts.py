"""The font of a PDF report: a CJK TrueType font found at run time, embedded (reportlab embeds the subset of
glyphs used), so the report reads the same on any machine; Helvetica for an English report without one."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

FONT_ENV = "CAREWATCH_PDF_FONT"  # a .ttf or .ttc file (its first face) to use instead of the candidates
LATIN = "Helvetica"  # one of the PDF's own fonts: nothing to embed, but no Chinese glyphs
INSTALL = "Debian/Ubuntu: apt-get install fonts-wqy-microhei"
# (path, face of a collection). Noto Sans CJK is listed for distributions that ship it as TrueType; Debian's
# fonts-noto-cjk is OpenType/CFF, which reportlab cannot embed, so it is skipped there.
CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc", 2),  # the faces are JP, KR, SC, TC: SC is 2
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    ("/usr/share/fonts/google-droid/DroidSansFallback.ttf", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/System/Library/Fonts/STHeiti Medium.ttc", 0),
    ("C:/Windows/Fonts/msyh.ttc", 0),
)
_registered: dict[tuple[str, int], str] = {}  # reading a CJK font takes a while: once per process


class FontMissing(RuntimeError):
    """No usable font for the report (the API answers 503 with the message, the CLI exits 1)."""


def body_font(language: str, path: str | None = None) -> str:
    """The registered name of the report's font: `path`, else $CAREWATCH_PDF_FONT, else the first candidate
    that loads; Helvetica for English when none does. FontMissing when a font given cannot be used, or zh-CN
    has none."""
    given = path or os.environ.get(FONT_ENV)
    if given:
        try:
            return _register(given, 0)
        except TTFError as exc:
            raise FontMissing(f"the PDF font {given} ({FONT_ENV}) cannot be used: {exc}; give a TrueType "
                              f".ttf/.ttc file ({INSTALL})") from None
    for candidate, face in CANDIDATES:
        if Path(candidate).is_file():
            try:
                return _register(candidate, face)
            except TTFError:
                continue  # a CFF-outline font reportlab cannot embed: try the next
    if language == "zh-CN":
        raise FontMissing(f"no Chinese font for the zh-CN PDF report: install one ({INSTALL}), or set {FONT_ENV} "
                          "to a TrueType .ttf/.ttc file")
    return LATIN


def _register(path: str, face: int) -> str:
    """Load a TrueType font (face `face` of a collection) once and return its name."""
    key = (path, face)
    if key not in _registered:
        name = "cw-" + hashlib.sha256(f"{path}#{face}".encode()).hexdigest()[:12]
        pdfmetrics.registerFont(TTFont(name, path, subfontIndex=face))
        _registered[key] = name
    return _registered[key]
