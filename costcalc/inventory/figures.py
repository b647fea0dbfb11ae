"""The byte figures of an Inventory: unique, naive, per-repository, shared, attributed bytes (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Literal

from costcalc.inventory.records import ManifestRecord, Repository, Summary
from costcalc.inventory.versions import VersionFigures


class Figures(VersionFigures):
    """Derived figures of one Inventory, each computed once.

    Reachable blob sets are memoised per manifest digest, so the work grows with the number
    of distinct manifests, not with tags x layers. A repository's untagged manifests (as a
    provider's API lists them) are stored, so their blobs count in its bytes; they are no
    tag's, so they count in no tag's naive bytes and are no version.
    """

    def __init__(
        self,
        repositories: Sequence[Repository],
        manifests: Mapping[str, ManifestRecord],
        registry: str = "",
        namespace: str = "",
    ) -> None:
        super().__init__(repositories, manifests)
        self.registry = registry
        self.namespace = namespace
        self._reachable: dict[str, dict[str, int]] = {}
        self._summary: Summary | None = None
        # Σ reachable(digest) per tagged digest, without building its dict (naive_bytes).
        self._reachable_totals: dict[str, int] = {}

    def reachable(self, digest: str, size_hint: int = 0) -> Mapping[str, int]:
        """Blobs (digest -> bytes) reachable from manifest DIGEST: itself, children, configs, layers."""
        cached = self._reachable.get(digest)
        if cached is not None:
            return cached
        record = self.manifests.get(digest)
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
            record = self.manifests.get(digest)
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

    @cached_property
    def repository_blobs(self) -> dict[str, dict[str, int]]:
        """Per repository: the distinct blobs its tags and its untagged manifests reach."""
        return {name: blobs for name, blobs, _ in self._repository_walks}

    @cached_property
    def _repository_walks(self) -> list[tuple[str, dict[str, int], set[str]]]:
        """Per repository: its blobs and its stored layer digests, in one walk of its manifests.

        One walk per repository, not one per tag: the manifests its tags share are visited
        once, and no per-tag dict is built (reachable() builds those only when asked).
        """
        manifests = self.manifests
        walks: list[tuple[str, dict[str, int], set[str]]] = []
        totals = self._reachable_totals
        reachable = self._reachable
        for repo in self.repositories:
            blobs: dict[str, int] = {}
            layers: set[str] = set()
            seen: set[str] = set()
            tagged = dict.fromkeys(tag.digest for tag in repo.tags)
            for root in (*tagged, *repo.untagged):
                stack = [(root, 0)]
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
                    if digest == root and root in tagged:  # Σ reachable(digest), for naive_bytes
                        totals[digest] = sum(own.values())
            walks.append((repo.name, blobs, layers))
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
    def blob_sizes(self) -> dict[str, int]:
        """Every blob the repositories reach, with its size (the last repository's, should two differ)."""
        return self._blob_union[0]

    @cached_property
    def unique_bytes(self) -> int:
        """Bytes of distinct blobs reachable from all tags and untagged manifests, each digest once."""
        return sum(self.blob_sizes.values())

    @cached_property
    def naive_bytes(self) -> int:
        """Σ over tags of each tag's reachable bytes (what summing per-tag sizes claims)."""
        self._repository_walks  # noqa: B018  # fills _reachable_totals for plain images
        totals = self._reachable_totals
        naive = 0
        for repo in self.repositories:
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
        """Per repository: the bytes of the distinct blobs it stores (summed once, asked for by
        every book, scenario and row)."""
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
        # the owners of the shared blobs only, in name order (the remainder's order)
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

    def summary(self) -> Summary:
        if self._summary is None:
            self._summary = self._compute_summary()
        return self._summary

    def _compute_summary(self) -> Summary:
        return Summary(
            registry=self.registry,
            namespace=self.namespace,
            repositories=len(self.repositories),
            tags=sum(len(r.tags) for r in self.repositories),
            manifests=len(self.blob_sizes.keys() & self.manifests.keys()),  # reachable digests that are manifests
            blobs=self.blob_count,
            unique_bytes=self.unique_bytes,
            naive_bytes=self.naive_bytes,
            per_repository_unique_bytes=self.per_repository_unique_bytes,
            shared_layer_bytes=self.shared_layer_bytes,
        )

    def images(self) -> list[dict[str, object]]:
        """One entry per tag, as `scan --format json` prints them."""
        result: list[dict[str, object]] = []
        for repo in self.repositories:
            for tag in repo.tags:
                record = self.manifests.get(tag.digest)
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
