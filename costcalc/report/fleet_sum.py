"""Sums of the reports of a fleet's registries: rows, totals, months and scenarios (pure).

Registries never share storage, so every byte and every cost of a fleet is the sum of its
registries' (each already exact to 0.0001 and split among its rows); nothing is priced again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from decimal import Decimal, localcontext

from costcalc.inventory.records import Summary
from costcalc.report.model import MonthCost, ReportRow, ScenarioResult, ScenarioRow, Totals
from costcalc.units import ARITHMETIC, BYTES_PER_UNIT

ZERO = Decimal(0)


def total(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)


def _known_sum(values: Sequence[Decimal | None]) -> Decimal | None:
    """The sum of the known VALUES; None when none is known (unknown is never 0)."""
    known = [value for value in values if value is not None]
    return total(known) if known else None


def renamed(row: ReportRow, prefix: str) -> ReportRow:
    """ROW with PREFIX before its name and its repositories' names."""
    return row.model_copy(
        update={"name": prefix + row.name, "repositories": tuple(prefix + name for name in row.repositories)}
    )


def sum_rows(name: str, rows: Sequence[ReportRow]) -> ReportRow:
    """One group made of ROWS (of different registries: nothing among them is shared)."""
    teams = {row.team for row in rows}
    known = [row for row in rows if row.egress_cost is not None]
    storage_cost = total(row.storage_cost for row in rows)
    egress_cost = total(row.egress_cost or ZERO for row in known) if known else None
    return ReportRow(
        name=name,
        team=teams.pop() if len(teams) == 1 else None,
        repositories=tuple(repository for row in rows for repository in row.repositories),
        tags=sum(row.tags for row in rows),
        unique_bytes=sum(row.unique_bytes for row in rows),
        attributed_bytes=total(row.attributed_bytes for row in rows),
        image_bytes=total(row.image_bytes for row in rows),
        pulls_per_month=_known_sum([row.pulls_per_month for row in rows]),
        egress_bytes=_known_sum([row.egress_bytes for row in rows]),
        storage_cost=storage_cost,
        egress_cost=egress_cost,
        egress_partial=bool(known) and (len(known) < len(rows) or any(row.egress_partial for row in rows)),
        monthly_cost=storage_cost + (egress_cost or ZERO),
        untagged_images=sum(row.untagged_images for row in rows),
        untagged_bytes=total(row.untagged_bytes for row in rows),
        untagged_cost=total(row.untagged_cost for row in rows),
        measured_egress_bytes=_known_sum([row.measured_egress_bytes for row in rows]),
        modelled_egress_bytes=_known_sum([row.modelled_egress_bytes for row in rows]),
    )


def in_unit(value: Decimal, unit: str, wanted: str) -> Decimal:
    """VALUE in price-book UNIT (GB or GiB) expressed in WANTED."""
    if unit == wanted:
        return value
    with localcontext(ARITHMETIC):
        return value * BYTES_PER_UNIT[unit] / BYTES_PER_UNIT[wanted]


def sum_totals(parts: Sequence[tuple[Totals, str]], unit: str) -> Totals:
    """The totals of PARTS (each with its book's unit), quantities in UNIT."""
    classes = sorted({egress_class for totals, _ in parts for egress_class in totals.egress_gb_by_class})
    return Totals(
        storage_bytes=total(t.storage_bytes for t, _ in parts),
        billable_storage_gb=total(in_unit(t.billable_storage_gb, u, unit) for t, u in parts),
        storage_cost=total(t.storage_cost for t, _ in parts),
        egress_bytes=total(t.egress_bytes for t, _ in parts),
        egress_gb_by_class={
            c: total(in_unit(t.egress_gb_by_class.get(c, ZERO), u, unit) for t, u in parts) for c in classes
        },
        egress_cost_by_class={c: total(t.egress_cost_by_class.get(c, ZERO) for t, _ in parts) for c in classes},
        egress_cost=total(t.egress_cost for t, _ in parts),
        egress_complete=all(t.egress_complete for t, _ in parts),
        monthly_cost=total(t.monthly_cost for t, _ in parts),
        horizon_cost=total(t.horizon_cost for t, _ in parts),
        months=parts[0][0].months,
        untagged_images=sum(t.untagged_images for t, _ in parts),
        untagged_bytes=total(t.untagged_bytes for t, _ in parts),
        untagged_cost=total(t.untagged_cost for t, _ in parts),
        measured_egress_bytes=_known_sum([t.measured_egress_bytes for t, _ in parts]),
        modelled_egress_bytes=_known_sum([t.modelled_egress_bytes for t, _ in parts]),
    )


def sum_months(series: Sequence[Sequence[MonthCost]]) -> tuple[MonthCost, ...]:
    """Month by month, the sum of every series of SERIES (all of one length)."""
    return tuple(
        MonthCost(
            month=months[0].month,
            storage_bytes=total(m.storage_bytes for m in months),
            storage_cost=total(m.storage_cost for m in months),
            egress_cost=total(m.egress_cost for m in months),
            monthly_cost=total(m.monthly_cost for m in months),
        )
        for months in zip(*series, strict=True)
    )


def sum_summaries(summaries: Sequence[Summary], registry: str, namespace: str) -> Summary:
    """The scan summary of a fleet: its registries' figures added (no blob is in two registries)."""

    def added(field: Callable[[Summary], int]) -> int:
        return sum(field(s) for s in summaries)

    return Summary(
        registry=registry,
        namespace=namespace,
        repositories=added(lambda s: s.repositories),
        tags=added(lambda s: s.tags),
        manifests=added(lambda s: s.manifests),
        blobs=added(lambda s: s.blobs),
        unique_bytes=added(lambda s: s.unique_bytes),
        naive_bytes=added(lambda s: s.naive_bytes),
        per_repository_unique_bytes=added(lambda s: s.per_repository_unique_bytes),
        shared_layer_bytes=added(lambda s: s.shared_layer_bytes),
    )


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def sum_scenarios(parts: Sequence[tuple[ScenarioResult, str]], scenario_id: str) -> ScenarioResult:
    """One scenario over a fleet: PARTS are its result in each registry, with that registry's
    prefix for repository names (empty when the fleet is one registry)."""
    baseline = total(result.baseline_monthly_cost for result, _ in parts)
    savings = total(result.monthly_savings for result, _ in parts)
    books = _unique(result.pricing_id for result, _ in parts)
    return ScenarioResult(
        id=scenario_id,
        description=next((result.description for result, _ in parts if result.description), ""),
        pricing_id=books[0] if len(books) == 1 else "per registry",
        baseline_monthly_cost=baseline,
        monthly_cost=total(result.monthly_cost for result, _ in parts),
        monthly_savings=savings,
        horizon_savings=total(result.horizon_savings for result, _ in parts),
        savings_pct=savings / baseline * 100 if baseline else ZERO,
        bytes_freed=total(result.bytes_freed for result, _ in parts),
        assumptions=_unique(a for result, _ in parts for a in result.assumptions),
        rows=tuple(
            ScenarioRow(
                repository=prefix + row.repository,
                baseline_monthly_cost=row.baseline_monthly_cost,
                monthly_cost=row.monthly_cost,
                monthly_savings=row.monthly_savings,
            )
            for result, prefix in parts
            for row in result.rows
        ),
        versions=tuple(
            replace(v, repository=prefix + v.repository) for result, prefix in parts for v in result.versions
        ),
        expired=tuple(replace(e, repository=prefix + e.repository) for result, prefix in parts for e in result.expired),
        migration_bytes=_known_sum([result.migration_bytes for result, _ in parts]),
        migration_cost=_known_sum([result.migration_cost for result, _ in parts]),
        monthly=sum_months([result.monthly for result, _ in parts]) if all(r.monthly for r, _ in parts) else (),
        transfer_hours_saved=_known_sum([result.transfer_hours_saved for result, _ in parts]),
    )
