"""The CSV report: one row per group with the JSON rows' columns, then one row per scenario."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from costcalc.render.display import exact, integer, safe
from costcalc.report import Report
from costcalc.units import whole_parts

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
    "egress_partial",
    "monthly_cost",
    "currency",
    "pricing_id",
    "pricing_effective_date",
    "projected_monthly_cost",
    "monthly_savings",
    "horizon_savings",
    "savings_pct",
    "bytes_freed",
    "measured_egress_bytes",  # from the registry's logs (then egress_bytes is it) ...
    "modelled_egress_bytes",  # ... and what the model predicts for the same pulls
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

    Group rows leave the scenario columns blank; scenario rows carry projected_monthly_cost
    and the savings and leave every group column blank (monthly_cost included), so SUM over a
    whole column gives the report's totals, with or without a filter on `section`: every figure
    is exact to 0.0001 and the group rows add up exactly. egress_partial is `true` when some of
    a group's repositories have no pull data (its egress_cost is then a lower bound; a blank
    egress_cost is unknown, not zero). The columns stay
    fixed: a retention scenario's per-version detail (each version's exclusive bytes, dropped
    or kept) is in the JSON report's `scenarios[].versions`, not here.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    currency, pricing_id = _text(report.pricing.currency), _text(report.pricing.id)
    effective = report.pricing.effective_date.isoformat()
    attributed = whole_parts([row.attributed_bytes for row in report.rows])
    egress = whole_parts([row.egress_bytes for row in report.rows])
    for row, attributed_bytes, egress_bytes in zip(report.rows, attributed, egress, strict=True):
        writer.writerow(
            [
                "group",
                _text(row.name),
                _text(row.team),
                str(row.tags),
                str(row.unique_bytes),
                _int(attributed_bytes),
                _int(row.image_bytes),
                _num(row.pulls_per_month),
                _int(egress_bytes),
                _num(row.storage_cost),
                _num(row.egress_cost),
                "true" if row.egress_partial else "false",
                _num(row.monthly_cost),
                currency,
                pricing_id,
                effective,
                "",
                "",
                "",
                "",
                "",
                _int(row.measured_egress_bytes),
                _int(row.modelled_egress_bytes),
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
                "",
                "",
                currency,
                _text(scenario.pricing_id),
                effective if scenario.pricing_id == report.pricing.id else "",
                _num(scenario.monthly_cost),
                _num(scenario.monthly_savings),
                _num(scenario.horizon_savings),
                _num(scenario.savings_pct),
                _int(scenario.bytes_freed),
                "",
                "",
            ]
        )
    return out.getvalue()
