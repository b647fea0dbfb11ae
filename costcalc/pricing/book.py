"""Price books: the PriceBook model and tier math (pure).

Rules this module settles:

- Arithmetic runs in units.ARITHMETIC, the reports' 50-significant-digit context, and bytes
  become book units in units.to_units. Converting bytes to GiB is a division by 2**30, which
  has a finite decimal expansion: it is exact for any byte count below 10**29. The only
  inexact steps are the conversions of day prices to 730-hour months (x 730 / 24, rounded
  at the 50th digit, far below the 4 places ever printed).
- Storage for one month: a plan's monthly fee; the plan's included storage is consumed
  first; what is left goes through the storage free allowance, then the tiers.
- Tier bounds (``up_to``) are cumulative, in the book's unit, and count the volume left
  after the free allowance. Tiers must be strictly increasing and the last is unbounded.
- ``discount_pct`` applies to every charge; breakdowns show it as one negative line.

Reading, merging and validating book files is ``costcalc.pricing.book_file``.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, model_validator

from costcalc.errors import InputError
from costcalc.units import ARITHMETIC, plain

HOURS_PER_MONTH = Decimal(730)
HOURS_PER_DAY = Decimal(24)

# Registry: a blob stored once however many repositories hold it; repository: once per repository.
DedupScope = Literal["registry", "repository"]

_ZERO = Decimal(0)


def per_month(daily: Decimal) -> Decimal:
    """A per-day figure as a per-730-hour-month figure (x 730/24, at 50 significant digits)."""
    with decimal.localcontext(ARITHMETIC):
        return daily * HOURS_PER_MONTH / HOURS_PER_DAY


def exact_text(number: Decimal) -> str:
    """NUMBER exactly, in positional notation without trailing zeros: 10240, 0.5, 0.09125
    (for tier labels and book figures, which units.plain would round to 4 places)."""
    text = format(number.normalize(ARITHMETIC), "f")
    return "0" if text in ("-0", "0") else text


class TierCharge(BaseModel, frozen=True):
    """One line of a bill: quantity x price = cost.

    For tier lines the quantity is in book units (or unit-months) and the price is per unit;
    for the plan fee the quantity is months; for a discount line the quantity is the
    undiscounted subtotal in the book's currency and the price is the negative rate.
    """

    label: str
    quantity: Decimal
    price: Decimal
    cost: Decimal


class Tier(BaseModel, frozen=True):
    """A price per unit (per unit-month for storage) that applies up to a cumulative bound."""

    up_to: Decimal | None = None
    price: Decimal
    daily_price: Decimal | None = None  # the published per-day figure, when ``price`` derives from it


class TieredRate(BaseModel, frozen=True):
    """A free allowance, then volume tiers whose bounds count the volume after the allowance."""

    free: Decimal = _ZERO
    tiers: tuple[Tier, ...]
    limit: Decimal | None = None  # the most served a month (egress); beyond it refused, never billed

    @model_validator(mode="after")
    def _well_formed(self) -> TieredRate:
        if not self.tiers or self.tiers[-1].up_to is not None:
            raise ValueError("the last tier must have no up_to")
        bounds = [tier.up_to for tier in self.tiers[:-1]]
        if any(bound is None for bound in bounds):
            raise ValueError("only the last tier may have no up_to")
        previous = _ZERO
        for bound in bounds:
            assert bound is not None
            if bound <= previous:
                raise ValueError("tier bounds must be strictly increasing")
            previous = bound
        if self.free < 0 or any(tier.price < 0 for tier in self.tiers):
            raise ValueError("free allowances and prices must be >= 0")
        return self

    def breakdown(self, quantity: Decimal) -> tuple[TierCharge, ...]:
        """One line per tier that QUANTITY (book units) reaches, the free part first; () for 0."""
        if quantity < 0:
            raise ValueError(f"a quantity must be >= 0, got {quantity}")
        charges: list[TierCharge] = []
        with decimal.localcontext(ARITHMETIC):
            in_free = min(quantity, self.free)
            if in_free > 0:
                label = f"free {exact_text(self.free)}"
                charges.append(TierCharge(label=label, quantity=in_free, price=_ZERO, cost=_ZERO))
            rest = quantity - in_free
            lower = _ZERO
            for index, tier in enumerate(self.tiers):
                if rest <= lower:
                    break
                upper = rest if tier.up_to is None else min(rest, tier.up_to)
                used = upper - lower
                charges.append(
                    TierCharge(
                        label=self._label(index, lower),
                        quantity=used,
                        price=tier.price,
                        cost=used * tier.price,
                    )
                )
                if tier.up_to is None:
                    break
                lower = tier.up_to
        return tuple(charges)

    def cost(self, quantity: Decimal) -> Decimal:
        """Exact cost of QUANTITY book units: the free allowance, then the tiers."""
        return _sum(charge.cost for charge in self.breakdown(quantity))

    def _label(self, index: int, lower: Decimal) -> str:
        tier = self.tiers[index]
        if tier.up_to is None:
            if index > 0:
                return f"over {exact_text(lower)}"
            return "all" if self.free == 0 else "beyond free"
        if index == 0:
            return f"first {exact_text(tier.up_to)}"
        return f"next {exact_text(tier.up_to - lower)}"


class Plan(BaseModel, frozen=True):
    """A fixed fee per 730-hour month that includes some storage (book units)."""

    monthly_fee: Decimal
    included_storage: Decimal = _ZERO
    daily_fee: Decimal | None = None  # the published per-day figure, when ``monthly_fee`` derives from it
    # For part of a month, the provider prorates the fee and the included storage over a
    # standard month of this many days (DigitalOcean: 28), instead of over 730 hours.
    proration_days: Decimal | None = None
    storage_limit: Decimal | None = None  # the most the plan holds (book units); None = no limit


class PullLimits(BaseModel, frozen=True):
    """A plan's pull rate limits (data for warnings, never a price); None means no limit."""

    pulls_per_hour: Decimal | None = None  # per authenticated account
    # Per client IP address, so no report warns on it: a usage file counts every client's pulls
    # together and says neither which are anonymous nor from how many addresses.
    anonymous_pulls_per_hour: Decimal | None = None
    included_pulls_per_month: Decimal | None = None  # pulls the plan includes, fair use beyond


class PriceBook(BaseModel, frozen=True):
    """One provider offer: storage and egress prices in one unit and currency, with sources."""

    id: str
    name: str
    provider: str
    region: str
    currency: str
    unit: Literal["GiB", "GB"]
    dedup_scope: DedupScope
    effective_date: datetime.date
    sources: tuple[str, ...]
    notes: tuple[str, ...] = ()
    discount_pct: Decimal = _ZERO
    storage: TieredRate
    plan: Plan | None = None
    pull_limits: PullLimits | None = None
    egress: dict[str, TieredRate]
    extends: str | None = None
    path: str | None = None  # where it was loaded from: a file path or "bundled:ID"

    @property
    def egress_classes(self) -> tuple[str, ...]:
        """The egress classes this book prices, in file order."""
        return tuple(self.egress)

    def storage_breakdown(self, units_held: Decimal) -> tuple[TierCharge, ...]:
        """One month's storage bill for UNITS_HELD: plan fee, included part, tiers, discount."""
        lines: list[TierCharge] = []
        billable = units_held
        if self.plan is not None:
            fee = self.plan.monthly_fee
            lines.append(TierCharge(label="plan fee", quantity=Decimal(1), price=fee, cost=fee))
            included = min(units_held, self.plan.included_storage)
            if included > 0:
                label = f"included {exact_text(self.plan.included_storage)}"
                lines.append(TierCharge(label=label, quantity=included, price=_ZERO, cost=_ZERO))
            billable = units_held - included
        tiers = self.storage.breakdown(billable)
        if self.plan is not None and self.plan.included_storage > 0:
            # "all" would claim every unit held: here it is only what the plan does not include
            tiers = tuple(
                line.model_copy(update={"label": "beyond included"}) if line.label == "all" else line for line in tiers
            )
        lines.extend(tiers)
        return self._discounted(lines)

    def storage_cost(self, units_held: Decimal) -> Decimal:
        """One month of holding UNITS_HELD book units, plan fee included, after the discount."""
        return _sum(line.cost for line in self.storage_breakdown(units_held))

    def egress_breakdown(self, egress_class: str, units: Decimal) -> tuple[TierCharge, ...]:
        """Lines of the bill for one month's UNITS of EGRESS_CLASS, after the discount."""
        return self._discounted(list(self._egress_rate(egress_class).breakdown(units)))

    def egress_cost(self, egress_class: str, units: Decimal) -> Decimal:
        """One month's UNITS transferred in EGRESS_CLASS, after the discount."""
        return _sum(line.cost for line in self.egress_breakdown(egress_class, units))

    def limit_warnings(
        self,
        *,
        storage_units: Decimal | None = None,
        pulls_per_month: Decimal | None = None,
        egress_units: Mapping[str, Decimal] | None = None,
    ) -> tuple[str, ...]:
        """Sentences for what exceeds the book's limits: STORAGE_UNITS held against the plan's
        storage limit, pulls (a month's, averaged over 730 hours against an hourly limit) and a
        month's EGRESS_UNITS per class against the class's limit. Limits are never priced:
        beyond them a provider refuses, it does not bill."""
        said: list[str] = []
        storage_limit = self.plan.storage_limit if self.plan is not None else None
        if storage_units is not None and storage_limit is not None and storage_units > storage_limit:
            with decimal.localcontext(ARITHMETIC):
                over = storage_units - storage_limit
            said.append(
                f"storage is {plain(storage_units, 2)} {self.unit}, {plain(over, 2)} {self.unit} more than the "
                f"{exact_text(storage_limit)} {self.unit} {self.id} holds at most: the plan sells no extra storage, "
                "so it cannot hold this registry (the excess is priced at the book's storage rate, which this "
                "plan cannot buy); price a larger plan."
            )
        limits = self.pull_limits
        if pulls_per_month is not None and limits is not None:
            with decimal.localcontext(ARITHMETIC):
                per_hour = pulls_per_month / HOURS_PER_MONTH
            if limits.pulls_per_hour is not None and per_hour > limits.pulls_per_hour:
                said.append(
                    f"{exact_text(pulls_per_month)} pulls a month average {per_hour:.1f} an hour, more than the "
                    f"{exact_text(limits.pulls_per_hour)} an hour {self.id} allows: pulls beyond it are refused."
                )
            if limits.included_pulls_per_month is not None and pulls_per_month > limits.included_pulls_per_month:
                said.append(
                    f"{exact_text(pulls_per_month)} pulls a month are more than the "
                    f"{exact_text(limits.included_pulls_per_month)} {self.id} includes: beyond them the provider's "
                    "fair use terms apply (throttling or charges this book does not price)."
                )
        for egress_class, units in (egress_units or {}).items():
            limit = self._egress_rate(egress_class).limit
            if limit is not None and units > limit:
                said.append(
                    f"egress {egress_class} is {exact_text(units)} {self.unit} a month, more than the "
                    f"{exact_text(limit)} {self.unit} {self.id} serves in this class a month: pulls beyond it are "
                    "refused, not billed, so the excess is priced as nothing and would not be served."
                )
        return tuple(said)

    def _egress_rate(self, egress_class: str) -> TieredRate:
        try:
            return self.egress[egress_class]
        except KeyError:
            known = ", ".join(self.egress)
            raise InputError(
                f'price book {self.id} has no egress class "{egress_class}"; its classes are: {known}.'
            ) from None

    def _discounted(self, lines: list[TierCharge]) -> tuple[TierCharge, ...]:
        if self.discount_pct == 0:
            return tuple(lines)
        with decimal.localcontext(ARITHMETIC):
            subtotal = _sum(line.cost for line in lines)
            if subtotal == 0:
                return tuple(lines)
            rate = self.discount_pct / 100
            label = f"discount {exact_text(self.discount_pct)}%"
            lines.append(TierCharge(label=label, quantity=subtotal, price=-rate, cost=-(subtotal * rate)))
        return tuple(lines)


def _sum(values: Iterable[Decimal]) -> Decimal:
    with decimal.localcontext(ARITHMETIC):
        return sum(values, _ZERO)
