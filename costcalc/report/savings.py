"""Savings: each scenario's projection priced on its book, against the baseline's cost (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from costcalc.inventory.model import Inventory
from costcalc.pricing.book import PriceBook
from costcalc.report.growth import DAYS_PER_MONTH, horizon_cost, monthly_series
from costcalc.report.migration import migration
from costcalc.report.model import MonthCost, RepositoryGrowth, ScenarioResult, ScenarioRow
from costcalc.report.priced import monthly_cost_by_repository
from costcalc.report.transfer import DEFAULT_BANDWIDTH_BITS, hours_saved
from costcalc.scenarios.ecr_lifecycle import LifecyclePolicy
from costcalc.scenarios.projection import Projection, project
from costcalc.scenarios.quantities import Quantities
from costcalc.scenarios.retention import Retention
from costcalc.scenarios.spec import Scenario
from costcalc.units import money, to_units


def scenario_results(
    inventory: Inventory,
    book: PriceBook,
    baseline: Quantities,
    scenarios: Sequence[Scenario],
    *,
    months: int,
    keep: Sequence[str] = (),
    lifecycle_policies: Mapping[str, LifecyclePolicy | None] | None = None,
    bases: Inventory | None = None,
    growth: Mapping[str, RepositoryGrowth] | None = None,
    bandwidth_bits_per_second: int = DEFAULT_BANDWIDTH_BITS,
) -> tuple[ScenarioResult, ...]:
    """Each scenario projected from BASELINE (measured on BOOK), priced, and compared with it.

    Savings are per month; horizon savings are the months' savings over MONTHS months, each
    side grown by GROWTH (see growth.py). `combined` follows the single scenarios when there
    are two or more.
    """
    if not scenarios:
        return ()
    grows = growth or {}
    baseline_costs = monthly_cost_by_repository(baseline, book)
    baseline_series = _series(book, baseline, baseline_costs, grows, months)
    results = [
        _result(
            projection, baseline, baseline_costs, baseline_series, months, grows, scenarios, bandwidth_bits_per_second
        )
        for projection in project(
            inventory, book, baseline, scenarios, keep=keep, lifecycle_policies=lifecycle_policies, bases=bases
        )
    ]
    if len(results) > 2:  # the singles, then `combined`
        results[-1] = _explain_combined(results[-1], results[:-1])
    return tuple(results)


def _explain_combined(combined: ScenarioResult, singles: Sequence[ScenarioResult]) -> ScenarioResult:
    """COMBINED with a sentence saying why, when it saves less than one of SINGLES alone."""
    best = max(singles, key=lambda result: result.monthly_savings)
    if combined.monthly_savings >= best.monthly_savings:
        return combined
    repriced = [single for single in singles if single.pricing_id != best.pricing_id]
    why = (
        f"it is priced on {combined.pricing_id}, which costs more for these quantities than {best.pricing_id}"
        if combined.pricing_id != best.pricing_id or repriced
        else "it applies one size change per image, the one leaving the smallest image, which is not "
        "always the one that costs least"
    )
    note = f"combined saves less than {best.id} alone: {why}."
    return combined.model_copy(update={"assumptions": (*combined.assumptions, note)})


def _series(
    book: PriceBook,
    quantities: Quantities,
    costs: Mapping[str, Decimal],
    growth: Mapping[str, RepositoryGrowth],
    months: int,
    *,
    size_ratio: Mapping[str, Decimal] | None = None,
    room: Mapping[str, Decimal] | None = None,
) -> tuple[MonthCost, ...]:
    """QUANTITIES (whose month costs COSTS on BOOK) grown month by month over MONTHS."""
    storage_bytes = sum((row.storage_bytes for row in quantities.rows), Decimal(0))
    storage_cost = money(book.storage_cost(to_units(storage_bytes, book.unit)))
    egress_cost = sum(costs.values(), Decimal(0)) - storage_cost
    return monthly_series(
        book, quantities.rows, growth, egress_cost=egress_cost, months=months, size_ratio=size_ratio, room=room
    )


COMBINED = "combined"
LIFECYCLE_GROWTH = (
    "Growth under the policy is projected as the baseline's: the images its rules would expire "
    "as new ones are pushed are not projected, so its horizon saving counts what it expires today."
)


def _room(
    projection: Projection, scenarios: Sequence[Scenario], growth: Mapping[str, RepositoryGrowth]
) -> dict[str, Decimal]:
    """Per repository a retention projection looked at: how many versions it may still add
    before it holds what the policy keeps (the tightest retention `combined` applies)."""
    policies = [
        scenario.effect
        for scenario in scenarios
        if isinstance(scenario.effect, Retention) and (scenario.id == projection.id or projection.id == COMBINED)
    ]
    if not policies or not projection.versions:
        return {}
    kept: dict[str, int] = {}
    for version in projection.versions:
        kept[version.repository] = kept.get(version.repository, 0) + (0 if version.dropped else 1)
    room: dict[str, Decimal] = {}
    for repository, holds in kept.items():
        rate = growth[repository].versions_per_month if repository in growth else Decimal(0)
        limits = [
            Decimal(policy.versions)
            if policy.versions is not None
            else rate * Decimal(policy.days or 0) / DAYS_PER_MONTH
            for policy in policies
        ]
        room[repository] = max(min(limits) - holds, Decimal(0))
    return room


def _result(
    projection: Projection,
    baseline: Quantities,
    baseline_costs: Mapping[str, Decimal],
    baseline_series: Sequence[MonthCost],
    months: int,
    growth: Mapping[str, RepositoryGrowth],
    scenarios: Sequence[Scenario],
    bits_per_second: int,
) -> ScenarioResult:
    projected_costs = monthly_cost_by_repository(projection.quantities, projection.book)
    series = _series(
        projection.book,
        projection.quantities,
        projected_costs,
        growth,
        months,
        size_ratio=projection.size_ratio,
        room=_room(projection, scenarios, growth),
    )
    hours = hours_saved(baseline, projection.quantities, growth, projection.size_ratio, bits_per_second)
    assumptions = projection.assumptions
    if projection.expired:
        assumptions = (*assumptions, LIFECYCLE_GROWTH)
    baseline_total = sum(baseline_costs.values(), Decimal(0))
    monthly = sum(projected_costs.values(), Decimal(0))
    savings = baseline_total - monthly
    storage_before = sum((row.storage_bytes for row in baseline.rows), Decimal(0))
    storage_after = sum((row.storage_bytes for row in projection.quantities.rows), Decimal(0))
    rows = tuple(
        ScenarioRow(
            repository=name,
            baseline_monthly_cost=baseline_costs.get(name, Decimal(0)),
            monthly_cost=projected_costs.get(name, Decimal(0)),
            monthly_savings=baseline_costs.get(name, Decimal(0)) - projected_costs.get(name, Decimal(0)),
        )
        for name in sorted(set(baseline_costs) | set(projected_costs))
    )
    return ScenarioResult(
        id=projection.id,
        description=projection.description,
        pricing_id=projection.book.id,
        baseline_monthly_cost=baseline_total,
        monthly_cost=monthly,
        monthly_savings=savings,
        horizon_savings=horizon_cost(baseline_series) - horizon_cost(series),
        savings_pct=savings / baseline_total * 100 if baseline_total else Decimal(0),
        bytes_freed=storage_before - storage_after,
        assumptions=assumptions,
        rows=rows,
        versions=projection.versions,
        expired=projection.expired,
        monthly=series,
        transfer_hours_saved=hours,
        **migration(projection, monthly),
    )
