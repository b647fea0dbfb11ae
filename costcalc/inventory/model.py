"""The Inventory: what a scan found, frozen, its figures on demand, and how it is built (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from costcalc.inventory.figures import Figures
from costcalc.inventory.records import (
    DEFAULT_PLATFORM,
    BlobRef,
    ChildRef,
    ManifestRecord,
    Repository,
    ScanError,
    Summary,
    TagRef,
    Version,
    image_bytes,
)

__all__ = [
    "DEFAULT_PLATFORM",
    "SCHEMA_VERSION",
    "BlobRef",
    "ChildRef",
    "Inventory",
    "ManifestRecord",
    "Repository",
    "ScanError",
    "Summary",
    "TagRef",
    "Version",
    "build_inventory",
    "image_bytes",
]

SCHEMA_VERSION = 2  # of the inventory file this costcalc writes (it reads 1 and 2)


# Frozen, but not slotted: `figures` is memoised in the instance dict (cached_property
# writes there directly), and there is one Inventory per file, not millions.
@dataclass(frozen=True)
class Inventory:
    """What a registry namespace holds, byte for byte: the input of every other command."""

    registry: str
    scanned_at: datetime
    namespace: str = ""
    repositories: tuple[Repository, ...] = ()
    manifests: Mapping[str, ManifestRecord] = field(default_factory=dict)
    errors: tuple[ScanError, ...] = ()
    schema_version: int = field(default=SCHEMA_VERSION, compare=False)  # of the file it was read from

    @cached_property
    def figures(self) -> Figures:
        """The derived figures of this inventory, computed on demand and memoised."""
        return Figures(self.repositories, self.manifests, self.registry, self.namespace)


def build_inventory(
    registry: str,
    namespace: str,
    scanned_at: datetime,
    tags: Mapping[str, Iterable[tuple[str, str]]],
    manifests: Mapping[str, ManifestRecord],
    errors: Iterable[ScanError] = (),
    untagged: Mapping[str, Iterable[str]] | None = None,
) -> Inventory:
    """A deterministic Inventory: repositories, tags, manifests and errors in sorted order.

    UNTAGGED: per repository, the digests of manifests it stores with no tag (a repository
    named only there is listed too).
    """
    untagged = untagged or {}
    names = sorted(set(tags) | set(untagged))
    repositories = tuple(
        Repository(
            name=name,
            tags=tuple(TagRef(tag=t, digest=d) for t, d in sorted(tags.get(name, ()))),
            untagged=tuple(sorted(set(untagged.get(name, ())))),
        )
        for name in names
    )
    return Inventory(
        registry=registry,
        namespace=namespace,
        scanned_at=scanned_at.astimezone(UTC).replace(microsecond=0),
        repositories=repositories,
        manifests={d: manifests[d] for d in sorted(manifests)},
        errors=tuple(sorted(errors, key=lambda e: (e.repository or "", e.tag or "", e.digest or "", e.reason))),
    )
