"""The HTML report: one self-contained page (inline CSS and SVG, no scripts), every value escaped."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from html import escape

from costcalc.render import bases, findings, fleet
from costcalc.render.chart import CHART_CSS, bar_chart
from costcalc.render.display import (
    LOWER_BOUND_NOTE,
    count,
    created,
    hours,
    lower_bound,
    money,
    monthly,
    percent,
    priced_on,
    report_target,
    safe,
    scenario_note,
    size,
    units,
    when,
)
from costcalc.report import NO_TEAM, Report

CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
CHART_BARS = 15  # bars in the cost chart: the largest groups (the table below lists every row)
CHART_MONTHS = 36  # bars in the storage-over-time chart: the first months of a long horizon

_STYLE = (
    "*{box-sizing:border-box}"
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;padding:1em;"
    "max-width:1200px;color:#1d1d1f;background:#fff;overflow-wrap:anywhere}"
    "h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:1.6em 0 .4em}"
    ".meta{color:#555;margin:.2em 0 1em}.meta span{display:inline-block;margin-right:1.2em}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(12em,1fr));gap:.8em;margin:1em 0}"
    ".card{border:1px solid #ddd;border-radius:8px;padding:.7em .9em}"
    ".card .k{color:#555;font-size:.85em}.card .n{font-size:1.6em;font-weight:600;"
    "font-variant-numeric:tabular-nums;overflow-wrap:anywhere}.card .d{font-size:.85em;color:#555}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,26em),1fr));gap:0 2em}"
    ".scroll{overflow-x:auto;max-width:100%}"
    "table{border-collapse:collapse;margin:.5em 0 1em}th,td{padding:.25em .7em;border-bottom:1px solid #e3e3e3;"
    "text-align:left;vertical-align:top}th{background:#f6f6f6}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "caption{text-align:left;font-weight:bold;padding:.3em 0}"
    "a{color:#1a5aa0}"
    "@media (max-width:36em){body{font-size:14px;padding:.6em}th,td{padding:.2em .4em}.card .n{font-size:1.3em}}"
    "@media print{body{max-width:none;padding:0;font-size:11pt}.scroll{overflow:visible}"
    "table{font-size:9pt}tr,.card{break-inside:avoid}h2{break-after:avoid}a{color:inherit;text-decoration:none}"
    "th{background:none}}"
) + CHART_CSS


def _e(text: str) -> str:
    return escape(safe(text), quote=True)


def table(
    caption: str,
    columns: Sequence[tuple[str, bool]],
    rows: Iterable[Sequence[str]],
    total: Sequence[str] | None = None,
    notes: Sequence[str] = (),
) -> str:
    """A captioned table of (header, numeric) COLUMNS, its TOTAL line as the foot, then its NOTES;
    every cell escaped, numeric cells right-aligned."""
    cls = [" class=n" if numeric else "" for _, numeric in columns]
    head = "".join(f"<th{c}>{_e(h)}</th>" for c, (h, _) in zip(cls, columns, strict=True))
    body = "".join(
        "<tr>" + "".join(f"<td{c}>{_e(v)}</td>" for c, v in zip(cls, row, strict=True)) + "</tr>" for row in rows
    )
    foot = (
        "<tfoot><tr>" + "".join(f"<th{c}>{_e(v)}</th>" for c, v in zip(cls, total, strict=True)) + "</tr></tfoot>"
        if total is not None
        else ""
    )
    listed = "<ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>" if notes else ""
    return (
        f'<div class="scroll"><table><caption>{_e(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>{foot}</table></div>{listed}"
    )


def _table(caption: str, header: list[str], rows: list[list[str]], numeric_from: int) -> str:
    return table(caption, [(h, i >= numeric_from) for i, h in enumerate(header)], rows)


def _section(section: fleet.Section) -> str:
    """A fleet section: its table with the total line as the table's foot, then its notes."""
    columns = [(h, i >= section.numeric_from) for i, h in enumerate(section.header)]
    return table(section.title, columns, section.rows, section.total, section.notes)


def _card(key: str, value: str, detail: str) -> str:
    return (
        f'<div class="card"><div class="k">{_e(key)}</div><div class="n">{_e(value)}</div>'
        f'<div class="d">{_e(detail)}</div></div>'
    )


def _headline(report: Report) -> str:
    totals, cur = report.totals, report.pricing.currency
    bound = "" if totals.egress_complete else " (lower bound: egress of some repositories unknown)"
    cards = [
        _card("Monthly cost", f"{money(totals.monthly_cost)} {cur}", f"storage and egress{bound}"),
        _card(
            f"Cost over {totals.months} months",
            f"{money(totals.horizon_cost)} {cur}",
            "month by month, storage growing",
        ),
    ]
    if report.scenarios:
        best = max(report.scenarios, key=lambda s: s.monthly_savings)
        cards.append(
            _card(
                "Best saving",
                f"{money(best.monthly_savings)} {cur}/mo",
                f"{best.id}: {percent(best.savings_pct)}, "
                f"{money(best.horizon_savings)} {cur} over {totals.months} months",
            )
        )
    else:
        cards.append(_card("Best saving", "not projected", "add --scenario to project savings"))
    cards.append(
        _card(
            "Storage",
            f"{money(totals.storage_cost)} {cur}/mo",
            units(totals.billable_storage_gb, report.pricing.unit) + " billed",
        )
    )
    return f'<div class="cards">{"".join(cards)}</div>'


def _charts(report: Report) -> str:
    cur = report.pricing.currency
    charts = []
    if report.group_by == "repository" and any(r.team for r in report.rows):
        by_team: dict[str, Decimal] = defaultdict(Decimal)
        for row in report.rows:
            by_team[row.team or NO_TEAM] += row.monthly_cost
        bars = sorted(by_team.items(), key=lambda item: (-item[1], item[0]))
        caption = f"Monthly cost by team ({cur})"
        charts.append(bar_chart("chart-cost", caption, [(t, v, money(v)) for t, v in bars]))
    if len(report.registries) > 1 and report.group_by != "registry":
        caption = f"Monthly cost by registry ({cur})"
        ranked = sorted(report.registries, key=lambda r: (-r.monthly_cost, r.registry))
        charts.append(
            bar_chart(
                "chart-cost-registries", caption, [(r.registry, r.monthly_cost, money(r.monthly_cost)) for r in ranked]
            )
        )
    if report.rows:
        shown = report.rows[:CHART_BARS]
        more = f", largest {len(shown)} of {len(report.rows)}" if len(shown) < len(report.rows) else ""
        caption = f"Monthly cost by {report.group_by} ({cur}{more})"
        chart_id = "chart-cost-groups" if charts else "chart-cost"
        charts.append(bar_chart(chart_id, caption, [(r.name, r.monthly_cost, money(r.monthly_cost)) for r in shown]))
    if report.scenarios:
        caption = f"Monthly savings by scenario ({cur})"
        bars3 = [(s.id, s.monthly_savings, money(s.monthly_savings)) for s in report.scenarios]
        charts.append(bar_chart("chart-savings", caption, bars3))
    if len(report.monthly) > 1 and report.monthly[-1].storage_bytes != report.monthly[0].storage_bytes:
        shown_months = report.monthly[:CHART_MONTHS]
        more = (
            f", first {len(shown_months)} of {len(report.monthly)}" if len(shown_months) < len(report.monthly) else ""
        )
        unit = report.pricing.unit
        bars4 = [(f"Month {m.month}", m.storage_bytes, size(m.storage_bytes, unit)) for m in shown_months]
        charts.append(bar_chart("chart-storage-months", f"Storage over time{more}", bars4))
    return f'<div class="charts">{"".join(charts)}</div>' if charts else ""


def _costs(report: Report) -> str:
    totals, cur, unit = report.totals, report.pricing.currency, report.pricing.unit
    rows = [["Storage", units(totals.billable_storage_gb, unit), money(totals.storage_cost)]]
    rows += [
        [f"Egress {c}", units(totals.egress_gb_by_class[c], unit), money(v)]
        for c, v in totals.egress_cost_by_class.items()
    ]
    rows += [
        [
            "Egress" if totals.egress_complete else "Egress (lower bound)",
            units(sum(totals.egress_gb_by_class.values(), Decimal(0)), unit),
            money(totals.egress_cost),
        ],
        ["Total per month", "", money(totals.monthly_cost)],
        [f"Total for {totals.months} months", "", money(totals.horizon_cost)],
    ]
    return _table("Costs", ["", "Quantity", cur], rows, 1)


def _groups(report: Report, top: int | None) -> list[str]:
    cur, unit = report.pricing.currency, report.pricing.unit
    shown = report.rows if top is None else report.rows[:top]
    with_team = report.group_by != "team"  # grouped by team, the name is the team
    header = [
        report.group_by.capitalize(),
        *(["Team"] if with_team else []),
        "Tags",
        "Attributed",
        "Pulls/mo",
        f"Storage {cur}",
        f"Egress {cur}",
        f"Monthly {cur}",
    ]
    rows = [
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
    ]
    parts = [_table(f"By {report.group_by} ({len(shown)} of {len(report.rows)})", header, rows, 2 if with_team else 1)]
    if any(lower_bound(r.egress_cost, r.egress_partial) for r in shown):
        parts.append(f"<p>{_e(LOWER_BOUND_NOTE)}</p>")
    return parts


def _findings(report: Report) -> list[str]:
    return [
        f"<h2>{_e(title)}</h2><ul>" + "".join(f"<li>{_e(line)}</li>" for line in lines) + "</ul>"
        for title, lines in findings.sections(report)
    ]


def _expired(report: Report) -> list[str]:
    return [
        f"<h2>{_e(title)}</h2><ul>" + "".join(f"<li>{_e(line)}</li>" for line in lines) + "</ul>"
        for title, lines in findings.expired_sections(report)
    ]


def _comparison(report: Report) -> list[str]:
    if not report.comparison:
        return []
    months = report.totals.months
    entries = [(report.pricing, report.totals), *((c.pricing, c.totals) for c in report.comparison)]
    rows = [
        [
            f"{b.id} ({b.name})",
            b.currency,
            money(t.storage_cost),
            money(t.egress_cost) + ("" if t.egress_complete else " +"),
            money(t.monthly_cost) + ("" if t.egress_complete else " +"),
            money(t.horizon_cost),
        ]
        for b, t in entries
    ]
    header = ["Price book", "Currency", "Storage/mo", "Egress/mo", "Per month", f"{months} months"]
    parts = [_table("Price books compared", header, rows, 2)]
    if not all(t.egress_complete for _, t in entries):
        parts.append(f"<p>{_e(LOWER_BOUND_NOTE)}</p>")
    notes = [f"{c.pricing.id}: {a}" for c in report.comparison for a in (*c.assumptions, *c.warnings)]
    if notes:
        parts.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    return parts


def _scenarios(report: Report) -> list[str]:
    cur, unit, months = report.pricing.currency, report.pricing.unit, report.totals.months
    parts = []
    if report.scenarios:
        header = [
            "Scenario",
            "Description",
            f"Monthly {cur}",
            "Saves/mo",
            f"Saves {months} mo",
            "Savings",
            "Bytes freed",
            "Time saved/mo",
        ]
        rows = [
            [
                s.id,
                s.description,
                money(s.monthly_cost),
                money(s.monthly_savings),
                money(s.horizon_savings),
                percent(s.savings_pct),
                size(s.bytes_freed, unit),
                hours(s.transfer_hours_saved),
            ]
            for s in report.scenarios
        ]
        parts.append(_table("Savings projections", header, rows, 2))
        migration = bases.migration_lines(report)
        if migration:
            parts.append("<ul>" + "".join(f"<li>{_e(line)}</li>" for line in migration) + "</ul>")
    for scenario_id, dropped in report.dropped_version_sections():
        rows = [[v.repository, ", ".join(v.tags), created(v.created), size(v.exclusive_bytes, unit)] for v in dropped]
        parts.append(
            _table(
                f"Largest versions dropped by {scenario_id}", ["Repository", "Tags", "Created", "Exclusive"], rows, 3
            )
        )
    if report.bases:
        parts.append(_table(bases.TITLE, bases.HEADER, bases.cells(report), bases.NUMERIC_FROM))
        parts.append(f"<p>{_e(bases.explanation(report))}</p>")
    return parts


def _link(text: str) -> str:
    if text.startswith(("https://", "http://")):
        return f'<a href="{_e(text)}" rel="noreferrer">{_e(text)}</a>'
    return _e(text)


def _notes(report: Report) -> list[str]:
    notes = [*report.assumptions, *(scenario_note(s.id, a) for s in report.scenarios for a in s.assumptions)]
    parts = ["<h2>Assumptions</h2><ul>" + "".join(f"<li>{_e(a)}</li>" for a in notes) + "</ul>"]
    for book in priced_on(report):
        items = [f"<li>{_e(n)}</li>" for n in book.notes]
        items += [f"<li>Source: {_link(s)}</li>" for s in book.sources]
        parts.append(f"<h2>Price book {_e(book.id)}: notes and sources</h2><ul>{''.join(items)}</ul>")
    if report.warnings:
        parts.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{_e(w)}</li>" for w in report.warnings) + "</ul>")
    return parts


def render(report: Report, *, top: int | None = None) -> str:
    """REPORT as a standalone HTML document: headline, charts, then every table; TOP limits the group table."""
    pricing = report.pricing
    target = report_target(report)
    meta = [
        f"Scanned {when(report.scanned_at)}",
        f"generated {when(report.generated_at)} by costcalc {report.tool_version}",
        *(
            [f"{', '.join(b.registries)}: price book {fleet.book_line(b.pricing)}" for b in report.price_books]
            + [fleet.currency_line(report)]
            if fleet.several_books(report)
            else [
                f"price book {pricing.id} ({pricing.name}), effective {pricing.effective_date}, "
                f"{pricing.currency} per {pricing.unit}, dedup {pricing.dedup_scope}"
            ]
        ),
        f"usage: {report.usage_source or 'none (egress unknown)'}",
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        # the page fetches nothing: no script, font, image or style from anywhere
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
        f"<title>Registry cost: {_e(target)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Registry cost: {_e(target)}</h1>",
        '<p class="meta">' + "".join(f"<span>{_e(m)}</span>" for m in meta) + "</p>",
        _headline(report),
        _charts(report),
        _costs(report),
    ]
    if report.inventory is not None:
        inv, unit = report.inventory, pricing.unit
        parts.append(
            f"<p>Inventory: {count(inv.repositories)} repositories, {count(inv.tags)} tags, "
            f"{_e(size(inv.unique_bytes, unit))} unique (naive sum {_e(size(inv.naive_bytes, unit))}), "
            f"{_e(size(inv.shared_layer_bytes, unit))} in shared layers.</p>"
        )
    parts += [
        *(_section(section) for section in fleet.sections(report)),
        *_groups(report, top),
        *_findings(report),
        *_comparison(report),
        *_scenarios(report),
        *_expired(report),
        *_notes(report),
    ]
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p) + "\n"
