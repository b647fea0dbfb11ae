"""Rebase applied to a projection: images built on one base rebuilt on another, measured again (pure).

The projected inventory is the same inventory with each image built on FROM given TO's layers in
place of FROM's (its own layers, manifest and config kept); storage is then measured from its
blobs exactly as the report measures the inventory, so a base shared by many repositories is
stored once per dedup scope, as it would be.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from costcalc.inventory.model import BlobRef, Inventory, ManifestRecord
from costcalc.scenarios.quantities import RowQuantities
from costcalc.scenarios.state import State, with_rows
from costcalc.units import format_bytes, whole_bytes

Layers = Mapping[str, tuple[BlobRef, ...]]  # per platform


def rebased_inventory(
    inventory: Inventory, scope: frozenset[str], source: Layers, target: Layers
) -> tuple[Inventory, int, set[str]]:
    """INVENTORY with every image the repositories of SCOPE reach that starts with SOURCE's layers
    (of its platform) on TARGET's instead; with how many images changed and the platforms
    TARGET lacks."""
    figures = inventory.figures
    reached: set[str] = set()
    for name in scope:
        reached.update(figures.repository_blobs.get(name, {}).keys() & inventory.manifests.keys())
    prefixes = {tuple(layer.digest for layer in layers): platform for platform, layers in source.items()}
    lengths = sorted({len(key) for key in prefixes}, reverse=True)
    manifests: dict[str, ManifestRecord] = dict(inventory.manifests)
    changed = 0
    missing: set[str] = set()
    for digest in sorted(reached):
        record = manifests[digest]
        if record.children or not record.layers:
            continue
        digests = tuple(layer.digest for layer in record.layers)
        for length in lengths:
            platform = prefixes.get(digests[:length])
            if platform is None:
                continue
            if platform not in target:
                missing.add(platform)
                break
            manifests[digest] = replace(record, layers=(*target[platform], *record.layers[length:]))
            changed += 1
            break
    projected = Inventory(
        registry=inventory.registry,
        scanned_at=inventory.scanned_at,
        namespace=inventory.namespace,
        repositories=inventory.repositories,
        manifests=manifests,
        errors=inventory.errors,
    )
    return projected, changed, missing


def rebase(
    state: State, scope: frozenset[str], source: Layers, target: Layers, names: tuple[str, str], scenario_id: str
) -> State:
    """STATE with the images on NAMES[0] (SOURCE's layers) rebuilt on NAMES[1] (TARGET's)."""
    inventory = state.inventory
    projected, changed, missing = rebased_inventory(inventory, scope, source, target)
    dedup = state.book.dedup_scope
    before = inventory.figures.attributed_bytes(dedup)
    after = projected.figures.attributed_bytes(dedup)
    tags = {repo.name: {t.tag: t.digest for t in repo.tags} for repo in inventory.repositories}
    rows: list[RowQuantities] = []
    migration: dict[str, dict[str, Decimal]] = {}
    for row in state.quantities.rows:
        name = row.repository
        digest = tags.get(name, {}).get(row.pulled_tag or "")
        update: dict[str, object] = {}
        if before.get(name, 0) != after.get(name, 0):
            # an earlier step's storage (a shrink) changes by the same ratio; alone, it is exact
            old = Decimal(before[name])
            update["storage_bytes"] = (
                Decimal(after[name]) if row.storage_bytes == old else row.storage_bytes * after[name] / old
            )
            update["unique_bytes"] = projected.figures.repository_bytes.get(name, 0)
        if digest is not None and row.platform is not None:
            old_image = inventory.figures.platforms(digest).get(row.platform, 0)
            new_image = projected.figures.platforms(digest).get(row.platform, 0)
            if new_image != old_image:
                # manifests and configs keep their size, so a pull changes by the image bytes; after
                # an earlier size change (in `combined`) the image changes by the same ratio
                image = row.image_bytes
                projected_image = (
                    Decimal(new_image) if image == old_image else image * new_image / old_image if old_image else image
                )
                change = projected_image - image
                update["image_bytes"] = projected_image
                update["pull_bytes"] = row.pull_bytes + change
                # a deploy fetches only what changed between versions; with a single version
                # the report takes it to fetch the whole image, so it changes like a cold pull
                _, transitions = inventory.figures.version_delta_bytes(name, row.platform)
                changed_pulls = row.cold_pulls_per_month
                if transitions == 0:
                    update["delta_bytes"] = row.delta_bytes + change
                    changed_pulls = row.pulls_per_month
                egress = row.egress_bytes_by_class
                if egress is not None and changed_pulls:
                    update["egress_bytes_by_class"] = _spread(egress, changed_pulls * change)
                fetched = _new_layer_bytes(inventory, projected, digest, row.platform)
                if egress is not None and row.nodes and fetched:
                    migration[name] = _spread({c: Decimal(0) for c in egress}, row.nodes * fetched, weights=egress)
        rows.append(row.model_copy(update=update) if update else row)
    freed = sum((r.storage_bytes for r in state.quantities.rows), Decimal(0)) - sum(
        (r.storage_bytes for r in rows), Decimal(0)
    )
    unit = state.book.unit
    moved = sum((sum(by_class.values(), Decimal(0)) for by_class in migration.values()), Decimal(0))
    notes = [
        f"{scenario_id}: {changed} image {'manifest' if changed == 1 else 'manifests'} built on {names[0]} "
        f"rebuilt on {names[1]}; storage measured again under {dedup} dedup "
        f"{'frees' if freed >= 0 else 'adds'} {format_bytes(abs(freed), unit, trim=True)} "
        f"({whole_bytes(abs(freed)):,} bytes).",
        f"{scenario_id}: one-time migration transfer: {format_bytes(moved, unit, trim=True)} "
        f"({whole_bytes(moved):,} bytes), each node of a repository fetching {names[1]}'s new layers once "
        "(counted per repository: nodes shared by several repositories fetch them once, so this is an upper "
        "bound); not in the monthly figures.",
    ]
    if changed == 0:
        notes.append(f"{scenario_id}: no image in scope is built on {names[0]}, so nothing changes.")
    for platform in sorted(missing):
        notes.append(f"{scenario_id}: {names[1]} has no {platform} image; {platform} images stay on {names[0]}.")
    return with_rows(state, rows, notes, inventory=projected, migration=migration)


def _spread(
    egress: Mapping[str, Decimal], amount: Decimal, weights: Mapping[str, Decimal] | None = None
) -> dict[str, Decimal]:
    """EGRESS with AMOUNT added, split among its classes in proportion to WEIGHTS (EGRESS's own)."""
    weights = weights if weights is not None else egress
    total = sum(weights.values(), Decimal(0))
    if not total:
        first = next(iter(egress), "internet")
        return {**egress, first: egress.get(first, Decimal(0)) + amount}
    return {c: egress.get(c, Decimal(0)) + amount * weights.get(c, Decimal(0)) / total for c in egress}


def _new_layer_bytes(before: Inventory, after: Inventory, digest: str, platform: str) -> int:
    """Bytes of the stored layers of AFTER's image of DIGEST that BEFORE's did not have."""
    old = before.figures.platform_manifest(digest, platform)
    new = after.figures.platform_manifest(digest, platform)
    if old is None or new is None:
        return 0
    had = {layer.digest for layer in before.manifests[old].layers}
    fresh = {
        layer.digest: layer.size_bytes
        for layer in after.manifests[new].layers
        if not layer.foreign and layer.digest not in had
    }
    return sum(fresh.values())
