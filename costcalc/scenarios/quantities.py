"""What each repository stores and serves in a month, before prices: what scenarios project."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from costcalc.inventory.model import Summary


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RowQuantities(_Frozen):
    """What one repository stores and serves in a month, before prices."""

    repository: str
    team: str | None
    tags: int
    unique_bytes: int  # distinct blobs the repository's tags reach
    storage_bytes: Decimal  # attributed bytes under the book's dedup scope
    image_bytes: Decimal  # image bytes of the pulled tag/platform (0 for artifact-only repositories)
    pull_bytes: Decimal  # bytes of one cold pull: manifest(s) + config + image bytes
    delta_bytes: Decimal  # bytes of one warm pull: the version delta
    pulls_per_month: Decimal | None  # cold + warm pulls; None = no pull data
    egress_bytes_by_class: dict[str, Decimal] | None  # per month; None = unknown (no pull data)
    pulled_tag: str | None = None
    platform: str | None = None
    untagged_images: int = 0  # manifests stored with no tag
    untagged_bytes: Decimal = Decimal(0)  # the part of storage_bytes only untagged manifests reach
    # where the usage row gives measured bytes: egress_bytes_by_class holds them, and this is
    # what the model (cold pulls x pull bytes + warm pulls x delta bytes) predicts for the same pulls
    modelled_egress_bytes: Decimal | None = None
    cold_pulls_per_month: Decimal | None = None  # of pulls_per_month, those fetching the whole image
    nodes: Decimal | None = None  # that deploy it (each holds the previous version)


class Quantities(_Frozen):
    """Every repository's quantities plus what was assumed and what is missing."""

    registry: str
    namespace: str
    rows: tuple[RowQuantities, ...]  # one per repository, sorted by name
    assumptions: tuple[str, ...]
    warnings: tuple[str, ...]
    scanned_at: datetime | None = None
    summary: Summary | None = None
    usage_source: str | None = None
