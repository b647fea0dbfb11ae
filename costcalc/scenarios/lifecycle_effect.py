"""An ECR lifecycle policy applied to a projection: storage recomputed from what is not expired (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from costcalc.scenarios.ecr_lifecycle import LifecyclePolicy, expired_inventory, lifecycle_plans
from costcalc.scenarios.quantities import RowQuantities
from costcalc.scenarios.state import ExpiredImage, State, with_rows
from costcalc.units import format_bytes, whole_bytes

Policies = LifecyclePolicy | Mapping[str, LifecyclePolicy | None]


def expire(state: State, scope: frozenset[str], policies: Policies, scenario_id: str) -> State:
    """STATE once POLICIES expired their images in the repositories of SCOPE.

    Storage is recomputed exactly as retention recomputes it: from the blobs the remaining
    tags and untagged images still reach, under the book's dedup scope, as a ratio per
    repository (so it composes with an earlier size change). Pulls are left as they are.
    """
    inventory = state.inventory
    dedup = state.book.dedup_scope
    plans = {name: plan for name, plan in lifecycle_plans(inventory, policies).items() if name in scope}
    after_inventory = expired_inventory(inventory, plans)
    before = inventory.figures.attributed_bytes(dedup)
    after = after_inventory.figures.attributed_bytes(dedup)
    remaining = {repo.name: repo for repo in after_inventory.repositories}
    tags_of: dict[tuple[str, str], list[str]] = {}
    for repo in inventory.repositories:
        for ref in repo.tags:
            tags_of.setdefault((repo.name, ref.digest), []).append(ref.tag)
    expired = [
        ExpiredImage(
            repository=name,
            digest=expiry.digest,
            tags=tuple(sorted(tags_of.get((name, expiry.digest), ()))),
            rule_priority=expiry.rule_priority,
        )
        for name, plan in sorted(plans.items())
        for expiry in plan.expired
    ]
    rows: list[RowQuantities] = []
    pulled_gone: list[str] = []
    for row in state.quantities.rows:
        name = row.repository
        plan = plans.get(name)
        if plan is None or not plan.expired:
            rows.append(row)
            continue
        if row.pulled_tag is not None and row.pulled_tag not in plan.kept_tags:
            pulled_gone.append(f"{name}:{row.pulled_tag}")
        ratio = Decimal(after.get(name, 0)) / Decimal(before[name]) if before.get(name) else Decimal(1)
        repo = remaining[name]
        rows.append(
            row.model_copy(
                update={
                    "storage_bytes": row.storage_bytes * ratio,
                    "tags": len(repo.tags),
                    "unique_bytes": after_inventory.figures.repository_bytes.get(name, 0),
                    "untagged_images": len(repo.untagged),
                }
            )
        )
    freed = sum((r.storage_bytes for r in state.quantities.rows), Decimal(0)) - sum(
        (r.storage_bytes for r in rows), Decimal(0)
    )
    untagged = sum(1 for image in expired if not image.tags)
    touched = sum(1 for plan in plans.values() if plan.expired)
    notes = [
        f"{scenario_id}: expires {len(expired)} images ({untagged} untagged) in {touched} "
        f"{'repository' if touched == 1 else 'repositories'} of the {len(plans)} with a policy; storage "
        f"recomputed from the blobs the remaining tags and untagged images still reach under {dedup} dedup "
        f"frees {format_bytes(freed, state.book.unit, trim=True)} ({whole_bytes(freed):,} bytes).",
    ]
    if pulled_gone:
        notes.append(
            f"{scenario_id}: the policy expires the tag pulls use ({', '.join(pulled_gone)}); "
            "egress is left as it is (pulls would move to another tag)."
        )
    undated = sum(plan.undated_kept for plan in plans.values())
    if undated:
        notes.append(f"{scenario_id}: {undated} images have neither a push nor a creation time and are kept.")
    return with_rows(state, rows, notes, inventory=after_inventory, expired=expired)
