"""The report of a fleet: each registry priced on its own book by build(), then added up (pure).

A fleet is any number of inventories. Those of one registry are merged first (inventory.merge),
so a layer two namespaces share is stored as that registry's dedup scope says; each registry is
then a report of its own (its book, its usage, its scenarios), and the fleet's rows, totals,
months and scenarios are the sums of the registries' (no registry stores another's blobs).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from costcalc.errors import InputError
from costcalc.inventory.model import Inventory
from costcalc.report.fleet_members import (
    Member,
    book_totals,
    input_warnings,
    inputs_of,
    registry_totals,
)
from costcalc.report.fleet_sum import (
    renamed,
    sum_months,
    sum_rows,
    sum_scenarios,
    sum_summaries,
    sum_totals,
    total,
)
from costcalc.report.model import (
    BaseImageRow,
    Comparison,
    GroupBy,
    Pricing,
    Report,
    ReportRow,
    ScenarioResult,
)
from costcalc.report.pipeline import build
from costcalc.report.transfer import DEFAULT_BANDWIDTH_BITS

FLEET_ASSUMPTION = (
    "Each registry is priced on its own book, as its own account: storage is deduplicated within "
    "a registry (per its book's dedup scope), never across registries, and a plan's fee, free "
    "allowances and egress tiers apply once per registry. The fleet's figures are the sums of "
    "its registries'."
)


class MixedCurrencies(InputError):
    """The fleet's books are in more than one currency (costcalc never converts)."""


def check_currencies(members: Sequence[Member]) -> None:
    """Refuse a fleet whose registries are priced in different currencies, naming each."""
    currencies = {member.books[0].currency for member in members}
    if len(currencies) > 1:
        named = "; ".join(f"{m.registry.registry} in {m.books[0].currency} ({m.books[0].id})" for m in members)
        raise MixedCurrencies(
            f"the fleet is priced in {len(currencies)} currencies ({named}); costcalc does not convert "
            "currencies, so map every registry to a book of one currency."
        )


def build_fleet(
    members: Sequence[Member],
    *,
    group_by: GroupBy = "repository",
    months: int = 12,
    keep: Sequence[str] = (),
    generated_at: datetime | None = None,
    bases: Inventory | None = None,
    bandwidth_bits_per_second: int = DEFAULT_BANDWIDTH_BITS,
    max_age: timedelta | None = None,
) -> Report:
    """The report of MEMBERS' registries, summed: rows grouped by GROUP_BY across the fleet.

    One member made of one inventory is exactly the report build() makes of it. MAX_AGE marks
    the inputs scanned longer ago than that (before GENERATED_AT) as stale, with a warning.
    """
    if not members:
        raise ValueError("a fleet needs at least one inventory")
    check_currencies(members)
    reports = [
        _registry_report(member, group_by, months, keep, generated_at, bases, bandwidth_bits_per_second)
        for member in members
    ]
    inputs = inputs_of(members, generated_at, max_age)
    if len(members) == 1 and len(members[0].registry.inputs) == 1:
        report = reports[0]
        return report.model_copy(update={"warnings": (*report.warnings, *input_warnings(inputs, max_age))})
    combined = _combined(members, reports, group_by)
    warnings = (
        *(w for m in members for w in m.registry.warnings),
        *input_warnings(inputs, max_age),
        *combined.warnings,
    )
    return combined.model_copy(
        update={
            "inputs": inputs,
            "registries": tuple(registry_totals(m, r) for m, r in zip(members, reports, strict=True)),
            "price_books": book_totals(members, reports),
            "warnings": tuple(dict.fromkeys(warnings)),
        }
    )


def _registry_report(
    member: Member,
    group_by: GroupBy,
    months: int,
    keep: Sequence[str],
    generated_at: datetime | None,
    bases: Inventory | None,
    bandwidth: int,
) -> Report:
    """MEMBER's registry priced by build(); its scoped scenarios' ids name their scope."""
    report = build(
        member.registry.inventory,
        member.usage,
        member.books,
        scenarios=[s.scenario for s in member.scenarios],
        keep=keep,
        group_by=group_by,
        months=months,
        source=", ".join(given.source for given in member.registry.inputs),
        generated_at=generated_at,
        lifecycle_policies=member.lifecycle_policies,
        bases=bases,
        bandwidth_bits_per_second=bandwidth,
    )
    if not any(s.scope for s in member.scenarios):
        return report
    results = list(report.scenarios)
    for index, scoped in enumerate(member.scenarios):
        if scoped.scope is not None:
            results[index] = results[index].model_copy(update={"id": scoped_id(results[index].id, scoped.scope)})
    return report.model_copy(update={"scenarios": tuple(results)})


def scoped_id(scenario_id: str, scope: str) -> str:
    """How a scenario limited to the registries SCOPE matches is named in the report."""
    return f"{scenario_id} [{scope}]"


def _combined(members: Sequence[Member], reports: Sequence[Report], group_by: GroupBy) -> Report:
    """One report of REPORTS (one per registry of MEMBERS), every figure their sum."""
    several = len(reports) > 1
    prefixes = [f"{m.registry.registry}/" if several else "" for m in members]
    rows = _rows(members, reports, prefixes, group_by)
    pricing = _fleet_pricing([r.pricing for r in reports])
    totals = sum_totals([(r.totals, r.pricing.unit) for r in reports], pricing.unit)
    registries = ", ".join(m.registry.registry for m in members)
    namespaces = ", ".join(sorted({given.namespace or "(root)" for m in members for given in m.registry.inputs}))
    summaries = [r.inventory for r in reports if r.inventory is not None]
    first = reports[0]
    return first.model_copy(
        update={
            "source": ", ".join(r.source for r in reports),
            "registry": registries,
            "namespace": namespaces,
            "scanned_at": min((r.scanned_at for r in reports if r.scanned_at is not None), default=None),
            "usage_source": ", ".join(dict.fromkeys(r.usage_source for r in reports if r.usage_source)) or None,
            "pricing": pricing,
            "assumptions": tuple(dict.fromkeys((FLEET_ASSUMPTION, *(a for r in reports for a in r.assumptions)))),
            "inventory": sum_summaries(summaries, registries, namespaces) if summaries else None,
            "totals": totals,
            "rows": rows,
            "comparison": _comparisons(reports),
            "scenarios": _scenarios(reports, prefixes),
            "pull_recency": tuple(
                p.model_copy(update={"repository": prefix + p.repository})
                for r, prefix in zip(reports, prefixes, strict=True)
                for p in r.pull_recency
            ),
            "bases": _bases(reports, prefixes, totals.storage_bytes, totals.egress_bytes),
            "growth": tuple(
                g.model_copy(update={"repository": prefix + g.repository})
                for r, prefix in zip(reports, prefixes, strict=True)
                for g in r.growth
            ),
            "monthly": sum_months([r.monthly for r in reports]),
            "warnings": tuple(
                f"{m.registry.registry}: {w}" if several else w
                for m, r in zip(members, reports, strict=True)
                for w in r.warnings
            ),
        }
    )


def _rows(
    members: Sequence[Member], reports: Sequence[Report], prefixes: Sequence[str], group_by: GroupBy
) -> tuple[ReportRow, ...]:
    rows: list[ReportRow]
    if group_by == "registry":
        rows = [
            sum_rows(m.registry.registry, [renamed(row, prefix) for row in r.rows])
            for m, r, prefix in zip(members, reports, prefixes, strict=True)
        ]
    elif group_by == "team":
        teams: dict[str, list[ReportRow]] = {}
        for report, prefix in zip(reports, prefixes, strict=True):
            for row in report.rows:
                teams.setdefault(row.name, []).append(renamed(row, prefix).model_copy(update={"name": row.name}))
        rows = [sum_rows(name, members_rows) for name, members_rows in teams.items()]
    else:
        rows = [renamed(row, prefix) for report, prefix in zip(reports, prefixes, strict=True) for row in report.rows]
    return tuple(sorted(rows, key=lambda row: (-row.monthly_cost, row.name)))


def _fleet_pricing(books: Sequence[Pricing]) -> Pricing:
    """The one book of the fleet, or a summary naming all of them (their details: price_books)."""
    distinct = list(dict.fromkeys(books))
    if len(distinct) == 1:
        return distinct[0]
    units = {book.unit for book in distinct}
    scopes = {book.dedup_scope for book in distinct}  # "mixed": each registry's book says (price_books)
    return Pricing(
        id="+".join(book.id for book in distinct),
        name=f"{len(distinct)} price books, one per registry (see the price books section)",
        provider=", ".join(dict.fromkeys(book.provider for book in distinct)),
        region=", ".join(dict.fromkeys(book.region for book in distinct)),
        currency=distinct[0].currency,
        unit=units.pop() if len(units) == 1 else "GB",
        dedup_scope=scopes.pop() if len(scopes) == 1 else "mixed",
        effective_date=min(book.effective_date for book in distinct),
        sources=tuple(dict.fromkeys(s for book in distinct for s in book.sources)),
        notes=tuple(dict.fromkeys(n for book in distinct for n in book.notes)),
    )


def _comparisons(reports: Sequence[Report]) -> tuple[Comparison, ...]:
    """Each comparison book's totals over the whole fleet (every registry priced on it)."""
    if len(reports) == 1:
        return reports[0].comparison
    compared = []
    for index, comparison in enumerate(reports[0].comparison):
        parts = [r.comparison[index] for r in reports]
        compared.append(
            comparison.model_copy(
                update={
                    "totals": sum_totals([(c.totals, c.pricing.unit) for c in parts], comparison.pricing.unit),
                    "assumptions": tuple(dict.fromkeys(a for c in parts for a in c.assumptions)),
                    "warnings": tuple(dict.fromkeys(w for c in parts for w in c.warnings)),
                }
            )
        )
    return tuple(compared)


def _scenarios(reports: Sequence[Report], prefixes: Sequence[str]) -> tuple[ScenarioResult, ...]:
    """Each scenario over the fleet: where it does not apply (a scope), that registry is unchanged."""
    if len(reports) == 1:
        return reports[0].scenarios
    ids = list(dict.fromkeys(s.id for r in reports for s in r.scenarios if s.id != "combined"))
    singles = []
    for scenario_id in ids:
        parts = [(_result(r, scenario_id), prefix) for r, prefix in zip(reports, prefixes, strict=True)]
        singles.append(sum_scenarios(parts, scenario_id))
    if len(ids) < 2:
        return tuple(singles)
    combined = [(_combined_result(r), prefix) for r, prefix in zip(reports, prefixes, strict=True)]
    return (*singles, sum_scenarios(combined, "combined"))


def _result(report: Report, scenario_id: str) -> ScenarioResult:
    for result in report.scenarios:
        if result.id == scenario_id:
            return result
    return _unchanged(report, scenario_id)


def _combined_result(report: Report) -> ScenarioResult:
    """REPORT's `combined`, or its only scenario, or (none applies to it) its baseline unchanged."""
    if not report.scenarios:
        return _unchanged(report, "combined")
    return report.scenarios[-1]


def _unchanged(report: Report, scenario_id: str) -> ScenarioResult:
    """A registry a scoped scenario leaves alone: its baseline, nothing saved."""
    cost = report.totals.monthly_cost
    return ScenarioResult(
        id=scenario_id,
        description="",
        pricing_id=report.pricing.id,
        baseline_monthly_cost=cost,
        monthly_cost=cost,
        monthly_savings=total(()),
        horizon_savings=total(()),
        savings_pct=total(()),
        bytes_freed=total(()),
        assumptions=(),
        rows=(),
        monthly=report.monthly,
    )


def _bases(
    reports: Sequence[Report], prefixes: Sequence[str], storage_bytes: Decimal, egress_bytes: Decimal
) -> tuple[BaseImageRow, ...]:
    """Every registry's base images, named in the fleet, their shares taken of the fleet's bytes."""
    if len(reports) == 1:
        return reports[0].bases
    rows = [
        row.model_copy(
            update={
                "name": f"{prefix[:-1]}: {row.name}" if prefix else row.name,
                "repositories": tuple(prefix + name for name in row.repositories),
                "versions": tuple(prefix + version for version in row.versions),
                "stored_share_pct": row.stored_bytes / storage_bytes * 100 if storage_bytes else Decimal(0),
                "egress_share_pct": row.egress_bytes / egress_bytes * 100
                if row.egress_bytes is not None and egress_bytes
                else None,
            }
        )
        for report, prefix in zip(reports, prefixes, strict=True)
        for row in report.bases
    ]
    return tuple(sorted(rows, key=lambda row: (-row.stored_bytes, row.name)))
