"""Untagged images: per repository, how many it stores and the bytes only they reach (pure)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from costcalc.inventory.model import Inventory
from costcalc.pricing.book import DedupScope


@dataclass(frozen=True, slots=True)
class Untagged:
    """A repository's untagged manifests: how many, and the bytes no tag of it reaches."""

    images: int
    attributed_bytes: int  # under the book's dedup scope, as its storage is attributed


def untagged_bytes(inventory: Inventory, dedup: DedupScope) -> dict[str, Untagged]:
    """Per repository with untagged manifests: their count and the bytes only they reach there.

    A blob a tag of the same repository also reaches is the tag's: deleting the untagged
    images would not free it. Under registry dedup a blob other repositories hold too counts
    with the repository's share of it, split exactly as Figures.attributed_bytes splits it, so
    the untagged bytes are a part of the repository's attributed bytes.
    """
    figures = inventory.figures
    only: dict[str, dict[str, int]] = {}
    counts: dict[str, int] = {}
    for repo in inventory.repositories:
        if not repo.untagged:
            continue
        tagged: set[str] = set()
        for ref in repo.tags:
            tagged.update(figures.reachable(ref.digest))
        blobs: dict[str, int] = {}
        for digest in repo.untagged:
            blobs.update((blob, size) for blob, size in figures.reachable(digest).items() if blob not in tagged)
        only[repo.name] = blobs
        counts[repo.name] = len(repo.untagged)
    if dedup == "repository":
        return {name: Untagged(counts[name], sum(blobs.values())) for name, blobs in only.items()}
    wanted = set().union(*only.values()) if only else set()
    owners: dict[str, list[str]] = defaultdict(list)
    for name in sorted(figures.repository_blobs):
        for blob in wanted.intersection(figures.repository_blobs[name]):
            owners[blob].append(name)
    sizes = figures.blob_sizes
    result = {}
    for name, blobs in only.items():
        total = 0
        for blob in blobs:
            holders = owners[blob]
            share, remainder = divmod(sizes[blob], len(holders))
            total += share + (1 if holders.index(name) < remainder else 0)
        result[name] = Untagged(counts[name], total)
    return result
