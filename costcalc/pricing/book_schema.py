"""The price book file's schema: pydantic models of its tables, every problem as (key path, sentence) (pure).

A book file is TOML read with floats and integers as Decimal (``costcalc.pricing.book_file``),
so every number arrives as a Decimal: a string, a boolean or a float never passes for one.
The models here check one merged book (after ``extends``); ``BookFile.model_validate`` with
``context={"stem": ...}`` raises one ValidationError that ``validation.located`` turns into
every problem of the file at once.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator

from costcalc.pricing.book import DedupScope, exact_text
from costcalc.pricing.validation import (
    MAX_PRICE,
    MAX_QUANTITY,
    FileModel,
    Problem,
    describe,
    limit_problem,
    problem,
    problems,
    show_number,
)

_ZERO = Decimal(0)
_TIER_EXAMPLE = "{ up_to = 100, price = 0.1 }"
_CLASS_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
_URL = re.compile(r"https?://\S+$")


def _number(maximum: Decimal) -> Callable[[Any], Decimal]:
    def check(value: Any) -> Decimal:
        if not isinstance(value, Decimal):
            hint = ""
            if isinstance(value, str) and re.fullmatch(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*", value):
                hint = ": remove the quotes"
            raise problem(f"must be a number, not {describe(value)}{hint}")
        if not value.is_finite():
            raise problem(f"must be a finite number, got {value}")
        if value < 0:
            raise problem(f"must be >= 0, got {show_number(value)}")
        out_of_bounds = limit_problem(value, maximum)
        if out_of_bounds:
            raise problem(out_of_bounds)
        return value + 0  # a negative zero's sign dropped

    return check


def _percent(value: Any) -> Decimal:
    number = _number(MAX_PRICE)(value)
    if number > 100:
        raise problem(f"must be between 0 and 100, got {show_number(number)}")
    return number


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise problem(f"must be a non-empty string, not {describe(value)}")
    return value


def _choice(*choices: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            options = " or ".join(f'"{choice}"' for choice in choices)
            raise problem(f"must be {options}, not {describe(value)}")
        return str(value)

    return check


def _currency(value: Any) -> str:
    text = _text(value)
    if not re.fullmatch(r"[A-Z]{3}", text):
        raise problem(f'must be a three-letter ISO 4217 code such as "USD", got "{text}"')
    return text


def _date(value: Any) -> datetime.date:
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise problem(f"must be a TOML date such as 2026-11-01, not {describe(value)}")
    return value


def _sources(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise problem(f"must be an array of URLs, not {describe(value)}")
    if not value:
        raise problem("must list at least one URL where the prices were read")
    bad = [
        ((index,), f"must be an http(s) URL, not {describe(source)}")
        for index, source in enumerate(value)
        if not isinstance(source, str) or not _URL.match(source)
    ]
    if bad:
        raise problems(bad)
    return tuple(value)


def _notes(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise problem(f"must be an array of sentences, not {describe(value)}")
    bad = [
        ((index,), f"must be a string, not {describe(note)}")
        for index, note in enumerate(value)
        if not isinstance(note, str)
    ]
    if bad:
        raise problems(bad)
    return tuple(value)


def _tiers(value: Any) -> Any:
    if not isinstance(value, list):
        raise problem(f"must be an array of tables like {_TIER_EXAMPLE}, not {describe(value)}")
    if not value:
        raise problem("must list at least one tier (the last one without up_to)")
    return value


def _egress(value: Any) -> Any:
    if not isinstance(value, dict):
        raise problem(f"must be a table of egress classes, not {describe(value)}")
    return value


def _days(value: Any) -> Decimal:
    number = _number(Decimal(31))(value)
    if number < 1:
        raise problem(f"must be between 1 and 31 days, got {show_number(number)}")
    return number


Quantity = Annotated[Decimal, BeforeValidator(_number(MAX_QUANTITY))]
Price = Annotated[Decimal, BeforeValidator(_number(MAX_PRICE))]
Text = Annotated[str, BeforeValidator(_text)]


class EgressTier(FileModel):
    """One tier of an egress class: a price per unit up to a cumulative bound."""

    WHAT: ClassVar[str] = f"a table like {_TIER_EXAMPLE}"
    up_to: Quantity | None = None
    price: Price


class StorageTier(FileModel):
    """One tier of storage: a price per unit-month, or the provider's price per unit-day."""

    WHAT: ClassVar[str] = f"a table like {_TIER_EXAMPLE}"
    up_to: Quantity | None = None
    price: Price | None = None
    daily_price: Price | None = None

    @classmethod
    def rules(cls, data: dict[str, Any], context: Mapping[str, Any]) -> list[Problem]:
        given = [key for key in ("price", "daily_price") if key in data]
        if not given:
            return [(("price",), "required field is missing")]
        if len(given) > 1:
            return [(("daily_price",), "give price or daily_price, not both")]
        return []


def _bound_rules(tiers: Any) -> list[Problem]:
    """Bounds strictly increasing, only the last tier unbounded; tiers that failed are skipped."""
    if not isinstance(tiers, list):
        return []
    out: list[Problem] = []
    previous = _ZERO
    unbounded: int | None = None
    for index, tier in enumerate(tiers):
        if not isinstance(tier, dict):
            continue
        path = ("tiers", index)
        if unbounded is not None:
            if unbounded == index - 1:
                out.append(
                    (path, f"follows tiers[{unbounded}], which has no up_to: only the last tier may be unbounded")
                )
            continue
        if "up_to" not in tier:
            unbounded = index
            continue
        bound = tier["up_to"]
        if not isinstance(bound, Decimal) or not bound.is_finite() or not 0 <= bound <= MAX_QUANTITY:
            continue  # reported by the tier's own check
        if bound <= previous:
            after = f"the previous tier's up_to ({exact_text(previous)})" if index else "0"
            out.append(((*path, "up_to"), f"must be greater than {after}, got {exact_text(bound)}"))
        previous = max(previous, bound)
        if index == len(tiers) - 1:
            out.append(
                (
                    (*path, "up_to"),
                    f"the last tier must have no up_to: volume above {exact_text(previous)} would have no price",
                )
            )
    return out


class EgressRate(FileModel):
    """An egress class: a free allowance per month, then volume tiers."""

    WHAT: ClassVar[str] = "a table with free and tiers"
    free: Quantity = _ZERO
    tiers: Annotated[tuple[EgressTier, ...], BeforeValidator(_tiers)]
    # The most the provider serves in this class a month (ECR Public's anonymous pulls):
    # beyond it pulls are refused, not billed.
    limit: Quantity | None = None

    @classmethod
    def rules(cls, data: dict[str, Any], context: Mapping[str, Any]) -> list[Problem]:
        return _bound_rules(data.get("tiers"))


class StorageRate(FileModel):
    """Storage: a free allowance per month, then tiers priced per unit-month or per unit-day."""

    WHAT: ClassVar[str] = "a table with free and tiers"
    free: Quantity = _ZERO
    tiers: Annotated[tuple[StorageTier, ...], BeforeValidator(_tiers)]

    @classmethod
    def rules(cls, data: dict[str, Any], context: Mapping[str, Any]) -> list[Problem]:
        return _bound_rules(data.get("tiers"))


class PlanFile(FileModel):
    """A fixed fee per month (or per day) with included storage, and how it is prorated."""

    monthly_fee: Price | None = None
    daily_fee: Price | None = None
    included_storage: Quantity = _ZERO
    # A provider that prorates the included storage over a standard month of this many days
    # (DigitalOcean: 28) for a registry active part of a month.
    proration_days: Annotated[Decimal, BeforeValidator(_days)] | None = None
    # The most the plan can hold, in book units (a plan with no extra storage for sale).
    storage_limit: Quantity | None = None

    @classmethod
    def rules(cls, data: dict[str, Any], context: Mapping[str, Any]) -> list[Problem]:
        fees = [key for key in ("monthly_fee", "daily_fee") if key in data]
        if not fees:
            return [((), "needs monthly_fee or daily_fee")]
        if len(fees) > 1:
            return [(("daily_fee",), "give monthly_fee or daily_fee, not both")]
        return []


class PullLimitsFile(FileModel):
    """Pull rate limits of a plan: data for warnings, never a price; absent means no limit."""

    pulls_per_hour: Quantity | None = None  # per authenticated account
    anonymous_pulls_per_hour: Quantity | None = None  # per client IP address
    included_pulls_per_month: Quantity | None = None  # pulls the plan includes, fair use beyond


class BookFile(FileModel):
    """A whole price book, after ``extends`` is merged."""

    id: Text
    name: Text
    provider: Text
    region: Text
    currency: Annotated[str, BeforeValidator(_currency)]
    unit: Annotated[Literal["GiB", "GB"], BeforeValidator(_choice("GiB", "GB"))]
    dedup_scope: Annotated[DedupScope, BeforeValidator(_choice("registry", "repository"))]
    effective_date: Annotated[datetime.date, BeforeValidator(_date)]
    sources: Annotated[tuple[str, ...], BeforeValidator(_sources)]
    notes: Annotated[tuple[str, ...], BeforeValidator(_notes)] = ()
    discount_pct: Annotated[Decimal, BeforeValidator(_percent)] = _ZERO
    extends: Any = None  # followed, and checked, while the file is read
    storage: StorageRate
    plan: PlanFile | None = None
    pull_limits: PullLimitsFile | None = None
    egress: Annotated[dict[str, EgressRate], BeforeValidator(_egress)]

    @classmethod
    def rules(cls, data: dict[str, Any], context: Mapping[str, Any]) -> list[Problem]:
        out: list[Problem] = []
        stem = context.get("stem")
        book_id = data.get("id")
        if isinstance(book_id, str) and book_id and stem is not None and book_id != stem:
            out.append(
                (
                    ("id",),
                    f'"{book_id}" does not match the file name "{stem}.toml": set id = "{stem}" or rename the file',
                )
            )
        egress = data.get("egress")
        if isinstance(egress, dict):
            out += [
                (("egress", name), "a class name is lower-case words joined by hyphens, like same-region")
                for name in egress
                if not _CLASS_NAME.fullmatch(name)
            ]
            if "internet" not in egress:
                out.append(
                    (("egress", "internet"), "required egress class is missing: every book prices internet egress")
                )
        return out
