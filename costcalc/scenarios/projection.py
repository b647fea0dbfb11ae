"""Projection: each scenario applied to the measured quantities, alone and `combined` (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from costcalc.errors import InputError
from costcalc.inventory.bases import resolve
from costcalc.inventory.model import Inventory
from costcalc.pricing import book_file
from costcalc.pricing.book import PriceBook
from costcalc.scenarios.ecr_lifecycle import LifecyclePolicy, load_policy
from costcalc.scenarios.lifecycle_effect import Policies, expire
from costcalc.scenarios.quantities import Quantities, RowQuantities
from costcalc.scenarios.rebase import Layers, rebase
from costcalc.scenarios.retention import Retention, VersionBytes
from costcalc.scenarios.retention_effect import RetentionCache, retain
from costcalc.scenarios.shrink import SIZE_EFFECTS, preset, shrink
from costcalc.scenarios.spec import (
    Colocate,
    EcrLifecycle,
    MeasuredRatio,
    Preset,
    Provider,
    Rebase,
    Scenario,
    ShrinkByRatio,
    ShrinkToSize,
)
from costcalc.scenarios.state import FALLBACK_CLASS, ExpiredImage, State, egress_onto, with_rows
from costcalc.scenarios.state import scope as select
from costcalc.units import format_bytes, plain

SAME_REGION = "same-region"
COLOCATED_CLASSES = ("internet", "cross-region")


@dataclass(frozen=True, slots=True)
class _Step:
    """A scenario with what it needs from outside resolved once: a measured ratio, another book."""

    scenario: Scenario
    ratio: Decimal | None = None
    book: PriceBook | None = None
    policies: Policies | None = None  # an ecr-lifecycle scenario's policy (or each repository's)
    layers: tuple[Layers, Layers] | None = None  # rebase: FROM's and TO's layers per platform


@dataclass(frozen=True, slots=True)
class Projection:
    """One scenario's projected month: the quantities and the book to price them on, and why."""

    id: str
    description: str
    book: PriceBook
    quantities: Quantities
    assumptions: tuple[str, ...]  # the scenario's standing assumptions, then its steps' notes
    versions: tuple[VersionBytes, ...]  # retention: every version looked at, oldest first
    expired: tuple[ExpiredImage, ...] = ()  # ecr-lifecycle: every image it expires
    # rebase: per repository and egress class, the one-time migration transfer (None: no rebase)
    migration: Mapping[str, Mapping[str, Decimal]] | None = None
    # size changes: per repository, the factor by which its new versions are pushed smaller
    size_ratio: Mapping[str, Decimal] = field(default_factory=dict)


def project(
    inventory: Inventory,
    book: PriceBook,
    baseline: Quantities,
    scenarios: Sequence[Scenario],
    *,
    keep: Sequence[str] = (),
    lifecycle_policies: Mapping[str, LifecyclePolicy | None] | None = None,
    bases: Inventory | None = None,
) -> tuple[Projection, ...]:
    """Each scenario applied alone to BASELINE, then `combined` (in order) for two or more.

    BASELINE is what the report measured on BOOK (pulls and egress bytes already folded in:
    a provider scenario keeps them and prices them on its own book). Nothing is priced here.
    LIFECYCLE_POLICIES are each repository's ECR lifecycle policy (None: it has none), as the
    caller read them, for `ecr-lifecycle:current`.
    """
    steps = [_resolve(scenario, inventory, lifecycle_policies, bases) for scenario in scenarios]
    for step in steps:
        if step.book is not None and step.book.currency != book.currency:
            raise InputError(
                f"{step.scenario.origin}: {step.book.id} prices in {step.book.currency} and the "
                f"report in {book.currency}: savings across currencies would be meaningless; "
                f"compare the books side by side with --pricing {book.id} --pricing {step.book.id}."
            )
    start = State(inventory=inventory, book=book, quantities=baseline)
    # a retention step applied alone and again in `combined` (after steps that leave the
    # inventory and the pulled tags as they are) plans and measures the same thing: once
    cache: RetentionCache = {}
    alone = [_apply(start, step, keep, cache) for step in steps]
    projections = [
        _projection(
            step.scenario.id, step.scenario.description, end, step.scenario.assumptions, None, [step.scenario.effect]
        )
        for step, end in zip(steps, alone, strict=True)
    ]
    if len(steps) >= 2:
        # a size change (preset, target, ratio, measured) is an alternative to another, not a
        # step after it: each image gets the strongest one, then the other scenarios in order
        sized = [
            (step, end)
            for step, end in zip(steps, alone, strict=True)
            if isinstance(step.scenario.effect, SIZE_EFFECTS)
        ]
        sizes = [step for step, _ in sized]
        others = [step for step in steps if not isinstance(step.scenario.effect, SIZE_EFFECTS)]
        state = start
        if len(sized) > 1:
            state = _strongest(start, sized)
        elif sized:
            state = sized[0][1]  # that size change alone, applied to START as here
        for step in others:
            state = _apply(state, step, keep, cache)
        # a step's note that reads the same as on its own projection says nothing new: only the
        # notes whose figures changed by applying the earlier steps first are repeated (each
        # step's standing assumptions are on its own projection already)
        said = {note for projection in projections for note in projection.assumptions}
        ids = [step.scenario.id for step in others]
        if len(sizes) > 1:
            ids.insert(0, f"the strongest size change per image (of {', '.join(s.scenario.id for s in sizes)})")
        elif sizes:
            ids.insert(0, sizes[0].scenario.id)
        description = (
            "All scenarios applied in order: " if len(sizes) <= 1 else "Scenarios applied together: "
        ) + ", then ".join(ids)
        effects = [step.scenario.effect for step in steps]
        projections.append(_projection("combined", description, state, (), said, effects))
    return tuple(projections)


def _strongest(start: State, sized: Sequence[tuple[_Step, State]]) -> State:
    """START with each repository changed by the size change of SIZED (each with its state
    applied alone to START) that leaves its pulled image smallest (then its storage; the
    earlier scenario on ties): at most one size change per repository."""
    sizes = [step for step, _ in sized]
    alone = [end.quantities.rows for _, end in sized]
    rows: list[RowQuantities] = []
    ratios: dict[str, Decimal] = {}
    chosen: dict[str, list[str]] = {}
    for index, row in enumerate(start.quantities.rows):
        candidates = [(r[index].image_bytes, r[index].storage_bytes, n) for n, r in enumerate(alone)]
        image_bytes, storage_bytes, best = min(candidates)
        if (image_bytes, storage_bytes) == (row.image_bytes, row.storage_bytes):
            rows.append(row)
            continue
        rows.append(alone[best][index])
        if row.repository in sized[best][1].size_ratio:
            ratios[row.repository] = sized[best][1].size_ratio[row.repository]
        chosen.setdefault(sizes[best].scenario.id, []).append(row.repository)
    counts = [(step.scenario.id, len(chosen.get(step.scenario.id, ()))) for step in sizes]
    picks = "; ".join(
        f"{scenario_id} for {count} {'repository' if count == 1 else 'repositories'}"
        for scenario_id, count in counts
        if count
    )
    note = (
        "combined: one size change per image, the strongest (the smallest pulled image, then the "
        f"least storage): {picks or 'none changes any repository'}."
    )
    return with_rows(start, rows, [note], size_ratio=ratios)


def _projection(
    scenario_id: str,
    description: str,
    end: State,
    assumptions: tuple[str, ...],
    said: set[str] | None = None,
    effects: Sequence[object] = (),
) -> Projection:
    return Projection(
        id=scenario_id,
        description=description,
        book=end.book,
        quantities=end.quantities,
        assumptions=(*assumptions, *(n for n in end.notes if said is None or n not in said)),
        versions=end.versions,
        expired=end.expired,
        migration=end.migration if any(isinstance(e, Rebase) for e in effects) else None,
        size_ratio=end.size_ratio,
    )


def _resolve(
    scenario: Scenario,
    inventory: Inventory,
    lifecycle_policies: Mapping[str, LifecyclePolicy | None] | None = None,
    bases: Inventory | None = None,
) -> _Step:
    effect = scenario.effect
    if isinstance(effect, EcrLifecycle):
        if not effect.current:
            try:
                return _Step(scenario=scenario, policies=load_policy(Path(effect.policy)))
            except InputError as exc:
                raise InputError(f"{scenario.origin}: {exc}") from None
        if lifecycle_policies is None:
            raise InputError(
                f"{scenario.origin}: the current lifecycle policies are read from Amazon ECR, and this "
                "report's source is not an ECR registry."
            )
        return _Step(scenario=scenario, policies=lifecycle_policies)
    if isinstance(effect, Rebase):
        try:
            layers = (resolve(effect.source, inventory, bases), resolve(effect.target, inventory, bases))
        except InputError as exc:
            raise InputError(f"{scenario.origin}: {exc}") from None
        return _Step(scenario=scenario, layers=layers)
    if isinstance(effect, MeasuredRatio):
        return _Step(scenario=scenario, ratio=measured_ratio(inventory, effect, scenario.origin))
    if isinstance(effect, Provider):
        try:
            other = book_file.load_book(effect.book)
        except InputError as exc:
            raise InputError(f"{scenario.origin}: {exc}") from None
        except OSError as exc:
            raise InputError(
                f"{scenario.origin}: cannot read the price book ({exc.strerror or exc.__class__.__name__})."
            ) from None
        return _Step(scenario=scenario, book=other)
    return _Step(scenario=scenario)


def measured_ratio(inventory: Inventory, effect: MeasuredRatio, origin: str = "measured") -> Decimal:
    """AFTER's image bytes / BEFORE's, on BEFORE's default platform, which AFTER must also have."""
    repository = next((r for r in inventory.repositories if r.name == effect.repository), None)
    if repository is None:
        raise InputError(f"{origin}: the inventory has no repository {effect.repository}.")
    digests = {t.tag: t.digest for t in repository.tags}
    for tag in (effect.before, effect.after):
        if tag not in digests:
            raise InputError(f"{origin}: {effect.repository} has no tag {tag} in the inventory.")
    figures = inventory.figures
    before = figures.platforms(digests[effect.before])
    after = figures.platforms(digests[effect.after])
    platform = figures.default_platform(digests[effect.before])
    if platform is None or not before.get(platform):
        raise InputError(f"{origin}: {effect.repository}:{effect.before} is not an image with image bytes.")
    if platform not in after:
        raise InputError(
            f"{origin}: {effect.repository}:{effect.after} has no {platform} image to compare with "
            f"{effect.repository}:{effect.before}."
        )
    return Decimal(after[platform]) / Decimal(before[platform])


def _apply(state: State, step: _Step, keep: Sequence[str], cache: RetentionCache | None = None) -> State:
    scenario = step.scenario
    effect = scenario.effect
    names = [row.repository for row in state.quantities.rows]
    scope, unmatched = select(names, scenario.repositories)
    before = state.quantities.rows
    notes = [f"{scenario.id}: the glob {glob!r} matches no repository, so it changes nothing." for glob in unmatched]
    match effect:
        case Preset():
            state = preset(state, scope, effect, scenario.id)
        case ShrinkToSize(size_bytes=size):
            target = Decimal(size)
            state = shrink(state, scope, lambda image: min(image, target), scenario.id)
        case ShrinkByRatio(ratio=ratio):
            state = shrink(state, scope, lambda image: image * ratio, scenario.id)
        case MeasuredRatio():
            ratio = step.ratio if step.ratio is not None else Decimal(1)
            state = shrink(state, scope, lambda image: image * ratio, scenario.id)
            notes.append(
                f"{scenario.id}: {effect.repository}:{effect.after} has "
                f"{plain(ratio * 100, 2)} % of the image bytes of "
                f"{effect.repository}:{effect.before}; every image is assumed to shrink alike."
            )
        case Retention():
            state = retain(state, scope, effect, (*keep, *effect.keep), scenario.id, cache)
        case Colocate(percent=percent):
            state = _colocate(state, scope, percent, scenario)
        case Provider():
            assert step.book is not None  # resolved by _resolve
            state = _reprice(state, step.book, scenario.id)
        case EcrLifecycle():
            assert step.policies is not None  # resolved by _resolve
            state = expire(state, scope, step.policies, scenario.id)
        case Rebase():
            assert step.layers is not None  # resolved by _resolve
            state = rebase(state, scope, *step.layers, (effect.source, effect.target), scenario.id)
    ratios = _resized(before, state.quantities.rows) if isinstance(effect, SIZE_EFFECTS) else None
    return with_rows(state, state.quantities.rows, notes, size_ratio=ratios)


def _resized(before: Sequence[RowQuantities], after: Sequence[RowQuantities]) -> dict[str, Decimal]:
    """Per repository whose pulled image a size step resized: the new image's share of the old."""
    return {
        new.repository: new.image_bytes / old.image_bytes
        for old, new in zip(before, after, strict=True)
        if old.image_bytes and new.image_bytes != old.image_bytes
    }


def _colocate(state: State, scope: frozenset[str], percent: Decimal, scenario: Scenario) -> State:
    classes = set(state.book.egress_classes)
    if SAME_REGION not in classes:
        raise InputError(
            f"{scenario.origin}: the price book {state.book.id} has no {SAME_REGION} egress class, "
            "so pulls cannot move to one."
        )
    share = percent / 100
    rows: list[RowQuantities] = []
    moved_total = Decimal(0)
    for row in state.quantities.rows:
        egress = row.egress_bytes_by_class
        if row.repository not in scope or egress is None:
            rows.append(row)
            continue
        moved_by_class = {c: egress[c] * share for c in COLOCATED_CLASSES if egress.get(c)}
        if not moved_by_class:
            rows.append(row)
            continue
        moved = sum(moved_by_class.values(), Decimal(0))
        moved_total += moved
        updated = {c: b - moved_by_class.get(c, Decimal(0)) for c, b in egress.items()}
        updated[SAME_REGION] = updated.get(SAME_REGION, Decimal(0)) + moved
        rows.append(row.model_copy(update={"egress_bytes_by_class": updated}))
    note = (
        f"{scenario.id}: {format_bytes(moved_total, state.book.unit, trim=True)} of egress a month moves "
        "from internet and cross-region to same-region."
        if moved_total
        else f"{scenario.id}: no repository in scope pulls over internet or cross-region, so nothing moves."
    )
    return with_rows(state, rows, [note])


def _reprice(state: State, other: PriceBook, scenario_id: str) -> State:
    """Storage re-attributed under OTHER's dedup scope; egress classes mapped by name."""
    figures = state.inventory.figures
    old_scope, new_scope = state.book.dedup_scope, other.dedup_scope
    old = figures.attributed_bytes(old_scope)
    new = figures.attributed_bytes(new_scope)
    fallback = FALLBACK_CLASS in other.egress_classes
    unmapped: set[str] = set()
    rows: list[RowQuantities] = []
    for row in state.quantities.rows:
        storage = row.storage_bytes
        if old.get(row.repository):
            storage = storage * Decimal(new.get(row.repository, 0)) / Decimal(old[row.repository])
        egress = row.egress_bytes_by_class
        mapped: dict[str, Decimal] | None = None
        if egress is not None:
            mapped, missing = egress_onto(egress, other)
            unmapped |= missing
        rows.append(row.model_copy(update={"storage_bytes": storage, "egress_bytes_by_class": mapped}))
    notes = [
        f"{scenario_id}: priced on {other.id}; storage attributed under its {new_scope} dedup "
        "scope "
        f"(was {old_scope}); pulls and egress bytes are unchanged.",
    ]
    for cls in sorted(unmapped):
        notes.append(
            f"{scenario_id}: {other.id} has no {cls} egress class; those bytes are priced as internet."
            if fallback
            else f"{scenario_id}: {other.id} has no {cls} egress class and no internet class; "
            "those "
            "bytes are not priced, so this projection understates the cost."
        )
    return with_rows(state, rows, notes, book=other)
