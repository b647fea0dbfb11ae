"""The report's "Base images" section: each base's bytes, and its share of storage and egress (pure)."""

from __future__ import annotations

from decimal import Decimal

from costcalc.inventory.bases import BaseImage, find_bases, stored_base_bytes
from costcalc.inventory.model import Inventory
from costcalc.pricing.book import PriceBook
from costcalc.report.model import BaseImageRow
from costcalc.scenarios.quantities import Quantities


def base_rows(
    inventory: Inventory, quantities: Quantities, book: PriceBook, bases: Inventory | None = None
) -> tuple[BaseImageRow, ...]:
    """The bases of INVENTORY's images (named by it or by BASES), with QUANTITIES' month.

    A cold pull of an image built on a base transfers the base's layers; a warm pull (a deploy
    on a node holding the previous version) transfers only the layers that changed, never the
    base's. So a base's egress is the cold pulls of the pulled images built on it x its bytes.
    """
    found = find_bases(inventory, bases)
    if not found:
        return ()
    scope = book.dedup_scope
    stored = stored_base_bytes(inventory, found, scope)
    figures = inventory.figures
    total_stored = figures.unique_bytes if scope == "registry" else figures.per_repository_unique_bytes
    known = [row for row in quantities.rows if row.egress_bytes_by_class is not None]
    total_egress = sum((sum((row.egress_bytes_by_class or {}).values(), Decimal(0)) for row in known), Decimal(0))
    return tuple(
        _row(base, bytes_stored, total_stored, quantities, total_egress, bool(known))
        for base, bytes_stored in zip(found, stored, strict=True)
    )


def _row(
    base: BaseImage, stored: int, total_stored: int, quantities: Quantities, total_egress: Decimal, has_usage: bool
) -> BaseImageRow:
    built = {(image.repository, tag, image.platform) for image in base.images for tag in image.tags}
    egress = Decimal(0)
    for row in quantities.rows:
        if row.cold_pulls_per_month and (row.repository, row.pulled_tag, row.platform) in built:
            egress += row.cold_pulls_per_month * base.size_bytes
    return BaseImageRow(
        name=base.name,
        origin=base.origin,
        references=base.references,
        top_layer=base.top_layer,
        layers=len(base.layers),
        size_bytes=base.size_bytes,
        repositories=base.repositories,
        versions=tuple(image.reference for image in base.images),
        stored_bytes=stored,
        stored_share_pct=Decimal(stored) / Decimal(total_stored) * 100 if total_stored else Decimal(0),
        egress_bytes=egress if has_usage else None,
        egress_share_pct=(egress / total_egress * 100 if total_egress else Decimal(0)) if has_usage else None,
    )
