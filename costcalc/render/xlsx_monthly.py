"""The xlsx report's "Monthly" sheet: the baseline and each scenario month by month, with a line chart."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from xlsxwriter.utility import xl_rowcol_to_cell

from costcalc.render.workbook import Book, Column, cells, headers, sum_row
from costcalc.report import Report
from costcalc.units import whole_bytes

SHEET = "Monthly"
MONTHLY_COST_COL = 4  # the baseline's monthly cost: its Total is the horizon cost


def horizon_cell(report: Report) -> str | None:
    """Where the Monthly sheet's baseline total will be (the Summary refers to it), or None."""
    if not report.monthly or not report.rows:
        return None
    return f"'{SHEET}'!{xl_rowcol_to_cell(len(report.monthly) + 1, MONTHLY_COST_COL, True, True)}"


def monthly_sheet(book: Book, report: Report) -> Any:
    """A "Monthly" sheet (when the report has rows and a monthly series); returns its line chart."""
    if not report.monthly or not report.rows:
        return None
    sheet = book.workbook.add_worksheet(SHEET)
    columns = [
        Column("Month", "count", 8),
        Column("Storage", "bytes", 18),
        Column("Storage cost", "money", 14),
        Column("Egress cost", "money", 14),
        Column("Monthly cost", "money", 14),
        *(Column(f"{s.id} monthly cost", "money", 18) for s in report.scenarios),
    ]
    headers(book, sheet, columns)
    for index, month in enumerate(report.monthly, start=1):
        scenario_costs = [s.monthly[index - 1].monthly_cost for s in report.scenarios]
        values: list[object] = [
            month.month,
            whole_bytes(month.storage_bytes),
            month.storage_cost,
            month.egress_cost,
            month.monthly_cost,
            *scenario_costs,
        ]
        cells(book, sheet, index, columns, values)
    last = len(report.monthly)
    cached: dict[int, Decimal | int] = {
        2: sum((m.storage_cost for m in report.monthly), Decimal(0)),
        3: sum((m.egress_cost for m in report.monthly), Decimal(0)),
        MONTHLY_COST_COL: report.totals.horizon_cost,
    }
    for offset, scenario in enumerate(report.scenarios, start=MONTHLY_COST_COL + 1):
        cached[offset] = sum((m.monthly_cost for m in scenario.monthly), Decimal(0))
    sum_row(book, sheet, last + 1, 1, columns, cached)
    chart = book.workbook.add_chart({"type": "line"})
    for col in (MONTHLY_COST_COL, *range(MONTHLY_COST_COL + 1, len(columns))):
        chart.add_series(
            {
                "name": [SHEET, 0, col],
                "categories": [SHEET, 1, 0, last, 0],
                "values": [SHEET, 1, col, last, col],
            }
        )
    chart.set_title({"name": "Monthly cost over the horizon"})
    chart.set_x_axis({"name": "Month"})
    chart.set_y_axis({"name": report.pricing.currency, "num_format": "#,##0"})
    sheet.insert_chart(1, len(columns) + 1, chart)
    return chart
