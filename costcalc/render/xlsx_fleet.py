"""The xlsx report's "Fleet" sheet: registries, price books and inputs of a fleet report.

The registries' total row is `=SUM(...)` over them (its stored values are the report's totals);
each book's figures are SUMPRODUCT formulas over the registries it prices, as the Teams sheet
sums repositories, so a price changed in one registry's row flows into its book and the total.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from xlsxwriter.utility import xl_col_to_name

from costcalc.render.workbook import Book, Column, cells, naive_utc, number, sum_row, text
from costcalc.report import Report
from costcalc.units import whole_parts

SHEET = "Fleet"
REGISTRY_COLUMNS = [
    Column("Registry", "text", 28),
    Column("Namespaces", "text", 20),
    Column("Price book", "text", 20),
    Column("Dedup scope", "text", 12),
    Column("Repositories", "count", 12),
    Column("Tags", "count", 10),
    Column("Stored bytes", "bytes", 18),
    Column("Storage cost per month", "money", 16),
    Column("Egress cost per month", "money", 16),
    Column("Monthly cost", "money", 16),
    Column("Horizon cost", "money", 16),
    Column("Egress complete", "flag", 10),
]
_BOOK_KEY = 2  # the registries' Price book column, which a book's formulas match
_SUMMED = (4, 5, 6, 7, 8, 9, 10)  # registry columns summed in the total row
# a book row: its figures are these registry columns summed over the registries on the book
_BOOK_SOURCES = {3: 6, 4: 7, 5: 8, 6: 9, 7: 10}
# below the registries, in their columns (whose widths the registries set)
BOOK_COLUMNS = [
    Column("Price book", "text"),
    Column("Effective", "text"),
    Column("Registries", "text"),
    Column("Stored bytes", "bytes"),
    Column("Storage cost per month", "money"),
    Column("Egress cost per month", "money"),
    Column("Monthly cost", "money"),
    Column("Horizon cost", "money"),
]
INPUT_COLUMNS = [
    Column("Source", "text"),
    Column("Registry", "text"),
    Column("Namespace", "text"),
    Column("Scanned at (UTC)", "text"),
    Column("Repositories", "count"),
    Column("Tags", "count"),
    Column("Errors", "count"),
    Column("Stale (older than --max-age)", "flag"),
]


def _header(book: Book, sheet: Any, row: int, columns: list[Column]) -> None:
    for col, column in enumerate(columns):
        sheet.write_string(row, col, column.header, book.header)


def fleet_sheet(book: Book, report: Report) -> None:
    """A "Fleet" sheet (a fleet report only): registries with a total row, books, inputs."""
    if not report.registries:
        return
    sheet = book.workbook.add_worksheet(SHEET)
    for col, column in enumerate(REGISTRY_COLUMNS):
        sheet.set_column(col, col, column.width)
    _header(book, sheet, 0, REGISTRY_COLUMNS)
    sheet.freeze_panes(1, 1)
    stored = whole_parts([r.storage_bytes for r in report.registries])
    for index, (r, stored_bytes) in enumerate(zip(report.registries, stored, strict=True), start=1):
        values: list[object] = [
            r.registry,
            ", ".join(n or "(root)" for n in r.namespaces),
            r.pricing_id,
            r.dedup_scope,
            r.repositories,
            r.tags,
            stored_bytes,
            r.storage_cost,
            r.egress_cost,
            r.monthly_cost,
            r.horizon_cost,
            r.egress_complete,
        ]
        cells(book, sheet, index, REGISTRY_COLUMNS, values)
    last = len(report.registries)
    totals = report.totals
    cached: dict[int, Decimal | int] = {
        4: sum(r.repositories for r in report.registries),
        5: sum(r.tags for r in report.registries),
        6: sum(v or 0 for v in stored),
        7: totals.storage_cost,
        8: totals.egress_cost,
        9: totals.monthly_cost,
        10: totals.horizon_cost,
    }
    sum_row(book, sheet, last + 1, 1, REGISTRY_COLUMNS, cached)
    row = _books(book, sheet, report, last + 3, last, stored)
    _inputs(book, sheet, report, row + 1)


def _books(book: Book, sheet: Any, report: Report, top: int, last: int, stored: list[int | None]) -> int:
    """The books from row TOP, each summing the registry rows 2..LAST+1 priced on it; the next free row."""
    text(sheet, top, 0, "Price books", book.bold)
    _header(book, sheet, top + 1, BOOK_COLUMNS)
    key = f"$C$2:$C${last + 1}"
    by_registry = dict(zip((r.registry for r in report.registries), stored, strict=True))
    row = top + 1
    for entry in report.price_books:
        row += 1
        pricing = entry.pricing
        text(sheet, row, 0, f"{pricing.id} ({pricing.name})")
        sheet.write_datetime(row, 1, datetime.combine(pricing.effective_date, datetime.min.time()), book.day)
        text(sheet, row, 2, ", ".join(entry.registries))
        # the book's id is written in the formula: its label cell carries its name too
        match = f'--EXACT({key},"{pricing.id.replace(chr(34), "")}")'
        values: dict[int, Decimal | int] = {
            3: sum(by_registry.get(name) or 0 for name in entry.registries),
            4: entry.storage_cost,
            5: entry.egress_cost,
            6: entry.monthly_cost,
            7: entry.horizon_cost,
        }
        for col, source in _BOOK_SOURCES.items():
            letter = xl_col_to_name(source)
            formula = f"=SUMPRODUCT({match},${letter}$2:${letter}${last + 1})"
            sheet.write_formula(row, col, formula, book.formats[BOOK_COLUMNS[col].kind], number(values[col]))
    totals = report.totals
    cached: dict[int, Decimal | int] = {
        3: sum(v or 0 for v in stored),
        4: totals.storage_cost,
        5: totals.egress_cost,
        6: totals.monthly_cost,
        7: totals.horizon_cost,
    }
    sum_row(book, sheet, row + 1, top + 2, BOOK_COLUMNS, cached)
    return row + 2


def _inputs(book: Book, sheet: Any, report: Report, top: int) -> None:
    text(sheet, top, 0, "Inputs", book.bold)
    _header(book, sheet, top + 1, INPUT_COLUMNS)
    for index, given in enumerate(report.inputs, start=top + 2):
        values: list[object] = [
            given.source,
            given.registry,
            given.namespace or "(registry root)",
            None,  # a date, written below
            given.repositories,
            given.tags,
            given.errors,
            given.stale,
        ]
        cells(book, sheet, index, INPUT_COLUMNS, values)
        sheet.write_datetime(index, 3, naive_utc(given.scanned_at), book.date)
