"""JSON for price books and quotes: exact decimals as JSON numbers, never floats.

Money (costs, totals, fees) is rounded half-up to 4 decimal places; other numbers (prices,
quantities, bounds) are written exactly, or rounded to 12 places when longer (values
derived by a division, such as a day price per 730-hour month).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from costcalc import units
from costcalc.pricing.book import PriceBook, TierCharge, TieredRate
from costcalc.pricing.quote import Quote
from costcalc.render.json_writer import Number, dump


def book_list_json(books: Sequence[PriceBook]) -> str:
    """The summary of each book, as shown by ``pricing list``."""
    return dumps([_summary(book) for book in books])


def book_json(book: PriceBook) -> str:
    """Everything in BOOK: summary, prices, sources and notes."""
    plan = None
    if book.plan is not None:
        plan = {
            "monthly_fee": money(book.plan.monthly_fee),
            "daily_fee": None if book.plan.daily_fee is None else number(book.plan.daily_fee),
            "included_storage": number(book.plan.included_storage),
        }
    return dumps(
        {
            **_summary(book),
            "extends": book.extends,
            "path": book.path,
            "discount_pct": number(book.discount_pct),
            "storage": _rate(book.storage),
            "plan": plan,
            "egress": {name: _rate(rate) for name, rate in book.egress.items()},
            "sources": list(book.sources),
            "notes": list(book.notes),
        }
    )


def quote_json(quote: Quote) -> str:
    """The quote as ``{pricing, period_hours, period_days, components, total, assumptions}``."""
    book = quote.book
    return dumps(
        {
            "pricing": {
                "id": book.id,
                "name": book.name,
                "effective_date": book.effective_date.isoformat(),
                "sources": list(book.sources),
                "currency": book.currency,
                "unit": book.unit,
            },
            "period_hours": number(quote.period_hours),
            "period_days": number(quote.period_days),
            "components": [
                {
                    "name": component.name,
                    "quantity": number(component.quantity),
                    "unit": component.unit,
                    "tiers": [_charge(line) for line in component.tiers],
                    "cost": money(component.cost),
                }
                for component in quote.components
            ],
            "total": money(quote.total),
            "assumptions": list(quote.assumptions),
        }
    )


def money(amount: Decimal) -> Decimal:
    """AMOUNT rounded half-up to 4 decimal places, without a negative zero."""
    return units.money(amount)


def number(value: Decimal) -> Decimal:
    """VALUE exactly, or rounded to 12 decimal places when longer; trailing zeros dropped."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -12:
        value = units.round_half_up(value, 12)
    normal = value.normalize(units.ARITHMETIC)
    return abs(normal) if normal.is_zero() else normal


def dumps(value: Any) -> str:
    """VALUE as indented JSON; Decimals become JSON numbers in positional notation.

    The report's writer (render/json_writer.py `dump`) does the writing; this only turns Decimals
    into its verbatim Number literals and dates into ISO strings.
    """
    return dump(_literals(value)) + "\n"


def _literals(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _literals(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_literals(item) for item in value]
    if isinstance(value, Decimal):
        return Number(format(value, "f"))
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _summary(book: PriceBook) -> dict[str, Any]:
    return {
        "id": book.id,
        "name": book.name,
        "provider": book.provider,
        "region": book.region,
        "currency": book.currency,
        "unit": book.unit,
        "dedup_scope": book.dedup_scope,
        "effective_date": book.effective_date,
        "egress_classes": list(book.egress_classes),
    }


def _rate(rate: TieredRate) -> dict[str, Any]:
    tiers = []
    for tier in rate.tiers:
        row: dict[str, Any] = {
            "up_to": None if tier.up_to is None else number(tier.up_to),
            "price": number(tier.price),
        }
        if tier.daily_price is not None:
            row["daily_price"] = number(tier.daily_price)
        tiers.append(row)
    return {"free": number(rate.free), "tiers": tiers}


def _charge(line: TierCharge) -> dict[str, Any]:
    return {
        "label": line.label,
        "quantity": number(line.quantity),
        "price": number(line.price),
        "cost": money(line.cost),
    }
