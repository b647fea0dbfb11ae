"""The versions of each repository (distinct tagged digests, oldest first) and their deltas (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from itertools import pairwise

from costcalc.inventory.platforms import ImageFigures
from costcalc.inventory.records import ManifestRecord, Repository, Version

DELTA_TRANSITIONS = 10  # the typical delta is the mean over this many newest transitions

# cosign (`sha256-<hex>.sig|.att|.sbom`) and the OCI referrers tag schema (`sha256-<hex>`)
# name the image an artifact refers to in its tag.
_SUBJECT_TAG = re.compile(r"sha256-([0-9a-f]{64})(?:\.[A-Za-z0-9_.-]+)?")


class VersionFigures(ImageFigures):
    """Per repository: its versions, those that are images, and the typical version delta."""

    def __init__(self, repositories: Sequence[Repository], manifests: Mapping[str, ManifestRecord]) -> None:
        super().__init__(manifests)
        self.repositories = repositories
        # A report asks for a delta once per repository and price book: memoised by arguments
        # (the inventory is frozen, so an answer never goes stale).
        self._version_deltas: dict[tuple[str, str | None], tuple[int, int]] = {}

    def versions(self, repository: str) -> tuple[Version, ...]:
        """Distinct tagged digests of REPOSITORY, oldest first (by created, then digest)."""
        return self._versions[0][repository]

    def image_versions(self, repository: str) -> tuple[Version, ...]:
        """The versions of REPOSITORY that are images: neither artifacts nor referrers (see
        is_referrer), however much a signature or a referrers index looks like an image."""
        return self._versions[1][repository]

    @cached_property
    def _versions(self) -> tuple[dict[str, tuple[Version, ...]], dict[str, tuple[Version, ...]]]:
        """Every repository's versions, and its image versions, in one pass over the tags."""
        every: dict[str, tuple[Version, ...]] = {}
        only_images: dict[str, tuple[Version, ...]] = {}
        for repo in self.repositories:
            tags_by_digest: dict[str, list[str]] = {}
            for tag in repo.tags:
                tags_by_digest.setdefault(tag.digest, []).append(tag.tag)
            images: set[str] = set()
            versions = [self._version(digest, tags, images) for digest, tags in tags_by_digest.items()]
            _oldest_first(versions)
            every[repo.name] = ordered = tuple(versions)
            only_images[repo.name] = (
                ordered if len(images) == len(ordered) else tuple(v for v in ordered if v.digest in images)
            )
        return every, only_images

    def _version(self, digest: str, tags: list[str], images: set[str]) -> Version:
        """The version of tagged DIGEST (with its TAGS); DIGEST is added to IMAGES if an image
        and no referrer."""
        record = self.manifests.get(digest)
        if record is None:
            return Version(digest, tuple(sorted(tags)) if len(tags) > 1 else tuple(tags), None)
        # created() inline for the usual case, an image manifest with its own time
        created = record.created if record.created is not None else self.created(digest)
        version = Version(digest, tuple(sorted(tags)) if len(tags) > 1 else tuple(tags), created, record.subject)
        if record.kind == "image" and not is_referrer(version):
            images.add(digest)
        return version

    def version_delta_bytes(self, repository: str, platform: str | None = None) -> tuple[int, int]:
        """(typical delta bytes, transitions measured) for REPOSITORY on PLATFORM.

        The delta of a version is the bytes of its layers that the previous version lacked;
        the typical delta is the mean over the last 10 transitions, rounded to a byte. With a
        single version it is the full image, and transitions is 0.
        """
        key = (repository, platform)
        cached = self._version_deltas.get(key)
        if cached is None:
            cached = self._version_deltas[key] = self._version_delta_bytes(repository, platform)
        return cached

    def _version_delta_bytes(self, repository: str, platform: str | None) -> tuple[int, int]:
        # Only the newest versions that resolve to an image manifest count, found from the
        # newest back (a repository may hold hundreds of versions).
        images: list[dict[str, int]] = []
        for version in reversed(self.image_versions(repository)):
            if len(images) == DELTA_TRANSITIONS + 1:
                break
            key = self.default_platform(version.digest, platform)
            manifest = self.platform_manifest(version.digest, key) if key else None
            record = self.manifests.get(manifest) if manifest else None
            if record is not None:
                images.append({layer.digest: layer.size_bytes for layer in record.layers if not layer.foreign})
        images.reverse()
        if not images:
            return 0, 0
        if len(images) == 1:
            return sum(images[0].values()), 0
        deltas = [
            sum(size for digest, size in current.items() if digest not in previous)
            for previous, current in pairwise(images)
        ]
        return (2 * sum(deltas) + len(deltas)) // (2 * len(deltas)), len(deltas)


def is_referrer(version: Version) -> bool:
    """True when VERSION's manifest names a `subject` (OCI 1.1), or every tag of it is a
    referrer tag (`sha256-<hex>`, with or without a suffix): a signature, an SBOM or a
    referrers index follows its subject, whatever its manifest looks like, and is never a
    version of its own."""
    if version.subject is not None:
        return True
    tags = version.tags
    if not tags or not tags[0].startswith("sha256-"):  # one tag that is no referrer's settles it
        return False
    return all(_SUBJECT_TAG.fullmatch(tag) for tag in tags)


def subject_of(version: Version) -> str | None:
    """The digest an artifact refers to: its manifest's `subject`, else the one its tag names
    (cosign / referrers tag schema), if any."""
    if version.subject is not None:
        return version.subject
    for tag in version.tags:
        match = _SUBJECT_TAG.fullmatch(tag)
        if match:
            return f"sha256:{match.group(1)}"
    return None


def _oldest_first(versions: list[Version]) -> None:
    """Sort VERSIONS by created, then digest; unknown times first."""
    # The key is the time since a fixed instant: comparing timedeltas is cheap, comparing
    # aware datetimes calls utcoffset() on both sides of every comparison.
    try:
        versions.sort(key=lambda v: (v.created - _EPOCH if v.created else _NO_TIME, v.digest))
    except TypeError:  # a time without an offset: compared as datetimes
        versions.sort(key=lambda v: (v.created or _EPOCH, v.digest))


_EPOCH = datetime.min.replace(tzinfo=UTC)
_NO_TIME = timedelta(0)  # an unknown created time sorts as _EPOCH
