"""Savings: each scenario's projection priced on its book, against the baseline's cost (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from costcalc.inventory.model import Inventory
from costcalc.pricing.book import PriceBook
from costcalc.report.migration import migration
from costcalc.report.model import ScenarioResult, ScenarioRow
from costcalc.report.priced import monthly_cost_by_repository
from costcalc.scenarios.ecr_lifecycle import LifecyclePolicy
from costcalc.scenarios.projection import Projection, project
from costcalc.scenarios.quantities import Quantities
from costcalc.scenarios.spec import Scenario


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
) -> tuple[ScenarioResult, ...]:
    """Each scenario projected from BASELINE (measured on BOOK), priced, and compared with it.

    Savings are per month; horizon savings cover MONTHS months. `combined` follows the single
    scenarios when there are two or more.
    """
    if not scenarios:
        return ()
    baseline_costs = monthly_cost_by_repository(baseline, book)
    results = [
        _result(projection, baseline, baseline_costs, months)
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


def _result(
    projection: Projection, baseline: Quantities, baseline_costs: Mapping[str, Decimal], months: int
) -> ScenarioResult:
    projected_costs = monthly_cost_by_repository(projection.quantities, projection.book)
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
        horizon_savings=savings * months,
        savings_pct=savings / baseline_total * 100 if baseline_total else Decimal(0),
        bytes_freed=storage_before - storage_after,
        assumptions=projection.assumptions,
        rows=rows,
        versions=projection.versions,
        expired=projection.expired,
        **migration(projection),
    )
