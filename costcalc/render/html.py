"""The HTML report: one self-contained file (inline CSS, no scripts), every value escaped."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from costcalc.render.display import (
    LOWER_BOUND_NOTE,
    TOP_VERSIONS,
    count,
    created,
    lower_bound,
    money,
    monthly,
    percent,
    safe,
    scenario_note,
    size,
    units,
)
from costcalc.report import Report

_STYLE = (
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}th,td{padding:.25em .75em;border-bottom:1px solid #ddd}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;font-weight:bold}"
)


def _e(text: str) -> str:
    return escape(safe(text), quote=True)


def _table(caption: str, header: list[str], rows: list[list[str]], numeric_from: int) -> str:
    head = "".join(f"<th{' class=n' if i >= numeric_from else ''}>{_e(h)}</th>" for i, h in enumerate(header))
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=n' if i >= numeric_from else ''}>{_e(c)}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><caption>{_e(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(report: Report, *, top: int | None = None) -> str:
    """REPORT as a standalone HTML document; TOP limits the group table."""
    pricing, totals, cur, unit = (
        report.pricing,
        report.totals,
        report.pricing.currency,
        report.pricing.unit,
    )
    target = f"{report.registry}/{report.namespace}" if report.namespace else report.registry
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Registry cost: {_e(target)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Registry cost: {_e(target)}</h1>",
        f"<p>Price book <b>{_e(pricing.id)}</b> ({_e(pricing.name)}), effective {pricing.effective_date}, "
        f"{_e(cur)} per {_e(unit)}, dedup {_e(pricing.dedup_scope)}. Usage: "
        f"{_e(report.usage_source) if report.usage_source else 'none (egress unknown)'}.</p>",
    ]
    cost_rows = [["Storage", units(totals.billable_storage_gb, unit), money(totals.storage_cost)]]
    cost_rows += [
        [f"Egress {c}", units(totals.egress_gb_by_class[c], unit), money(v)]
        for c, v in totals.egress_cost_by_class.items()
    ]
    cost_rows += [
        [
            "Egress" if totals.egress_complete else "Egress (lower bound)",
            units(sum(totals.egress_gb_by_class.values(), Decimal(0)), unit),
            money(totals.egress_cost),
        ],
        ["Total per month", "", money(totals.monthly_cost)],
        [f"Total for {totals.months} months", "", money(totals.horizon_cost)],
    ]
    parts.append(_table("Costs", ["", "Quantity", cur], cost_rows, 1))
    if report.inventory is not None:
        inv = report.inventory
        parts.append(
            f"<p>Inventory: {count(inv.repositories)} repositories, {count(inv.tags)} tags, "
            f"{_e(size(inv.unique_bytes, unit))} unique (naive sum {_e(size(inv.naive_bytes, unit))}), "
            f"{_e(size(inv.shared_layer_bytes, unit))} in shared layers.</p>"
        )
    shown = report.rows if top is None else report.rows[:top]
    with_team = report.group_by != "team"  # grouped by team, the name is the team
    parts.append(
        _table(
            f"By {report.group_by} ({len(shown)} of {len(report.rows)})",
            [
                report.group_by.capitalize(),
                *(["Team"] if with_team else []),
                "Tags",
                "Attributed",
                "Pulls/mo",
                f"Storage {cur}",
                f"Egress {cur}",
                f"Monthly {cur}",
            ],
            [
                [
                    r.name,
                    *([r.team or ""] if with_team else []),
                    count(r.tags),
                    size(r.attributed_bytes, unit),
                    count(r.pulls_per_month),
                    money(r.storage_cost),
                    money(r.egress_cost) + (" +" if r.egress_partial else ""),
                    monthly(r.monthly_cost, r.egress_cost, r.egress_partial),
                ]
                for r in shown
            ],
            2 if with_team else 1,
        )
    )
    if any(lower_bound(r.egress_cost, r.egress_partial) for r in shown):
        parts.append(f"<p>{_e(LOWER_BOUND_NOTE)}</p>")
    if report.comparison:
        parts.append(
            _table(
                "Price books compared",
                ["Price book", "Per month", f"{totals.months} months"],
                [
                    [f"{b.id} ({b.currency})", money(t.monthly_cost), money(t.horizon_cost)]
                    for b, t in [
                        (pricing, totals),
                        *((c.pricing, c.totals) for c in report.comparison),
                    ]
                ],
                1,
            )
        )
    if report.scenarios:
        parts.append(
            _table(
                "Savings projections",
                [
                    "Scenario",
                    "Description",
                    f"Monthly {cur}",
                    "Saves/mo",
                    f"Saves {totals.months} mo",
                    "Savings",
                    "Bytes freed",
                ],
                [
                    [
                        s.id,
                        s.description,
                        money(s.monthly_cost),
                        money(s.monthly_savings),
                        money(s.horizon_savings),
                        percent(s.savings_pct),
                        size(s.bytes_freed, unit),
                    ]
                    for s in report.scenarios
                ],
                2,
            )
        )
    for scenario_id, dropped in report.dropped_version_sections():
        parts.append(
            _table(
                f"Largest versions dropped by {scenario_id}",
                ["Repository", "Tags", "Created", "Exclusive"],
                [
                    [v.repository, ", ".join(v.tags), created(v.created), size(v.exclusive_bytes, unit)]
                    for v in dropped[:TOP_VERSIONS]
                ],
                3,
            )
        )
        if len(dropped) > TOP_VERSIONS:
            parts.append(f"<p>{len(dropped) - TOP_VERSIONS} more in JSON output.</p>")
    notes = [
        *report.assumptions,
        *(scenario_note(s.id, a) for s in report.scenarios for a in s.assumptions),
    ]
    notes.append(f"Prices from {', '.join(pricing.sources) or 'the price book'}.")
    parts.append("<h2>Assumptions</h2><ul>" + "".join(f"<li>{_e(a)}</li>" for a in notes) + "</ul>")
    if report.warnings:
        parts.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{_e(w)}</li>" for w in report.warnings) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
