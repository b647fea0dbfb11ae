"""The CSV report: one row per group with the JSON rows' columns, then one row per scenario."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from costcalc.costs import Report
from costcalc.render.display import exact, integer, safe

COLUMNS = (
    "section",
    "name",
    "team",
    "tags",
    "unique_bytes",
    "attributed_bytes",
    "image_bytes",
    "pulls_per_month",
    "egress_bytes",
    "storage_cost",
    "egress_cost",
    "monthly_cost",
    "currency",
    "pricing_id",
    "pricing_effective_date",
    "monthly_savings",
    "horizon_savings",
    "savings_pct",
    "bytes_freed",
)
# A spreadsheet evaluates a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str | None) -> str:
    if value is None:
        return ""
    text = safe(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def _num(value: Decimal | None) -> str:
    return "" if value is None else exact(value, 4)


def _int(value: Decimal | int | None) -> str:
    return "" if value is None else str(integer(value))


def render(report: Report) -> str:
    """REPORT as RFC 4180 CSV: `section` is `group` for the rows and `scenario` for projections.

    Group rows leave the savings columns blank; scenario rows carry the projected monthly_cost
    and savings and leave the per-group columns blank, so a spreadsheet filter on `section`
    gives either table and SUM over group rows gives the report's totals. The columns stay
    fixed: a retention scenario's per-version detail (each version's exclusive bytes, dropped
    or kept) is in the JSON report's `scenarios[].versions`, not here.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    currency, pricing_id = _text(report.pricing.currency), _text(report.pricing.id)
    effective = report.pricing.effective_date.isoformat()
    for row in report.rows:
        writer.writerow(
            [
                "group",
                _text(row.name),
                _text(row.team),
                str(row.tags),
                str(row.unique_bytes),
                _int(row.attributed_bytes),
                _int(row.image_bytes),
                _num(row.pulls_per_month),
                _int(row.egress_bytes),
                _num(row.storage_cost),
                _num(row.egress_cost),
                _num(row.monthly_cost),
                currency,
                pricing_id,
                effective,
                "",
                "",
                "",
                "",
            ]
        )
    for scenario in report.scenarios:
        writer.writerow(
            [
                "scenario",
                _text(scenario.id),
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                _num(scenario.monthly_cost),
                currency,
                _text(scenario.pricing_id),
                effective if scenario.pricing_id == report.pricing.id else "",
                _num(scenario.monthly_savings),
                _num(scenario.horizon_savings),
                _num(scenario.savings_pct),
                _int(scenario.bytes_freed),
            ]
        )
    return out.getvalue()
