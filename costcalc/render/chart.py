"""Horizontal bar charts as inline SVG inside HTML: nothing to fetch or run when the page is opened."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

from costcalc.render.display import safe
from costcalc.units import round_half_up

CHART_CSS = (
    ".chart{margin:1em 0;max-width:48em}.chart figcaption{font-weight:bold;margin-bottom:.4em}"
    ".bar{display:grid;grid-template-columns:minmax(6em,16em) 1fr auto;gap:.2em .6em;align-items:center;"
    "margin:.15em 0}.bar .label{overflow-wrap:anywhere}.bar svg{width:100%;height:1em;display:block}"
    ".bar rect{fill:#3b6ea8}.bar .v{font-variant-numeric:tabular-nums;text-align:right;white-space:nowrap}"
    "@media (max-width:36em){.bar{grid-template-columns:1fr auto}.bar .label{grid-column:1/3}}"
    "@media print{.bar rect{fill:#555}.chart{break-inside:avoid}}"
)


def bar_chart(chart_id: str, caption: str, bars: Sequence[tuple[str, Decimal, str]]) -> str:
    """A figure of one bar per (label, value, shown value); bar lengths are proportional to the values.

    Negative values (a scenario that costs more) get no bar; their shown value says so.
    """
    largest = max((value for _, value, _ in bars), default=Decimal(0))
    rows = []
    for label, value, shown in bars:
        share = value / largest * 100 if largest > 0 and value > 0 else Decimal(0)
        width = format(round_half_up(share, 2), "f")
        rows.append(
            f'<div class="bar"><span class="label">{_e(label)}</span>'
            f'<svg viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">'
            f'<rect x="0" y="0" width="{width}" height="10"></rect></svg>'
            f'<span class="v">{_e(shown)}</span></div>'
        )
    return f'<figure class="chart" id="{_e(chart_id)}"><figcaption>{_e(caption)}</figcaption>{"".join(rows)}</figure>'


def _e(text: str) -> str:
    return escape(safe(text), quote=True)
