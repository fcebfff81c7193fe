"""Charts drawn on the server as inline SVG: no script, no chart library, readable with JS off.

`hourly(series)` draws up to four series over the 24 hours of a day as grouped bars;
`heat(rows, columns, cells)` a table of counts shaded by size. Every text is escaped here, so the
result is safe to mark as `Markup` (series names and station names come from data).
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 220
LEFT, BOTTOM, TOP = 36, 20, 10


def _nice_max(value: int) -> int:
    """The smallest 4·{1, 2, 5}·10^k at or above `value`: four gridlines at round numbers."""
    top, magnitude = max(value, 1), 1
    while True:
        for step in (1, 2, 5):
            if 4 * step * magnitude >= top:
                return 4 * step * magnitude
        magnitude *= 10


def hourly(series: Sequence[tuple[str, Sequence[int]]], title: str) -> Markup:
    """Grouped bars per hour; each series gets the CSS class s0…s3 (its colour in the legend)."""
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - BOTTOM - TOP
    top = _nice_max(max((max(values, default=0) for _, values in series), default=0))
    slot = plot_w / 24
    bar = max(1.0, (slot - 2) / max(len(series), 1))
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    for tick in range(5):
        y = TOP + plot_h - plot_h * tick / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - 4}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7ee"/>'
                     f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{top * tick // 4}</text>')
    for hour in range(24):
        x0 = LEFT + hour * slot + 1
        if hour % 3 == 0:
            parts.append(f'<text x="{x0 + slot / 2:.1f}" y="{HEIGHT - 5}" text-anchor="middle">{hour:02d}</text>')
        for index, (name, values) in enumerate(series):
            value = values[hour] if hour < len(values) else 0
            if not value:
                continue
            h = plot_h * value / top
            parts.append(f'<rect class="s{index % 4}" x="{x0 + index * bar:.1f}" y="{TOP + plot_h - h:.1f}" '
                         f'width="{bar:.1f}" height="{h:.1f}"><title>{escape(name)} {hour:02d}:00 — {value}'
                         f"</title></rect>")
    parts.append("</svg>")
    return Markup("".join(parts))


def legend(names: Sequence[str]) -> Markup:
    return Markup('<p class="legend">' + "".join(
        f'<span><i class="s{i % 4}"></i>{escape(name)}</span>' for i, name in enumerate(names)) + "</p>")


def heat(rows: Sequence[str], columns: Sequence[str], cells: dict[tuple[str, str], int], title: str) -> Markup:
    """A heat map: one row per `rows` item, one column per `columns` item, darker = more."""
    cell_w, cell_h, label_w, head_h = 90, 26, 150, 24
    width, height = label_w + cell_w * max(len(columns), 1), head_h + cell_h * max(len(rows), 1)
    top = max(cells.values(), default=0) or 1
    parts = [f'<svg class="chart heat" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    for c, column in enumerate(columns):
        parts.append(f'<text x="{label_w + c * cell_w + cell_w / 2}" y="16" text-anchor="middle">'
                     f"{escape(column[:14])}</text>")
    for r, row in enumerate(rows):
        y = head_h + r * cell_h
        parts.append(f'<text x="4" y="{y + 17}">{escape(row[:22])}</text>')
        for c, column in enumerate(columns):
            value = cells.get((row, column), 0)
            shade = 0.08 + 0.8 * value / top if value else 0.0
            parts.append(f'<rect x="{label_w + c * cell_w + 1}" y="{y + 1}" width="{cell_w - 2}" height="{cell_h - 2}" '
                         f'fill="#c62828" fill-opacity="{shade:.2f}" stroke="#e3e7ee"/>'
                         f'<text x="{label_w + c * cell_w + cell_w / 2}" y="{y + 17}" text-anchor="middle">'
                         f"{value or ''}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
