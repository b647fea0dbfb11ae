"""Savings: each scenario's projection priced on its book, against the baseline's cost (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from costcalc.inventory.model import Inventory
from costcalc.pricing.book import PriceBook
from costcalc.report.model import ScenarioResult, ScenarioRow
from costcalc.report.priced import monthly_cost_by_repository
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
) -> tuple[ScenarioResult, ...]:
    """Each scenario projected from BASELINE (measured on BOOK), priced, and compared with it.

    Savings are per month; horizon savings cover MONTHS months. `combined` follows the single
    scenarios when there are two or more.
    """
    if not scenarios:
        return ()
    baseline_costs = monthly_cost_by_repository(baseline, book)
    return tuple(
        _result(projection, baseline, baseline_costs, months)
        for projection in project(inventory, book, baseline, scenarios, keep=keep)
    )


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
    )
