"""A fleet's members (a registry and what prices it), and the sections only a fleet report has:
its inputs, its registries' totals and its books' (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from costcalc.inventory.merge import RegistryInventory
from costcalc.pricing.book import PriceBook
from costcalc.report.fleet_sum import total
from costcalc.report.model import BookTotals, FleetInput, Pricing, RegistryTotals, Report
from costcalc.scenarios.ecr_lifecycle import LifecyclePolicy
from costcalc.scenarios.spec import Scenario
from costcalc.units import to_units
from costcalc.usage.file import Usage


@dataclass(frozen=True, slots=True)
class ScopedScenario:
    """A scenario and the registry glob it is limited to (None: the whole fleet)."""

    scenario: Scenario
    scope: str | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """One registry of a fleet and what prices it: its own book first, then the comparisons."""

    registry: RegistryInventory
    books: tuple[PriceBook, ...]
    usage: Usage | None = None
    scenarios: tuple[ScopedScenario, ...] = ()
    lifecycle_policies: Mapping[str, LifecyclePolicy | None] | None = None


def inputs_of(members: Sequence[Member], now: datetime | None, max_age: timedelta | None) -> tuple[FleetInput, ...]:
    """Every inventory of the fleet as given, marked stale when older than MAX_AGE."""
    return tuple(
        FleetInput(
            source=given.source,
            registry=member.registry.registry,
            namespace=given.namespace,
            scanned_at=given.scanned_at,
            repositories=given.repositories,
            tags=given.tags,
            errors=given.errors,
            stale=max_age is not None and now is not None and now - given.scanned_at > max_age,
        )
        for member in members
        for given in member.registry.inputs
    )


def input_warnings(inputs: Sequence[FleetInput], max_age: timedelta | None) -> tuple[str, ...]:
    """One sentence per stale input and per input whose scan skipped something."""
    said = []
    for given in inputs:
        where = f"{given.source} ({given.registry}/{given.namespace})" if given.namespace else given.source
        if given.stale:
            said.append(
                f"{where} was scanned {given.scanned_at:%Y-%m-%d %H:%M} UTC, longer ago than --max-age "
                f"{format_age(max_age)}: its figures may be out of date."
            )
        if given.errors:
            said.append(
                f"{where}: its scan skipped {given.errors} repositories or tags, so the figures leave them out."
            )
    return tuple(said)


def format_age(age: timedelta | None) -> str:
    if age is None:
        return ""
    if age % timedelta(days=1) == timedelta(0):
        return f"{age.days}d"
    return f"{int(age.total_seconds() // 3600)}h"


def registry_totals(member: Member, report: Report) -> RegistryTotals:
    totals = report.totals
    return RegistryTotals(
        registry=member.registry.registry,
        namespaces=tuple(sorted({given.namespace for given in member.registry.inputs})),
        pricing_id=report.pricing.id,
        dedup_scope=report.pricing.dedup_scope,
        repositories=len(member.registry.inventory.repositories),
        tags=sum(len(r.tags) for r in member.registry.inventory.repositories),
        storage_bytes=totals.storage_bytes,
        storage_cost=totals.storage_cost,
        egress_cost=totals.egress_cost,
        egress_complete=totals.egress_complete,
        monthly_cost=totals.monthly_cost,
        horizon_cost=totals.horizon_cost,
    )


def registries_of(report: Report) -> tuple[RegistryTotals, ...]:
    """A fleet report's registries, or the one registry of a one-inventory report, its totals the
    report's and its name as the report gives it."""
    if report.registries:
        return report.registries
    totals, inventory = report.totals, report.inventory
    return (
        RegistryTotals(
            registry=report.registry,
            namespaces=(report.namespace,),
            pricing_id=report.pricing.id,
            dedup_scope=report.pricing.dedup_scope,
            repositories=inventory.repositories if inventory else sum(len(r.repositories) for r in report.rows),
            tags=inventory.tags if inventory else sum(r.tags for r in report.rows),
            storage_bytes=totals.storage_bytes,
            storage_cost=totals.storage_cost,
            egress_cost=totals.egress_cost,
            egress_complete=totals.egress_complete,
            monthly_cost=totals.monthly_cost,
            horizon_cost=totals.horizon_cost,
        ),
    )


def book_totals(members: Sequence[Member], reports: Sequence[Report]) -> tuple[BookTotals, ...]:
    """Per book, in the order books first appear: the registries on it and their sums."""
    on_book: dict[Pricing, list[tuple[Member, Report]]] = {}
    for member, report in zip(members, reports, strict=True):
        on_book.setdefault(report.pricing, []).append((member, report))
    return tuple(_book_totals(pricing, pairs) for pricing, pairs in on_book.items())


def _book_totals(pricing: Pricing, pairs: Sequence[tuple[Member, Report]]) -> BookTotals:
    storage_bytes = total(r.totals.storage_bytes for _, r in pairs)
    return BookTotals(
        pricing=pricing,
        registries=tuple(m.registry.registry for m, _ in pairs),
        storage_bytes=storage_bytes,
        billable_storage_gb=to_units(storage_bytes, pricing.unit),
        egress_bytes=total(r.totals.egress_bytes for _, r in pairs),
        egress_gb=total(gb for _, r in pairs for gb in r.totals.egress_gb_by_class.values()),
        egress_complete=all(r.totals.egress_complete for _, r in pairs),
        storage_cost=total(r.totals.storage_cost for _, r in pairs),
        egress_cost=total(r.totals.egress_cost for _, r in pairs),
        monthly_cost=total(r.totals.monthly_cost for _, r in pairs),
        horizon_cost=total(r.totals.horizon_cost for _, r in pairs),
    )
