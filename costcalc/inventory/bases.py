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
from costcalc.inventory.records import DEFAULT_PLATFORM, BlobRef
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
    figures = inventory.figures
    manifests = inventory.manifests
    for repo in inventory.repositories:
        tags: dict[str, list[str]] = {}
        for tag in repo.tags:
            tags.setdefault(tag.digest, []).append(tag.tag)
        for digest, names in tags.items():
            for platform in sorted(figures.platforms(digest)):
                image_digest = figures.platform_manifest(digest, platform)
                record = manifests.get(image_digest) if image_digest is not None else None
                if record is None or not record.layers:
                    continue
                yield PlatformImage(repo.name, tuple(sorted(names)), digest, platform, record.layers)


class _Trie:
    """Layer-list prefixes as nodes: node 0 is the empty list, a child is (parent, layer digest)."""

    def __init__(self) -> None:
        self.children: dict[tuple[int, str], int] = {}
        self.first_repository: list[str] = [""]
        self.shared: list[bool] = [False]  # images of two or more repositories pass through it
        self.branches: list[int] = [0]  # children, plus one when an image ends at it
        self.ends: set[int] = set()

    def add(self, repository: str, layers: Iterable[BlobRef]) -> None:
        node = 0
        for layer in layers:
            key = (node, layer.digest)
            child = self.children.get(key)
            if child is None:
                child = self.children[key] = len(self.first_repository)
                self.first_repository.append(repository)
                self.shared.append(False)
                self.branches.append(0)
                self.branches[node] += 1
            elif self.first_repository[child] != repository:
                self.shared[child] = True
            node = child
        if node not in self.ends:
            self.ends.add(node)
            self.branches[node] += 1

    def forks(self, node: int) -> bool:
        """True when layer lists part ways at NODE (two children, or one and an image ending there)."""
        return self.branches[node] >= 2

    def path(self, layers: Iterable[BlobRef]) -> list[int]:
        """The nodes LAYERS walk through (shorter when they leave the trie)."""
        nodes: list[int] = []
        node = 0
        for layer in layers:
            found = self.children.get((node, layer.digest))
            if found is None:
                break
            nodes.append(found)
            node = found
        return nodes


def find_bases(inventory: Inventory, bases: Inventory | None = None) -> tuple[BaseImage, ...]:
    """The base of every image of INVENTORY: its longest named base (an image of BASES, or of
    another repository of INVENTORY), else the longest layer prefix it shares with images of
    another repository. Largest first (bytes x repositories built on it), then by name."""
    images = list(platform_images(inventory))
    trie = _Trie()
    for image in images:
        trie.add(image.repository, image.layers)
    # named candidates by the node their whole layer list ends at (if it is some image's prefix)
    named: dict[int, list[tuple[Origin, PlatformImage]]] = {}
    candidates: list[tuple[Origin, PlatformImage]] = [("inventory", image) for image in images]
    if bases is not None:
        candidates = [("bases", image) for image in platform_images(bases)] + candidates
    for origin, candidate in candidates:
        nodes = trie.path(candidate.layers)
        if len(nodes) == len(candidate.layers):
            named.setdefault(nodes[-1], []).append((origin, candidate))
    built: dict[int, list[PlatformImage]] = {}
    origin_of: dict[int, Origin] = {}
    layers_of: dict[int, tuple[BlobRef, ...]] = {}
    for image in images:
        nodes = trie.path(image.layers)
        depth = len(nodes)
        chosen: int | None = None  # the index in NODES of the base's top layer
        chosen_origin: Origin = "shared"
        for index in range(depth - 1, -1, -1):
            for origin, candidate in named.get(nodes[index], ()):
                # an image of the inventory is a base of another repository's images only, and
                # of images that add layers to it (the same layers are the same image)
                if origin == "bases" or (candidate.repository != image.repository and index < depth - 1):
                    chosen, chosen_origin = index, origin
                    break
            if chosen is not None:
                break
        if chosen is None:
            # where images of two or more repositories part ways: a prefix all of them extend
            # alike is no base of its own
            shared = [index for index in range(depth - 1) if trie.shared[nodes[index]] and trie.forks(nodes[index])]
            if not shared:
                continue
            chosen = shared[-1]
        node = nodes[chosen]
        layers_of[node] = image.layers[: chosen + 1]
        current = origin_of.get(node)
        if current is None or _ORIGIN_ORDER[chosen_origin] < _ORIGIN_ORDER[current]:
            origin_of[node] = chosen_origin
        built.setdefault(node, []).append(image)
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
        figures = source.figures
        layers: dict[str, tuple[BlobRef, ...]] = {}
        for platform in sorted(figures.platforms(digest)):
            image_digest = figures.platform_manifest(digest, platform)
            record = source.manifests.get(image_digest) if image_digest else None
            if record is not None and record.layers:
                layers[platform] = record.layers
        if layers:
            return layers
    where = "the inventory or --bases" if bases is not None else "the inventory (pass --bases FILE|TARGET for others)"
    raise InputError(f"{reference}: no image with layers of that name in {where}.")
