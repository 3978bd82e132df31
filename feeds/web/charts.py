"""Small inline SVG charts, drawn on the server: no script, no chart library, readable without JS."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup


def sparkline(values: Sequence[int], *, width: int = 120, height: int = 24, label: str = "") -> Markup:
    """A bar per value (articles per day), scaled to the largest; an empty series draws a baseline."""
    if not values:
        return Markup("")
    top = max(values) or 1
    step = width / len(values)
    bars = "".join(
        f'<rect x="{i * step:.1f}" y="{height - max(1.0, v / top * height):.1f}" width="{max(1.0, step - 1):.1f}" '
        f'height="{max(1.0, v / top * height):.1f}" class="{"bar" if v else "zero"}"><title>{v}</title></rect>'
        for i, v in enumerate(values)
    )
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}">{bars}</svg>'
    )


def weekly_bars(weeks: Sequence[tuple[str, int]], *, width: int = 640, height: int = 120) -> Markup:
    """Mentions per week as bars, labelled with the first and last week."""
    if not weeks:
        return Markup("")
    top = max(n for _, n in weeks) or 1
    step = width / len(weeks)
    bars = "".join(
        f'<rect x="{i * step:.1f}" y="{height - 16 - n / top * (height - 24):.1f}" width="{max(1.0, step - 2):.1f}" '
        f'height="{n / top * (height - 24):.1f}" class="bar"><title>{escape(week)}: {n}</title></rect>'
        for i, (week, n) in enumerate(weeks)
    )
    labels = (
        f'<text x="0" y="{height - 2}" class="axis">{escape(weeks[0][0])}</text>'
        f'<text x="{width}" y="{height - 2}" text-anchor="end" class="axis">{escape(weeks[-1][0])}</text>'
    )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="每周提到的文章数">{bars}{labels}</svg>'
    )


def spread_timeline(points: Sequence[tuple[str, float]], *, width: int = 640, row: int = 18) -> Markup:
    """How a campaign spread: one row per source (label, days after the first mention), a dot on a shared
    day axis, so a reader sees which sources took it up and how fast."""
    if not points:
        return Markup("")
    last = max(days for _, days in points) or 1.0
    left, right = 150, 40
    span = width - left - right
    height = row * len(points) + 24
    rows = []
    for i, (label, days) in enumerate(points):
        y = 12 + i * row
        x = left + days / last * span
        rows.append(
            f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" class="label">{escape(label)}</text>'
            f'<line x1="{left}" y1="{y}" x2="{x:.1f}" y2="{y}" class="lag"/>'
            f'<circle cx="{x:.1f}" cy="{y}" r="4" class="dot"><title>{escape(label)}: +{days:.1f} 天</title></circle>'
        )
    axis = (
        f'<text x="{left}" y="{height - 4}" class="axis">第 0 天</text>'
        f'<text x="{width - right}" y="{height - 4}" text-anchor="end" class="axis">第 {last:.0f} 天</text>'
    )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="各来源首次提到的时间">{"".join(rows)}{axis}</svg>'
    )
