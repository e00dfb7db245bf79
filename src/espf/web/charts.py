"""Charts drawn on the server as inline SVG: no chart library to ship, no
script to run, readable without JavaScript, and the numbers are in the page
(each bar has a title) for screen readers and for copying."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from espf.clock import format_ms
from espf.service_console import Series

WIDTH = 600
HEIGHT = 140
AXIS = 18  # room for the time labels below the bars
# Stacked from the bottom: successes, then retries, then failures.
LAYERS = (("delivered", "ok"), ("retried", "warn"), ("failed", "bad"))


def stacked_bars(series: Series, label: str) -> Markup:
    columns = list(zip(series.delivered, series.retried, series.failed, strict=True))
    count = len(columns)
    peak = max((sum(c) for c in columns), default=0) or 1
    slot = WIDTH / max(count, 1)
    bar = max(slot - 1.5, 1.0)
    plot = HEIGHT - AXIS
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}">',
        f'<line x1="0" y1="{plot}" x2="{WIDTH}" y2="{plot}" class="axis"/>',
    ]
    for index, values in enumerate(columns):
        x = index * slot
        y = float(plot)
        start = series.start + index * series.bucket_ms
        title = f"{format_ms(start)} UTC: " + ", ".join(
            f"{n} {name}" for n, (name, _) in zip(values, LAYERS, strict=True)
        )
        parts.append(f"<g><title>{escape(title)}</title>")
        for value, (_, tone) in zip(values, LAYERS, strict=True):
            if value:
                height = value / peak * (plot - 4)
                y -= height
                parts.append(
                    f'<rect class="{tone}" x="{x:.1f}" y="{y:.1f}" '
                    f'width="{bar:.1f}" height="{height:.1f}"/>'
                )
        parts.append("</g>")
    # Time labels: the first, the middle and the last bucket.
    for index in sorted({0, count // 2, count - 1}):
        if index < 0:
            continue
        anchor = "start" if index == 0 else "end" if index == count - 1 else "middle"
        x = index * slot + (slot if anchor == "end" else 0)
        stamp = format_ms(series.start + index * series.bucket_ms)[11:16]
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 4}" text-anchor="{anchor}">{stamp}</text>')
    parts.append(f'<text x="{WIDTH - 2}" y="12" text-anchor="end">max {peak:,}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
