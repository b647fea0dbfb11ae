"""The xlsx report: a workbook with numbers, number formats, SUM formulas and native charts."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from costcalc.pricing.book import BYTES_PER_UNIT
from costcalc.render.display import integer, safe, scenario_note, whole_parts
from costcalc.report.build import NO_TEAM, Report

CHART_ROWS = 20  # bars a chart shows: the largest groups (rows are sorted by cost, largest first)
_GROUP_SHEETS = {"repository": "Repositories", "team": "Teams", "namespace": "Namespaces"}
_TEXT_WIDTH = 100


@dataclass(frozen=True, slots=True)
class _Column:
    header: str
    kind: str  # text, count, bytes, units, money, flag
    width: int = 14


class _Book:
    """The workbook under construction and its cell formats."""

    def __init__(self, buffer: io.BytesIO, currency: str, unit: str, created: datetime | None) -> None:
        # strings are never read as formulas or links: names come from registries and usage files
        self.workbook = xlsxwriter.Workbook(
            buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
        )
        if created is not None:  # the same report gives the same file
            self.workbook.set_properties({"created": _naive_utc(created)})
        add = self.workbook.add_format
        self.bold = add({"bold": True})
        self.title = add({"bold": True, "font_size": 14})
        self.header = add({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"})
        self.wrap = add({"text_wrap": True, "valign": "top"})
        self.date = add({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.day = add({"num_format": "yyyy-mm-dd"})
        quoted = currency.replace('"', "")
        self.formats = {
            "count": add({"num_format": "#,##0.##"}),
            "bytes": add({"num_format": '#,##0 "B"'}),
            "units": add({"num_format": f'#,##0.00 "{unit}"'}),
            "money": add({"num_format": f'#,##0.00 "{quoted}"'}),
            "percent": add({"num_format": '0.0 "%"'}),
        }
        self.totals = {
            kind: add({"num_format": f.num_format, "bold": True, "top": 1}) for kind, f in self.formats.items()
        }
        self.total_label = add({"bold": True, "top": 1})

    def money_format(self, currency: str) -> Any:
        return self.workbook.add_format({"num_format": f'#,##0.00 "{currency.replace(chr(34), "")}"'})


def _naive_utc(value: datetime) -> datetime:
    """Excel has no time zones: times are written in UTC and labelled so."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def _number(value: Decimal | int) -> float | int:
    return value if isinstance(value, int) else float(value)


def _text(sheet: Any, row: int, col: int, value: str, fmt: Any = None) -> None:
    sheet.write_string(row, col, safe(value), fmt)


def _headers(book: _Book, sheet: Any, columns: list[_Column]) -> None:
    for col, column in enumerate(columns):
        sheet.write_string(0, col, column.header, book.header)
        sheet.set_column(col, col, column.width)
    sheet.freeze_panes(1, 1)


def _cells(book: _Book, sheet: Any, row: int, columns: list[_Column], values: list[object]) -> None:
    for col, (column, value) in enumerate(zip(columns, values, strict=True)):
        if value is None:
            sheet.write_blank(row, col, None)
        elif column.kind == "flag":
            sheet.write_boolean(row, col, bool(value))
        elif isinstance(value, str):
            _text(sheet, row, col, value, book.wrap if column.kind == "text" and column.width >= 40 else None)
        else:
            assert isinstance(value, Decimal | int)
            sheet.write_number(row, col, _number(value), book.formats.get(column.kind))


def _sum_row(
    book: _Book, sheet: Any, row: int, first: int, columns: list[_Column], cached: dict[int, Decimal | int]
) -> None:
    """A bold total row: `=SUM(...)` over rows FIRST..ROW-1 of each column in CACHED, with its value."""
    sheet.write_string(row, 0, "Total", book.total_label)
    for col in range(1, len(columns)):
        if col in cached:
            span = f"{xl_rowcol_to_cell(first, col)}:{xl_rowcol_to_cell(row - 1, col)}"
            value = _number(cached[col])
            sheet.write_formula(row, col, f"=SUM({span})", book.totals[columns[col].kind], value)
        else:
            sheet.write_blank(row, col, None, book.total_label)


def _group_sheet(book: _Book, report: Report) -> tuple[str, int, int]:
    """The report's rows with a total row; returns the sheet name, the total row and the money column."""
    name = _GROUP_SHEETS[report.group_by]
    sheet = book.workbook.add_worksheet(name)
    unit = report.pricing.unit
    with_team = report.group_by != "team"
    columns = [
        _Column(report.group_by.capitalize(), "text", 36),
        *([_Column("Team", "text", 16)] if with_team else []),
        _Column("Repositories", "count", 12),
        _Column("Tags", "count", 8),
        _Column("Unique bytes", "bytes", 18),
        _Column("Attributed bytes", "bytes", 18),
        _Column(f"Attributed {unit}", "units", 14),
        _Column("Pulls per month", "count", 12),
        _Column("Egress bytes per month", "bytes", 18),
        _Column("Storage cost per month", "money", 16),
        _Column("Egress cost per month", "money", 16),
        _Column("Monthly cost", "money", 16),
        _Column("Egress unknown for some repositories", "flag", 14),
    ]
    _headers(book, sheet, columns)
    rows = report.rows
    attributed = whole_parts([r.attributed_bytes for r in rows])
    egress = whole_parts([r.egress_bytes for r in rows])
    per_unit = Decimal(BYTES_PER_UNIT[unit])
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
        _cells(book, sheet, index, columns, values)
        bytes_cell = xl_rowcol_to_cell(index, units_col - 1)
        shown = float(Decimal(attributed[index - 1] or 0) / per_unit)
        sheet.write_formula(index, units_col, f"={bytes_cell}/{per_unit}", book.formats["units"], shown)
    total_row = len(rows) + 1
    known_pulls = [r.pulls_per_month for r in rows if r.pulls_per_month is not None]
    cached: dict[int, Decimal | int] = {
        1 + offset: sum(len(r.repositories) for r in rows),
        2 + offset: sum(r.tags for r in rows),
        3 + offset: sum(r.unique_bytes for r in rows),
        4 + offset: sum(v or 0 for v in attributed),
        5 + offset: integer(report.totals.storage_bytes) / per_unit,
        6 + offset: sum(known_pulls, Decimal(0)),
        7 + offset: sum(v or 0 for v in egress),
        8 + offset: report.totals.storage_cost,
        9 + offset: report.totals.egress_cost,
        10 + offset: report.totals.monthly_cost,
    }
    _sum_row(book, sheet, total_row, 1, columns, cached)
    sheet.autofilter(0, 0, total_row - 1, len(columns) - 1)
    return name, total_row, 10 + offset


def _teams_sheet(book: _Book, report: Report, group_sheet: str) -> int:
    """Per team, SUMPRODUCT formulas over the repository sheet (exact match: no wildcards); rows written."""
    sheet = book.workbook.add_worksheet("Teams")
    columns = [
        _Column("Team", "text", 24),
        _Column("Tags", "count", 8),
        _Column("Storage cost per month", "money", 16),
        _Column("Egress cost per month", "money", 16),
        _Column("Monthly cost", "money", 16),
    ]
    _headers(book, sheet, columns)
    teams = sorted({r.team or NO_TEAM for r in report.rows})
    last = len(report.rows)
    # columns of the repository sheet: name, team, repositories, tags, ..., storage, egress, monthly
    sources = {1: 3, 2: 9, 3: 10, 4: 11}
    for index, team in enumerate(teams, start=1):
        _text(sheet, index, 0, team)
        members = [r for r in report.rows if (r.team or NO_TEAM) == team]
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
            formula = f"=SUMPRODUCT(({key}=$A{index + 1})*{span})"
            sheet.write_formula(index, col, formula, book.formats[columns[col].kind], _number(values[col]))
    totals = report.totals
    cached: dict[int, Decimal | int] = {
        1: sum(r.tags for r in report.rows),
        2: totals.storage_cost,
        3: totals.egress_cost,
        4: totals.monthly_cost,
    }
    _sum_row(book, sheet, len(teams) + 1, 1, columns, cached)
    return len(teams)


def _scenarios_sheet(book: _Book, report: Report) -> None:
    sheet = book.workbook.add_worksheet("Scenarios")
    months = report.totals.months
    columns = [
        _Column("Scenario", "text", 18),
        _Column("Description", "text", 48),
        _Column("Price book", "text", 16),
        _Column("Baseline monthly cost", "money", 16),
        _Column("Monthly cost", "money", 16),
        _Column("Monthly savings", "money", 16),
        _Column(f"Savings over {months} months", "money", 16),
        _Column("Savings", "percent", 10),
        _Column("Bytes freed", "bytes", 18),
    ]
    _headers(book, sheet, columns)
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
        _cells(book, sheet, index, columns, values)


def _books_sheet(book: _Book, report: Report) -> None:
    sheet = book.workbook.add_worksheet("Price books compared")
    columns = [
        _Column("Price book", "text", 22),
        _Column("Name", "text", 32),
        _Column("Provider", "text", 12),
        _Column("Region", "text", 14),
        _Column("Currency", "text", 9),
        _Column("Unit", "text", 6),
        _Column("Dedup scope", "text", 12),
        _Column("Effective", "text", 11),
        _Column("Storage cost per month", "money", 16),
        _Column("Egress cost per month", "money", 16),
        _Column("Egress complete", "flag", 10),
        _Column("Monthly cost", "money", 16),
        _Column("Months", "count", 8),
        _Column("Horizon cost", "money", 16),
    ]
    _headers(book, sheet, columns)
    entries = [(report.pricing, report.totals), *((c.pricing, c.totals) for c in report.comparison)]
    for index, (pricing, totals) in enumerate(entries, start=1):
        money = book.money_format(pricing.currency)
        for col, value in enumerate(
            (pricing.id, pricing.name, pricing.provider, pricing.region, pricing.currency, pricing.unit)
        ):
            _text(sheet, index, col, value)
        _text(sheet, index, 6, pricing.dedup_scope)
        sheet.write_datetime(index, 7, datetime.combine(pricing.effective_date, datetime.min.time()), book.day)
        sheet.write_number(index, 8, float(totals.storage_cost), money)
        sheet.write_number(index, 9, float(totals.egress_cost), money)
        sheet.write_boolean(index, 10, totals.egress_complete)
        sheet.write_number(index, 11, float(totals.monthly_cost), money)
        sheet.write_number(index, 12, totals.months)
        monthly, months = xl_rowcol_to_cell(index, 11), xl_rowcol_to_cell(index, 12)
        sheet.write_formula(index, 13, f"={monthly}*{months}", money, float(totals.horizon_cost))


def notes_of(report: Report) -> list[tuple[str, str, str]]:
    """Every assumption, price-book note, source and warning of REPORT as (kind, applies to, text)."""
    notes = [("Assumption", "report", a) for a in report.assumptions]
    notes += [("Assumption", s.id, scenario_note(s.id, a)) for s in report.scenarios for a in s.assumptions]
    for c in report.comparison:
        notes += [("Assumption", c.pricing.id, a) for a in c.assumptions]
    for pricing in (report.pricing, *(c.pricing for c in report.comparison)):
        notes += [("Price book note", pricing.id, n) for n in pricing.notes]
        notes += [("Source", pricing.id, s) for s in pricing.sources]
    notes += [("Warning", "report", w) for w in report.warnings]
    for c in report.comparison:
        notes += [("Warning", c.pricing.id, w) for w in c.warnings]
    return notes


def _notes_sheet(book: _Book, report: Report) -> None:
    sheet = book.workbook.add_worksheet("Assumptions & sources")
    columns = [_Column("Kind", "text", 16), _Column("Applies to", "text", 18), _Column("Text", "text", _TEXT_WIDTH)]
    _headers(book, sheet, columns)
    for index, note in enumerate(notes_of(report), start=1):
        _cells(book, sheet, index, columns, list(note))


def _summary_sheet(book: _Book, report: Report, monthly_cell: str) -> Any:
    """The headline figures; MONTHLY_CELL is the group sheet's total, which the summary refers to."""
    sheet = book.workbook.add_worksheet("Summary")
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 1, 44)
    pricing, totals = report.pricing, report.totals
    target = f"{report.registry}/{report.namespace}" if report.namespace else report.registry
    _text(sheet, 0, 0, f"Registry cost: {target}", book.title)
    facts: list[tuple[str, object]] = [
        ("Registry", report.registry),
        ("Namespace", report.namespace or "(registry root)"),
        ("Source", report.source),
        ("Scanned at (UTC)", report.scanned_at),
        ("Generated at (UTC)", report.generated_at),
        ("Price book", f"{pricing.id} ({pricing.name})"),
        ("Price book effective", pricing.effective_date.isoformat()),
        ("Currency and unit", f"{pricing.currency} per {pricing.unit}, dedup {pricing.dedup_scope}"),
        ("Usage", report.usage_source or "none (egress unknown)"),
        ("Tool version", report.tool_version),
    ]
    row = 2
    for label, value in facts:
        _text(sheet, row, 0, label, book.bold)
        if isinstance(value, datetime):
            sheet.write_datetime(row, 1, _naive_utc(value), book.date)
        elif value is None:
            _text(sheet, row, 1, "unknown")
        else:
            _text(sheet, row, 1, str(value))
        row += 1
    row += 1
    money = book.formats["money"]
    _text(sheet, row, 0, "Monthly cost", book.bold)
    sheet.write_formula(row, 1, f"={monthly_cell}", book.totals["money"], float(totals.monthly_cost))
    monthly_row = row
    row += 1
    _text(sheet, row, 0, "Months in the horizon", book.bold)
    sheet.write_number(row, 1, totals.months)
    row += 1
    _text(sheet, row, 0, f"Cost over {totals.months} months", book.bold)
    formula = f"={xl_rowcol_to_cell(monthly_row, 1)}*{xl_rowcol_to_cell(row - 1, 1)}"
    sheet.write_formula(row, 1, formula, book.totals["money"], float(totals.horizon_cost))
    row += 1
    for label, amount in (("Storage per month", totals.storage_cost), ("Egress per month", totals.egress_cost)):
        _text(sheet, row, 0, label, book.bold)
        sheet.write_number(row, 1, float(amount), money)
        row += 1
    if not totals.egress_complete:
        _text(sheet, row, 0, "Egress is a lower bound: some repositories have no pull data.")
        row += 1
    if report.scenarios:
        row += 1
        for col, header in enumerate(("Scenario", "Monthly savings", f"Savings over {totals.months} months")):
            _text(sheet, row, col, header, book.header)
        sheet.set_column(2, 2, 18)
        for s in report.scenarios:
            row += 1
            _text(sheet, row, 0, s.id)
            sheet.write_number(row, 1, float(s.monthly_savings), money)
            sheet.write_number(row, 2, float(s.horizon_savings), money)
    return sheet


def _bar_chart(book: _Book, title: str, sheet_name: str, rows: int, value_col: int, currency: str) -> Any:
    chart = book.workbook.add_chart({"type": "bar"})
    chart.add_series(
        {
            "name": title,
            "categories": [sheet_name, 1, 0, rows, 0],
            "values": [sheet_name, 1, value_col, rows, value_col],
        }
    )
    chart.set_title({"name": title})
    chart.set_legend({"none": True})
    chart.set_x_axis({"name": currency, "num_format": "#,##0"})
    chart.set_y_axis({"reverse": True})  # largest first, as in the table
    chart.set_size({"width": 640, "height": max(240, 24 * rows + 80)})
    return chart


def render(report: Report) -> bytes:
    """REPORT as an .xlsx workbook: Summary, groups, Teams, Scenarios, Price books, Assumptions & sources."""
    buffer = io.BytesIO()
    book = _Book(buffer, report.pricing.currency, report.pricing.unit, report.generated_at)
    group_name = _GROUP_SHEETS[report.group_by]
    # Summary is the first sheet but refers to the group sheet's total: its cell is known in advance
    monthly_col = 11 if report.group_by != "team" else 10
    monthly_cell = f"'{group_name}'!{xl_rowcol_to_cell(len(report.rows) + 1, monthly_col, True, True)}"
    summary = _summary_sheet(book, report, monthly_cell)
    name, _, money_col = _group_sheet(book, report)
    assert money_col == monthly_col
    cur = report.pricing.currency
    if report.group_by == "repository" and any(r.team for r in report.rows):
        teams = _teams_sheet(book, report, name)
        by_cost = _bar_chart(book, "Monthly cost by team", "Teams", teams, 4, cur)
    else:
        shown = min(len(report.rows), CHART_ROWS)
        title = f"Monthly cost by {report.group_by}" + (f" (largest {shown})" if shown < len(report.rows) else "")
        by_cost = _bar_chart(book, title, name, shown, money_col, cur)
    if report.rows:
        summary.insert_chart(2, 3, by_cost)
    if report.scenarios:
        _scenarios_sheet(book, report)
        savings = _bar_chart(book, "Monthly savings by scenario", "Scenarios", len(report.scenarios), 5, cur)
        summary.insert_chart(2, 13, savings)
    _books_sheet(book, report)
    _notes_sheet(book, report)
    book.workbook.close()
    return buffer.getvalue()
