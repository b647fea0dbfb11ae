"""The CSV files of what a report is priced on and made of: price_books.csv, registries.csv, inputs.csv.

A fleet report (several inventories) lists its books, registries and inputs. The report of one
inventory writes the same files: its book, its one registry (the report's totals) and its one
input, whose `errors` and `stale` cells are empty (unknown: such a report keeps only its warnings).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from costcalc.render.csv_cells import document, flag, integer, money_column, number, text
from costcalc.report.fleet_members import registries_of
from costcalc.report.model import BookTotals, FleetInput, Pricing, Report, Totals
from costcalc.units import utc_timestamp

PRICE_BOOK_COLUMNS = (
    "pricing_id",
    "primary",
    "name",
    "provider",
    "region",
    "effective_date",
    "dedup_scope",
    "storage_bytes",
    "unit",
    "billable_storage_units",
    "egress_bytes",
    "egress_units",
    "egress_complete",
    "currency",
    "storage_cost",
    "egress_cost",
    "monthly_cost",
    "months",
    "horizon_cost",
)
FLEET_BOOK_COLUMN = "registries"  # a fleet's price_books.csv only: the registries each book prices


def _book_row(pricing: Pricing, totals: Totals, primary: bool) -> list[str]:
    return [
        *_pricing_cells(pricing, primary),
        integer(totals.storage_bytes),
        text(pricing.unit),
        number(totals.billable_storage_gb),
        integer(totals.egress_bytes),
        number(sum(totals.egress_gb_by_class.values(), Decimal(0))),
        flag(totals.egress_complete),
        text(pricing.currency),
        number(totals.storage_cost),
        number(totals.egress_cost),
        number(totals.monthly_cost),
        str(totals.months),
        number(totals.horizon_cost),
    ]


def _pricing_cells(pricing: Pricing, primary: bool) -> list[str]:
    return [
        text(pricing.id),
        flag(primary),
        text(pricing.name),
        text(pricing.provider),
        text(pricing.region),
        pricing.effective_date.isoformat(),
        text(pricing.dedup_scope),
    ]


def _fleet_book_row(book: BookTotals, report: Report) -> list[str]:
    """One of several books of a fleet: its registries' sums."""
    pricing = book.pricing
    return [
        *_pricing_cells(pricing, True),
        integer(book.storage_bytes),
        text(pricing.unit),
        number(book.billable_storage_gb),
        integer(book.egress_bytes),
        number(book.egress_gb),
        flag(book.egress_complete),
        text(pricing.currency),
        number(book.storage_cost),
        number(book.egress_cost),
        number(book.monthly_cost),
        str(report.totals.months),
        number(book.horizon_cost),
    ]


def render_price_books(report: Report) -> str:
    """The report's book (`primary` true: its totals are the report's) and each compared book.

    Books may bill in different units and currencies, so each row names its own: quantities
    are in the row's `unit`, money in its `currency`. `egress_complete` false means egress,
    and so the monthly and horizon costs, are lower bounds. A fleet's file has one more
    column, `registries` (`;`-separated): with several books, each is a `primary` row of the
    registries it prices (the primary rows add up to the report's totals), and a compared
    book prices every registry.
    """
    if not report.price_books:
        rows = [_book_row(report.pricing, report.totals, True)]
        rows += [_book_row(c.pricing, c.totals, False) for c in report.comparison]
        return document(PRICE_BOOK_COLUMNS, rows)
    every = text(";".join(r.registry for r in report.registries))
    if len(report.price_books) == 1:
        rows = [[*_book_row(report.pricing, report.totals, True), every]]
    else:
        rows = [[*_fleet_book_row(b, report), text(";".join(b.registries))] for b in report.price_books]
    rows += [[*_book_row(c.pricing, c.totals, False), every] for c in report.comparison]
    return document((*PRICE_BOOK_COLUMNS, FLEET_BOOK_COLUMN), rows)


def registry_columns(currency: str) -> tuple[str, ...]:
    return (
        "registry",
        "namespaces",
        "pricing_id",
        "dedup_scope",
        "repositories",
        "tags",
        "storage_bytes",
        "egress_complete",
        money_column("storage_cost", currency),
        money_column("egress_cost", currency),
        money_column("monthly_cost", currency),
        "months",
        money_column("horizon_cost", currency),
        "currency",
    )


def render_registries(report: Report) -> str:
    """One row per registry: its namespaces (`;`-separated), book, stored bytes and money; the
    money columns add up to the report's totals (registries never share storage)."""
    currency = report.pricing.currency
    rows = (
        [
            text(r.registry),
            text(";".join(r.namespaces)),
            text(r.pricing_id),
            text(r.dedup_scope),
            str(r.repositories),
            str(r.tags),
            integer(r.storage_bytes),
            flag(r.egress_complete),
            number(r.storage_cost),
            number(r.egress_cost),
            number(r.monthly_cost),
            str(report.totals.months),
            number(r.horizon_cost),
            text(currency),
        ]
        for r in registries_of(report)
    )
    return document(registry_columns(currency), rows)


INPUT_COLUMNS = ("source", "registry", "namespace", "scanned_at", "repositories", "tags", "errors", "stale")


def _time(value: datetime | None) -> str:
    """A scan time in UTC, ISO 8601 (as versions.csv writes times), or empty."""
    return "" if value is None else utc_timestamp(value)


def render_inputs(report: Report) -> str:
    """One row per inventory the report was made of; `stale` true: scanned longer ago than --max-age."""
    if report.inputs:
        rows = [_input_row(given) for given in report.inputs]
    else:
        inventory = report.inventory
        rows = [
            [
                text(report.source),
                text(report.registry),
                text(report.namespace),
                _time(report.scanned_at),
                str(inventory.repositories) if inventory else "",
                str(inventory.tags) if inventory else "",
                "",
                "",
            ]
        ]
    return document(INPUT_COLUMNS, rows)


def _input_row(given: FleetInput) -> list[str]:
    return [
        text(given.source),
        text(given.registry),
        text(given.namespace),
        _time(given.scanned_at),
        str(given.repositories),
        str(given.tags),
        str(given.errors),
        flag(given.stale),
    ]
