"""Prices: a month of quantities priced on a book, split exactly among rows and grouped (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal, localcontext

from costcalc.pricing.book import PriceBook
from costcalc.report.model import Comparison, GroupBy, Pricing, Report, ReportRow, Totals
from costcalc.scenarios.quantities import Quantities, RowQuantities
from costcalc.units import ARITHMETIC, allocate, money, plain, to_units

NO_TEAM = "(no team)"


def price(
    quantities: Quantities,
    book: PriceBook,
    *,
    group_by: GroupBy = "repository",
    months: int = 12,
    source: str = "",
    generated_at: datetime | None = None,
) -> Report:
    """Price QUANTITIES on BOOK for one month (and MONTHS), grouped by GROUP_BY."""
    rows = quantities.rows
    storage_costs, egress_costs, totals = _priced(quantities, book, months)
    untagged_costs = untagged_shares(rows, storage_costs)
    totals = totals.model_copy(update=_measured_egress(rows))
    if any(r.untagged_images for r in rows):
        totals = totals.model_copy(
            update={
                "untagged_images": sum(r.untagged_images for r in rows),
                "untagged_bytes": sum((r.untagged_bytes for r in rows), Decimal(0)),
                "untagged_cost": sum(untagged_costs, Decimal(0)),
            }
        )
    groups: dict[str, list[int]] = defaultdict(list)
    key = _group_key(group_by, quantities.registry, quantities.namespace)
    for index, row in enumerate(rows):
        groups[key(row)].append(index)
    report_rows = []
    with localcontext(ARITHMETIC):
        for name, members in groups.items():
            known = [i for i in members if rows[i].egress_bytes_by_class is not None]
            teams = {rows[i].team for i in members}
            storage_cost = sum((storage_costs[i] for i in members), Decimal(0))
            untagged_cost = sum((untagged_costs[i] for i in members), Decimal(0))
            egress_cost = sum((egress_costs[i] for i in known), Decimal(0)) if known else None
            report_rows.append(
                ReportRow(
                    name=name,
                    team=teams.pop() if len(teams) == 1 else None,
                    repositories=tuple(rows[i].repository for i in members),
                    tags=sum(rows[i].tags for i in members),
                    unique_bytes=sum(rows[i].unique_bytes for i in members),
                    attributed_bytes=sum((rows[i].storage_bytes for i in members), Decimal(0)),
                    image_bytes=sum((rows[i].image_bytes for i in members), Decimal(0)),
                    pulls_per_month=sum((rows[i].pulls_per_month or Decimal(0) for i in known), Decimal(0))
                    if known
                    else None,
                    egress_bytes=sum((_egress_bytes(rows[i]) for i in known), Decimal(0)) if known else None,
                    storage_cost=storage_cost,
                    egress_cost=egress_cost,
                    egress_partial=bool(known) and len(known) < len(members),
                    monthly_cost=storage_cost + (egress_cost or Decimal(0)),
                    untagged_images=sum(rows[i].untagged_images for i in members),
                    untagged_bytes=sum((rows[i].untagged_bytes for i in members), Decimal(0)),
                    untagged_cost=untagged_cost,
                    **_measured_egress([rows[i] for i in members]),
                )
            )
    report_rows.sort(key=lambda r: (-r.monthly_cost, r.name))
    assumptions = list(quantities.assumptions)
    assumptions.append(
        "Egress tiers apply to each class's total across the report; each class's cost is "
        "allocated to repositories in proportion to their bytes of that class."
    )
    assumptions.append(
        f"Costs are exact to 0.0001 {book.currency}: storage and each egress class are rounded once "
        "(half-up) and split among the rows in whole 0.0001 steps, so the rows add up exactly to the totals."
    )
    if book.plan is not None and book.plan.monthly_fee:
        assumptions.append(
            f"The plan's monthly fee ({plain(book.plan.monthly_fee)} {book.currency}, "
            f"{plain(book.plan.included_storage)} {book.unit} included) is part of storage cost and "
            "allocated to repositories in proportion to their storage."
        )
    if book.discount_pct:
        assumptions.append(f"A {book.discount_pct} % discount is applied to every price of {book.id}.")
    if group_by == "namespace":
        assumptions.append(
            "A repository's namespace is its first path component under the scanned namespace "
            f"({quantities.namespace or 'the registry root'}); repositories directly in it form their own group."
        )
    return Report(
        generated_at=generated_at,
        source=source,
        registry=quantities.registry,
        namespace=quantities.namespace,
        scanned_at=quantities.scanned_at,
        usage_source=quantities.usage_source,
        group_by=group_by,
        pricing=pricing_of(book),
        assumptions=tuple(assumptions),
        inventory=quantities.summary,
        totals=totals,
        rows=tuple(report_rows),
        warnings=(*quantities.warnings, *limit_warnings(quantities, book, totals)),
    )


def pricing_of(book: PriceBook) -> Pricing:
    return Pricing(
        id=book.id,
        name=book.name,
        provider=book.provider,
        region=book.region,
        currency=book.currency,
        unit=book.unit,
        dedup_scope=book.dedup_scope,
        effective_date=book.effective_date,
        sources=tuple(book.sources),
        notes=tuple(book.notes),
    )


def limit_warnings(quantities: Quantities, book: PriceBook, totals: Totals) -> tuple[str, ...]:
    """What the month's storage, pulls and egress exceed of BOOK's limits (a plan's storage
    limit and pull limits, ECR Public's anonymous allowance), as report warnings. Pulls are the
    whole report's: a plan limits an account (or an address), not a repository."""
    known = [row.pulls_per_month for row in quantities.rows if row.pulls_per_month is not None]
    pulls = sum(known, Decimal(0)) if known else None
    storage = book.limit_warnings(storage_units=totals.billable_storage_gb)
    said = book.limit_warnings(pulls_per_month=pulls, egress_units=totals.egress_gb_by_class)
    return (*(f"Storage limit: {s}" for s in storage), *(f"Pull limits: {s}" for s in said))


def untagged_shares(rows: Sequence[RowQuantities], storage_costs: Sequence[Decimal]) -> list[Decimal]:
    """Each row's storage cost that is its untagged bytes', split exactly as storage is: in
    proportion to bytes, in whole 0.0001 steps, so tagged and untagged shares add up to the row's."""
    with localcontext(ARITHMETIC):
        return [
            allocate(cost, [row.storage_bytes - row.untagged_bytes, row.untagged_bytes])[1]
            if row.untagged_bytes
            else Decimal(0)
            for row, cost in zip(rows, storage_costs, strict=True)
        ]


def _measured_egress(rows: Sequence[RowQuantities]) -> dict[str, Decimal | None]:
    """Of ROWS whose egress was measured: the measured bytes and the model's for the same pulls."""
    measured = [row for row in rows if row.modelled_egress_bytes is not None]
    if not measured:
        return {"measured_egress_bytes": None, "modelled_egress_bytes": None}
    return {
        "measured_egress_bytes": sum((_egress_bytes(row) for row in measured), Decimal(0)),
        "modelled_egress_bytes": sum((row.modelled_egress_bytes or Decimal(0) for row in measured), Decimal(0)),
    }


def _egress_bytes(row: RowQuantities) -> Decimal:
    return sum((row.egress_bytes_by_class or {}).values(), Decimal(0))


def _priced(quantities: Quantities, book: PriceBook, months: int) -> tuple[list[Decimal], list[Decimal], Totals]:
    """Per-row storage and egress costs (allocated exactly) and the totals they sum to."""
    rows = quantities.rows
    with localcontext(ARITHMETIC):
        storage_bytes = sum((r.storage_bytes for r in rows), Decimal(0))
        storage_units = to_units(storage_bytes, book.unit)
        storage_total = money(book.storage_cost(storage_units))
        storage_costs = allocate(storage_total, [r.storage_bytes for r in rows])
        egress_costs = [Decimal(0)] * len(rows)
        classes = sorted({c for r in rows for c in (r.egress_bytes_by_class or {})})
        gb_by_class: dict[str, Decimal] = {}
        cost_by_class: dict[str, Decimal] = {}
        for egress_class in classes:
            weights = [(r.egress_bytes_by_class or {}).get(egress_class, Decimal(0)) for r in rows]
            units = to_units(sum(weights, Decimal(0)), book.unit)
            cost = money(book.egress_cost(egress_class, units))
            gb_by_class[egress_class] = units
            cost_by_class[egress_class] = cost
            for i, share in enumerate(allocate(cost, weights)):
                egress_costs[i] += share
        egress_total = sum(cost_by_class.values(), Decimal(0))
        monthly = storage_total + egress_total
        totals = Totals(
            storage_bytes=storage_bytes,
            billable_storage_gb=storage_units,
            storage_cost=storage_total,
            egress_bytes=sum((_egress_bytes(r) for r in rows), Decimal(0)),
            egress_gb_by_class=gb_by_class,
            egress_cost_by_class=cost_by_class,
            egress_cost=egress_total,
            egress_complete=all(r.egress_bytes_by_class is not None for r in rows),
            monthly_cost=monthly,
            horizon_cost=monthly * months,
            months=months,
        )
    return storage_costs, egress_costs, totals


def _group_key(group_by: GroupBy, registry: str, namespace: str) -> Callable[[RowQuantities], str]:
    if group_by == "registry":
        return lambda row: registry
    if group_by == "team":
        return lambda row: row.team or NO_TEAM
    if group_by == "namespace":
        return lambda row: namespace_of(row.repository, namespace)
    return lambda row: row.repository


def namespace_of(repository: str, scanned: str) -> str:
    """The group of REPOSITORY under --group-by namespace: SCANNED plus one more path component.

    `acme/payments/api` scanned under `acme` is in `acme/payments`; `acme/web`, directly under
    `acme`, is in `acme`. A whole-registry scan groups by the first component.
    """
    prefix = f"{scanned}/" if scanned else ""
    rest = repository[len(prefix) :] if prefix and repository.startswith(prefix) else repository
    head, sep, _ = rest.partition("/")
    if not sep:
        return scanned or "(root)"
    return f"{prefix}{head}"


def monthly_cost_by_repository(quantities: Quantities, book: PriceBook) -> dict[str, Decimal]:
    """Monthly cost per repository under the same allocation rules as price()."""
    storage, egress, _ = _priced(quantities, book, 1)
    return {row.repository: s + e for row, s, e in zip(quantities.rows, storage, egress, strict=True)}


def compare(primary: Report, others: Sequence[Report]) -> Report:
    """PRIMARY with each other report's book and totals attached as `comparison` entries."""
    return primary.model_copy(
        update={
            "comparison": tuple(
                Comparison(
                    pricing=other.pricing,
                    totals=other.totals,
                    assumptions=tuple(a for a in other.assumptions if a not in primary.assumptions),
                    warnings=tuple(w for w in other.warnings if w not in primary.warnings),
                )
                for other in others
            )
        }
    )
