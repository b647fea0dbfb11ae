"""Number and text formatting shared by the renderers: no arithmetic beyond rounding for display."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp"})  # control, format, line and paragraph separators
_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
_DECIMAL = ("B", "kB", "MB", "GB", "TB", "PB")


def exact(value: Decimal, places: int = 4) -> str:
    """VALUE rounded half-up to PLACES decimals, plain notation, never `-0`: for JSON and CSV."""
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)
    return format(rounded, "f")


def integer(value: Decimal | int) -> int:
    """Bytes as an integer (half-even), for quantities that scenarios or per-day rates made fractional."""
    return int(Decimal(value).to_integral_value(rounding=ROUND_HALF_EVEN))


def whole_parts(values: Sequence[Decimal | int | None]) -> list[int | None]:
    """VALUES (bytes, made fractional by per-day pulls or scenarios) as integers that add up to
    integer(Σ VALUES), so a spreadsheet's SUM over the rows equals the report's total.

    Each value is floored and the bytes left over go to the largest fractional parts (earlier
    rows first on ties); None (unknown) stays None and counts for nothing.
    """
    known = [(i, Decimal(v)) for i, v in enumerate(values) if v is not None]
    target = integer(sum((v for _, v in known), Decimal(0)))
    floors = {i: int(v.to_integral_value(rounding=ROUND_FLOOR)) for i, v in known}
    order = sorted(known, key=lambda item: (-(item[1] - floors[item[0]]), item[0]))
    for i, _ in order[: max(target - sum(floors.values()), 0)]:
        floors[i] += 1
    return [floors.get(i) if v is not None else None for i, v in enumerate(values)]


def money(value: Decimal | None, places: int = 2) -> str:
    """VALUE for people: thousands separators, PLACES decimals; None (no data) is `unknown`."""
    if value is None:
        return "unknown"
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)
    return f"{rounded:,.{places}f}"


def count(value: Decimal | int | None) -> str:
    """A count for people (pulls, tags): thousands separators, one decimal only when fractional."""
    if value is None:
        return "unknown"
    number = Decimal(value)
    if number == number.to_integral_value():
        return f"{integer(number):,}"
    return f"{number.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):,.1f}"


def size(value: Decimal | int | None, unit: str = "GiB") -> str:
    """Bytes for people, in binary units for a GiB book and decimal units for a GB book."""
    if value is None:
        return "unknown"
    number = Decimal(value)
    names, step = (_BINARY, Decimal(1024)) if unit == "GiB" else (_DECIMAL, Decimal(1000))
    index = 0
    while abs(number) >= step and index < len(names) - 1:
        number /= step
        index += 1
    if index == 0:
        return f"{integer(number):,} B"
    return f"{number.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f} {names[index]}"


def percent(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)} %"


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


def created(value: datetime | None) -> str:
    """A version's creation date for people (YYYY-MM-DD, UTC) or `unknown`."""
    if value is None:
        return "unknown"
    if value.tzinfo is not None:  # a config time without offset is UTC already
        value = value.astimezone(UTC)
    return value.date().isoformat()


def scenario_note(scenario_id: str, note: str) -> str:
    """NOTE labelled with the scenario it belongs to, unless it already names it first."""
    return note if note.startswith(f"{scenario_id}:") else f"{scenario_id}: {note}"
