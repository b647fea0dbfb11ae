"""Retention applied to a projection: storage recomputed from the blobs the kept tags reach (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from costcalc.inventory.model import Inventory
from costcalc.pricing.book import DedupScope
from costcalc.scenarios.quantities import RowQuantities
from costcalc.scenarios.retention import (
    Retention,
    RetentionPlan,
    VersionBytes,
    retained_inventory,
    retention_plan,
    version_bytes,
)
from costcalc.scenarios.state import State, with_rows
from costcalc.units import format_bytes, whole_bytes


@dataclass(frozen=True, slots=True)
class _Retained:
    """What a retention policy does to one inventory, whatever the quantities it is applied to."""

    inventory: Inventory  # the input, kept so that its id() in the cache key stays its own
    plans: Mapping[str, RetentionPlan]
    retained: Inventory
    before: Mapping[str, int]  # attributed bytes, before and after
    after: Mapping[str, int]
    retained_tags: Mapping[str, int]
    versions: tuple[VersionBytes, ...]


RetentionKey = tuple[int, Retention, tuple[str, ...], frozenset[str], tuple[tuple[str, str], ...], str]
RetentionCache = dict[RetentionKey, _Retained]


def _retention_outcome(
    inventory: Inventory,
    scope: frozenset[str],
    policy: Retention,
    keep: Sequence[str],
    pulled: Mapping[str, str],
    dedup: DedupScope,
) -> _Retained:
    plans = {
        repo.name: retention_plan(
            inventory, repo.name, policy, (*keep, pulled[repo.name]) if repo.name in pulled else tuple(keep)
        )
        for repo in inventory.repositories
        if repo.name in scope
    }
    retained = retained_inventory(inventory, {name: plan.kept_tags for name, plan in plans.items()})
    return _Retained(
        inventory=inventory,
        plans=plans,
        retained=retained,
        before=inventory.figures.attributed_bytes(dedup),
        after=retained.figures.attributed_bytes(dedup),
        retained_tags={repo.name: len(repo.tags) for repo in retained.repositories},
        versions=tuple(version_bytes(inventory, plans, dedup)),
    )


def retain(
    state: State,
    scope: frozenset[str],
    policy: Retention,
    keep: Sequence[str],
    scenario_id: str,
    cache: RetentionCache | None = None,
) -> State:
    """Storage recomputed exactly from the blobs the kept tags reach, as a ratio per repository."""
    inventory = state.inventory
    dedup = state.book.dedup_scope
    # the tag a repository's pulls use stays, so its egress is unchanged
    pulled = {r.repository: r.pulled_tag for r in state.quantities.rows if r.pulled_tag}
    key: RetentionKey = (id(inventory), policy, tuple(keep), scope, tuple(sorted(pulled.items())), dedup)
    cached = cache.get(key) if cache is not None else None
    if cached is not None and cached.inventory is inventory:
        outcome = cached
    else:
        outcome = _retention_outcome(inventory, scope, policy, keep, pulled, dedup)
        if cache is not None:
            cache[key] = outcome
    plans, retained = outcome.plans, outcome.retained
    before, after, retained_tags = outcome.before, outcome.after, outcome.retained_tags
    rows: list[RowQuantities] = []
    for row in state.quantities.rows:
        name = row.repository
        if before.get(name, 0) == after.get(name, 0) and retained_tags.get(name, row.tags) == row.tags:
            rows.append(row)
            continue
        # a ratio, not the retained bytes themselves, so it composes with an earlier shrink
        ratio = Decimal(after.get(name, 0)) / Decimal(before[name]) if before.get(name) else Decimal(1)
        rows.append(
            row.model_copy(
                update={
                    "storage_bytes": row.storage_bytes * ratio,
                    "tags": retained_tags.get(name, row.tags),
                    "unique_bytes": retained.figures.repository_bytes.get(name, 0),
                }
            )
        )
    # freed in this state's storage: after an earlier shrink, the scaled bytes
    freed = sum((r.storage_bytes for r in state.quantities.rows), Decimal(0)) - sum(
        (r.storage_bytes for r in rows), Decimal(0)
    )
    dropped = [name for name, plan in plans.items() if plan.dropped]
    dropped_total = sum(len(p.dropped) for p in plans.values())
    versions_total = sum(len(inventory.figures.image_versions(name)) for name in plans)
    notes = [
        f"{scenario_id}: versions are distinct image digests ordered by their config's created "
        "time (tags aliasing one digest are one version); referrers tagged sha256-<digest> (OCI "
        "referrers indexes, signatures, attestations, SBOMs) are never versions and follow their "
        "image; other artifacts are kept. The tag each repository's pulls use is kept, so egress "
        "is unchanged.",
        f"{scenario_id}: drops {dropped_total} of {versions_total} image "
        f"versions in {len(dropped)} {'repository' if len(dropped) == 1 else 'repositories'}; "
        f"storage recomputed from the blobs the kept tags still reach under {dedup} dedup frees "
        f"{format_bytes(freed, state.book.unit, trim=True)} ({whole_bytes(freed):,} bytes); layers shared "
        "with a kept version or another repository stay, and layers shared only among dropped versions are freed but "
        "count in no version's exclusive bytes (listed per version).",
    ]
    if keep:
        # --keep and a scenario file's keep may name the same glob
        notes.append(f"{scenario_id}: tags matching {', '.join(dict.fromkeys(keep))} are always kept.")
    undated = sum(plan.undated_kept for plan in plans.values())
    if undated:
        notes.append(f"{scenario_id}: {undated} versions have no creation time and are kept.")
    return with_rows(state, rows, notes, inventory=retained, versions=outcome.versions)
