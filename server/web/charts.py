"""Charts as inline SVG drawn on the server: no script, no CDN, prints as it shows. Each chart is an image with a
title and a description for screen readers, and every number is also written as text: colour is only a help."""

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 640
LABEL_W = 150  # the group names left of the bars
VALUE_W = 170  # room right of the longest bar for its text ("90th percentile 12.5 min")
BAR_H = 16
GROUP_GAP = 12
TREND_H = 180
TREND_LEFT, TREND_TOP, TREND_BOTTOM = 12, 24, 26
MAX_VALUE_TEXTS = 31  # above this many days the labels would overlap: the table under the chart has them


@dataclass(frozen=True)
class Bar:
    """One bar: the group it belongs to (key and label), its series, its value (None: nothing to measure)."""

    key: str
    label: str
    series: str
    value: float | None
    text: str


@dataclass(frozen=True)
class Point:
    """One day of a trend: ISO date, short label, value (None: nothing to measure), value as text."""

    day: str
    label: str
    value: float | None
    text: str


def bar_chart(chart_id: str, title: str, desc: str, bars: Sequence[Bar], series_names: dict[str, str],
              top: float | None = None, empty: str = "—") -> Markup:
    """Horizontal bars grouped by key; each bar is followed by its series name and value in words."""
    series = list(series_names)
    groups = list(dict.fromkeys(b.key for b in bars))
    group_h = BAR_H * len(series) + GROUP_GAP
    height = max(group_h * len(groups), 40) + 8
    scale = (WIDTH - LABEL_W - VALUE_W) / (top or max((b.value or 0 for b in bars), default=0) or 1)
    parts = []
    for g, key in enumerate(groups):
        y0 = 4 + g * group_h
        members = [b for b in bars if b.key == key]
        parts.append(_text(LABEL_W - 8, y0 + BAR_H * len(series) / 2 + 5, members[0].label, "end", "label"))
        for b in members:
            parts.append(_bar(b, series.index(b.series), series_names[b.series], y0, scale))
    if not groups:
        parts.append(_text(WIDTH / 2, 26, empty, "middle", "label"))
    return _svg(chart_id, title, desc, height, parts, "bars")


def _bar(bar: Bar, index: int, series_name: str, y0: float, scale: float) -> str:
    """One bar and its text; a missing value draws no bar but still says so."""
    y = y0 + index * BAR_H
    width = max((bar.value or 0) * scale, 1 if bar.value else 0)
    value = "" if bar.value is None else f' data-value="{bar.value:g}"'
    rect = (f'<rect x="{LABEL_W}" y="{y + 1}" width="{width:.1f}" height="{BAR_H - 3}" class="bar s{index}"'
            f' data-key="{escape(bar.key)}" data-series="{escape(bar.series)}"{value}>'
            f"<title>{escape(bar.label)} · {escape(series_name)}: {escape(bar.text)}</title></rect>")
    words = _text(LABEL_W + width + 6, y + BAR_H - 4, f"{series_name} {bar.text}", "start", f"value s{index}",
                  f' data-key="{escape(bar.key)}" data-series="{escape(bar.series)}"')
    return rect + words


def trend_chart(chart_id: str, title: str, desc: str, points: Sequence[Point], style: str = "columns",
                empty: str = "—") -> Markup:
    """A value per day, as columns (counts) or a line (times); days without a value break the line."""
    plot_w = WIDTH - TREND_LEFT - 8
    plot_h = TREND_H - TREND_TOP - TREND_BOTTOM
    top = max((p.value or 0 for p in points), default=0)
    step = plot_w / max(len(points), 1)
    base = TREND_TOP + plot_h
    parts = [f'<line x1="{TREND_LEFT}" y1="{base}" x2="{WIDTH - 8}" y2="{base}" class="axis"/>']
    texts = len(points) <= MAX_VALUE_TEXTS
    if top:
        parts.append(f'<line x1="{TREND_LEFT}" y1="{TREND_TOP}" x2="{WIDTH - 8}" y2="{TREND_TOP}" class="grid"/>')
    if top and not texts:  # no number on each day: say what the top of the scale is
        peak = next(p for p in points if p.value == top)
        parts.append(_text(TREND_LEFT + 2, TREND_TOP - 6, peak.text, "start", "label"))
    if not top:
        parts.append(_text(WIDTH / 2, TREND_TOP + plot_h / 2, empty, "middle", "label"))
    scale = plot_h / (top or 1)
    draw = _columns if style == "columns" else _line
    parts += draw(points, step, base, scale, texts)
    every = max(1, -(-len(points) // 10))  # at most about ten day labels under the axis
    parts += [_day_label(TREND_LEFT + step * (i + 0.5), p.label) for i, p in enumerate(points)
              if (len(points) - 1 - i) % every == 0]  # counted from the end: today is always labelled
    return _svg(chart_id, title, desc, TREND_H, parts, style)


def _columns(points: Sequence[Point], step: float, base: float, scale: float, texts: bool) -> list[str]:
    """One column per day with a value; its number above it when there is room."""
    parts = []
    for i, p in enumerate(points):
        if not p.value:
            continue
        x, h = TREND_LEFT + step * i + step * 0.15, p.value * scale
        parts.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" class="bar s0"'
                     f' data-day="{p.day}" data-value="{p.value:g}"><title>{p.day}: {escape(p.text)}</title></rect>')
        if texts:
            parts.append(_text(x + step * 0.35, base - h - 3, p.text, "middle", "value", f' data-day="{p.day}"'))
    return parts


def _line(points: Sequence[Point], step: float, base: float, scale: float, texts: bool) -> list[str]:
    """A line through the days with a value, a dot on each, its number above it when there is room."""
    parts, run = [], []
    for i, p in enumerate([*points, Point("", "", None, "")]):  # the sentinel ends the last run
        if p.value is None:
            if len(run) > 1:
                parts.append(f'<polyline points="{" ".join(run)}" class="line"/>')
            run = []
            continue
        x, y = TREND_LEFT + step * (i + 0.5), base - p.value * scale
        run.append(f"{x:.1f},{y:.1f}")
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" class="dot" data-day="{p.day}"'
                     f' data-value="{p.value:g}"><title>{p.day}: {escape(p.text)}</title></circle>')
        if texts:
            parts.append(_text(x, y - 7, p.text, "middle", "value", f' data-day="{p.day}"'))
    return parts


def _day_label(x: float, label: str) -> str:
    """A date under the axis, kept inside the picture at either edge."""
    anchor = "end" if x > WIDTH - 24 else "start" if x < 24 else "middle"
    return _text(x + (4 if anchor == "end" else 0), TREND_H - 8, label, anchor, "label")


def _text(x: float, y: float, words: str, anchor: str, css: str, extra: str = "") -> str:
    """A text label."""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{css}"{extra}>{escape(words)}</text>'


def _svg(chart_id: str, title: str, desc: str, height: float, parts: list[str], kind: str) -> Markup:
    """The chart element: an image to assistive technology, named by its title and described by its summary."""
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" data-chart="{escape(chart_id)}"'
            f' viewBox="0 0 {WIDTH} {height:.0f}" role="img" aria-label="{escape(title)}"'
            f' aria-describedby="{escape(chart_id)}-desc">'
            f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
            f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>')
    return Markup(head + "".join(parts) + "</svg>")
