"""The figures derived from an Inventory (SPEC §2): unique, naive, shared, attributed bytes, versions (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import cached_property
from itertools import pairwise
from typing import Literal

from costcalc.inventory.model import (
    DEFAULT_PLATFORM,
    ChildRef,
    Inventory,
    ManifestRecord,
    Summary,
    Version,
    image_bytes,
)


class Figures:
    """Derived figures of one Inventory (SPEC §2), each computed once.

    Reachable blob sets are memoised per manifest digest, so the work grows with the number
    of distinct manifests, not with tags x layers.
    """

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self._reachable: dict[str, dict[str, int]] = {}
        self._layers: dict[str, frozenset[str]] = {}
        # A report asks for these once per repository and price book: memoised by arguments
        # (the inventory is frozen, so an answer never goes stale).
        self._versions_by_repository: dict[str, tuple[Version, ...]] = {}  # filled by the walk
        self._image_versions: dict[str, tuple[Version, ...]] = {}
        self._version_deltas: dict[tuple[str, str | None], tuple[int, int]] = {}
        self._summary: Summary | None = None
        # Σ reachable(digest) per tagged digest, without building its dict (naive_bytes).
        self._reachable_totals: dict[str, int] = {}

    # -- blobs reachable from tags ------------------------------------------------------

    def reachable(self, digest: str, size_hint: int = 0) -> Mapping[str, int]:
        """Blobs (digest -> bytes) reachable from manifest DIGEST: itself, children, configs, layers."""
        cached = self._reachable.get(digest)
        if cached is not None:
            return cached
        record = self.inventory.manifests.get(digest)
        if record is not None and not record.children:  # a plain image: what _walk writes, in its order
            blobs = {digest: record.size_bytes}
            config = record.config
            if config is not None:
                blobs[config.digest] = config.size_bytes
            for layer in record.layers:
                if not layer.foreign:
                    blobs[layer.digest] = layer.size_bytes
            self._reachable[digest] = blobs
            return blobs
        blobs = {}
        self._walk(digest, size_hint, blobs, set())
        self._reachable[digest] = blobs
        return blobs

    def _walk(self, digest: str, size_hint: int, blobs: dict[str, int], seen: set[str]) -> None:
        # An explicit stack, not recursion: a hostile index may nest thousands of levels deep.
        stack = [(digest, size_hint)]
        while stack:
            digest, size_hint = stack.pop()
            if digest in seen:  # an index that (indirectly) contains itself
                continue
            seen.add(digest)
            record = self.inventory.manifests.get(digest)
            if record is None:  # not fetched (error recorded): count what the parent said
                blobs[digest] = size_hint
                continue
            blobs[digest] = record.size_bytes
            if record.config is not None:
                blobs[record.config.digest] = record.config.size_bytes
            for layer in record.layers:
                if not layer.foreign:
                    blobs[layer.digest] = layer.size_bytes
            for child in record.children:
                if child.digest in self._reachable:
                    blobs.update(self._reachable[child.digest])
                else:
                    stack.append((child.digest, child.size_bytes))

    def layer_digests(self, digest: str) -> frozenset[str]:
        """Stored layer digests reachable from manifest DIGEST."""
        cached = self._layers.get(digest)
        if cached is None:
            found: set[str] = set()
            for record in self._descendants(digest):
                found.update(layer.digest for layer in record.layers if not layer.foreign)
            cached = frozenset(found)
            self._layers[digest] = cached
        return cached

    def _descendants(self, digest: str) -> list[ManifestRecord]:
        """The known records reachable from DIGEST (itself included), each once, cycles cut."""
        seen = {digest}
        stack = [digest]
        found: list[ManifestRecord] = []
        while stack:
            record = self.inventory.manifests.get(stack.pop())
            if record is None:
                continue
            found.append(record)
            for child in record.children:
                if child.digest not in seen:
                    seen.add(child.digest)
                    stack.append(child.digest)
        return found

    def _image_children(self, digest: str) -> Iterator[tuple[ChildRef, ManifestRecord]]:
        """Depth-first, in index order: non-attestation entries below index DIGEST that are
        image manifests (nested indexes are entered, each once, so cycles and depth are safe)."""
        record = self.inventory.manifests.get(digest)
        seen = {digest}
        stack = [iter(record.children if record else ())]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                continue
            child_record = self.inventory.manifests.get(child.digest)
            if child.attestation or child_record is None:
                continue
            if child_record.children:
                if child.digest not in seen and child_record.kind != "artifact":
                    seen.add(child.digest)
                    stack.append(iter(child_record.children))
                continue
            yield child, child_record

    @cached_property
    def repository_blobs(self) -> dict[str, dict[str, int]]:
        """Per repository: the distinct blobs its tags reach."""
        return {name: blobs for name, blobs, _ in self._repository_walks}

    @cached_property
    def _repository_walks(self) -> list[tuple[str, dict[str, int], set[str]]]:
        """Per repository: its blobs and its stored layer digests, in one walk of its tags.

        One walk per repository, not one per tag: the manifests its tags share are visited
        once, and no per-tag dict is built (reachable() builds those only when asked). The
        same walk lists the repository's versions (_versions): each tagged manifest is read
        while it is in the CPU's cache, not fetched from memory again (~0.1 s at 100,000 tags).
        """
        manifests = self.inventory.manifests
        walks: list[tuple[str, dict[str, int], set[str]]] = []
        totals = self._reachable_totals
        reachable = self._reachable
        for repo in self.inventory.repositories:
            blobs: dict[str, int] = {}
            layers: set[str] = set()
            seen: set[str] = set()
            tags_by_digest: dict[str, list[str]] = defaultdict(list)
            for tag in repo.tags:
                tags_by_digest[tag.digest].append(tag.tag)
            versions: list[Version] = []
            images: set[str] = set()
            for tag_digest, tags in tags_by_digest.items():
                versions.append(self._version(tag_digest, tags, images))
                stack = [(tag_digest, 0)]
                while stack:  # explicit: a hostile index may nest thousands of levels deep
                    digest, size_hint = stack.pop()
                    if digest in seen:  # shared by tags, or an index that contains itself
                        continue
                    seen.add(digest)
                    record = manifests.get(digest)
                    if record is None:  # not fetched (error recorded): count what the parent said
                        blobs[digest] = size_hint
                        continue
                    config = record.config
                    stored = {layer.digest: layer.size_bytes for layer in record.layers if not layer.foreign}
                    layers.update(stored)
                    if record.children:
                        blobs[digest] = record.size_bytes
                        if config is not None:
                            blobs[config.digest] = config.size_bytes
                        blobs.update(stored)  # in layer order, as reachable() writes them
                        stack.extend((child.digest, child.size_bytes) for child in record.children)
                        continue
                    # a plain image: its reachable() map, built here once (the walk's order)
                    own = reachable.get(digest)
                    if own is None:
                        own = {digest: record.size_bytes}
                        if config is not None:
                            own[config.digest] = config.size_bytes
                        own.update(stored)
                        reachable[digest] = own
                    blobs.update(own)
                    if digest == tag_digest:  # Σ reachable(digest), for naive_bytes
                        totals[digest] = sum(own.values())
            walks.append((repo.name, blobs, layers))
            self._keep_versions(repo.name, versions, images)
        return walks

    @cached_property
    def _shared_blobs(self) -> frozenset[str]:
        """Blob digests that two or more repositories reference (usually few: base layers)."""
        return self._blob_union[1]

    @cached_property
    def _blob_union(self) -> tuple[dict[str, int], frozenset[str]]:
        """blob_sizes and _shared_blobs, in one pass over the repositories' blobs."""
        sizes: dict[str, int] = {}
        shared: set[str] = set()
        for blobs in self.repository_blobs.values():
            # the views' intersection iterates the smaller side (this repository's blobs)
            shared.update(sizes.keys() & blobs.keys())
            sizes.update(blobs)
        return sizes, frozenset(shared)

    @cached_property
    def blob_repositories(self) -> dict[str, tuple[str, ...]]:
        """Per blob digest: the repositories (sorted) that reference it."""
        shared = self._shared_blobs
        owners: dict[str, tuple[str, ...]] = {}
        shared_owners: dict[str, list[str]] = defaultdict(list)
        for name in sorted(self.repository_blobs):
            blobs = self.repository_blobs[name]
            mine = shared.intersection(blobs)
            owners.update(dict.fromkeys(blobs.keys() - mine, (name,)))  # one tuple per repository
            for digest in mine:
                shared_owners[digest].append(name)
        owners.update((digest, tuple(names)) for digest, names in shared_owners.items())
        return owners

    @cached_property
    def blob_sizes(self) -> dict[str, int]:
        """Every blob the tags reach, with its size (the last repository's, should two differ)."""
        return self._blob_union[0]

    @cached_property
    def unique_bytes(self) -> int:
        """Bytes of distinct blobs reachable from all tags, each digest once (global dedup)."""
        return sum(self.blob_sizes.values())

    @cached_property
    def naive_bytes(self) -> int:
        """Σ over tags of each tag's reachable bytes (what summing per-tag sizes claims)."""
        self._repository_walks  # noqa: B018  # fills _reachable_totals for plain images
        totals = self._reachable_totals
        naive = 0
        for repo in self.inventory.repositories:
            for tag in repo.tags:
                total = totals.get(tag.digest)
                if total is None:  # an index, or blobs sharing a digest: reachable() decides
                    total = totals[tag.digest] = sum(self.reachable(tag.digest).values())
                naive += total
        return naive

    @cached_property
    def per_repository_unique_bytes(self) -> int:
        """Σ over repositories of their distinct reachable bytes (per-repository dedup)."""
        return sum(self.repository_bytes.values())

    @cached_property
    def repository_bytes(self) -> dict[str, int]:
        """Per repository: the bytes of the distinct blobs its tags reach (summed once, asked
        for by every book, scenario and row)."""
        return {name: sum(blobs.values()) for name, blobs in self.repository_blobs.items()}

    @cached_property
    def layer_digest_set(self) -> frozenset[str]:
        layers: set[str] = set()
        for _, _, repository_layers in self._repository_walks:
            layers |= repository_layers
        return frozenset(layers)

    @cached_property
    def shared_layer_bytes(self) -> int:
        """Bytes of distinct layers referenced by two or more repositories."""
        return sum(self.blob_sizes[digest] for digest in self.layer_digest_set & self._shared_blobs)

    def attributed_bytes(self, dedup_scope: Literal["registry", "repository"] = "registry") -> dict[str, int]:
        """Per repository: each blob's bytes split evenly among the repositories referencing it.

        Bytes stay integers: a blob's remainder bytes go one each to the first repositories in
        name order, so the values sum exactly to unique_bytes (to per_repository_unique_bytes
        under repository dedup, where nothing is split).
        """
        if dedup_scope == "repository":
            return dict(self.repository_bytes)
        return dict(self._attributed_registry)

    @cached_property
    def _attributed_registry(self) -> dict[str, int]:
        sizes = self.blob_sizes
        shared = self._shared_blobs
        totals = self.repository_bytes
        # A blob only one repository references is all its own (its size is that repository's,
        # as blob_sizes has it): all of a repository's bytes, less its shared blobs (usually a
        # few base layers), which are split below. Cheaper than summing the set difference.
        result = {
            name: totals[name] - sum(map(blobs.__getitem__, shared.intersection(blobs)))
            for name, blobs in self.repository_blobs.items()
        }
        # the owners of the shared blobs only (blob_repositories maps every blob)
        shared_owners: dict[str, list[str]] = defaultdict(list)
        for name in sorted(self.repository_blobs):
            for digest in shared.intersection(self.repository_blobs[name]):
                shared_owners[digest].append(name)
        for digest, owners in shared_owners.items():
            share, remainder = divmod(sizes[digest], len(owners))
            for index, name in enumerate(owners):
                result[name] += share + (1 if index < remainder else 0)
        return result

    @cached_property
    def blob_count(self) -> int:
        return len(self.blob_sizes)

    # -- images and platforms -----------------------------------------------------------

    def platforms(self, digest: str) -> dict[str, int]:
        """Image bytes per platform of the tagged manifest DIGEST ({} for artifacts)."""
        record = self.inventory.manifests.get(digest)
        if record is None or record.kind == "artifact":
            return {}
        if not record.children:
            return {record.platform or "unknown": image_bytes(record)}
        result: dict[str, int] = {}
        for child, child_record in self._image_children(digest):  # nested indexes flattened
            if child_record.kind == "artifact":
                continue
            key = child.platform or child_record.platform or "unknown"
            result.setdefault(key, image_bytes(child_record))
        return result

    def platform_manifest(self, digest: str, platform: str) -> str | None:
        """The digest of the image manifest serving PLATFORM for tagged DIGEST, if any."""
        record = self.inventory.manifests.get(digest)
        if record is None:
            return None
        if not record.children:
            return digest if (record.platform or "unknown") == platform or record.kind == "image" else None
        for child, child_record in self._image_children(digest):
            if (child.platform or child_record.platform) == platform:
                return child.digest
        return None

    def default_platform(self, digest: str, wanted: str | None = None) -> str | None:
        """WANTED if the image has it, else linux/amd64, else its only (or first) platform."""
        platforms = self.platforms(digest)
        if not platforms:
            return None
        for key in (wanted, DEFAULT_PLATFORM):
            if key and key in platforms:
                return key
        return None if wanted and len(platforms) > 1 else sorted(platforms)[0]

    def pull_bytes(self, digest: str, platform: str) -> int:
        """Bytes of one cold pull: manifest(s) + config + image bytes of PLATFORM (SPEC §4)."""
        record = self.inventory.manifests.get(digest)
        manifest_digest = self.platform_manifest(digest, platform)
        if record is None or manifest_digest is None:
            return 0
        total = record.size_bytes
        chain = [digest]
        if manifest_digest != digest:
            chain = self._index_chain(digest, manifest_digest) or [digest, manifest_digest]
            total = sum(self.inventory.manifests[d].size_bytes for d in chain)
        image = self.inventory.manifests[manifest_digest]
        if image.config is not None:
            total += image.config.size_bytes
        return total + image_bytes(image)

    def _index_chain(self, start: str, target: str) -> list[str] | None:
        """The first path of known manifests from START down to TARGET (depth-first, iterative)."""
        manifests = self.inventory.manifests
        path, seen = [start], {start}
        stack = [iter(manifests[start].children if start in manifests else ())]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                path.pop()
                continue
            if child.digest == target:
                return [*path, target]
            if child.digest in manifests and child.digest not in seen:
                seen.add(child.digest)
                path.append(child.digest)
                stack.append(iter(manifests[child.digest].children))
        return None

    def created(self, digest: str) -> datetime | None:
        """Creation time of a tagged manifest: its config's, or the newest of an index's images."""
        record = self.inventory.manifests.get(digest)
        if record is None:
            return None
        if record.created is not None or not record.children:
            return record.created
        # The newest created time of the images below, nested indexes walked iteratively.
        known: list[datetime] = []
        seen, stack = {digest}, [record]
        while stack:
            for child in stack.pop().children:
                child_record = self.inventory.manifests.get(child.digest)
                if child.attestation or child_record is None or child.digest in seen:
                    continue
                seen.add(child.digest)
                if child_record.created is not None or not child_record.children:
                    if child_record.created is not None:
                        known.append(child_record.created)
                else:
                    stack.append(child_record)
        return max(known) if known else None

    # -- versions ---------------------------------------------------------------------

    def versions(self, repository: str) -> tuple[Version, ...]:
        """Distinct tagged digests of REPOSITORY, oldest first (by created, then digest)."""
        return self._versions[repository]

    @cached_property
    def _versions(self) -> dict[str, tuple[Version, ...]]:
        self._repository_walks  # noqa: B018  # lists them, repository by repository
        return self._versions_by_repository

    def _version(self, digest: str, tags: list[str], images: set[str]) -> Version:
        """The version of tagged DIGEST (with its TAGS); DIGEST is added to IMAGES if an image."""
        record = self.inventory.manifests.get(digest)
        created = None
        if record is not None:
            # created() inline for the usual case, an image manifest with its own time
            created = record.created if record.created is not None else self.created(digest)
            if record.kind == "image":
                images.add(digest)
        return Version(digest, tuple(sorted(tags)) if len(tags) > 1 else tuple(tags), created)

    def _keep_versions(self, repository: str, versions: list[Version], images: set[str]) -> None:
        """Sort REPOSITORY's VERSIONS oldest first and keep them, with those that are IMAGES."""
        # By created, then digest; unknown times first. The key is the time since a fixed
        # instant: comparing timedeltas is cheap, comparing aware datetimes calls
        # utcoffset() on both sides of every comparison.
        try:
            versions.sort(key=lambda v: (v.created - _EPOCH if v.created else _NO_TIME, v.digest))
        except TypeError:  # a time without an offset: compared as datetimes, as always
            versions.sort(key=lambda v: (v.created or _EPOCH, v.digest))
        self._versions_by_repository[repository] = every = tuple(versions)
        self._image_versions[repository] = (
            every if len(images) == len(every) else tuple(v for v in every if v.digest in images)
        )

    def image_versions(self, repository: str) -> tuple[Version, ...]:
        """The versions of REPOSITORY that are images (artifacts such as signatures excluded)."""
        self._versions  # noqa: B018  # computes them for every repository
        return self._image_versions[repository]

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
        # Only the last 10 transitions count: the newest 11 versions that resolve to an image
        # manifest, found from the newest back (a repository may hold hundreds of versions).
        images: list[tuple[frozenset[str], dict[str, int]]] = []
        for version in reversed(self.image_versions(repository)):
            if len(images) == 11:
                break
            key = self.default_platform(version.digest, platform)
            manifest = self.platform_manifest(version.digest, key) if key else None
            record = self.inventory.manifests.get(manifest) if manifest else None
            if record is None:
                continue
            sizes = {layer.digest: layer.size_bytes for layer in record.layers if not layer.foreign}
            images.append((frozenset(sizes), sizes))
        images.reverse()
        if not images:
            return 0, 0
        if len(images) == 1:
            return sum(images[0][1].values()), 0
        deltas = [
            sum(size for digest, size in current[1].items() if digest not in previous[0])
            for previous, current in pairwise(images)
        ][-10:]
        return (2 * sum(deltas) + len(deltas)) // (2 * len(deltas)), len(deltas)

    # -- summary ----------------------------------------------------------------------

    def summary(self) -> Summary:
        if self._summary is None:
            self._summary = self._compute_summary()
        return self._summary

    def _compute_summary(self) -> Summary:
        inv = self.inventory
        return Summary(
            registry=inv.registry,
            namespace=inv.namespace,
            repositories=len(inv.repositories),
            tags=sum(len(r.tags) for r in inv.repositories),
            manifests=len(self.blob_sizes.keys() & inv.manifests.keys()),  # reachable digests that are manifests
            blobs=self.blob_count,
            unique_bytes=self.unique_bytes,
            naive_bytes=self.naive_bytes,
            per_repository_unique_bytes=self.per_repository_unique_bytes,
            shared_layer_bytes=self.shared_layer_bytes,
        )

    def images(self) -> list[dict[str, object]]:
        """One entry per tag, as `scan --format json` prints them."""
        result: list[dict[str, object]] = []
        for repo in self.inventory.repositories:
            for tag in repo.tags:
                record = self.inventory.manifests.get(tag.digest)
                result.append(
                    {
                        "repository": repo.name,
                        "tag": tag.tag,
                        "digest": tag.digest,
                        "kind": record.kind if record else "unknown",
                        "platforms": self.platforms(tag.digest),
                    }
                )
        return result


_EPOCH = datetime.min.replace(tzinfo=UTC)
_NO_TIME = timedelta(0)  # an unknown created time sorts as _EPOCH
