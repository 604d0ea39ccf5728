"""Small server-rendered SVG charts for the staff pages: no JavaScript, no inline style (CSP).

Colours come from classes (``app.css``); every chart carries a title and a description for
screen readers, and the numbers are also printed beside the bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    css: str = ""  # a class giving the bar its colour, e.g. "sev-high"
    display: str = ""  # the printed value; the number itself when empty


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() or value >= 100 else f"{value:,.1f}"


def bar_chart(title: str, bars: Sequence[Bar], *, empty: str = "Nothing yet.") -> SafeString:
    """Horizontal bars, one per label, longest scaled to the full width."""
    if not bars:
        return mark_safe(f'<p class="empty">{escape(empty)}</p>')  # noqa: S308 - escaped above
    longest = max(len(b.display or _number(b.value)) for b in bars)
    width, label_w, value_w, row_h = 460, 170, max(60, 7 * longest), 26
    top = max((b.value for b in bars), default=0) or 1
    height = row_h * len(bars) + 4
    rows = []
    for i, bar in enumerate(bars):
        y = i * row_h + 2
        length = max(2.0, (width - label_w - value_w) * bar.value / top) if bar.value else 0
        shown = escape(bar.display or _number(bar.value))
        rows.append(
            f'<text x="{label_w - 8}" y="{y + 17}" class="chart-label" text-anchor="end">{escape(bar.label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{length:.1f}" height="{row_h - 8}" rx="3" '
            f'class="bar {escape(bar.css)}"><title>{escape(bar.label)}: {shown}</title></rect>'
            f'<text x="{label_w + length + 6:.1f}" y="{y + 17}" class="chart-value">{shown}</text>'
        )
    svg = (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{_slug(title)}-t">'
        f'<title id="{_slug(title)}-t">{escape(title)}</title>{"".join(rows)}</svg>'
    )
    return mark_safe(svg)  # noqa: S308 - every piece of text is escaped


def column_chart(title: str, points: Sequence[tuple[str, int]], *, empty: str = "Nothing yet.") -> SafeString:
    """Vertical columns over time (e.g. events per day), with the first, middle and last dates labelled."""
    if not points or not any(v for _, v in points):
        return mark_safe(f'<p class="empty">{escape(empty)}</p>')  # noqa: S308 - escaped above
    width, height, bottom, left = 460, 150, 22, 36
    top = max(v for _, v in points) or 1
    step = (width - left) / len(points)
    cols = []
    for i, (label, value) in enumerate(points):
        h = (height - bottom - 8) * value / top
        x = left + i * step
        cols.append(
            f'<rect x="{x + 1:.1f}" y="{height - bottom - h:.1f}" width="{max(1.0, step - 2):.1f}" height="{h:.1f}" '
            f'class="bar col"><title>{escape(label)}: {value:,}</title></rect>'
        )
    ticks = sorted({0, len(points) // 2, len(points) - 1})
    anchors = {0: "start", len(points) - 1: "end"}
    labels = "".join(
        f'<text x="{left + i * step + (0 if i == 0 else step if i == len(points) - 1 else step / 2):.1f}" '
        f'y="{height - 6}" class="chart-label" text-anchor="{anchors.get(i, "middle")}">{escape(points[i][0])}</text>'
        for i in ticks
    )
    axis = (
        f'<text x="{left - 6}" y="14" class="chart-label" text-anchor="end">{top:,}</text>'
        f'<text x="{left - 6}" y="{height - bottom}" class="chart-label" text-anchor="end">0</text>'
        f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" class="axis"/>'
    )
    svg = (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{_slug(title)}-t">'
        f'<title id="{_slug(title)}-t">{escape(title)}</title>{axis}{"".join(cols)}{labels}</svg>'
    )
    return mark_safe(svg)  # noqa: S308 - every piece of text is escaped


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower())[:40]
