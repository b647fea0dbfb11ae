"""The Markdown report (for pull requests and wikis): summary, groups, scenarios, assumptions."""

from __future__ import annotations

import re
from decimal import Decimal

from costcalc.render import bases, findings, fleet
from costcalc.render.display import (
    LOWER_BOUND_NOTE,
    TOP_VERSIONS,
    book_notes,
    count,
    created,
    growth_line,
    hours,
    lower_bound,
    money,
    monthly,
    percent,
    report_target,
    safe,
    scenario_note,
    size,
    units,
)
from costcalc.report import Report

# Characters that start emphasis, code, links, HTML or a table cell; `(` only matters after `]`.
_SPECIAL_RE = re.compile(r"([\\`*_\[\]<>|~])")


def cell(text: str) -> str:
    """TEXT safe inside a Markdown table cell: control characters shown, markup characters escaped."""
    return _SPECIAL_RE.sub(r"\\\1", safe(text))


def _books_header(report: Report) -> str:
    """The price book sentence; with several books, each book with the registries it prices."""
    pricing = report.pricing
    if not fleet.several_books(report):
        return (
            f"Price book **{cell(pricing.id)}** ({cell(pricing.name)}), effective {pricing.effective_date}, "
            f"{pricing.currency} per {pricing.unit}, dedup {pricing.dedup_scope}."
        )
    books = "; ".join(
        f"{cell(', '.join(book.registries))} on **{cell(book.pricing.id)}** ({cell(book.pricing.name)}), "
        f"effective {book.pricing.effective_date}, per {book.pricing.unit}, dedup {cell(book.pricing.dedup_scope)}"
        for book in report.price_books
    )
    return f"Price books: {books}. Currency: {cell(fleet.currency_line(report))}."


def _section(section: fleet.Section) -> list[str]:
    """A fleet section as a Markdown table, its total line in bold, then its notes."""
    align = ["---" if i < section.numeric_from else "---:" for i in range(len(section.header))]
    lines = [f"## {cell(section.title)}", "", f"| {' | '.join(cell(h) for h in section.header)} |"]
    lines += [f"| {' | '.join(align)} |"]
    lines += [f"| {' | '.join(cell(c) for c in row)} |" for row in section.rows]
    if section.total is not None:
        lines.append(f"| {' | '.join(f'**{cell(c)}**' if c else '' for c in section.total)} |")
    if section.notes:
        lines += [""] + [f"- {cell(note)}" for note in section.notes]
    return [*lines, ""]


def render(report: Report, *, top: int | None = None) -> str:
    """REPORT as GitHub-flavoured Markdown; TOP limits the group table."""
    pricing, totals, cur, unit = (
        report.pricing,
        report.totals,
        report.pricing.currency,
        report.pricing.unit,
    )
    target = report_target(report)
    lines = [
        f"# Registry cost: {cell(target)}",
        "",
        f"{_books_header(report)} "
        f"Usage: {cell(report.usage_source) if report.usage_source else 'none (egress unknown)'}.",
        "",
        "| | Quantity | " + cur + " |",
        "| --- | ---: | ---: |",
        f"| Storage | {units(totals.billable_storage_gb, unit)} | {money(totals.storage_cost)} |",
    ]
    for egress_class, cost in totals.egress_cost_by_class.items():
        lines.append(
            f"| Egress {cell(egress_class)} | {units(totals.egress_gb_by_class[egress_class], unit)} | {money(cost)} |"
        )
    label = "Egress" if totals.egress_complete else "Egress (lower bound)"
    lines += [
        f"| {label} | {units(sum(totals.egress_gb_by_class.values(), Decimal(0)), unit)} "
        f"| {money(totals.egress_cost)} |",
        f"| **Total per month** | | **{money(totals.monthly_cost)}** |",
        f"| **Total for {totals.months} months** | | **{money(totals.horizon_cost)}** |",
        "",
    ]
    if (growth := growth_line(report)) is not None:
        lines += [growth, ""]
    if report.inventory is not None:
        inv = report.inventory
        lines += [
            f"Inventory: {count(inv.repositories)} repositories, {count(inv.tags)} tags, "
            f"{size(inv.unique_bytes, unit)} unique (naive sum {size(inv.naive_bytes, unit)}), "
            f"{size(inv.shared_layer_bytes, unit)} in shared layers.",
            "",
        ]
    for fleet_section in fleet.sections(report):
        lines += _section(fleet_section)
    shown = report.rows if top is None else report.rows[:top]
    with_team = report.group_by != "team"  # grouped by team, the name is the team
    lines += [
        f"## By {report.group_by} ({len(shown)} of {len(report.rows)})",
        "",
        f"| {report.group_by.capitalize()} |{' Team |' if with_team else ''} Tags | Attributed | Pulls/mo "
        f"| Storage {cur} | Egress {cur} | Monthly {cur} |",
        f"| --- |{' --- |' if with_team else ''} ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in shown:
        team = f" {cell(row.team or '')} |" if with_team else ""
        lines.append(
            f"| {cell(row.name)} |{team} {count(row.tags)} | {size(row.attributed_bytes, unit)} "
            f"| {count(row.pulls_per_month)} | {money(row.storage_cost)} "
            f"| {money(row.egress_cost)}{' +' if row.egress_partial else ''} "
            f"| {monthly(row.monthly_cost, row.egress_cost, row.egress_partial)} |"
        )
    if any(lower_bound(row.egress_cost, row.egress_partial) for row in shown):
        lines += ["", cell(LOWER_BOUND_NOTE)]
    for title, section in findings.sections(report):
        lines += ["", f"## {title}", ""] + [f"- {cell(line)}" for line in section]
    if report.comparison:
        lines += [
            "",
            "## Price books compared",
            "",
            f"| Price book | Per month | {totals.months} months |",
            "| --- | ---: | ---: |",
        ]
        for book, book_totals in [
            (pricing, totals),
            *((c.pricing, c.totals) for c in report.comparison),
        ]:
            bound = "" if book_totals.egress_complete else " +"
            lines.append(
                f"| {cell(book.id)} ({book.currency}) | {money(book_totals.monthly_cost)}{bound} "
                f"| {money(book_totals.horizon_cost)}{bound} |"
            )
        if not all(c.totals.egress_complete for c in report.comparison) or not totals.egress_complete:
            lines += ["", cell(LOWER_BOUND_NOTE)]
    if report.scenarios:
        lines += [
            "",
            "## Savings projections",
            "",
            f"| Scenario | Monthly {cur} | Saves/mo | Saves {totals.months} mo | Savings | Bytes freed "
            "| Time saved/mo |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for s in report.scenarios:
            lines.append(
                f"| {cell(s.id)} | {money(s.monthly_cost)} | {money(s.monthly_savings)} "
                f"| {money(s.horizon_savings)} | {percent(s.savings_pct)} | {size(s.bytes_freed, unit)} "
                f"| {hours(s.transfer_hours_saved)} |"
            )
        lines += [""] + [f"- {cell(s.id)}: {cell(s.description)}" for s in report.scenarios]
        lines += [f"- {cell(scenario_note(s.id, a))}" for s in report.scenarios for a in s.assumptions]
        lines += [f"- {cell(line)}" for line in bases.migration_lines(report)]
        for scenario_id, dropped in report.dropped_version_sections():
            lines += [
                "",
                f"### Largest versions dropped by {cell(scenario_id)}",
                "",
                "| Repository | Tags | Created | Exclusive |",
                "| --- | --- | --- | ---: |",
            ]
            lines += [
                f"| {cell(v.repository)} | {cell(', '.join(v.tags))} | {created(v.created)} "
                f"| {size(v.exclusive_bytes, unit)} |"
                for v in dropped[:TOP_VERSIONS]
            ]
            if len(dropped) > TOP_VERSIONS:
                lines += ["", f"{len(dropped) - TOP_VERSIONS} more in JSON output."]
        for title, section in findings.expired_sections(report):
            lines += ["", f"### {title}", ""] + [f"- {cell(line)}" for line in section]
    if report.bases:
        align = ["---" if i < bases.NUMERIC_FROM else "---:" for i in range(len(bases.HEADER))]
        lines += ["", f"## {bases.TITLE}", "", f"| {' | '.join(bases.HEADER)} |", f"| {' | '.join(align)} |"]
        lines += [f"| {' | '.join(cell(c) for c in row)} |" for row in bases.cells(report)]
        lines += ["", cell(bases.explanation(report))]
    lines += ["", "## Assumptions", ""] + [f"- {cell(a)}" for a in report.assumptions]
    lines += [f"- {cell(line)}" for line in fleet.sources_lines(report)]
    caveats = book_notes(report)
    if caveats:
        lines += ["", "## Price book caveats", ""] + [f"- {cell(note)}" for note in caveats]
    if report.warnings:
        lines += ["", "## Warnings", ""] + [f"- {cell(w)}" for w in report.warnings]
    return "\n".join(lines) + "\n"
