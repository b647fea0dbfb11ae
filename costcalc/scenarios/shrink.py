"""Size changes: presets, target sizes and ratios applied to the measured quantities (pure)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, localcontext

from costcalc.scenarios.quantities import RowQuantities
from costcalc.scenarios.spec import MeasuredRatio, Preset, ShrinkByRatio, ShrinkToSize
from costcalc.scenarios.state import State, with_rows
from costcalc.units import ARITHMETIC, format_bytes, plain

SIZE_EFFECTS = (Preset, ShrinkToSize, ShrinkByRatio, MeasuredRatio)


def shrink(
    state: State,
    scope: frozenset[str],
    new_size: Callable[[Decimal], Decimal],
    scenario_id: str,
) -> State:
    """Each scoped row's pulled image gets r = new / old bytes; storage and egress scale by r."""
    rows: list[RowQuantities] = []
    shrunk = 0
    for row in state.quantities.rows:
        image = Decimal(row.image_bytes)
        new_image = new_size(image) if row.repository in scope and image > 0 else image
        if new_image == image:
            rows.append(row)
            continue
        shrunk += 1
        r = new_image / image
        egress = row.egress_bytes_by_class
        rows.append(
            row.model_copy(
                update={
                    "storage_bytes": row.storage_bytes * r,
                    "image_bytes": new_image,
                    # manifests and config are not part of the image and keep their size
                    "pull_bytes": row.pull_bytes - image + new_image,
                    "delta_bytes": row.delta_bytes * r,
                    "egress_bytes_by_class": None if egress is None else {c: b * r for c, b in egress.items()},
                }
            )
        )
    candidates = sum(1 for row in state.quantities.rows if row.repository in scope and row.image_bytes > 0)
    notes = [
        f"{scenario_id}: {shrunk} of {candidates} repositories with a pulled image shrink. "
        "Storage scales by the pulled image's size ratio (an approximation: older "
        "versions and shared layers are assumed to shrink alike); monthly egress scales by the "
        "same ratio, manifests and config included.",
    ]
    return with_rows(state, rows, notes)


def preset(state: State, scope: frozenset[str], preset: Preset, scenario_id: str) -> State:
    """Each scoped repository's image versions larger than the preset's size shrink by its ratio.

    Storage scales by the share of the repository's version bytes left (versions at or under
    the size unchanged); pulls scale by the pulled image's own factor.
    """
    inventory = state.inventory
    figures = inventory.figures
    ratio, size = preset.ratio, Decimal(preset.size_bytes)
    rows: list[RowQuantities] = []
    shrunk_versions = versions_seen = 0
    with localcontext(ARITHMETIC):
        for row in state.quantities.rows:
            if row.repository not in scope or row.image_bytes <= 0:
                rows.append(row)
                continue
            before = after = Decimal(0)
            for version in figures.image_versions(row.repository):
                by_platform = figures.platforms(version.digest)
                platform = row.platform if row.platform in by_platform else figures.default_platform(version.digest)
                image = Decimal(by_platform.get(platform, 0) if platform else 0)
                versions_seen += 1
                before += image
                if image > size:
                    shrunk_versions += 1
                    after += image * ratio
                else:
                    after += image
            storage_factor = after / before if before else Decimal(1)
            pulled_factor = ratio if row.image_bytes > size else Decimal(1)
            if storage_factor == 1 and pulled_factor == 1:
                rows.append(row)
                continue
            rows.append(_scaled(row, storage_factor, pulled_factor))
    notes = [
        f"{scenario_id}: {shrunk_versions} of {versions_seen} image versions are larger than "
        f"{format_bytes(preset.size_bytes, trim=True)} and shrink to {plain(ratio * 100, 2)} % of their "
        "bytes; storage scales by the share of each repository's version bytes left, monthly egress by "
        "the pulled image's own factor.",
    ]
    return with_rows(state, rows, notes)


def _scaled(row: RowQuantities, storage_factor: Decimal, pulled_factor: Decimal) -> RowQuantities:
    """ROW with its storage times STORAGE_FACTOR and its pulled image times PULLED_FACTOR."""
    image = row.image_bytes
    new_image = image * pulled_factor
    egress = row.egress_bytes_by_class
    return row.model_copy(
        update={
            "storage_bytes": row.storage_bytes * storage_factor,
            "image_bytes": new_image,
            "pull_bytes": row.pull_bytes - image + new_image,
            "delta_bytes": row.delta_bytes * pulled_factor,
            "egress_bytes_by_class": None if egress is None else {c: b * pulled_factor for c, b in egress.items()},
        }
    )
