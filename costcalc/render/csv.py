"""The CSV report: one kind of row per file (groups, scenarios, monthly series, base images, price books,
registries, inputs, versions, notes).

`--format csv` writes the group rows alone (GROUPS); `-o DIRECTORY` writes every file of FILES.
Every column holds one type: whole numbers for counts and bytes, plain decimals (4 places) for
money, pulls and percentages, `true`/`false` for flags, ISO dates. A column's name carries its
unit (`_bytes`, `_units` beside a `unit` column, money in the currency the name ends with, or
beside a `currency` column where books of several currencies share a file). An unknown value is
an empty cell, and a flag column says so; a figure is never 0 for unknown.
"""

from __future__ import annotations

from datetime import datetime

from costcalc.render.csv_cells import document as _document
from costcalc.render.csv_cells import flag as _flag
from costcalc.render.csv_cells import integer as _int
from costcalc.render.csv_cells import money_column as _money
from costcalc.render.csv_cells import number as _num
from costcalc.render.csv_cells import text as _text
from costcalc.render.csv_fleet import render_inputs, render_price_books, render_registries
from costcalc.render.display import lower_bound, notes_of
from costcalc.report import Report
from costcalc.units import utc_timestamp, whole_parts

GROUPS = "groups.csv"
SCENARIOS = "scenarios.csv"
PRICE_BOOKS = "price_books.csv"
VERSIONS = "versions.csv"
NOTES = "notes.csv"
MONTHLY = "monthly.csv"
BASES = "bases.csv"
REGISTRIES = "registries.csv"
INPUTS = "inputs.csv"
# The files `-o DIRECTORY` writes, every one each time (a file with no rows has its header), so a
# script that reads them finds the same names whatever the report holds, and a directory written
# again for a report of one inventory keeps no registries.csv of an earlier fleet.
FILES = (GROUPS, SCENARIOS, MONTHLY, BASES, PRICE_BOOKS, REGISTRIES, INPUTS, VERSIONS, NOTES)


def group_columns(currency: str) -> tuple[str, ...]:
    return (
        "name",
        "team",
        "repositories",
        "tags",
        "unique_bytes",
        "attributed_bytes",
        "image_bytes",
        "pulls_per_month",
        "egress_bytes",
        "egress_known",
        "egress_partial",
        _money("storage_cost", currency),
        _money("egress_cost", currency),
        _money("monthly_cost", currency),
        "currency",
        "pricing_id",
        "measured_egress_bytes",  # from the registry's logs (egress_bytes is then this) ...
        "modelled_egress_bytes",  # ... and what the model predicts for the same pulls
    )


def render(report: Report) -> str:
    """The group rows (repositories, teams or namespaces) as RFC 4180 CSV.

    Bytes are whole (fractional shares made whole so that the column adds up to the total);
    money is exact to 0.0001, so SUM over a money column is the report's total. `egress_known`
    is false when no repository of the row has pull data: its pulls, egress bytes and egress
    cost are then empty. `egress_partial` is true when any of them has none: the row's egress
    and monthly cost are lower bounds. `measured_egress_bytes` and `modelled_egress_bytes` are
    filled where the usage came from the registry's logs.
    """
    currency = report.pricing.currency
    attributed = whole_parts([row.attributed_bytes for row in report.rows])
    egress = whole_parts([row.egress_bytes for row in report.rows])
    rows = (
        [
            _text(row.name),
            _text(row.team),
            str(len(row.repositories)),
            str(row.tags),
            str(row.unique_bytes),
            _int(attributed_bytes),
            _int(row.image_bytes),
            _num(row.pulls_per_month),
            _int(egress_bytes),
            _flag(row.egress_cost is not None),
            _flag(lower_bound(row.egress_cost, row.egress_partial)),
            _num(row.storage_cost),
            _num(row.egress_cost),
            _num(row.monthly_cost),
            _text(currency),
            _text(report.pricing.id),
            _int(row.measured_egress_bytes),
            _int(row.modelled_egress_bytes),
        ]
        for row, attributed_bytes, egress_bytes in zip(report.rows, attributed, egress, strict=True)
    )
    return _document(group_columns(currency), rows)


def scenario_columns(currency: str) -> tuple[str, ...]:
    return (
        "scenario",
        "description",
        "pricing_id",
        _money("baseline_monthly_cost", currency),
        _money("monthly_cost", currency),
        _money("monthly_savings", currency),
        "months",
        _money("horizon_savings", currency),
        "savings_pct",
        "bytes_freed",
        "transfer_hours_saved",
    )


def render_scenarios(report: Report) -> str:
    """One row per scenario: projected monthly cost, savings per month and over `months`."""
    rows = (
        [
            _text(s.id),
            _text(s.description),
            _text(s.pricing_id),
            _num(s.baseline_monthly_cost),
            _num(s.monthly_cost),
            _num(s.monthly_savings),
            str(report.totals.months),
            _num(s.horizon_savings),
            _num(s.savings_pct),
            _int(s.bytes_freed),
            _num(s.transfer_hours_saved),
        ]
        for s in report.scenarios
    )
    return _document(scenario_columns(report.pricing.currency), rows)


BASELINE = "baseline"


def monthly_columns(currency: str) -> tuple[str, ...]:
    return (
        "series",
        "month",
        "storage_bytes",
        _money("storage_cost", currency),
        _money("egress_cost", currency),
        _money("monthly_cost", currency),
    )


def render_monthly(report: Report) -> str:
    """One row per month of the horizon: the baseline's (series `baseline`), then each scenario's."""
    series = [(BASELINE, report.monthly), *((s.id, s.monthly) for s in report.scenarios)]
    rows = (
        [
            _text(name),
            str(m.month),
            _int(m.storage_bytes),
            _num(m.storage_cost),
            _num(m.egress_cost),
            _num(m.monthly_cost),
        ]
        for name, months in series
        for m in months
    )
    return _document(monthly_columns(report.pricing.currency), rows)


BASE_COLUMNS = (
    "base",
    "found_as",
    "top_layer",
    "layers",
    "size_bytes",
    "repositories",
    "versions",
    "stored_bytes",
    "stored_share_pct",
    "egress_bytes",
    "egress_known",
    "egress_share_pct",
)


def render_bases(report: Report) -> str:
    """One row per base image found in the layers, largest first; its repositories `;`-separated."""
    rows = (
        [
            _text(base.name),
            _text(base.origin),
            _text(base.top_layer),
            str(base.layers),
            str(base.size_bytes),
            _text(";".join(base.repositories)),
            str(len(base.versions)),
            str(base.stored_bytes),
            _num(base.stored_share_pct),
            _int(base.egress_bytes),
            "true" if base.egress_bytes is not None else "false",
            _num(base.egress_share_pct),
        ]
        for base in report.bases
    )
    return _document(BASE_COLUMNS, rows)


def _created(value: datetime | None) -> str:
    """A version's creation time in UTC (a config time without offset is UTC), or empty."""
    return "" if value is None else utc_timestamp(value)


VERSION_COLUMNS = ("scenario", "repository", "digest", "tags", "created", "exclusive_bytes", "dropped")


def render_versions(report: Report) -> str:
    """Every version a retention scenario looked at: the bytes it alone holds, dropped or kept.

    `tags` are separated by spaces (a tag never contains one); `created` is ISO 8601, empty
    when the image does not say.
    """
    rows = (
        [
            _text(s.id),
            _text(v.repository),
            _text(v.digest),
            _text(" ".join(v.tags)),
            _created(v.created),
            str(v.exclusive_bytes),
            _flag(v.dropped),
        ]
        for s in report.scenarios
        for v in s.versions
    )
    return _document(VERSION_COLUMNS, rows)


NOTE_COLUMNS = ("kind", "applies_to", "text")


def render_notes(report: Report) -> str:
    """Every assumption (a lower-bound egress among them), price-book caveat, source and warning."""
    return _document(NOTE_COLUMNS, ([_text(k), _text(a), _text(t)] for k, a, t in notes_of(report)))


def render_files(report: Report) -> dict[str, str]:
    """Every file of FILES by name, for `-o DIRECTORY`."""
    return {
        GROUPS: render(report),
        SCENARIOS: render_scenarios(report),
        MONTHLY: render_monthly(report),
        BASES: render_bases(report),
        PRICE_BOOKS: render_price_books(report),
        REGISTRIES: render_registries(report),
        INPUTS: render_inputs(report),
        VERSIONS: render_versions(report),
        NOTES: render_notes(report),
    }
