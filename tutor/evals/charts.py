"""Tiny inline SVG charts for the HTML report: no script, no fonts, no network.

Two shapes are enough: horizontal bars for a rate per group, and a histogram.
Every label is escaped; the SVG carries no namespace URL, which HTML5 does not
need for inline SVG (so the report contains no URL at all).
"""

from __future__ import annotations

import math
from html import escape

WIDTH = 560
BAR_H = 22
GAP = 8
LEFT = 130
COLORS = {"pass": "#2e7d32", "fail": "#c62828", "bar": "#3f6fb5", "muted": "#9e9e9e", "axis": "#555"}


def bars(items: list[tuple[str, float | None, str]], title: str, *, unit_max: float = 1.0) -> str:
    """One horizontal bar per (label, value, note); a None value is drawn as 'not scored'."""
    height = 30 + len(items) * (BAR_H + GAP) + 10
    span = WIDTH - LEFT - 90
    out = [_open(height, title), _text(8, 18, title, weight="bold")]
    for i, (label, value, note) in enumerate(items):
        y = 30 + i * (BAR_H + GAP)
        out.append(_text(LEFT - 8, y + 15, label, anchor="end"))
        out.append(f'<rect x="{LEFT}" y="{y}" width="{span}" height="{BAR_H}" fill="#eee"/>')
        if value is None or (isinstance(value, float) and math.isnan(value)):
            out.append(_text(LEFT + 6, y + 15, "not scored", fill=COLORS["muted"]))
            continue
        w = max(0.0, min(1.0, value / unit_max)) * span
        color = COLORS["pass"] if value >= unit_max - 1e-9 else COLORS["bar"]
        out.append(f'<rect x="{LEFT}" y="{y}" width="{w:.1f}" height="{BAR_H}" fill="{color}"/>')
        out.append(_text(LEFT + span + 6, y + 15, note))
    out.append("</svg>")
    return "".join(out)


def histogram(values: list[float], edges: list[float], title: str, x_label: str, *,
              extra: list[tuple[str, int, str]] = (), fmt: str = "{:g}") -> str:
    """Counts of `values` in [edges[i], edges[i+1]) (the last bin closed); `extra`
    adds bars at the end as (label, count, color name), e.g. ("not scored", 7, "muted")."""
    counts = [0] * (len(edges) - 1)
    for v in values:
        for i in range(len(counts)):
            last = i == len(counts) - 1
            if edges[i] <= v < edges[i + 1] or (last and v >= edges[i]):
                counts[i] += 1
                break
        else:
            if v < edges[0]:
                counts[0] += 1
    groups = [(f"{fmt.format(edges[i])}–{fmt.format(edges[i + 1])}", c, COLORS["bar"]) for i, c in enumerate(counts)]
    groups += [(label, count, COLORS.get(color, color)) for label, count, color in extra]
    height, top, bottom = 220, 34, 44
    plot_h = height - top - bottom
    n = len(groups)
    slot = (WIDTH - 50) / max(1, n)
    peak = max([c for _, c, _ in groups] + [1])
    out = [_open(height, title), _text(8, 18, title, weight="bold")]
    out.append(f'<line x1="40" y1="{top + plot_h}" x2="{WIDTH - 6}" y2="{top + plot_h}" stroke="{COLORS["axis"]}"/>')
    for i, (label, count, color) in enumerate(groups):
        x = 44 + i * slot
        h = plot_h * count / peak
        out.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.8:.1f}" height="{h:.1f}" fill="{color}"/>')
        if count:
            out.append(_text(x + slot * 0.4, top + plot_h - h - 4, str(count), anchor="middle"))
        out.append(_text(x + slot * 0.4, top + plot_h + 14, label, anchor="middle", size=10))
    out.append(_text(WIDTH / 2, height - 8, x_label, anchor="middle", size=11, fill=COLORS["axis"]))
    out.append("</svg>")
    return "".join(out)


def latency_edges(values: list[float], bins: int = 8) -> list[float]:
    """Round bin edges from 0 to just above the slowest reply."""
    top = max(values) if values else 1.0
    step = _nice(top / bins)
    edges = [0.0]
    while edges[-1] <= top:
        edges.append(round(edges[-1] + step, 6))
    return edges


def _nice(x: float) -> float:
    if x <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if x <= m * mag:
            return m * mag
    return 10 * mag


def _open(height: int, title: str) -> str:
    return (f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}">')


def _text(x, y, text, *, anchor="start", size=12, weight="normal", fill="#222") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" '
            f'text-anchor="{anchor}" fill="{fill}">{escape(str(text))}</text>')
