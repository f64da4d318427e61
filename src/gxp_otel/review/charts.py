"""Charts drawn into the page as inline SVG (no script, no network): they print and open from ``file://`` as they are.

Each function returns SVG markup with a <title> per bar, so hovering (and screen readers) give exact numbers.
"""

from __future__ import annotations

from html import escape
from typing import Any

SERIES = (("span", "Spans", "#2563eb"), ("log", "Stream events / logs", "#16a34a"), ("other", "Control records", "#9ca3af"))


def _nice_max(value: int) -> int:
    if value <= 5:
        return max(value, 1)
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = int(step * magnitude)
        if top >= value:
            return top
    return value


def time_chart(bars: list[dict[str, Any]], width: int = 960, height: int = 190) -> str:
    """Stacked columns of records per recorded-time bucket."""
    if not bars:
        return '<p class="empty">No records in scope.</p>'
    left, bottom, top_pad = 48, 40, 10
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    peak = _nice_max(max(sum(b["counts"].values()) for b in bars))
    slot = plot_w / len(bars)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="Records over time">']
    for i in range(5):
        value = peak * i // 4
        y = top_pad + plot_h - plot_h * value / peak
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{value:,}</text>')
    for i, bar in enumerate(bars):
        x = left + i * slot + slot * 0.1
        y = top_pad + plot_h
        label = f"{bar['start'][:23]} to {bar['end'][:23]}".replace("T", " ")
        for key, name, colour in SERIES:
            n = bar["counts"].get(key, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.8:.1f}" height="{h:.1f}" fill="{colour}">'
                         f"<title>{escape(label)} UTC: {n:,} {escape(name.lower())}</title></rect>")
    ticks = ((0, "start", left), (len(bars) // 2, "middle", left + plot_w / 2), (len(bars) - 1, "end", width - 10))
    for i, anchor, x in ticks:
        at = bars[i]["start"] if anchor != "end" else bars[i]["end"]
        parts.append(f'<text x="{x:.1f}" y="{height - 22}" class="tick" text-anchor="{anchor}">'
                     f"{escape(at[:23].replace('T', ' '))}</text>")
    legend_x = left
    for _, name, colour in SERIES:
        parts.append(f'<rect x="{legend_x}" y="{height - 12}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{legend_x + 14}" y="{height - 3}" class="tick">{escape(name)}</text>')
        legend_x += 24 + 7 * len(name)
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(items: list[list[Any]], label: str, colour: str = "#2563eb", width: int = 360) -> str:
    """Horizontal bars, one per (name, count), largest first."""
    if not items:
        return '<p class="empty">None in scope.</p>'
    row, name_w = 22, 150
    height = row * len(items) + 6
    peak = max(n for _, n in items) or 1
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">']
    for i, (name, n) in enumerate(items):
        y = 3 + i * row
        w = (width - name_w - 60) * n / peak
        short = name if len(name) <= 22 else name[:21] + "…"
        parts.append(f'<text x="{name_w - 6}" y="{y + 15}" class="tick" text-anchor="end">{escape(short)}</text>'
                     f'<rect x="{name_w}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row - 8}" fill="{colour}">'
                     f"<title>{escape(name)}: {n:,}</title></rect>"
                     f'<text x="{name_w + w + 4:.1f}" y="{y + 15}" class="tick">{n:,}</text>')
    parts.append("</svg>")
    return "".join(parts)
