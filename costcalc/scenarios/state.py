"""Where a projection is: the inventory it keeps, the book it prices on, its quantities (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fnmatch import fnmatchcase

from costcalc.inventory.model import Inventory
from costcalc.pricing.book import PriceBook
from costcalc.scenarios.quantities import Quantities, RowQuantities
from costcalc.scenarios.retention import VersionBytes


@dataclass(frozen=True, slots=True)
class ExpiredImage:
    """An image a lifecycle policy expires: where, which, and the rule that expires it."""

    repository: str
    digest: str
    tags: tuple[str, ...]  # none: an untagged image
    rule_priority: int


@dataclass(frozen=True, slots=True)
class State:
    """Where a projection is: the inventory it keeps, the book it prices on, its quantities."""

    inventory: Inventory
    book: PriceBook
    quantities: Quantities
    notes: tuple[str, ...] = ()
    versions: tuple[VersionBytes, ...] = ()  # what retention steps dropped and kept
    expired: tuple[ExpiredImage, ...] = ()  # what lifecycle steps expired
    # rebase steps: per repository and egress class, the bytes fetched once (not monthly)
    migration: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)
    # size steps: per repository, the factor its pulled image was resized by (new versions are
    # pushed that much smaller); a rebase changes the image too but not what a version pushes
    size_ratio: Mapping[str, Decimal] = field(default_factory=dict)


def scope(names: Iterable[str], globs: Sequence[str]) -> tuple[frozenset[str], list[str]]:
    """The repositories GLOBS select (all when there are none) and the globs that match nothing."""
    names = list(names)
    if not globs:
        return frozenset(names), []
    selected = {name for name in names if any(fnmatchcase(name, g) for g in globs)}
    unmatched = [g for g in globs if not any(fnmatchcase(name, g) for name in names)]
    return frozenset(selected), unmatched


def with_rows(
    state: State,
    rows: Iterable[RowQuantities],
    notes: Iterable[str] = (),
    *,
    inventory: Inventory | None = None,
    book: PriceBook | None = None,
    versions: Iterable[VersionBytes] = (),
    expired: Iterable[ExpiredImage] = (),
    migration: Mapping[str, Mapping[str, Decimal]] | None = None,
    size_ratio: Mapping[str, Decimal] | None = None,
) -> State:
    """STATE with new ROWS, NOTES appended, EXPIRED added, MIGRATION added, SIZE_RATIO multiplied
    in, and (when given) its inventory, book or versions replaced."""
    added = tuple(versions)
    merged_versions = state.versions
    if added and not merged_versions:
        merged_versions = added  # one entry per (repository, digest) already
    elif added:
        # a later retention step re-reports the versions an earlier one kept: the later word counts
        merged = {(v.repository, v.digest): v for v in state.versions}
        merged.update({(v.repository, v.digest): v for v in added})
        merged_versions = tuple(merged.values())
    merged_migration = state.migration
    if migration:
        moved: dict[str, dict[str, Decimal]] = {name: dict(c) for name, c in state.migration.items()}
        for name, by_class in migration.items():
            into = moved.setdefault(name, {})
            for cls, amount in by_class.items():
                into[cls] = into.get(cls, Decimal(0)) + amount
        merged_migration = moved
    ratios = state.size_ratio
    if size_ratio:
        ratios = dict(ratios)
        for name, factor in size_ratio.items():
            ratios[name] = ratios.get(name, Decimal(1)) * factor
    return State(
        inventory=inventory or state.inventory,
        book=book or state.book,
        quantities=state.quantities.model_copy(update={"rows": tuple(rows)}),
        notes=(*state.notes, *notes),
        versions=merged_versions,
        expired=(*state.expired, *expired),
        migration=merged_migration,
        size_ratio=ratios,
    )


FALLBACK_CLASS = "internet"


def egress_onto(egress: Mapping[str, Decimal], book: PriceBook) -> tuple[dict[str, Decimal], frozenset[str]]:
    """EGRESS (bytes per class) on BOOK's classes, with the classes BOOK does not price.

    Such a class's bytes are added to BOOK's internet class; a book without one prices them
    nowhere (the caller says so).
    """
    classes = book.egress_classes
    fallback = FALLBACK_CLASS if FALLBACK_CLASS in classes else None
    mapped: dict[str, Decimal] = {}
    unmapped: set[str] = set()
    for cls, amount in egress.items():
        target = cls if cls in classes else fallback
        if target != cls:
            unmapped.add(cls)
        if target is not None:
            mapped[target] = mapped.get(target, Decimal(0)) + amount
    return mapped, frozenset(unmapped)
