"""Quotes: explicit storage and egress quantities priced on one price book, for what-ifs (pure).

A quote's quantities are in the book's unit (SPEC section 3.4). Free allowances, included
storage, plan fees and tier bounds are monthly, so a period other than one 730-hour month
is priced as steady use: storage is the amount held throughout the period, and its monthly
bill (plan fee, included storage, free allowance, tiers) is scaled by the period in months;
an egress volume is spread evenly over the period, so the monthly volume (volume / months)
is tiered and that month's bill scaled by the months. A year's volume thus gets twelve
months' free allowances, and ten days get a third of one.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from decimal import Decimal

from pydantic import BaseModel

from costcalc.errors import InputError
from costcalc.pricing.book import (
    ARITHMETIC,
    HOURS_PER_DAY,
    HOURS_PER_MONTH,
    PriceBook,
    TierCharge,
    plain,
)


class QuoteComponent(BaseModel, frozen=True):
    """One priced quantity: storage held, or one egress class's volume."""

    name: str  # "storage" or "egress CLASS"
    quantity: Decimal  # book units held (storage) or transferred in the period (egress)
    unit: str
    tiers: tuple[TierCharge, ...]  # storage lines are in unit-months over the period
    cost: Decimal


class Quote(BaseModel, frozen=True):
    """Explicit quantities priced on one book over a period; total = sum of component costs."""

    book: PriceBook
    period_hours: Decimal
    components: tuple[QuoteComponent, ...]
    total: Decimal
    assumptions: tuple[str, ...]

    @property
    def period_days(self) -> Decimal:
        """The period in days of 24 hours."""
        with decimal.localcontext(ARITHMETIC):
            return self.period_hours / HOURS_PER_DAY


def parse_quantity(text: str, option: str) -> Decimal:
    """TEXT as a finite number >= 0; InputError naming OPTION otherwise."""
    try:
        value = Decimal(text.strip())
    except decimal.InvalidOperation:
        raise InputError(f'{option} "{text}": not a number.') from None
    if not value.is_finite():
        raise InputError(f'{option} "{text}": must be a finite number.')
    if value < 0:
        raise InputError(f"{option} {text}: must be a number >= 0.")
    return value


def parse_egress(spec: str) -> tuple[str, Decimal]:
    """CLASS=N, as given to --egress-gb, as (class, quantity)."""
    egress_class, sep, amount = spec.partition("=")
    if not sep or not egress_class.strip():
        raise InputError(f'--egress-gb "{spec}": expected CLASS=N, for example internet=100.')
    return egress_class.strip(), parse_quantity(amount, f"--egress-gb {egress_class.strip()}")


def build_quote(
    book: PriceBook,
    *,
    storage: Decimal | None = None,
    egress: Sequence[tuple[str, Decimal]] = (),
    days: Decimal | None = None,
) -> Quote:
    """Price STORAGE held and EGRESS volumes (book units) over DAYS (default one 730-hour month).

    Volumes given twice for one class are added up, since tiers apply to a class's total.
    Raises InputError for a class the book does not price or a period that is not > 0.
    """
    if days is not None and days <= 0:
        raise InputError(f"--days {plain(days)}: the period must be more than 0 days.")
    with decimal.localcontext(ARITHMETIC):
        hours = HOURS_PER_MONTH if days is None else days * HOURS_PER_DAY
        months = hours / HOURS_PER_MONTH
    components: list[QuoteComponent] = []
    if storage is not None:
        lines = tuple(_scaled(line, hours) for line in book.storage_breakdown(storage))
        components.append(_component("storage", storage, book.unit, lines))
    volumes: dict[str, Decimal] = {}
    for egress_class, volume in egress:
        volumes[egress_class] = volumes.get(egress_class, Decimal(0)) + volume
    for egress_class, volume in volumes.items():
        with decimal.localcontext(ARITHMETIC):
            per_month = volume * HOURS_PER_MONTH / hours
        lines = tuple(_scaled(line, hours) for line in book.egress_breakdown(egress_class, per_month))
        components.append(_component(f"egress {egress_class}", volume, book.unit, lines))
    with decimal.localcontext(ARITHMETIC):
        total = sum((component.cost for component in components), Decimal(0))
    return Quote(
        book=book,
        period_hours=hours,
        components=tuple(components),
        total=total,
        assumptions=_assumptions(book, storage, bool(volumes), days, hours, months),
    )


def _scaled(line: TierCharge, hours: Decimal) -> TierCharge:
    """A line of one month's bill scaled to HOURS (the plan fee's quantity becomes months)."""
    if hours == HOURS_PER_MONTH:
        return line
    with decimal.localcontext(ARITHMETIC):
        quantity = line.quantity * hours / HOURS_PER_MONTH
        return line.model_copy(update={"quantity": quantity, "cost": line.cost * hours / HOURS_PER_MONTH})


def _component(name: str, quantity: Decimal, unit: str, lines: tuple[TierCharge, ...]) -> QuoteComponent:
    with decimal.localcontext(ARITHMETIC):
        cost = sum((line.cost for line in lines), Decimal(0))
    return QuoteComponent(name=name, quantity=quantity, unit=unit, tiers=lines, cost=cost)


def _assumptions(
    book: PriceBook,
    storage: Decimal | None,
    has_egress: bool,
    days: Decimal | None,
    hours: Decimal,
    months: Decimal,
) -> tuple[str, ...]:
    unit_bytes = "2^30" if book.unit == "GiB" else "10^9"
    said = [f"Quantities are in {book.unit} ({unit_bytes} bytes), the unit {book.id} bills in."]
    if days is None:
        said.append("The period is one month of 730 hours.")
    else:
        said.append(f"The period is {plain(days)} days = {plain(hours)} hours = {months:.4f} months of 730 hours.")
    if storage is not None and days is None:
        said.append("Storage is the amount held throughout the month.")
    elif storage is not None:
        said.append(
            "Storage is held throughout the period: its monthly charge (free allowance and "
            f"tiers as in one month) x {months:.4f} months; storage tier quantities are "
            f"{book.unit}-months."
        )
    if book.plan is not None:
        fee = f"{book.plan.monthly_fee:.4f} {book.currency} per month"
        if book.plan.daily_fee is not None:
            fee += f" ({plain(book.plan.daily_fee)} per day x 730/24)"
        if storage is None:
            said.append(f"The plan fee of {fee} is part of storage: add --storage-gb 0 to include it.")
        else:
            said.append(
                f"The plan fee of {fee} includes {plain(book.plan.included_storage)} "
                f"{book.unit} of storage, used before the free allowance and tiers."
            )
    if has_egress and days is None:
        said.append("Egress volumes are the month's volumes: free allowances and tier bounds count per month.")
    elif has_egress:
        said.append(
            "Egress volumes are the period's, spread evenly over it: free allowances and tier "
            f"bounds count per 730-hour month, so each class's volume / {months:.4f} is tiered "
            f"as one month and that month's bill x {months:.4f} months is the period's."
        )
    if book.discount_pct:
        said.append(f"A {plain(book.discount_pct)}% discount applies to every charge.")
    return tuple(said)
