"""CSV cells as every CSV file of the report writes them: one type per column, unknown as an empty cell."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from costcalc.render.display import exact, safe
from costcalc.units import whole_bytes

# A spreadsheet evaluates a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text(value: str | None) -> str:
    if value is None:
        return ""
    shown = safe(value)
    return f"'{shown}" if shown.startswith(_FORMULA_START) else shown


def number(value: Decimal | None) -> str:
    return "" if value is None else exact(value, 4)


def integer(value: Decimal | int | None) -> str:
    return "" if value is None else str(whole_bytes(value))


def flag(value: bool) -> str:
    return "true" if value else "false"


def document(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def money_column(name: str, currency: str) -> str:
    """NAME with the currency as its unit: `monthly_cost_usd`."""
    return f"{name}_{currency.lower()}"
