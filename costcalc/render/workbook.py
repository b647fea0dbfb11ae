"""The workbook under construction: its cell formats, typed cell writers, SUM rows and bar charts."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from costcalc.render.display import safe


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    kind: str  # text, count, bytes, units, money, flag
    width: int = 14


class Book:
    """The workbook under construction and its cell formats."""

    def __init__(self, buffer: io.BytesIO, currency: str, unit: str, created: datetime | None) -> None:
        # strings are never read as formulas or links: names come from registries and usage files
        self.workbook = xlsxwriter.Workbook(
            buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
        )
        if created is not None:  # the same report gives the same file
            self.workbook.set_properties({"created": naive_utc(created)})
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


def naive_utc(value: datetime) -> datetime:
    """Excel has no time zones: times are written in UTC and labelled so."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def number(value: Decimal | int) -> float | int:
    return value if isinstance(value, int) else float(value)


def text(sheet: Any, row: int, col: int, value: str, fmt: Any = None) -> None:
    sheet.write_string(row, col, safe(value), fmt)


def headers(book: Book, sheet: Any, columns: list[Column]) -> None:
    for col, column in enumerate(columns):
        sheet.write_string(0, col, column.header, book.header)
        sheet.set_column(col, col, column.width)
    sheet.freeze_panes(1, 1)


def cells(book: Book, sheet: Any, row: int, columns: list[Column], values: list[object]) -> None:
    for col, (column, value) in enumerate(zip(columns, values, strict=True)):
        if value is None:
            sheet.write_blank(row, col, None)
        elif column.kind == "flag":
            sheet.write_boolean(row, col, bool(value))
        elif isinstance(value, str):
            text(sheet, row, col, value, book.wrap if column.kind == "text" and column.width >= 40 else None)
        else:
            assert isinstance(value, Decimal | int)
            sheet.write_number(row, col, number(value), book.formats.get(column.kind))


def sum_row(
    book: Book, sheet: Any, row: int, first: int, columns: list[Column], cached: dict[int, Decimal | int]
) -> None:
    """A bold total row: `=SUM(...)` over rows FIRST..ROW-1 of each column in CACHED, with its value."""
    sheet.write_string(row, 0, "Total", book.total_label)
    for col in range(1, len(columns)):
        if col in cached:
            span = f"{xl_rowcol_to_cell(first, col)}:{xl_rowcol_to_cell(row - 1, col)}"
            value = number(cached[col])
            sheet.write_formula(row, col, f"=SUM({span})", book.totals[columns[col].kind], value)
        else:
            sheet.write_blank(row, col, None, book.total_label)


def bar_chart(book: Book, title: str, sheet_name: str, rows: int, value_col: int, currency: str) -> Any:
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
