"""Retention policies: which image versions a repository keeps, and the bytes each one owns (pure)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from costcalc.costs import VersionBytes
from costcalc.inventory import Inventory, Repository, Version
from costcalc.pricing import DedupScope

# cosign (`sha256-<hex>.sig|.att|.sbom`) and the OCI referrers tag schema (`sha256-<hex>`)
# name the image an artifact refers to in its tag.
_SUBJECT_TAG = re.compile(r"sha256-([0-9a-f]{64})(?:\.[A-Za-z0-9_.-]+)?")


class Retention(BaseModel):
    """Keep the newest `versions` versions, or the versions created in the last `days` days."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["retention"] = "retention"
    versions: int | None = Field(default=None, ge=1)
    days: int | None = Field(default=None, ge=1)
    keep: tuple[str, ...] = ()  # tag globs always kept, on top of the command's --keep


@dataclass(frozen=True)
class RetentionPlan:
    """What a retention policy keeps of one repository: its tags; and the versions it drops."""

    repository: str
    kept_tags: frozenset[str]
    dropped: tuple[Version, ...]
    undated_kept: int = 0  # versions without a creation time, kept by a DAYSd policy


def retention_plan(
    inventory: Inventory, repository: str, policy: Retention, keep: Sequence[str] = ()
) -> RetentionPlan:
    """Which tags of REPOSITORY survive POLICY; tags matching a KEEP glob always do.

    Versions are the repository's distinct image digests ordered by config `created`; the
    tags aliasing one digest live and die together. Artifacts whose tag names an image
    (`sha256-<hex>.sig`, `.att`, `.sbom`, referrers tag schema) follow that image; other
    artifacts (Helm charts, standalone artifacts) and tags whose manifest could not be read
    are kept: they are not image versions and nothing says how old they are.
    """
    figures = inventory.figures
    versions = figures.versions(repository)
    images = [v for v in versions if _is_image(inventory, v.digest)]
    kept: set[str] = set()
    undated = 0
    if policy.versions is not None:
        kept.update(v.digest for v in images[-policy.versions :])
    else:
        cutoff = inventory.scanned_at - timedelta(days=policy.days or 0)
        for version in images:
            created = version.created
            if created is not None and created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            if created is None:
                undated += 1
            if created is None or created > cutoff:
                kept.add(version.digest)
        if images:  # the newest version serves today's deploys however old it is
            kept.add(images[-1].digest)
    kept.update(v.digest for v in versions if any(fnmatchcase(t, g) for t in v.tags for g in keep))
    kept_reach = _reach(inventory, (v.digest for v in images if v.digest in kept))
    image_reach = _reach(inventory, (v.digest for v in images))
    for version in versions:
        if version.digest in kept or _is_image(inventory, version.digest):
            continue
        subject = _subject(version)
        if subject is None or subject not in image_reach or subject in kept_reach:
            kept.add(version.digest)
    return RetentionPlan(
        repository=repository,
        kept_tags=frozenset(t for v in versions if v.digest in kept for t in v.tags),
        dropped=tuple(v for v in images if v.digest not in kept),
        undated_kept=undated,
    )


def retained_inventory(inventory: Inventory, kept_tags: Mapping[str, frozenset[str]]) -> Inventory:
    """The same manifests with only KEPT_TAGS in the repositories it names (others untouched)."""
    repositories = tuple(
        Repository(
            name=repo.name, tags=tuple(t for t in repo.tags if t.tag in kept_tags[repo.name])
        )
        if repo.name in kept_tags
        else repo
        for repo in inventory.repositories
    )
    # a new model, not model_copy: the copy would carry the memoised figures of the original
    return Inventory(
        schema_version=inventory.schema_version,
        registry=inventory.registry,
        namespace=inventory.namespace,
        scanned_at=inventory.scanned_at,
        repositories=repositories,
        manifests=inventory.manifests,
        errors=inventory.errors,
    )


def exclusive_version_bytes(
    inventory: Inventory, repository: str, dedup_scope: DedupScope = "registry"
) -> list[tuple[Version, int]]:
    """Per image version of REPOSITORY (oldest first): bytes of the blobs no other tag reaches.

    A version owns its image's blobs and those of the artifacts that follow it (signatures,
    attestations); a blob counts only when no other version, no other artifact and, under
    registry dedup, no other repository's tag reaches it: deleting that version alone frees
    exactly these bytes.
    """
    return _exclusive_bytes(inventory, dedup_scope, [repository])[repository]


def _exclusive_bytes(
    inventory: Inventory, dedup_scope: DedupScope, repositories: Sequence[str]
) -> dict[str, list[tuple[Version, int]]]:
    registry_wide = dedup_scope == "registry"
    counted = [r.name for r in inventory.repositories] if registry_wide else list(repositories)
    groups = {name: _owner_groups(inventory, name) for name in counted}

    def owners_in(names: Iterable[str]) -> Counter[str]:
        owners: Counter[str] = Counter()
        for name in names:
            for _, blobs in groups[name]:
                owners.update(blobs.keys())
        return owners

    # under repository dedup each repository stores its own copy: owners count within it only
    everywhere = owners_in(counted) if registry_wide else None
    result: dict[str, list[tuple[Version, int]]] = {}
    for name in repositories:
        owners = everywhere if everywhere is not None else owners_in([name])
        result[name] = [
            (version, sum(size for blob, size in blobs.items() if owners[blob] == 1))
            for version, blobs in groups.get(name, [])
            if version is not None
        ]
    return result


def _owner_groups(
    inventory: Inventory, repository: str
) -> list[tuple[Version | None, dict[str, int]]]:
    """REPOSITORY's tagged digests as owners: each image version with its followers, the rest."""
    figures = inventory.figures
    versions = figures.versions(repository)
    images = [v for v in versions if _is_image(inventory, v.digest)]
    blobs = {v.digest: dict(figures.reachable(v.digest)) for v in images}
    manifests = {v.digest: set(blobs[v.digest]) for v in images}
    others: list[tuple[Version | None, dict[str, int]]] = []
    for version in versions:
        if version.digest in blobs:
            continue
        subject = _subject(version)
        owner = next(
            (v for v in images if subject is not None and subject in manifests[v.digest]), None
        )
        if owner is None:
            others.append((None, dict(figures.reachable(version.digest))))
        else:
            blobs[owner.digest].update(figures.reachable(version.digest))
    return [(v, blobs[v.digest]) for v in images] + others



def version_bytes(
    inventory: Inventory, plans: Mapping[str, RetentionPlan], dedup_scope: DedupScope
) -> list[VersionBytes]:
    """Every image version of the repositories PLANS cover (by name, oldest first): its exclusive
    bytes (see exclusive_version_bytes) and whether its plan drops it."""
    exclusive = _exclusive_bytes(inventory, dedup_scope, sorted(plans))
    versions: list[VersionBytes] = []
    for name in sorted(plans):
        gone = {v.digest for v in plans[name].dropped}
        versions += [
            VersionBytes(
                repository=name,
                digest=version.digest,
                tags=version.tags,
                created=version.created,
                exclusive_bytes=size,
                dropped=version.digest in gone,
            )
            for version, size in exclusive[name]
        ]
    return versions


def _is_image(inventory: Inventory, digest: str) -> bool:
    record = inventory.manifests.get(digest)
    return record is not None and record.kind == "image"


def _subject(version: Version) -> str | None:
    """The image digest an artifact's tag names (cosign / referrers tag schema), if any."""
    for tag in version.tags:
        match = _SUBJECT_TAG.fullmatch(tag)
        if match:
            return f"sha256:{match.group(1)}"
    return None


def _reach(inventory: Inventory, digests: Iterable[str]) -> set[str]:
    reached: set[str] = set()
    for digest in digests:
        reached.update(inventory.figures.reachable(digest))
    return reached
