"""Retention policies: which image versions a repository keeps, and the bytes each one owns (pure)."""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from costcalc.inventory.model import Inventory, Version
from costcalc.inventory.versions import subject_of
from costcalc.pricing.book import DedupScope

_GLOB_CHARS = frozenset("*?[")


# Bounds of a retention policy: a million versions, a century of days (a policy beyond them
# keeps everything, and a date before year 1 cannot be computed).
MAX_VERSIONS = 1_000_000
MAX_DAYS = 36_500


@dataclass(frozen=True, slots=True)
class VersionBytes:
    """One image version a retention scenario looked at: the bytes only it holds, and its fate."""

    repository: str
    digest: str
    tags: tuple[str, ...]  # every tag aliasing the digest
    created: datetime | None  # the config's `created`; None when the image does not say
    exclusive_bytes: int  # blobs no other tag reaches: what deleting this version alone frees
    dropped: bool  # False: the scenario keeps it


class Retention(BaseModel):
    """Keep the newest `versions` versions, or the versions created in the last `days` days."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["retention"] = "retention"
    versions: int | None = Field(default=None, ge=1, le=MAX_VERSIONS)
    days: int | None = Field(default=None, ge=1, le=MAX_DAYS)
    keep: tuple[str, ...] = ()  # tag globs always kept, on top of the command's --keep


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    """What a retention policy keeps of one repository: its tags; and the versions it drops."""

    repository: str
    kept_tags: frozenset[str]
    dropped: tuple[Version, ...]
    undated_kept: int = 0  # versions without a creation time, kept by a DAYSd policy


def retention_plan(inventory: Inventory, repository: str, policy: Retention, keep: Sequence[str] = ()) -> RetentionPlan:
    """Which tags of REPOSITORY survive POLICY; tags matching a KEEP glob always do.

    Versions are the repository's distinct image digests ordered by config `created`; the
    tags aliasing one digest live and die together. Artifacts whose tag names an image
    (`sha256-<hex>.sig`, `.att`, `.sbom`, referrers tag schema) or whose manifest names it
    as its `subject` follow that image; other
    artifacts (Helm charts, standalone artifacts) and tags whose manifest could not be read
    are kept: they are not image versions and nothing says how old they are.
    """
    figures = inventory.figures
    versions = figures.versions(repository)
    images = figures.image_versions(repository)  # in version order
    kept: set[str] = set()
    undated = 0
    if policy.versions is not None:
        kept.update(v.digest for v in images[-policy.versions :])
    else:
        try:
            cutoff = inventory.scanned_at - timedelta(days=policy.days or 0)
        except OverflowError:  # a window reaching back before year 1 keeps every dated version
            cutoff = datetime.min.replace(tzinfo=inventory.scanned_at.tzinfo)
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
    if keep:
        kept.update(v.digest for v in _with_matching_tags(versions, keep))
    others: list[Version] = []
    if len(images) != len(versions):  # artifacts and unreadable manifests
        image_digests = {v.digest for v in images}
        others = [v for v in versions if v.digest not in image_digests and v.digest not in kept]
    if others:
        kept_reach = _reach(inventory, (v.digest for v in images if v.digest in kept))
        image_reach = _reach(inventory, (v.digest for v in images))
        for version in others:
            subject = subject_of(version)
            if subject is None or subject not in image_reach or subject in kept_reach:
                kept.add(version.digest)
    return RetentionPlan(
        repository=repository,
        kept_tags=frozenset(chain.from_iterable([v.tags for v in versions if v.digest in kept])),
        dropped=tuple(v for v in images if v.digest not in kept),
        undated_kept=undated,
    )


def retained_inventory(inventory: Inventory, kept_tags: Mapping[str, frozenset[str]]) -> Inventory:
    """The same manifests with only KEPT_TAGS in the repositories it names (others untouched).

    Untagged images stay: a retention policy chooses among tagged versions only.
    """
    repositories = tuple(
        replace(repo, tags=tuple(t for t in repo.tags if t.tag in kept_tags[repo.name]))
        if repo.name in kept_tags
        else repo
        for repo in inventory.repositories
    )
    # a new Inventory, not a copy: a copy would carry the memoised figures of the original
    return replace(inventory, repositories=repositories)


def exclusive_version_bytes(
    inventory: Inventory, repository: str, dedup_scope: DedupScope = "registry"
) -> list[tuple[Version, int]]:
    """Per image version of REPOSITORY (oldest first): bytes of the blobs no other tag reaches.

    A version owns its image's blobs and those of the artifacts that follow it (signatures,
    attestations); a blob counts only when no other version, no other artifact, no untagged
    image and, under registry dedup, no other repository reaches it: deleting that version
    alone frees exactly these bytes.
    """
    return _exclusive_bytes(inventory, dedup_scope, [repository])[repository]


def _exclusive_bytes(
    inventory: Inventory, dedup_scope: DedupScope, repositories: Sequence[str]
) -> dict[str, list[tuple[Version, int]]]:
    registry_wide = dedup_scope == "registry"
    counted = [r.name for r in inventory.repositories] if registry_wide else list(repositories)
    untagged = {r.name: r.untagged for r in inventory.repositories if r.untagged}
    groups = {name: _owner_groups(inventory, name, untagged.get(name, ())) for name in counted}

    def owned_once(names: Iterable[str]) -> set[str]:
        """The blobs exactly one owner group of NAMES reaches (counted in one C-level pass)."""
        owners = Counter(chain.from_iterable(blobs for name in names for _, blobs in groups[name]))
        return {blob for blob, count in owners.items() if count == 1}

    def exclusive(once: set[str], name: str) -> list[tuple[Version, int]]:
        return [
            (version, sum(map(blobs.__getitem__, once.intersection(blobs))))
            for version, blobs in groups.get(name, [])
            if version is not None
        ]

    # under repository dedup each repository stores its own copy: owners count within it only
    if registry_wide:
        everywhere = owned_once(counted)  # counted once for every repository asked about
        return {name: exclusive(everywhere, name) for name in repositories}
    return {name: exclusive(owned_once([name]), name) for name in repositories}


def _owner_groups(
    inventory: Inventory, repository: str, untagged: Sequence[str] = ()
) -> list[tuple[Version | None, Mapping[str, int]]]:
    """REPOSITORY's tagged digests as owners: each image version with its followers, the rest;
    and each of its UNTAGGED manifests, which no retention deletes, as an owner of its own.

    The blob maps are the memoised reachable() maps themselves, read-only; a version with
    followers gets a merged copy.
    """
    figures = inventory.figures
    reachable = figures.reachable
    versions = figures.versions(repository)
    images = figures.image_versions(repository)
    blobs: dict[str, Mapping[str, int]] = {v.digest: reachable(v.digest) for v in images}
    stored: list[tuple[Version | None, Mapping[str, int]]] = [(None, reachable(digest)) for digest in untagged]
    if len(images) == len(versions):  # no artifacts: every version owns its own blobs
        return [(v, blobs[v.digest]) for v in images] + stored
    owner_of: dict[str, str] | None = None  # blob -> first image (in version order) reaching it
    merged: set[str] = set()
    others: list[tuple[Version | None, Mapping[str, int]]] = []
    for version in versions:
        if version.digest in blobs:
            continue
        subject = subject_of(version)
        owner: str | None = None
        if subject is not None:
            if owner_of is None:
                owner_of = {}
                for image in images:
                    for blob in reachable(image.digest):
                        owner_of.setdefault(blob, image.digest)
            owner = owner_of.get(subject)
        if owner is None:
            others.append((None, reachable(version.digest)))
            continue
        if owner not in merged:
            merged.add(owner)
            blobs[owner] = dict(blobs[owner])
        target = blobs[owner]
        assert isinstance(target, dict)
        target.update(reachable(version.digest))
    return [(v, blobs[v.digest]) for v in images] + others + stored


def version_bytes(
    inventory: Inventory, plans: Mapping[str, RetentionPlan], dedup_scope: DedupScope
) -> list[VersionBytes]:
    """Every image version of the repositories PLANS cover (by name, oldest first): its exclusive
    bytes (see exclusive_version_bytes) and whether its plan drops it."""
    names = sorted(plans)
    exclusive = _exclusive_bytes(inventory, dedup_scope, names)
    versions: list[VersionBytes] = []
    add = versions.append
    for name in names:
        gone = {v.digest for v in plans[name].dropped}
        for version, size in exclusive.pop(name):
            digest = version.digest
            add(VersionBytes(name, digest, version.tags, version.created, size, digest in gone))
    return versions


def _with_matching_tags(versions: Sequence[Version], globs: Sequence[str]) -> list[Version]:
    """The VERSIONS with a tag that matches any of GLOBS (fnmatchcase); plain tags by set lookup."""
    plain = frozenset(g for g in globs if not _GLOB_CHARS.intersection(g))
    patterns = [g for g in globs if _GLOB_CHARS.intersection(g)]
    if not patterns:  # the usual case (the tag a repository's pulls use): one C-level test a version
        return [v for v in versions if not plain.isdisjoint(v.tags)]
    compiled = re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in patterns))
    return [v for v in versions if any(t in plain or compiled.match(t) is not None for t in v.tags)]


def _reach(inventory: Inventory, digests: Iterable[str]) -> set[str]:
    reached: set[str] = set()
    for digest in digests:
        reached.update(inventory.figures.reachable(digest))
    return reached
