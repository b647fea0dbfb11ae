"""The xlsx report: a workbook with numbers, number formats, SUM formulas and native charts."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from typing import Any

from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from costcalc.render import fleet
from costcalc.render.display import integer, notes_of, report_target
from costcalc.render.workbook import Book, Column, bar_chart, cells, headers, naive_utc, number, sum_row, text
from costcalc.render.xlsx_bases import bases_sheet
from costcalc.render.xlsx_fleet import fleet_sheet
from costcalc.render.xlsx_monthly import horizon_cell, monthly_sheet
from costcalc.report import NO_TEAM, Report, ReportRow
from costcalc.units import BYTES_PER_UNIT, to_units, whole_parts

CHART_ROWS = 20  # bars a chart shows: the largest groups (rows are sorted by cost, largest first)
_GROUP_SHEETS = {"repository": "Repositories", "team": "Teams", "namespace": "Namespaces", "registry": "Registries"}
_TEXT_WIDTH = 100


def _group_sheet(book: Book, report: Report) -> tuple[str, int, int]:
    """The report's rows with a total row; returns the sheet name, the total row and the money column."""
    name = _GROUP_SHEETS[report.group_by]
    sheet = book.workbook.add_worksheet(name)
    unit = report.pricing.unit
    with_team = report.group_by != "team"
    columns = [
        Column(report.group_by.capitalize(), "text", 36),
        *([Column("Team", "text", 16)] if with_team else []),
        Column("Repositories", "count", 12),
        Column("Tags", "count", 8),
        Column("Unique bytes", "bytes", 18),
        Column("Attributed bytes", "bytes", 18),
        Column(f"Attributed {unit}", "units", 14),
        Column("Pulls per month", "count", 12),
        Column("Egress bytes per month", "bytes", 18),
        Column("Storage cost per month", "money", 16),
        Column("Egress cost per month", "money", 16),
        Column("Monthly cost", "money", 16),
        Column("Egress unknown for some repositories", "flag", 14),
    ]
    headers(book, sheet, columns)
    rows = report.rows
    attributed = whole_parts([r.attributed_bytes for r in rows])
    egress = whole_parts([r.egress_bytes for r in rows])
    per_unit = BYTES_PER_UNIT[unit]
    offset = 1 if with_team else 0
    # a repository without a team is `(no team)`; a namespace of several teams has none to show
    no_team = NO_TEAM if report.group_by == "repository" else None
    units_col = 5 + offset
    for index, r in enumerate(rows, start=1):
        values: list[object] = [
            r.name,
            *([r.team or no_team] if with_team else []),
            len(r.repositories),
            r.tags,
            r.unique_bytes,
            attributed[index - 1],
            None,  # a formula, written below
            r.pulls_per_month,
            egress[index - 1],
            r.storage_cost,
            r.egress_cost,
            r.monthly_cost,
            r.egress_cost is None or r.egress_partial,
        ]
        cells(book, sheet, index, columns, values)
        bytes_cell = xl_rowcol_to_cell(index, units_col - 1)
        shown = float(to_units(attributed[index - 1] or 0, unit))
        sheet.write_formula(index, units_col, f"={bytes_cell}/{per_unit}", book.formats["units"], shown)
    total_row = len(rows) + 1
    known_pulls = [r.pulls_per_month for r in rows if r.pulls_per_month is not None]
    cached: dict[int, Decimal | int] = {
        1 + offset: sum(len(r.repositories) for r in rows),
        2 + offset: sum(r.tags for r in rows),
        3 + offset: sum(r.unique_bytes for r in rows),
        4 + offset: sum(v or 0 for v in attributed),
        5 + offset: to_units(integer(report.totals.storage_bytes), unit),
        6 + offset: sum(known_pulls, Decimal(0)),
        7 + offset: sum(v or 0 for v in egress),
        8 + offset: report.totals.storage_cost,
        9 + offset: report.totals.egress_cost,
        10 + offset: report.totals.monthly_cost,
    }
    sum_row(book, sheet, total_row, 1, columns, cached)
    sheet.autofilter(0, 0, total_row - 1, len(columns) - 1)
    return name, total_row, 10 + offset


def _teams_sheet(book: Book, report: Report, group_sheet: str) -> int:
    """Per team, SUMPRODUCT formulas over the repository sheet; rows written.

    Teams are matched with EXACT: Excel's `=` ignores case, and "Web" and "web" are two teams.
    """
    sheet = book.workbook.add_worksheet("Teams")
    columns = [
        Column("Team", "text", 24),
        Column("Tags", "count", 8),
        Column("Storage cost per month", "money", 16),
        Column("Egress cost per month", "money", 16),
        Column("Monthly cost", "money", 16),
    ]
    headers(book, sheet, columns)
    by_team: dict[str, list[ReportRow]] = {}
    for row in report.rows:
        by_team.setdefault(row.team or NO_TEAM, []).append(row)
    teams = sorted(by_team)
    last = len(report.rows)
    # columns of the repository sheet: name, team, repositories, tags, ..., storage, egress, monthly
    sources = {1: 3, 2: 9, 3: 10, 4: 11}
    for index, team in enumerate(teams, start=1):
        text(sheet, index, 0, team)
        members = by_team[team]
        values: dict[int, Decimal | int] = {
            1: sum(r.tags for r in members),
            2: sum((r.storage_cost for r in members), Decimal(0)),
            3: sum((r.egress_cost or Decimal(0) for r in members), Decimal(0)),
            4: sum((r.monthly_cost for r in members), Decimal(0)),
        }
        key = f"'{group_sheet}'!$B$2:$B${last + 1}"
        for col, source in sources.items():
            letter = xl_col_to_name(source)
            span = f"'{group_sheet}'!${letter}$2:${letter}${last + 1}"
            formula = f"=SUMPRODUCT(--EXACT({key},$A{index + 1}),{span})"
            sheet.write_formula(index, col, formula, book.formats[columns[col].kind], number(values[col]))
    totals = report.totals
    cached: dict[int, Decimal | int] = {
        1: sum(r.tags for r in report.rows),
        2: totals.storage_cost,
        3: totals.egress_cost,
        4: totals.monthly_cost,
    }
    sum_row(book, sheet, len(teams) + 1, 1, columns, cached)
    return len(teams)


def _scenarios_sheet(book: Book, report: Report) -> None:
    sheet = book.workbook.add_worksheet("Scenarios")
    months = report.totals.months
    columns = [
        Column("Scenario", "text", 18),
        Column("Description", "text", 48),
        Column("Price book", "text", 16),
        Column("Baseline monthly cost", "money", 16),
        Column("Monthly cost", "money", 16),
        Column("Monthly savings", "money", 16),
        Column(f"Savings over {months} months", "money", 16),
        Column("Savings", "percent", 10),
        Column("Bytes freed", "bytes", 18),
    ]
    headers(book, sheet, columns)
    for index, s in enumerate(report.scenarios, start=1):
        values: list[object] = [
            s.id,
            s.description,
            s.pricing_id,
            s.baseline_monthly_cost,
            s.monthly_cost,
            s.monthly_savings,
            s.horizon_savings,
            s.savings_pct,
            integer(s.bytes_freed),
        ]
        cells(book, sheet, index, columns, values)


def _books_sheet(book: Book, report: Report) -> None:
    sheet = book.workbook.add_worksheet("Price books compared")
    columns = [
        Column("Price book", "text", 22),
        Column("Name", "text", 32),
        Column("Provider", "text", 12),
        Column("Region", "text", 14),
        Column("Currency", "text", 9),
        Column("Unit", "text", 6),
        Column("Dedup scope", "text", 12),
        Column("Effective", "text", 11),
        Column("Storage cost per month", "money", 16),
        Column("Egress cost per month", "money", 16),
        Column("Egress complete", "flag", 10),
        Column("Monthly cost", "money", 16),
        Column("Months", "count", 8),
        Column("Horizon cost", "money", 16),
    ]
    headers(book, sheet, columns)
    entries = [(report.pricing, report.totals), *((c.pricing, c.totals) for c in report.comparison)]
    for index, (pricing, totals) in enumerate(entries, start=1):
        money = book.money_format(pricing.currency)
        for col, value in enumerate(
            (pricing.id, pricing.name, pricing.provider, pricing.region, pricing.currency, pricing.unit)
        ):
            text(sheet, index, col, value)
        text(sheet, index, 6, pricing.dedup_scope)
        sheet.write_datetime(index, 7, datetime.combine(pricing.effective_date, datetime.min.time()), book.day)
        sheet.write_number(index, 8, float(totals.storage_cost), money)
        sheet.write_number(index, 9, float(totals.egress_cost), money)
        sheet.write_boolean(index, 10, totals.egress_complete)
        sheet.write_number(index, 11, float(totals.monthly_cost), money)
        sheet.write_number(index, 12, totals.months)
        # the months grow: the horizon is their sum (the Monthly sheet's total), not monthly x months
        sheet.write_number(index, 13, float(totals.horizon_cost), money)


def _notes_sheet(book: Book, report: Report) -> None:
    sheet = book.workbook.add_worksheet("Assumptions & sources")
    columns = [Column("Kind", "text", 16), Column("Applies to", "text", 18), Column("Text", "text", _TEXT_WIDTH)]
    headers(book, sheet, columns)
    for index, note in enumerate(notes_of(report), start=1):
        cells(book, sheet, index, columns, list(note))


def _book_facts(report: Report) -> list[tuple[str, object]]:
    """The Summary's price book lines; with several books, each with its registries and date."""
    pricing = report.pricing
    if not fleet.several_books(report):
        return [
            ("Price book", f"{pricing.id} ({pricing.name})"),
            ("Price book effective", pricing.effective_date.isoformat()),
            ("Currency and unit", f"{pricing.currency} per {pricing.unit}, dedup {pricing.dedup_scope}"),
        ]
    return [
        *((f"Price book of {', '.join(b.registries)}", fleet.book_line(b.pricing)) for b in report.price_books),
        ("Currency and unit", fleet.currency_line(report)),
    ]


def _summary_sheet(book: Book, report: Report, monthly_cell: str) -> Any:
    """The headline figures; MONTHLY_CELL is the group sheet's total, which the summary refers to."""
    sheet = book.workbook.add_worksheet("Summary")
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 1, 44)
    totals = report.totals
    target = report_target(report)
    text(sheet, 0, 0, f"Registry cost: {target}", book.title)
    facts: list[tuple[str, object]] = [
        ("Registry", report.registry),
        ("Namespace", report.namespace or "(registry root)"),
        ("Source", report.source),
        ("Scanned at (UTC)", report.scanned_at),
        ("Generated at (UTC)", report.generated_at),
        *_book_facts(report),
        ("Usage", report.usage_source or "none (egress unknown)"),
        ("Tool version", report.tool_version),
    ]
    row = 2
    for label, value in facts:
        text(sheet, row, 0, label, book.bold)
        if isinstance(value, datetime):
            sheet.write_datetime(row, 1, naive_utc(value), book.date)
        elif value is None:
            text(sheet, row, 1, "unknown")
        else:
            text(sheet, row, 1, str(value))
        row += 1
    row += 1
    money = book.formats["money"]
    text(sheet, row, 0, "Monthly cost", book.bold)
    sheet.write_formula(row, 1, f"={monthly_cell}", book.totals["money"], float(totals.monthly_cost))
    monthly_row = row
    row += 1
    text(sheet, row, 0, "Months in the horizon", book.bold)
    sheet.write_number(row, 1, totals.months)
    row += 1
    text(sheet, row, 0, f"Cost over {totals.months} months", book.bold)
    horizon = horizon_cell(report)
    formula = f"={horizon}" if horizon else f"={xl_rowcol_to_cell(monthly_row, 1)}*{xl_rowcol_to_cell(row - 1, 1)}"
    sheet.write_formula(row, 1, formula, book.totals["money"], float(totals.horizon_cost))
    row += 1
    for label, amount in (("Storage per month", totals.storage_cost), ("Egress per month", totals.egress_cost)):
        text(sheet, row, 0, label, book.bold)
        sheet.write_number(row, 1, float(amount), money)
        row += 1
    if not totals.egress_complete:
        text(sheet, row, 0, "Egress is a lower bound: some repositories have no pull data.")
        row += 1
    if report.scenarios:
        row += 1
        for col, header in enumerate(("Scenario", "Monthly savings", f"Savings over {totals.months} months")):
            text(sheet, row, col, header, book.header)
        sheet.set_column(2, 2, 18)
        for s in report.scenarios:
            row += 1
            text(sheet, row, 0, s.id)
            sheet.write_number(row, 1, float(s.monthly_savings), money)
            sheet.write_number(row, 2, float(s.horizon_savings), money)
    return sheet


def render(report: Report) -> bytes:
    """REPORT as an .xlsx workbook: Summary, Fleet (a fleet only), groups, Teams, Scenarios, Monthly, Base
    images, Price books, Assumptions & sources."""
    buffer = io.BytesIO()
    book = Book(buffer, report.pricing.currency, report.pricing.unit, report.generated_at)
    group_name = _GROUP_SHEETS[report.group_by]
    # Summary is the first sheet but refers to the group sheet's total: its cell is known in advance
    monthly_col = 11 if report.group_by != "team" else 10
    monthly_cell = f"'{group_name}'!{xl_rowcol_to_cell(len(report.rows) + 1, monthly_col, True, True)}"
    summary = _summary_sheet(book, report, monthly_cell)
    fleet_sheet(book, report)
    name, _, money_col = _group_sheet(book, report)
    assert money_col == monthly_col
    cur = report.pricing.currency
    if report.group_by == "repository" and any(r.team for r in report.rows):
        teams = _teams_sheet(book, report, name)
        summary.insert_chart(2, 3, bar_chart(book, "Monthly cost by team", "Teams", teams, 4, cur))
    elif report.rows:
        shown = min(len(report.rows), CHART_ROWS)
        title = f"Monthly cost by {report.group_by}" + (f" (largest {shown})" if shown < len(report.rows) else "")
        summary.insert_chart(2, 3, bar_chart(book, title, name, shown, money_col, cur))
    if report.scenarios:
        _scenarios_sheet(book, report)
        savings = bar_chart(book, "Monthly savings by scenario", "Scenarios", len(report.scenarios), 5, cur)
        summary.insert_chart(2, 13, savings)
    monthly_sheet(book, report)
    bases_sheet(book, report)
    _books_sheet(book, report)
    _notes_sheet(book, report)
    book.workbook.close()
    return buffer.getvalue()
