"""Number and text formatting shared by the renderers; rounding and units come from costcalc.units."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from costcalc.units import format_bytes, round_half_up, whole_bytes

if TYPE_CHECKING:
    from costcalc.report import Pricing, Report

_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp"})  # control, format, line and paragraph separators


def exact(value: Decimal, places: int = 4) -> str:
    """VALUE rounded half-up to PLACES decimals, plain notation, never `-0`: for JSON and CSV."""
    return format(round_half_up(value, places), "f")


def integer(value: Decimal | int) -> int:
    """Bytes as an integer, for quantities that scenarios or per-day rates made fractional."""
    return whole_bytes(value)


def money(value: Decimal | None, places: int = 2) -> str:
    """VALUE for people: thousands separators, PLACES decimals; None (no data) is `unknown`."""
    if value is None:
        return "unknown"
    return f"{round_half_up(value, places):,.{places}f}"


def count(value: Decimal | int | None) -> str:
    """A count for people (pulls, tags): thousands separators, one decimal only when fractional."""
    if value is None:
        return "unknown"
    number = Decimal(value)
    if number == number.to_integral_value():
        return f"{integer(number):,}"
    return f"{round_half_up(number, 1):,.1f}"


def size(value: Decimal | int | None, unit: str = "GiB") -> str:
    """Bytes for people, in binary units for a GiB book and decimal units for a GB book."""
    return "unknown" if value is None else format_bytes(value, unit)


def percent(value: Decimal) -> str:
    return f"{round_half_up(value, 1)} %"


def safe(text: str) -> str:
    """TEXT with control, format (bidi overrides, zero-width) and line-separator characters shown as
    escapes, so a name cannot move the cursor, reorder a line or start a new one in any layout."""
    if text.isprintable():
        return text
    return "".join(_escape(char) if unicodedata.category(char) in _HIDDEN else char for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


LOWER_BOUND_NOTE = (
    "+ lower bound: some or all of the row's repositories have no pull data, so their egress "
    "is unknown and not in the figure."
)


def lower_bound(egress_cost: Decimal | None, egress_partial: bool) -> bool:
    """True when a row's monthly cost leaves out egress nobody has pull data for."""
    return egress_cost is None or egress_partial


def monthly(value: Decimal, egress_cost: Decimal | None, egress_partial: bool) -> str:
    """A row's monthly cost for people, marked ` +` when it is a lower bound."""
    return money(value) + (" +" if lower_bound(egress_cost, egress_partial) else "")


def units(value: Decimal, unit: str) -> str:
    """A quantity already in the price book's unit (GiB or GB), as the book bills it."""
    return f"{money(value)} {unit}"


TOP_VERSIONS = 10  # dropped versions a human-readable report lists per scenario; JSON lists all


def when(value: datetime | None) -> str:
    """A scan or report time for people (YYYY-MM-DD HH:MM UTC) or `unknown`."""
    if value is None:
        return "unknown"
    utc = value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(sep=" ", timespec="minutes") + " UTC"


def created(value: datetime | None) -> str:
    """A version's creation date for people (YYYY-MM-DD, UTC) or `unknown`."""
    if value is None:
        return "unknown"
    if value.tzinfo is not None:  # a config time without offset is UTC already
        value = value.astimezone(UTC)
    return value.date().isoformat()


def hours(value: Decimal | None) -> str:
    """Transfer hours for people: one decimal, half-up; `unknown` for None."""
    return "unknown" if value is None else f"{round_half_up(value, 1):,.1f} h"


def growth_line(report: Report) -> str | None:
    """The horizon in one sentence: storage from month 1 to the last, the months priced one by one."""
    if not report.monthly:
        return None
    first, last = report.monthly[0], report.monthly[-1]
    unit = report.pricing.unit
    return (
        f"Storage grows from {size(first.storage_bytes, unit)} in month 1 to {size(last.storage_bytes, unit)} "
        f"in month {last.month} at each repository's push rate; each month is priced on its own and "
        "the horizon total is their sum (month by month in the JSON and CSV)."
    )


def scenario_note(scenario_id: str, note: str) -> str:
    """NOTE labelled with the scenario it belongs to, unless it already names it first."""
    return note if note.startswith(f"{scenario_id}:") else f"{scenario_id}: {note}"


def notes_of(report: Report) -> list[tuple[str, str, str]]:
    """Every assumption, price-book note, source and warning of REPORT as (kind, applies to, text)."""
    notes = [("Assumption", "report", a) for a in report.assumptions]
    notes += [("Assumption", s.id, scenario_note(s.id, a)) for s in report.scenarios for a in s.assumptions]
    for c in report.comparison:
        notes += [("Assumption", c.pricing.id, a) for a in c.assumptions]
    for pricing in priced_on(report):
        notes += [("Price book note", pricing.id, n) for n in pricing.notes]
        notes += [("Source", pricing.id, s) for s in pricing.sources]
    notes += [("Warning", "report", w) for w in report.warnings]
    for c in report.comparison:
        notes += [("Warning", c.pricing.id, w) for w in c.warnings]
    return notes


def book_notes(report: Report) -> list[str]:
    """The caveats of the report's price book and of every compared book, each led by the book's id."""
    return [f"{book.id}: {note}" for book in priced_on(report) for note in book.notes]


def priced_on(report: Report) -> tuple[Pricing, ...]:
    """Every book behind REPORT: a fleet's own books (not their summary), then the compared books."""
    own = tuple(book.pricing for book in report.price_books) or (report.pricing,)
    return (*own, *(c.pricing for c in report.comparison))


def report_target(report: Report) -> str:
    """What a report covers, for its title: REGISTRY/NAMESPACE, or a fleet's registries."""
    if len(report.registries) > 1:
        names = ", ".join(registry.registry for registry in report.registries)
        return f"a fleet of {len(report.registries)} registries ({names})"
    if report.registries:
        (registry,) = report.registries
        namespaces = ", ".join(namespace or "(root)" for namespace in registry.namespaces)
        return f"{registry.registry} (namespaces {namespaces})"
    return f"{report.registry}/{report.namespace}" if report.namespace else report.registry
