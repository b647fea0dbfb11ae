"""Pull recency: per repository, the bytes of versions not pulled for 30, 90 and 180 days (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from costcalc.inventory.model import Inventory

WINDOWS_DAYS = (30, 90, 180)


class Stale(BaseModel):
    """Versions of one repository in one recency class, and the bytes only they reach there."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    versions: int
    size_bytes: int


class PullRecency(BaseModel):
    """One repository's versions by when they were last pulled, as the registry recorded it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    repository: str
    versions: int
    not_pulled: dict[int, Stale]  # days -> versions last pulled longer ago than that
    unknown: Stale  # never pulled, or the registry recorded no pull time


def pull_recency(inventory: Inventory) -> tuple[PullRecency, ...]:
    """Each repository's recency, or nothing when the inventory records no pull time at all
    (a scan through the registry API, where every version would be "unknown").

    A version is a distinct digest a tag or an untagged entry names (as ECR lists images).
    Its time is the manifest's last pull, to the scan. Bytes are those of the blobs only the
    versions of the class reach in the repository: what deleting them would free there (a
    layer a more recently pulled version shares stays).
    """
    manifests = inventory.manifests
    if not any(record.last_pulled_at is not None for record in manifests.values()):
        return ()
    now = _aware(inventory.scanned_at)
    figures = inventory.figures
    found = []
    for repo in inventory.repositories:
        digests = list(dict.fromkeys((*(ref.digest for ref in repo.tags), *repo.untagged)))
        pulled: dict[str, datetime | None] = {}
        for digest in digests:
            record = manifests.get(digest)
            when = record.last_pulled_at if record is not None else None
            pulled[digest] = _aware(when) if when is not None else None
        blobs = {digest: figures.reachable(digest) for digest in digests}
        never = [d for d in digests if pulled[d] is None]
        not_pulled = {}
        for days in WINDOWS_DAYS:
            cutoff = now - timedelta(days=days)
            stale = [d for d in digests if (when := pulled[d]) is not None and when < cutoff]
            not_pulled[days] = _stale(stale, blobs)
        found.append(
            PullRecency(
                repository=repo.name, versions=len(digests), not_pulled=not_pulled, unknown=_stale(never, blobs)
            )
        )
    return tuple(found)


def _stale(chosen: Iterable[str], blobs: Mapping[str, Mapping[str, int]]) -> Stale:
    """CHOSEN versions and the bytes of the blobs no other version of the repository reaches."""
    picked = set(chosen)
    others: set[str] = set()
    for digest, reached in blobs.items():
        if digest not in picked:
            others.update(reached)
    own: dict[str, int] = {}
    for digest in picked:
        own.update((blob, size) for blob, size in blobs[digest].items() if blob not in others)
    return Stale(versions=len(picked), size_bytes=sum(own.values()))


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
