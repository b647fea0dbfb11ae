"""The sections only a fleet report has (registries, price books, inputs), as the table, Markdown and
HTML show them: text cells in the report's currency and unit, each section ending on its total line.

A report of one inventory has none of them (its `registries` is empty) and renders as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from costcalc.render.display import count, money, safe, size, when

if TYPE_CHECKING:
    from costcalc.report.model import FleetInput, Pricing, Report

STALE = "STALE"  # the mark of an input scanned longer ago than --max-age


@dataclass(frozen=True, slots=True)
class Section:
    """A titled table: its header, its rows of text cells, how many leading columns are text, and notes."""

    title: str
    header: list[str]
    rows: list[list[str]]
    numeric_from: int
    total: list[str] | None = None  # the total line, set apart from the rows
    notes: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()  # headers a narrow terminal table leaves out, in this order


def is_fleet(report: Report) -> bool:
    return bool(report.registries)


def several_books(report: Report) -> bool:
    """True when the fleet's registries are priced on more than one book (report.pricing sums them)."""
    return len(report.price_books) > 1


def _bound(complete: bool) -> str:
    return "" if complete else " +"


def where(given: FleetInput) -> str:
    """An input's registry and namespace as one name."""
    return f"{given.registry}/{given.namespace}" if given.namespace else given.registry


def sections(report: Report) -> list[Section]:
    """Registries, price books and inputs of a fleet report, in that order; none for one inventory."""
    if not is_fleet(report):
        return []
    return [_registries(report), _books(report), _inputs(report)]


def _money_header(months: int) -> list[str]:
    return ["Storage/mo", "Egress/mo", "Monthly", f"{months} months"]


def _registries(report: Report) -> Section:
    cur, unit, totals = report.pricing.currency, report.pricing.unit, report.totals
    months = totals.months
    header = ["Registry", "Repos", "Tags", "Stored", *_money_header(months)]
    rows = [
        [
            safe(r.registry),
            count(r.repositories),
            count(r.tags),
            size(r.storage_bytes, unit),
            money(r.storage_cost),
            money(r.egress_cost) + _bound(r.egress_complete),
            money(r.monthly_cost) + _bound(r.egress_complete),
            money(r.horizon_cost) + _bound(r.egress_complete),
        ]
        for r in report.registries
    ]
    bound = _bound(totals.egress_complete)
    total = [
        "Total",
        count(sum(r.repositories for r in report.registries)),
        count(sum(r.tags for r in report.registries)),
        size(totals.storage_bytes, unit),
        money(totals.storage_cost),
        money(totals.egress_cost) + bound,
        money(totals.monthly_cost) + bound,
        money(totals.horizon_cost) + bound,
    ]
    notes = tuple(
        f"{r.registry}: namespaces {', '.join(n or '(root)' for n in r.namespaces)}; priced on {r.pricing_id}, "
        f"stored bytes deduplicated per {r.dedup_scope}."
        for r in report.registries
    )
    notes += (
        "Each registry is priced on its own book, as its own account: no blob is deduplicated across "
        "registries. The total line is the report's totals.",
    )
    if not totals.egress_complete:
        notes += ("+ lower bound: some of the registry's repositories have no pull data (egress unknown).",)
    optional = ("Tags", "Repos", "Stored", f"{months} months", "Storage/mo", "Egress/mo")
    return Section(f"Registries, {cur}", header, rows, 1, total, notes, optional)


def _books(report: Report) -> Section:
    cur, unit, totals = report.pricing.currency, report.pricing.unit, report.totals
    header = ["Price book", "Effective", "Registries", "Stored", *_money_header(totals.months)]
    rows = []
    for book in report.price_books:
        bound = _bound(book.egress_complete)
        rows.append(
            [
                safe(book.pricing.id),
                book.pricing.effective_date.isoformat(),
                safe(", ".join(book.registries)),
                size(book.storage_bytes, unit),
                money(book.storage_cost),
                money(book.egress_cost) + bound,
                money(book.monthly_cost) + bound,
                money(book.horizon_cost) + bound,
            ]
        )
    bound = _bound(totals.egress_complete)
    total = [
        "Total",
        "",
        "",
        size(totals.storage_bytes, unit),
        money(totals.storage_cost),
        money(totals.egress_cost) + bound,
        money(totals.monthly_cost) + bound,
        money(totals.horizon_cost) + bound,
    ]
    optional = ("Effective", "Stored", f"{totals.months} months", "Storage/mo", "Egress/mo")
    return Section(f"Price books, {cur}", header, rows, 3, total, optional=optional)


def _inputs(report: Report) -> Section:
    header = ["Source", "Registry/namespace", "Scanned", "Repos", "Tags", "Errors", "Stale"]
    rows = [
        [
            safe(given.source),
            safe(where(given)),
            when(given.scanned_at),
            count(given.repositories),
            count(given.tags),
            count(given.errors),
            STALE if given.stale else "",
        ]
        for given in report.inputs
    ]
    notes: tuple[str, ...] = ()
    if any(given.stale for given in report.inputs):
        notes += (f"{STALE}: scanned longer ago than --max-age; its figures may be out of date.",)
    if any(given.errors for given in report.inputs):
        notes += ("Errors: repositories or tags the scan skipped; the figures leave them out.",)
    return Section("Inputs", header, rows, 3, None, notes, ("Repos", "Tags"))


def book_line(pricing: Pricing) -> str:
    """One book as the header names it: id, name, effective date, unit and dedup scope."""
    return (
        f"{pricing.id} ({pricing.name}), effective {pricing.effective_date}, unit {pricing.unit}, "
        f"dedup {pricing.dedup_scope}"
    )


def header_books(report: Report) -> list[str]:
    """With several books: one line per book, led by the registries it prices (else empty)."""
    if not several_books(report):
        return []
    return [f"{', '.join(book.registries)}: {book_line(book.pricing)}" for book in report.price_books]


def currency_line(report: Report) -> str:
    """With several books: the one currency and the unit the fleet's quantities are summed in."""
    return (
        f"{report.pricing.currency} (every book); fleet quantities in {report.pricing.unit}, "
        "each registry priced in its own book's unit"
    )


def sources_lines(report: Report) -> list[str]:
    """Where every book's prices come from, each with its effective date (one line per book)."""
    books = [book.pricing for book in report.price_books] or [report.pricing]
    lines = []
    for book in books:
        sources = ", ".join(book.sources) or "the price book"
        if len(books) == 1:
            lines.append(f"Prices from {sources}.")
        else:
            lines.append(f"Prices of {book.id} (effective {book.effective_date}) from {sources}.")
    return lines
