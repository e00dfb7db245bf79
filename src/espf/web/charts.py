"""Charts drawn on the server as inline SVG: no chart library to ship, no
script to run, readable without JavaScript, and the numbers are in the page
(each bar has a title) for screen readers and for copying."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from espf.clock import format_ms
from espf.service.console import Series

WIDTH = 600
HEIGHT = 120
AXIS = 2  # the baseline
# Stacked from the bottom: successes, then retries, then failures.
LAYERS = (("delivered", "ok"), ("retried", "warn"), ("failed", "bad"))


def stacked_bars(series: Series, label: str) -> Markup:
    columns = list(zip(series.delivered, series.retried, series.failed, strict=True))
    count = len(columns)
    real_peak = max((sum(c) for c in columns), default=0)
    peak = real_peak or 1
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
    parts.append("</svg>")
    # Labels in HTML, not in the SVG: they keep their size when the chart
    # shrinks to a phone's width.
    middle = series.start + (count // 2) * series.bucket_ms
    last = series.start + (count - 1) * series.bucket_ms
    parts.append(
        '<div class="chart-axis" aria-hidden="true">'
        + "".join(f"<span>{format_ms(at)[11:16]}</span>" for at in (series.start, middle, last))
        + f'</div><p class="chart-peak">highest bar: {real_peak:,} attempts</p>'
    )
    return Markup("".join(parts))
