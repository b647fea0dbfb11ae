"""Growth over the horizon: each repository's push rate and the storage projected month by month (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, localcontext

from costcalc.inventory.model import Inventory
from costcalc.pricing.book import PriceBook
from costcalc.report.model import MonthCost, RepositoryGrowth
from costcalc.scenarios.quantities import RowQuantities
from costcalc.units import ARITHMETIC, money, to_units
from costcalc.usage.model import HOURS_PER_DAY, HOURS_PER_MONTH

RATE_WINDOW_DAYS = 90
DAYS_PER_MONTH = HOURS_PER_MONTH / HOURS_PER_DAY  # 730 hours: the month usage files use

GROWTH_ASSUMPTION = (
    "Growth: each repository's push rate (versions per month, a month being 730 hours) is "
    f"measured from its image versions' config `created` times over the last {RATE_WINDOW_DAYS} "
    "days before its newest version, or over all its history when that is shorter; each new "
    "version adds the repository's typical version delta (the bytes of layers new in a version). "
    "Month 1 starts from today's inventory and storage grows linearly from there; each month is "
    "priced on its average storage (the mean of its start and end: providers bill GB-hours "
    "averaged over the month, Docker Hub says so outright), with the book's tiers, and the "
    "horizon total is the sum of the months, so month 1 includes half a month's growth. Egress "
    "stays as today's. Retention scenarios stop a repository growing once it holds the versions "
    "they keep; size scenarios make each new version smaller by the ratio they give its image."
)


def repository_growth(inventory: Inventory, rows: Sequence[RowQuantities]) -> tuple[RepositoryGrowth, ...]:
    """Each row's repository: its push rate from its version history and its bytes per version."""
    figures = inventory.figures
    result = []
    for row in rows:
        versions = figures.image_versions(row.repository)
        rate, basis = push_rate([v.created for v in versions])
        result.append(
            RepositoryGrowth(
                repository=row.repository,
                versions=len(versions),
                versions_per_month=rate,
                bytes_per_version=row.delta_bytes if rate else Decimal(0),
                basis=basis,
            )
        )
    return tuple(result)


def push_rate(created: Sequence[datetime | None]) -> tuple[Decimal, str]:
    """(versions per month, basis) from the creation times of a repository's versions.

    Over the last RATE_WINDOW_DAYS days before the newest version: the versions created in that
    window; over a shorter history: the pushes after the first, over the time they span. One
    version, or fewer than two dated ones, measure no rate.
    """
    if len(created) < 2:
        return Decimal(0), "one version"
    dated = sorted(time for time in created if time is not None)
    if len(dated) < 2:
        return Decimal(0), "no dates"
    newest, oldest = dated[-1], dated[0]
    start = newest - timedelta(days=RATE_WINDOW_DAYS)
    with localcontext(ARITHMETIC):
        if oldest > start:
            span_days = Decimal((newest - oldest).total_seconds()) / 86400
            if not span_days:
                return Decimal(0), "no dates"
            days = int(span_days.to_integral_value())
            return Decimal(len(dated) - 1) * DAYS_PER_MONTH / span_days, f"all history ({days} days)"
        pushes = sum(1 for time in dated if time > start)
        return Decimal(pushes) * DAYS_PER_MONTH / RATE_WINDOW_DAYS, f"last {RATE_WINDOW_DAYS} days"


def monthly_series(
    book: PriceBook,
    rows: Sequence[RowQuantities],
    growth: Mapping[str, RepositoryGrowth],
    *,
    egress_cost: Decimal,
    months: int,
    size_ratio: Mapping[str, Decimal] | None = None,
    room: Mapping[str, Decimal] | None = None,
) -> tuple[MonthCost, ...]:
    """ROWS' storage month by month over MONTHS, priced on BOOK, with EGRESS_COST every month.

    SIZE_RATIO scales a repository's bytes per new version (a size scenario); ROOM caps the
    versions it may still add (a retention scenario: the versions it keeps minus those it holds).
    """
    ratio = size_ratio or {}
    cap = room or {}
    growing = [
        (growth[row.repository], cap.get(row.repository), ratio.get(row.repository, Decimal(1)))
        for row in rows
        if row.repository in growth and growth[row.repository].versions_per_month
    ]

    def added(elapsed: int) -> Decimal:
        """The bytes pushed in ELAPSED months from today."""
        total = Decimal(0)
        for rate, limit, scale in growing:
            pushes = rate.versions_per_month * elapsed
            if limit is not None:
                pushes = min(pushes, max(limit, Decimal(0)))
            total += pushes * rate.bytes_per_version * scale
        return total

    series = []
    with localcontext(ARITHMETIC):
        today = sum((row.storage_bytes for row in rows), Decimal(0))
        for month in range(1, months + 1):
            # storage is billed as the month's average (GB-hours over the month's hours): under
            # linear growth the mean of the month's start and end
            storage = today + (added(month - 1) + added(month)) / 2
            storage_cost = money(book.storage_cost(to_units(storage, book.unit)))
            series.append(
                MonthCost(
                    month=month,
                    storage_bytes=storage,
                    storage_cost=storage_cost,
                    egress_cost=egress_cost,
                    monthly_cost=storage_cost + egress_cost,
                )
            )
    return tuple(series)


def horizon_cost(series: Sequence[MonthCost]) -> Decimal:
    """The sum of the months' costs."""
    return sum((month.monthly_cost for month in series), Decimal(0))
