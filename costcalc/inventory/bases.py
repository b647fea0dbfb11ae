"""Base images found in the layers: which images each image is built on, per platform (pure).

An image is built on base B when B's layer list is a prefix of its own: that is what `FROM`
leaves in a manifest. The layer lists of every image go into one trie (a dict keyed by
(parent node, layer digest)), so finding the bases of 100,000 tags is one walk per distinct
image, never a comparison of every pair.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from costcalc.errors import InputError, InvalidReference
from costcalc.inventory.model import Inventory
from costcalc.inventory.records import DEFAULT_PLATFORM, BlobRef, ManifestRecord
from costcalc.reference import parse_image_reference

Origin = Literal["bases", "inventory", "shared"]
_ORIGIN_ORDER: Mapping[Origin, int] = {"bases": 0, "inventory": 1, "shared": 2}


@dataclass(frozen=True, slots=True)
class PlatformImage:
    """One platform's image of a tagged manifest: the layers a pull of it fetches, in order."""

    repository: str
    tags: tuple[str, ...]
    digest: str  # the tagged manifest (an index or the image itself)
    platform: str
    layers: tuple[BlobRef, ...]

    @property
    def reference(self) -> str:
        """REPOSITORY:TAG (its first tag), with the platform when it is not linux/amd64."""
        name = f"{self.repository}:{self.tags[0]}" if self.tags else f"{self.repository}@{self.digest}"
        return name if self.platform == DEFAULT_PLATFORM else f"{name} [{self.platform}]"


@dataclass(frozen=True, slots=True)
class BaseImage:
    """A base: its layers, the references naming it (none for a shared prefix), what is built on it."""

    origin: Origin  # named by a --bases image, by an image of the inventory, or a shared prefix
    references: tuple[str, ...]
    layers: tuple[BlobRef, ...]
    images: tuple[PlatformImage, ...]  # built on it (the longest base each image has)

    @property
    def name(self) -> str:
        if self.references:
            return self.references[0]
        algorithm, _, hex_digest = self.top_layer.partition(":")
        count = len(self.layers)
        return f"{algorithm}:{hex_digest[:12]} ({count} layer{'' if count == 1 else 's'})"

    @property
    def top_layer(self) -> str:
        return self.layers[-1].digest

    @property
    def size_bytes(self) -> int:
        """Σ of its stored layers' sizes, each digest once (what a cold pull of it transfers)."""
        return sum({layer.digest: layer.size_bytes for layer in self.layers if not layer.foreign}.values())

    @property
    def repositories(self) -> tuple[str, ...]:
        return tuple(sorted({image.repository for image in self.images}))


def platform_images(inventory: Inventory) -> Iterator[PlatformImage]:
    """Every platform image the inventory's tags reach, once per (repository, tagged digest)."""
    for repo in inventory.repositories:
        tags: dict[str, list[str]] = {}
        for tag in repo.tags:
            tags.setdefault(tag.digest, []).append(tag.tag)
        for digest, names in tags.items():
            for platform, record in _platform_records(inventory, digest):
                if record.layers:
                    yield PlatformImage(repo.name, tuple(sorted(names)), digest, platform, record.layers)


def _platform_records(inventory: Inventory, digest: str) -> list[tuple[str, ManifestRecord]]:
    """(platform, image manifest) of tagged DIGEST, by platform, as figures.platforms() sees them."""
    manifests = inventory.manifests
    record = manifests.get(digest)
    if record is None or record.kind == "artifact":
        return []
    if not record.children:
        return [(record.platform or "unknown", record)]
    found: dict[str, ManifestRecord] = {}
    for child in record.children:  # a flat index, as nearly every one is: no walk, no image bytes
        child_record = manifests.get(child.digest)
        if child.attestation or child_record is None or child_record.kind == "artifact":
            continue
        if child_record.children:  # a nested index: the figures' own walk
            return _walked(inventory, digest)
        found.setdefault(child.platform or child_record.platform or "unknown", child_record)
    return sorted(found.items(), key=lambda item: item[0])


def _walked(inventory: Inventory, digest: str) -> list[tuple[str, ManifestRecord]]:
    figures = inventory.figures
    result = []
    for platform in sorted(figures.platforms(digest)):
        image_digest = figures.platform_manifest(digest, platform)
        record = inventory.manifests.get(image_digest) if image_digest is not None else None
        if record is not None:
            result.append((platform, record))
    return result


class _Trie:
    """Layer-list prefixes as nodes: node 0 is the empty list, a child is (parent, layer digest).

    Nodes are numbered as they are made, so a parent's number is always below its children's.
    """

    def __init__(self) -> None:
        self.children: dict[tuple[int, str], int] = {}
        self.parent: list[int] = [0]
        self.depth: list[int] = [0]  # layers in the prefix
        self.first_repository: list[str] = [""]
        self.shared: list[bool] = [False]  # images of two or more repositories pass through it
        self.kids: list[int] = [0]
        self.ends: set[int] = set()  # where an image's layer list ends

    def add(self, repository: str, layers: Iterable[BlobRef]) -> int:
        """The node of LAYERS (its prefixes added where missing), with REPOSITORY passing through."""
        node = 0
        children, first, shared = self.children, self.first_repository, self.shared
        for layer in layers:
            key = (node, layer.digest)
            child = children.get(key)
            if child is None:
                child = children[key] = len(first)
                first.append(repository)
                shared.append(False)
                self.parent.append(node)
                self.depth.append(self.depth[node] + 1)
                self.kids.append(0)
                self.kids[node] += 1
            elif first[child] != repository:
                shared[child] = True
            node = child
        self.ends.add(node)
        return node

    def forks(self, node: int) -> bool:
        """True when layer lists part ways at NODE (two children, or one and an image ending there)."""
        return self.kids[node] + (node in self.ends) >= 2

    def find(self, layers: Iterable[BlobRef]) -> int | None:
        """The node of LAYERS, or None when no image's layer list starts with them."""
        node = 0
        for layer in layers:
            found = self.children.get((node, layer.digest))
            if found is None:
                return None
            node = found
        return node


def find_bases(inventory: Inventory, bases: Inventory | None = None) -> tuple[BaseImage, ...]:
    """The base of every image of INVENTORY: its longest named base (an image of BASES, or of
    another repository of INVENTORY), else the longest layer prefix it shares with images of
    another repository. Largest first (bytes x repositories built on it), then by name."""
    images = list(platform_images(inventory))
    trie = _Trie()
    ends = [trie.add(image.repository, image.layers) for image in images]
    # named candidates by their node: any image of BASES whose layers start some image's, and
    # the inventory's images that other images extend
    named: dict[int, list[tuple[Origin, PlatformImage]]] = {}
    for candidate in platform_images(bases) if bases is not None else ():
        node = trie.find(candidate.layers)
        if node:
            named.setdefault(node, []).append(("bases", candidate))
    for image, node in zip(images, ends, strict=True):
        if trie.kids[node]:
            named.setdefault(node, []).append(("inventory", image))
    # per node, the deepest named node and the deepest shared fork at or above it (0: none),
    # in one pass: a parent is numbered before its children
    parent = trie.parent
    nearest_named = [0] * len(parent)
    nearest_fork = [0] * len(parent)
    for node in range(1, len(parent)):
        above = parent[node]
        nearest_named[node] = node if node in named else nearest_named[above]
        nearest_fork[node] = node if trie.shared[node] and trie.forks(node) else nearest_fork[above]
    built: dict[int, list[PlatformImage]] = {}
    origin_of: dict[int, Origin] = {}
    layers_of: dict[int, tuple[BlobRef, ...]] = {}
    for image, end in zip(images, ends, strict=True):
        chosen, origin = _named_base(image, end, named, nearest_named, parent)
        if not chosen:
            # where images of two or more repositories part ways: a prefix all of them extend
            # alike is no base of its own
            chosen, origin = nearest_fork[parent[end]], "shared"
            if not chosen:
                continue
        if chosen not in layers_of:
            layers_of[chosen] = image.layers[: trie.depth[chosen]]
        current = origin_of.get(chosen)
        if current is None or _ORIGIN_ORDER[origin] < _ORIGIN_ORDER[current]:
            origin_of[chosen] = origin
        built.setdefault(chosen, []).append(image)
    found = [
        BaseImage(
            origin=origin_of[node],
            references=_references(named.get(node, ())),
            layers=layers_of[node],
            images=tuple(sorted(members, key=lambda i: (i.repository, i.tags, i.platform))),
        )
        for node, members in built.items()
    ]
    return tuple(sorted(found, key=lambda b: (-b.size_bytes * len(b.repositories), b.name)))


def _named_base(
    image: PlatformImage,
    end: int,
    named: Mapping[int, list[tuple[Origin, PlatformImage]]],
    nearest: list[int],
    parent: list[int],
) -> tuple[int, Origin]:
    """The node of IMAGE's longest named base and how it is named ((0, "shared") for none).

    A --bases image may have all of IMAGE's layers; an image of the inventory must be shorter
    (the same layers are the same image) and of another repository (a version is no base).
    """
    if any(origin == "bases" for origin, _ in named.get(end, ())):
        return end, "bases"
    node = nearest[parent[end]]
    while node:
        origins = {o for o, c in named[node] if o == "bases" or c.repository != image.repository}
        if origins:
            return node, "bases" if "bases" in origins else "inventory"
        node = nearest[parent[node]]
    return 0, "shared"


def _references(candidates: Iterable[tuple[Origin, PlatformImage]]) -> tuple[str, ...]:
    ordered = sorted(candidates, key=lambda c: (_ORIGIN_ORDER[c[0]], c[1].reference))
    return tuple(dict.fromkeys(candidate.reference for _, candidate in ordered))


def stored_base_bytes(
    inventory: Inventory, found: Iterable[BaseImage], dedup_scope: Literal["registry", "repository"]
) -> tuple[int, ...]:
    """Per base of FOUND, in its order: the bytes INVENTORY stores of its layers under DEDUP_SCOPE (once in the
    registry, or once in each repository holding them)."""
    found = list(found)
    wanted = {layer.digest for base in found for layer in base.layers if not layer.foreign}
    holders: Counter[str] = Counter()
    for blobs in inventory.figures.repository_blobs.values():
        holders.update(wanted.intersection(blobs))
    stored: list[int] = []
    for base in found:
        sizes = {layer.digest: layer.size_bytes for layer in base.layers if not layer.foreign}
        stored.append(
            sum(
                size * (min(holders[digest], 1) if dedup_scope == "registry" else holders[digest])
                for digest, size in sizes.items()
            )
        )
    return tuple(stored)


def resolve(reference: str, inventory: Inventory, bases: Inventory | None = None) -> dict[str, tuple[BlobRef, ...]]:
    """Per platform, the layers of REFERENCE (`repo:tag`, `repo@digest`, `host/repo:tag`), looked
    up in INVENTORY, then in BASES; an InputError of one sentence when neither has it."""
    for source in (inventory, bases):
        if source is None:
            continue
        text = reference
        host = source.registry.removeprefix("https://").removeprefix("http://").rstrip("/")
        if host and text.startswith(f"{host}/"):
            text = text[len(host) + 1 :]
        try:
            parsed = parse_image_reference(text)
        except InvalidReference:
            continue
        repo = next((r for r in source.repositories if r.name == parsed.repository), None)
        if repo is None:
            continue
        digest = parsed.digest
        if digest is None:
            digest = next((t.digest for t in repo.tags if t.tag == (parsed.tag or "latest")), None)
        if digest is None or digest not in source.manifests:
            continue
        # the platform images the bases section finds, so that a base it names resolves
        layers = {platform: record.layers for platform, record in _platform_records(source, digest) if record.layers}
        if layers:
            return layers
    where = "the inventory or --bases" if bases is not None else "the inventory (pass --bases FILE|TARGET for others)"
    raise InputError(f"{reference}: no image with layers of that name in {where}.")
