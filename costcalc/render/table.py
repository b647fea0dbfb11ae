"""The table report for people (rich): header, inventory, costs, top groups, scenarios, assumptions."""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from costcalc.render import DEFAULT_WIDTH, bases, findings, fleet
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
    percent,
    report_target,
    safe,
    scenario_note,
    size,
    units,
    when,
)
from costcalc.render.fit import group_table, left_out_note, section_table
from costcalc.report import Report, VersionBytes
from costcalc.units import round_half_up


def _grid(pairs: list[tuple[str, str]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for label, value in pairs:
        grid.add_row(Text(label), Text(value))
    return grid


def _bullets(items: Sequence[str]) -> Table:
    """A hanging-indent bullet list: wrapped lines stay under their text."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for item in items:
        grid.add_row(Text("-"), Text(safe(item)))
    return grid


def _heading(text: str) -> Text:
    return Text(f"\n{text}", style="bold underline")


def _dropped_versions(scenario_id: str, dropped: tuple[VersionBytes, ...], unit: str) -> list[RenderableType]:
    """The TOP_VERSIONS largest versions a scenario drops, by exclusive bytes."""
    versions = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    versions.add_column("Repository", overflow="fold", ratio=2)
    versions.add_column("Tags", overflow="fold", ratio=2)
    versions.add_column("Created", no_wrap=True)
    versions.add_column("Exclusive", justify="right", no_wrap=True)
    for version in dropped[:TOP_VERSIONS]:
        versions.add_row(
            Text(safe(version.repository)),
            Text(safe(", ".join(version.tags))),
            Text(created(version.created)),
            Text(size(version.exclusive_bytes, unit)),
        )
    parts: list[RenderableType] = [
        _heading(f"Largest versions dropped by {safe(scenario_id)}"),
        versions,
    ]
    if len(dropped) > TOP_VERSIONS:
        parts.append(Text(f"{len(dropped) - TOP_VERSIONS} more in JSON output."))
    return parts


def render(
    report: Report,
    *,
    width: int | None = DEFAULT_WIDTH,
    color: bool = False,
    top: int | None = None,
) -> str:
    """REPORT as text tables WIDTH columns wide, with ANSI colour only when COLOR; TOP groups shown."""
    out = io.StringIO()
    console = Console(
        file=out,
        width=width or DEFAULT_WIDTH,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
        markup=False,
        legacy_windows=False,
        soft_wrap=False,
    )
    for part in _parts(report, top, width or DEFAULT_WIDTH):
        console.print(part)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"


def _book_header(report: Report) -> list[tuple[str, str]]:
    """The header's price book line; with several books, one line per book and the currency apart."""
    books = fleet.header_books(report)
    if books:
        return [("Price books", "\n".join(safe(line) for line in books)), ("Currency", fleet.currency_line(report))]
    pricing = report.pricing
    return [
        (
            "Price book",
            f"{safe(pricing.id)} ({safe(pricing.name)}), effective {pricing.effective_date}, "
            f"{pricing.currency}, unit {pricing.unit}, dedup {pricing.dedup_scope}",
        )
    ]


def _fleet_section(section: fleet.Section, width: int) -> list[RenderableType]:
    """A fleet section fitted to WIDTH: its table, the total line set apart, then its notes."""
    table, left_out = section_table(section, width)
    parts: list[RenderableType] = [_heading(section.title), table]
    if left_out:
        parts.append(left_out_note(left_out, width))
    if section.notes:
        parts.append(_bullets(list(section.notes)))
    return parts


def _headline(report: Report) -> str:
    """The totals in one line, so that they are on the first screen before the long tables."""
    totals, cur = report.totals, report.pricing.currency
    bound = "" if totals.egress_complete else " (lower bound: egress unknown for some repositories)"
    return (
        f"{money(totals.monthly_cost)} {cur} per month, {money(totals.horizon_cost)} {cur} "
        f"for {totals.months} months{bound}"
    )


def _parts(report: Report, top: int | None, width: int) -> list[RenderableType]:
    pricing, totals, cur, unit = (
        report.pricing,
        report.totals,
        report.pricing.currency,
        report.pricing.unit,
    )
    target = report_target(report)
    parts: list[RenderableType] = [
        Text(f"costcalc report: {safe(target)}", style="bold"),
        _grid(
            [
                ("Source", safe(report.source) or "-"),
                ("Scanned", when(report.scanned_at)),
                *_book_header(report),
                (
                    "Usage",
                    safe(report.usage_source) if report.usage_source else "none (egress unknown)",
                ),
                ("Grouped by", report.group_by),
                ("Total", _headline(report)),
                *((("Growth", line),) if (line := growth_line(report)) else ()),
            ]
        ),
    ]
    if report.inventory is not None:
        inv = report.inventory
        parts += [
            _heading("Inventory"),
            _grid(
                [
                    ("Repositories", count(inv.repositories)),
                    ("Tags", count(inv.tags)),
                    ("Manifests / blobs", f"{count(inv.manifests)} / {count(inv.blobs)}"),
                    (
                        "Unique bytes",
                        f"{size(inv.unique_bytes, unit)} (naive sum of tags: {size(inv.naive_bytes, unit)})",
                    ),
                    ("Per-repository", size(inv.per_repository_unique_bytes, unit)),
                    ("Shared layers", size(inv.shared_layer_bytes, unit)),
                ]
            ),
        ]
    egress_label = "Egress" if totals.egress_complete else "Egress (lower bound)"
    costs = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    costs.add_column("Monthly cost")
    costs.add_column("Quantity", justify="right")
    costs.add_column(cur, justify="right")
    costs.add_row(
        Text("Storage"),
        Text(units(totals.billable_storage_gb, unit)),
        Text(money(totals.storage_cost)),
    )
    for egress_class, cost in totals.egress_cost_by_class.items():
        costs.add_row(
            Text(f"  egress {safe(egress_class)}"),
            Text(units(totals.egress_gb_by_class[egress_class], unit)),
            Text(money(cost)),
        )
    egress_units = sum(totals.egress_gb_by_class.values(), Decimal(0))
    costs.add_row(Text(egress_label), Text(units(egress_units, unit)), Text(money(totals.egress_cost)))
    costs.add_section()
    costs.add_row(
        Text("Total per month", style="bold"),
        Text(""),
        Text(money(totals.monthly_cost), style="bold"),
    )
    costs.add_row(
        Text(f"Total for {totals.months} months", style="bold"),
        Text(""),
        Text(money(totals.horizon_cost), style="bold"),
    )
    parts += [_heading("Costs"), costs]
    for section in fleet.sections(report):
        parts += _fleet_section(section, width)

    shown = report.rows if top is None else report.rows[:top]
    title = {"repository": "Repository", "team": "Team", "namespace": "Namespace", "registry": "Registry"}[
        report.group_by
    ]
    # grouped by team, the name is the team
    rows, left_out = group_table(shown, title=title, with_team=report.group_by != "team", unit=unit, width=width)
    heading = (
        f"Top {len(shown)} of {len(report.rows)} by monthly cost"
        if len(shown) < len(report.rows)
        else f"All {len(report.rows)} by monthly cost"
    )
    parts += [_heading(f"{title} costs, {cur} per month ({heading})"), rows]
    if left_out:
        parts.append(left_out_note(left_out, width))
    if any(lower_bound(row.egress_cost, row.egress_partial) for row in shown):
        parts.append(Text(LOWER_BOUND_NOTE))
    displayed = sum((round_half_up(row.monthly_cost, 2) for row in report.rows), Decimal(0))
    if displayed != round_half_up(totals.monthly_cost, 2):
        # a footnote, not an adjustment: the exact values do add up (koku-ui #216)
        parts.append(Text("Rows are rounded one by one: their displayed sum may differ from the total by a few cents."))

    for title, lines in findings.sections(report):
        parts += [_heading(title), _bullets(lines)]

    if report.comparison:
        compare = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for name in (
            "Price book",
            "Effective",
            "Storage",
            "Egress",
            "Per month",
            f"{totals.months} months",
        ):
            compare.add_column(name, justify="left" if name in ("Price book", "Effective") else "right")
        for book, book_totals in [
            (pricing, totals),
            *((c.pricing, c.totals) for c in report.comparison),
        ]:
            compare.add_row(
                Text(f"{safe(book.id)} ({book.currency})"),
                Text(str(book.effective_date)),
                Text(money(book_totals.storage_cost)),
                Text(money(book_totals.egress_cost) + ("" if book_totals.egress_complete else " +")),
                Text(money(book_totals.monthly_cost)),
                Text(money(book_totals.horizon_cost)),
            )
        parts += [_heading("Price books compared"), compare]
        notes = [f"{c.pricing.id}: {note}" for c in report.comparison for note in (*c.assumptions, *c.warnings)]
        if notes:
            parts.append(_bullets(notes))

    if report.scenarios:
        savings = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        savings.add_column("Scenario", overflow="fold", ratio=2)
        savings.add_column("Description", overflow="fold", ratio=3)
        for name in (
            f"Monthly {cur}",
            f"Saves/mo {cur}",
            f"Saves {totals.months} mo {cur}",
            "Savings",
            "Bytes freed",
            "Time saved/mo",
        ):
            savings.add_column(name, justify="right", no_wrap=True)
        for scenario in report.scenarios:
            savings.add_row(
                Text(safe(scenario.id)),
                Text(safe(scenario.description)),
                Text(money(scenario.monthly_cost)),
                Text(money(scenario.monthly_savings)),
                Text(money(scenario.horizon_savings)),
                Text(percent(scenario.savings_pct)),
                Text(size(scenario.bytes_freed, unit)),
                Text(hours(scenario.transfer_hours_saved)),
            )
        parts += [_heading("Savings projections"), savings]
        scenario_notes = [scenario_note(s.id, a) for s in report.scenarios for a in s.assumptions]
        parts.append(_bullets([*scenario_notes, *bases.migration_lines(report)]))
        for scenario_id, dropped in report.dropped_version_sections():
            parts += _dropped_versions(scenario_id, dropped, unit)
        for title, lines in findings.expired_sections(report):
            parts += [_heading(title), _bullets(lines)]

    if report.bases:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for index, name in enumerate(bases.HEADER):
            numeric = index >= bases.NUMERIC_FROM
            table.add_column(
                name,
                justify="right" if numeric else "left",
                no_wrap=numeric,
                overflow="fold",
                min_width=30 if index == 0 else None,
            )
        for cells in bases.cells(report):
            table.add_row(*(Text(c) for c in cells))
        parts += [_heading(bases.TITLE), table, _bullets([bases.explanation(report)])]

    parts += [_heading("Assumptions"), _bullets([*report.assumptions, *fleet.sources_lines(report)])]
    caveats = book_notes(report)
    if caveats:
        parts += [_heading("Price book caveats"), _bullets(caveats)]
    if report.warnings:
        parts += [_heading("Warnings"), _bullets(report.warnings)]
    return parts
