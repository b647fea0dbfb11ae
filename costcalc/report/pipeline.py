"""The one function that builds a report: usage -> quantities -> prices -> comparison -> scenarios."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from costcalc.inventory.model import Inventory
from costcalc.pricing.book import PriceBook
from costcalc.report.bases import base_rows
from costcalc.report.growth import GROWTH_ASSUMPTION, horizon_cost, monthly_series, repository_growth
from costcalc.report.model import GroupBy, Report, RepositoryGrowth
from costcalc.report.priced import compare, price
from costcalc.report.quantities import measure, measure_usage
from costcalc.report.recency import pull_recency
from costcalc.report.savings import scenario_results
from costcalc.report.transfer import DEFAULT_BANDWIDTH_BITS, bandwidth_assumption
from costcalc.scenarios.ecr_lifecycle import LifecyclePolicy
from costcalc.scenarios.spec import Scenario
from costcalc.usage.file import Usage


def build(
    inventory: Inventory,
    usage: Usage | None,
    books: Sequence[PriceBook],
    *,
    scenarios: Sequence[Scenario] = (),
    keep: Sequence[str] = (),
    group_by: GroupBy = "repository",
    months: int = 12,
    source: str = "",
    generated_at: datetime | None = None,
    lifecycle_policies: Mapping[str, LifecyclePolicy | None] | None = None,
    bases: Inventory | None = None,
    bandwidth_bits_per_second: int = DEFAULT_BANDWIDTH_BITS,
) -> Report:
    """The report of INVENTORY with USAGE priced on BOOKS[0], compared with BOOKS[1:], with SCENARIOS.

    Usage is matched once (what no book changes); each book measures storage under its own
    dedup scope and prices it; the first book's report carries the others' totals as its
    comparison and the scenarios, projected from the first book's quantities and priced.
    LIFECYCLE_POLICIES: each repository's ECR lifecycle policy, for `ecr-lifecycle:current`.
    BASES (`--bases`) names base images the inventory's images are built on, and rebase
    scenarios may name them. BANDWIDTH_BITS_PER_SECOND (per node) turns the bytes a scenario
    saves into transfer hours.
    """
    if not books:
        raise ValueError("a report needs at least one price book")
    shared = measure_usage(inventory, usage)
    measured = [
        measure(inventory, usage, book, substitute_classes=index > 0, measurements=shared)
        for index, book in enumerate(books)
    ]
    priced = [
        price(quantities, book, group_by=group_by, months=months, source=source, generated_at=generated_at)
        for quantities, book in zip(measured, books, strict=True)
    ]
    growth = repository_growth(inventory, measured[0].rows)
    by_repository = {row.repository: row for row in growth}
    grown = []
    for report, quantities, book in zip(priced, measured, books, strict=True):
        series = monthly_series(
            book, quantities.rows, by_repository, egress_cost=report.totals.egress_cost, months=months
        )
        totals = report.totals.model_copy(update={"horizon_cost": horizon_cost(series)})
        grown.append(
            report.model_copy(
                update={
                    "totals": totals,
                    "monthly": series,
                    "growth": growth,
                    "assumptions": (*report.assumptions, GROWTH_ASSUMPTION, *_no_growth(growth)),
                }
            )
        )
    report = compare(grown[0], grown[1:])
    recency = pull_recency(inventory)
    if recency:
        report = report.model_copy(update={"pull_recency": recency})
    report = report.model_copy(update={"bases": base_rows(inventory, measured[0], books[0], bases)})
    if scenarios:
        results = scenario_results(
            inventory,
            books[0],
            measured[0],
            scenarios,
            months=months,
            keep=keep,
            lifecycle_policies=lifecycle_policies,
            bases=bases,
            growth=by_repository,
            bandwidth_bits_per_second=bandwidth_bits_per_second,
        )
        assumptions = (*report.assumptions, bandwidth_assumption(bandwidth_bits_per_second))
        report = report.model_copy(update={"scenarios": results, "assumptions": assumptions})
    return report


def _no_growth(growth: Sequence[RepositoryGrowth]) -> tuple[str, ...]:
    """The sentence naming the repositories projected without growth, and why (none: no sentence)."""
    still = [f"{row.repository} ({row.basis})" for row in growth if not row.versions_per_month]
    if not still:
        return ()
    return (
        f"No growth is projected for {len(still)} repositories whose push rate cannot be measured: {', '.join(still)}.",
    )
