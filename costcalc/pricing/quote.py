"""Quotes: explicit storage and egress quantities priced on one price book, for what-ifs (pure).

A quote's quantities are in the book's unit. Free allowances, included storage, plan fees
and tier bounds are monthly; a period other than one 730-hour month is priced so:

- storage is the amount held throughout the period: its monthly bill (plan fee, included
  storage, free allowance, tiers) is scaled by the period in months: prices by time;
- a book whose plan prorates over a standard month (``plan.proration_days``, DigitalOcean's
  28 days) instead gets, for a period shorter than that, the included storage, the fee
  and the storage beyond it scaled by days / proration_days; from there to a month, a
  whole month;
- egress allowances and tier bounds reset each billing month and are never prorated: the
  period counts as its length in 730-hour months rounded to whole billing months (at least
  one), each class's volume is spread evenly over them, and one month's bill is scaled by
  their number. Ten days and 31 days get one month's allowance; a year gets twelve.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from decimal import Decimal

from pydantic import BaseModel

from costcalc.errors import InputError
from costcalc.pricing.book import HOURS_PER_DAY, HOURS_PER_MONTH, PriceBook, TierCharge, exact_text
from costcalc.pricing.validation import MAX_DAYS, MAX_QUANTITY, limit_problem, show_number
from costcalc.units import ARITHMETIC


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
        raise InputError(f'{option} "{text[:40]}": not a number.') from None
    if not value.is_finite():
        raise InputError(f'{option} "{text}": must be a finite number.')
    if value < 0:
        raise InputError(f"{option} {show_number(value)}: must be a number >= 0.")
    out_of_bounds = limit_problem(value, MAX_QUANTITY)
    if out_of_bounds:
        raise InputError(f"{option}: {out_of_bounds}.")
    return value + 0


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
        raise InputError(f"--days {exact_text(days)}: the period must be more than 0 days.")
    if days is not None and days > MAX_DAYS:
        raise InputError(f"--days {show_number(days)}: the period must be at most {MAX_DAYS:,f} days (100 years).")
    limit = book.plan.storage_limit if book.plan is not None else None
    if storage is not None and limit is not None and storage > limit:
        raise InputError(
            f"--storage-gb {show_number(storage)}: {book.id} holds at most {exact_text(limit)} {book.unit} "
            "(its plan sells no extra storage); quote a larger plan."
        )
    with decimal.localcontext(ARITHMETIC):
        hours = HOURS_PER_MONTH if days is None else days * HOURS_PER_DAY
        months = hours / HOURS_PER_MONTH
        billing_months = max(Decimal(1), months.to_integral_value(rounding=decimal.ROUND_HALF_UP))
    components: list[QuoteComponent] = []
    if storage is not None:
        components.append(_component("storage", storage, book.unit, _storage_lines(book, storage, days, months)))
    volumes: dict[str, Decimal] = {}
    for egress_class, volume in egress:
        volumes[egress_class] = volumes.get(egress_class, Decimal(0)) + volume
    monthly: dict[str, Decimal] = {}
    for egress_class, volume in volumes.items():
        with decimal.localcontext(ARITHMETIC):
            per_month = volume / billing_months
        lines = tuple(_scaled(line, billing_months) for line in book.egress_breakdown(egress_class, per_month))
        components.append(_component(f"egress {egress_class}", volume, book.unit, lines))
        monthly[egress_class] = per_month
    over_limit = [f"Warning: {warning}" for warning in book.limit_warnings(egress_units=monthly)]
    with decimal.localcontext(ARITHMETIC):
        total = sum((component.cost for component in components), Decimal(0))
    return Quote(
        book=book,
        period_hours=hours,
        components=tuple(components),
        total=total,
        assumptions=(*_assumptions(book, storage, bool(volumes), days, hours, months, billing_months), *over_limit),
    )


def prorated_share(book: PriceBook, days: Decimal | None) -> Decimal | None:
    """The share of a month BOOK's plan bills for DAYS, when it prorates over a standard month.

    None when the book does not prorate so, or the period is not shorter than a month.
    """
    plan = book.plan
    if plan is None or plan.proration_days is None or days is None:
        return None
    with decimal.localcontext(ARITHMETIC):
        if days * HOURS_PER_DAY >= HOURS_PER_MONTH:
            return None
        return min(days / plan.proration_days, Decimal(1))


def _storage_lines(book: PriceBook, storage: Decimal, days: Decimal | None, months: Decimal) -> tuple[TierCharge, ...]:
    share = prorated_share(book, days)
    if share is None or book.plan is None:
        return tuple(_scaled(line, months) for line in book.storage_breakdown(storage))
    with decimal.localcontext(ARITHMETIC):
        included = book.plan.included_storage * share
    prorated = book.model_copy(update={"plan": book.plan.model_copy(update={"included_storage": included})})
    return tuple(_scaled(line, share) for line in prorated.storage_breakdown(storage))


def _scaled(line: TierCharge, months: Decimal) -> TierCharge:
    """A line of one month's bill scaled to MONTHS (the plan fee's quantity becomes months)."""
    if months == 1:
        return line
    with decimal.localcontext(ARITHMETIC):
        return line.model_copy(update={"quantity": line.quantity * months, "cost": line.cost * months})


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
    billing_months: Decimal,
) -> tuple[str, ...]:
    unit_bytes = "2^30" if book.unit == "GiB" else "10^9"
    said = [f"Quantities are in {book.unit} ({unit_bytes} bytes), the unit {book.id} bills in."]
    if days is None:
        said.append("The period is one month of 730 hours.")
    else:
        said.append(
            f"The period is {exact_text(days)} days = {exact_text(hours)} hours = {months:.4f} months of 730 hours."
        )
    share = prorated_share(book, days)
    if storage is not None and days is None:
        said.append("Storage is the amount held throughout the month.")
    elif storage is not None and share is not None and book.plan is not None:
        proration = exact_text(book.plan.proration_days or Decimal(0))
        said.append(
            f"{book.id} prorates its plan over a standard month of {proration} days: for "
            f"{exact_text(days or Decimal(0))} days the included storage is {share:.4f} x "
            f"{exact_text(book.plan.included_storage)} = {book.plan.included_storage * share:.4f} {book.unit}, "
            f"and the plan fee and the storage beyond the included amount are charged for {share:.4f} of a month."
        )
    elif storage is not None:
        said.append(
            "Storage is held throughout the period: its monthly charge (free allowance and "
            f"tiers as in one month) x {months:.4f} months; storage tier quantities are "
            f"{book.unit}-months."
        )
    if book.plan is not None:
        fee = f"{book.plan.monthly_fee:.4f} {book.currency} per month"
        if book.plan.daily_fee is not None:
            fee += f" ({exact_text(book.plan.daily_fee)} per day x 730/24)"
        if storage is None:
            said.append(f"The plan fee of {fee} is part of storage: add --storage-gb 0 to include it.")
        else:
            said.append(
                f"The plan fee of {fee} includes {exact_text(book.plan.included_storage)} "
                f"{book.unit} of storage, used before the free allowance and tiers."
            )
    if has_egress and days is None:
        said.append("Egress volumes are the month's volumes: free allowances and tier bounds count per month.")
    elif has_egress:
        count = "one billing month" if billing_months == 1 else f"{exact_text(billing_months)} billing months"
        said.append(
            "Egress volumes are the period's: free allowances and tier bounds reset each billing month "
            f"and are never prorated, so the period counts as {count} (its {months:.4f} months rounded, "
            f"at least one); each class's volume / {exact_text(billing_months)} is tiered as one month and "
            f"that month's bill x {exact_text(billing_months)} is the period's."
        )
    if book.discount_pct:
        said.append(f"A {exact_text(book.discount_pct)}% discount applies to every charge.")
    return tuple(said)
