"""The ops page's two charts, drawn on the server as SVG: no script, nothing fetched by the browser.

- outcomes by month: a stacked bar per month of due date, met on time / met late / still breached;
- open breaches by kind: a horizontal bar per kind of deadline.

Each chart is an accessible image (`role="img"`, a title and a description that state the figures), each bar
carries its figure in a `<title>` (shown on hover) and in `data-` attributes that the browser test compares
with the page's tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from markupsafe import Markup, escape

from store.views import MonthOutcomes, OpsDeadline, rule_title

OUTCOMES = (
    ("met_on_time", "met on time", "#00703c"),
    ("met_late", "met late", "#f47738"),
    ("still_breached", "still breached", "#d4351c"),
)
BREACH_COLOUR = "#d4351c"
TEXT = 'font-family="system-ui, sans-serif" font-size="12" fill="#1b1b1b"'


def _nice_ceiling(value: int) -> int:
    """A round top for the scale: 1, 2, 5, 10, 20, 50..."""
    step = 1
    while True:
        for multiple in (1, 2, 5):
            if step * multiple >= value:
                return step * multiple
        step *= 10


def outcomes_by_month_svg(months: list[MonthOutcomes]) -> Markup:
    width, height, left, bottom, top = 720, 240, 40, 36, 28
    plot_height = height - bottom - top
    peak = _nice_ceiling(max([m.met_on_time + m.met_late + m.still_breached for m in months] + [1]))
    slot = (width - left - 10) / max(len(months), 1)
    bar = max(min(slot * 0.7, 40), 2)
    totals = {key: sum(getattr(m, key) for m in months) for key, _, _ in OUTCOMES}
    summary = ", ".join(f"{totals[key]} {words}" for key, words, _ in OUTCOMES)
    parts = [
        f'<svg id="outcomes-chart" xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}"'
        f' width="100%" style="max-width:{width}px" aria-labelledby="outcomes-chart-title outcomes-chart-desc">',
        '<title id="outcomes-chart-title">Deadlines by month due: met on time, met late, still breached</title>',
        f'<desc id="outcomes-chart-desc">In the period: {escape(summary)}.</desc>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" {TEXT}>{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_height}" text-anchor="end" {TEXT}>0</text>',
        f'<line x1="{left}" y1="{top + plot_height}" x2="{width - 10}" y2="{top + plot_height}" stroke="#505a5f"/>',
    ]
    for i, month in enumerate(months):
        x = left + i * slot + (slot - bar) / 2
        y = top + plot_height
        label = f"{month.month:%b %Y}"
        parts.append(f'<g class="month" data-month="{month.month:%Y-%m}">')
        for key, words, colour in OUTCOMES:
            count = getattr(month, key)
            if not count:
                continue
            h = plot_height * count / peak
            y -= h
            parts.append(
                f'<rect class="{key}" data-outcome="{key}" data-count="{count}" x="{x:.1f}" y="{y:.1f}"'
                f' width="{bar:.1f}" height="{h:.1f}" fill="{colour}"><title>{label}: {count} {words}</title></rect>'
            )
        if len(months) <= 24 or i % 3 == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" {TEXT}>'
                f"{month.month:%b}</text>"
            )
        parts.append("</g>")
    x = left
    for _key, words, colour in OUTCOMES:
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="16" {TEXT}>{words}</text>')
        x += 130
    parts.append("</svg>")
    return Markup("".join(parts))


def breaches_by_kind_svg(breached: Iterable[OpsDeadline], area: str) -> Markup:
    counts = Counter(d.kind for d in breached)
    rows = counts.most_common()
    width, row_height, label_width = 720, 26, 300
    height = max(len(rows), 1) * row_height + 12
    peak = max(counts.values(), default=1)
    total = sum(counts.values())
    described = "; ".join(f"{rule_title(area, kind)}: {count}" for kind, count in rows) or "none"
    parts = [
        f'<svg id="breaches-chart" xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}"'
        f' width="100%" style="max-width:{width}px" aria-labelledby="breaches-chart-title breaches-chart-desc">',
        '<title id="breaches-chart-title">Open breaches by kind of deadline</title>',
        f'<desc id="breaches-chart-desc">{total} open breaches: {escape(described)}.</desc>',
    ]
    if not rows:
        parts.append(f'<text x="0" y="18" {TEXT}>No open breaches.</text>')
    for i, (kind, count) in enumerate(rows):
        y = 6 + i * row_height
        title = escape(rule_title(area, kind))
        length = (width - label_width - 50) * count / peak
        parts.append(
            f'<g class="kind" data-kind="{escape(kind)}" data-count="{count}">'
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end" {TEXT}>{title}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{row_height - 8}" fill="{BREACH_COLOUR}">'
            f"<title>{title}: {count} open</title></rect>"
            f'<text x="{label_width + length + 6:.1f}" y="{y + 15}" {TEXT}>{count}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
