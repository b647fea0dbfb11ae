"""The Inventory model (SPEC §3.2), its file format, and the figures derived from it (SPEC §2).

Everything here is pure: an Inventory is built by the scanner (or loaded from a file) and
never changes; the figures are computed from it on demand and memoised per Inventory.
"""

from __future__ import annotations

import gc
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import from_json

from costcalc.errors import InputError

SCHEMA_VERSION = 1
DEFAULT_PLATFORM = "linux/amd64"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BlobRef(_Frozen):
    """A config or layer descriptor as the inventory stores it."""

    media_type: str
    digest: str
    size_bytes: int = Field(ge=0, strict=True)  # JSON true is not 1 byte
    foreign: bool = False  # non-distributable: fetched from its URLs, not stored by the registry


class ChildRef(_Frozen):
    """An index entry: a child manifest with its platform, or an attestation."""

    media_type: str
    digest: str
    size_bytes: int = Field(ge=0, strict=True)  # JSON true is not 1 byte
    platform: str | None = None
    attestation: bool = False


class ManifestRecord(_Frozen):
    """One manifest or index, by digest, as reached from some tag."""

    media_type: str
    size_bytes: int = Field(ge=0, strict=True)  # JSON true is not 1 byte
    kind: Literal["image", "artifact"]
    artifact_type: str | None = None
    platform: str | None = None
    created: datetime | None = None
    config: BlobRef | None = None
    layers: tuple[BlobRef, ...] = ()
    children: tuple[ChildRef, ...] = ()

    @property
    def is_index(self) -> bool:
        return bool(self.children) or "index" in self.media_type or "list" in self.media_type


class TagRef(_Frozen):
    tag: str
    digest: str


class Repository(_Frozen):
    name: str
    tags: tuple[TagRef, ...] = ()


class ScanError(_Frozen):
    """A repository or tag that could not be read; the scan went on without it."""

    repository: str | None = None
    tag: str | None = None
    digest: str | None = None
    reason: str


class Inventory(_Frozen):
    """What a registry namespace holds, byte for byte: the input of every other command."""

    schema_version: int = SCHEMA_VERSION
    registry: str
    namespace: str = ""
    scanned_at: datetime
    repositories: tuple[Repository, ...] = ()
    manifests: dict[str, ManifestRecord] = Field(default_factory=dict)
    errors: tuple[ScanError, ...] = ()

    @field_validator("schema_version")
    @classmethod
    def _known_schema(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"schema_version {value} is not supported (this costcalc reads {SCHEMA_VERSION})")
        return value

    @cached_property
    def figures(self) -> Figures:
        return Figures(self)


class Summary(_Frozen):
    """The scan summary figures (SPEC §3.1)."""

    registry: str
    namespace: str
    repositories: int
    tags: int
    manifests: int
    blobs: int
    unique_bytes: int
    naive_bytes: int
    per_repository_unique_bytes: int
    shared_layer_bytes: int


class Version(_Frozen):
    """A distinct image digest of a repository, with the tags that point to it."""

    digest: str
    tags: tuple[str, ...]
    created: datetime | None


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
        self._image_versions: dict[str, tuple[Version, ...]] = {}
        self._version_deltas: dict[tuple[str, str | None], tuple[int, int]] = {}
        self._summary: Summary | None = None

    # -- blobs reachable from tags ------------------------------------------------------

    def reachable(self, digest: str, size_hint: int = 0) -> Mapping[str, int]:
        """Blobs (digest -> bytes) reachable from manifest DIGEST: itself, children, configs, layers."""
        cached = self._reachable.get(digest)
        if cached is not None:
            return cached
        blobs: dict[str, int] = {}
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
        result: dict[str, dict[str, int]] = {}
        for repo in self.inventory.repositories:
            blobs: dict[str, int] = {}
            for digest in {t.digest for t in repo.tags}:
                blobs.update(self.reachable(digest))
            result[repo.name] = blobs
        return result

    @cached_property
    def blob_repositories(self) -> dict[str, tuple[str, ...]]:
        """Per blob digest: the repositories (sorted) that reference it."""
        owners: dict[str, list[str]] = defaultdict(list)
        for name in sorted(self.repository_blobs):
            for digest in self.repository_blobs[name]:
                owners[digest].append(name)
        return {digest: tuple(names) for digest, names in owners.items()}

    @cached_property
    def blob_sizes(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for blobs in self.repository_blobs.values():
            sizes.update(blobs)
        return sizes

    @cached_property
    def unique_bytes(self) -> int:
        """Bytes of distinct blobs reachable from all tags, each digest once (global dedup)."""
        return sum(self.blob_sizes.values())

    @cached_property
    def naive_bytes(self) -> int:
        """Σ over tags of each tag's reachable bytes (what summing per-tag sizes claims)."""
        return sum(
            sum(self.reachable(tag.digest).values())
            for repo in self.inventory.repositories
            for tag in repo.tags
        )

    @cached_property
    def per_repository_unique_bytes(self) -> int:
        """Σ over repositories of their distinct reachable bytes (per-repository dedup)."""
        return sum(sum(blobs.values()) for blobs in self.repository_blobs.values())

    @cached_property
    def layer_digest_set(self) -> frozenset[str]:
        layers: set[str] = set()
        for repo in self.inventory.repositories:
            for digest in {t.digest for t in repo.tags}:
                layers |= self.layer_digests(digest)
        return frozenset(layers)

    @cached_property
    def shared_layer_bytes(self) -> int:
        """Bytes of distinct layers referenced by two or more repositories."""
        return sum(
            self.blob_sizes[digest]
            for digest in self.layer_digest_set
            if len(self.blob_repositories.get(digest, ())) >= 2
        )

    def attributed_bytes(self, dedup_scope: Literal["registry", "repository"] = "registry") -> dict[str, int]:
        """Per repository: each blob's bytes split evenly among the repositories referencing it.

        Bytes stay integers: a blob's remainder bytes go one each to the first repositories in
        name order, so the values sum exactly to unique_bytes (to per_repository_unique_bytes
        under repository dedup, where nothing is split).
        """
        if dedup_scope == "repository":
            return {name: sum(blobs.values()) for name, blobs in self.repository_blobs.items()}
        return dict(self._attributed_registry)

    @cached_property
    def _attributed_registry(self) -> dict[str, int]:
        result = dict.fromkeys(self.repository_blobs, 0)
        for digest, owners in self.blob_repositories.items():
            share, remainder = divmod(self.blob_sizes[digest], len(owners))
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
        result: dict[str, tuple[Version, ...]] = {}
        for repo in self.inventory.repositories:
            tags_by_digest: dict[str, list[str]] = defaultdict(list)
            for tag in repo.tags:
                tags_by_digest[tag.digest].append(tag.tag)
            versions = [  # model_construct: the values come from the validated inventory
                Version.model_construct(digest=d, tags=tuple(sorted(tags)), created=self.created(d))
                for d, tags in tags_by_digest.items()
            ]
            epoch = datetime.min.replace(tzinfo=UTC)
            versions.sort(key=lambda v: (v.created or epoch, v.digest))
            result[repo.name] = tuple(versions)
        return result

    def image_versions(self, repository: str) -> tuple[Version, ...]:
        """The versions of REPOSITORY that are images (artifacts such as signatures excluded)."""
        cached = self._image_versions.get(repository)
        if cached is None:
            cached = self._image_versions[repository] = tuple(
                v for v in self.versions(repository)
                if (r := self.inventory.manifests.get(v.digest)) is not None and r.kind == "image"
            )
        return cached

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
        versions = self.image_versions(repository)
        images: list[tuple[frozenset[str], dict[str, int]]] = []
        for version in versions:
            key = self.default_platform(version.digest, platform)
            manifest = self.platform_manifest(version.digest, key) if key else None
            record = self.inventory.manifests.get(manifest) if manifest else None
            if record is None:
                continue
            sizes = {layer.digest: layer.size_bytes for layer in record.layers if not layer.foreign}
            images.append((frozenset(sizes), sizes))
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
            manifests=len({d for blobs in self.repository_blobs.values() for d in blobs if d in inv.manifests}),
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
                result.append({
                    "repository": repo.name,
                    "tag": tag.tag,
                    "digest": tag.digest,
                    "kind": record.kind if record else "unknown",
                    "platforms": self.platforms(tag.digest),
                })
        return result


def image_bytes(record: ManifestRecord) -> int:
    """Σ of an image manifest's stored layer sizes (compressed, as a pull transfers them).

    A layer listed twice is stored and transferred once, so each digest counts once.
    """
    stored = {layer.digest: layer.size_bytes for layer in record.layers if not layer.foreign}
    return sum(stored.values())


def build_inventory(
    registry: str,
    namespace: str,
    scanned_at: datetime,
    tags: Mapping[str, Iterable[tuple[str, str]]],
    manifests: Mapping[str, ManifestRecord],
    errors: Iterable[ScanError] = (),
) -> Inventory:
    """A deterministic Inventory: repositories, tags, manifests and errors in sorted order."""
    repositories = tuple(
        Repository(name=name, tags=tuple(TagRef(tag=t, digest=d) for t, d in sorted(pairs)))
        for name, pairs in sorted(tags.items())
    )
    return Inventory(
        registry=registry,
        namespace=namespace,
        scanned_at=scanned_at.astimezone(UTC).replace(microsecond=0),
        repositories=repositories,
        manifests={d: manifests[d] for d in sorted(manifests)},
        errors=tuple(sorted(errors, key=lambda e: (e.repository or "", e.tag or "", e.digest or "", e.reason))),
    )


def dumps(inventory: Inventory) -> str:
    """The inventory file text: schema_version first, stable order, no credentials."""
    data = inventory.model_dump(mode="json", exclude_defaults=False)
    data["scanned_at"] = inventory.scanned_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(data, indent=1, ensure_ascii=True) + "\n"


def loads(text: str | bytes, source: str = "<inventory>") -> Inventory:
    """Parse an inventory file; any problem is an InputError naming SOURCE."""
    inventory = _loads_fast(text)
    return inventory if inventory is not None else _loads_checked(text, source)


def _loads_checked(text: str | bytes, source: str) -> Inventory:
    """The reference loader. The fast path gave up (a bad file, or one it cannot vouch for):
    pydantic's own JSON validation decides, and words the one-sentence error, as it always has."""
    try:
        return Inventory.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "file"
        message = first["msg"]
        if first["type"] == "json_invalid":
            line = _json_error_line(text if isinstance(text, str) else text.decode("utf-8", "replace"))
            detail = first.get("ctx", {}).get("error", message)
            raise InputError(f"{source}:{line}: not valid JSON: {detail}.") from None
        raise InputError(
            f"{source}: {location}: {message} (and {len(exc.errors()) - 1} more problems)."
            if len(exc.errors()) > 1 else f"{source}: {location}: {message}."
        ) from None


# -- the fast loader -----------------------------------------------------------------------
#
# A scanned inventory repeats each layer descriptor in every manifest that uses it (the
# 100,000-tag benchmark file holds 871,200 descriptors, 100,120 distinct), and
# Inventory.model_validate_json builds one model instance per occurrence: 9 s and 1.8 GiB.
# The fast loader parses with pydantic's own JSON parser (pydantic_core.from_json, the
# parser model_validate_json uses, so the same texts parse to the same values), validates
# each DISTINCT descriptor once with the same models (Python-mode lax validation of parsed
# JSON values accepts and converts exactly what JSON-mode validation does) and lets the
# manifests share those instances. It returns None whenever it cannot vouch for the result;
# loads() then runs the original validation, so no file is accepted that was rejected before.


_D = TypeVar("_D", BlobRef, ChildRef)


class _GiveUp(Exception):
    """The fast loader cannot vouch for this text: let model_validate_json decide."""


# JSON escapes of a colon; see _Tally (a decoded colon with no colon byte behind it).
_ESCAPED_COLON = re.compile(r"\\u003[aA]")
_ESCAPED_COLON_BYTES = re.compile(rb"\\u003[aA]")


def _loads_fast(text: str | bytes) -> Inventory | None:
    parsed = _parse_fast(text)
    return None if parsed is None else _build_fast(*parsed)


def _parse_fast(text: str | bytes) -> tuple[object, int] | None:
    """The parsed tree and the colons of TEXT, or None if the fast path cannot take TEXT."""
    escaped = _ESCAPED_COLON.search(text) if isinstance(text, str) else _ESCAPED_COLON_BYTES.search(text)
    if escaped is not None:
        return None
    colons = text.count(":") if isinstance(text, str) else text.count(b":")
    with _gc_paused():
        try:
            return from_json(text), colons
        except ValueError:
            return None


def _build_fast(tree: object, colons: int) -> Inventory | None:
    builder = _Builder()
    with _gc_paused():
        try:
            inventory = builder.inventory(tree)
        except (ValueError, RecursionError, _GiveUp):  # ValidationError is a ValueError
            return None
    if builder.tally != colons:  # a duplicate key was dropped by the parser (see _Builder)
        return None
    return inventory


@contextmanager
def _gc_paused() -> Iterator[None]:
    # ~1.5 million containers are created and none is garbage: collections triggered by the
    # allocations would walk them again and again (about a third of the load time).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _str_colons(values: Iterable[object]) -> int:
    return sum(v.count(":") for v in values if type(v) is str)


class _Builder:
    """Builds an Inventory from a parsed JSON tree, validating each distinct descriptor once.

    It also counts the colons the tree accounts for (one per object member, plus those inside
    strings). The parser keeps only the last of duplicate keys, whereas model_validate_json
    validates every duplicate entry of `manifests`: if the text holds more colons than the
    tree explains, a member was dropped and loads() falls back. (Colons written as \\u003a
    would skew the count the other way, so _loads_fast gives up on those first.)
    """

    def __init__(self) -> None:
        self.tally = 0
        self._blobs: dict[tuple[object, ...], tuple[BlobRef, int]] = {}
        self._children: dict[tuple[object, ...], tuple[ChildRef, int]] = {}

    def inventory(self, tree: object) -> Inventory:
        if type(tree) is not dict:
            raise _GiveUp
        fields = dict(tree)
        self.tally += len(tree) + _str_colons(tree.values())
        manifests = tree.get("manifests")
        if type(manifests) is dict:
            self.tally += len(manifests) + _str_colons(manifests)
            fields["manifests"] = {digest: self._manifest(raw) for digest, raw in manifests.items()}
        for name in ("repositories", "errors"):  # small: counted generically, validated by pydantic
            self.tally += _json_colons(tree.get(name))
        return Inventory.model_validate(fields)

    def _manifest(self, raw: object) -> ManifestRecord:
        if type(raw) is not dict:
            raise _GiveUp
        fields = dict(raw)
        self.tally += len(raw) + _str_colons(raw.values())
        config = raw.get("config")
        if type(config) is dict:
            fields["config"] = self._descriptor(config, self._blobs, BlobRef)
        layers = raw.get("layers")
        if type(layers) is list:
            fields["layers"] = tuple([self._descriptor(d, self._blobs, BlobRef) for d in layers])
        children = raw.get("children")
        if type(children) is list:
            fields["children"] = tuple([self._descriptor(d, self._children, ChildRef) for d in children])
        return ManifestRecord.model_validate(fields)

    def _descriptor(
        self, raw: object, cache: dict[tuple[object, ...], tuple[_D, int]], model: type[_D]
    ) -> _D:
        if type(raw) is not dict:
            raise _GiveUp
        fields: dict[str, object] = cast("dict[str, object]", raw)
        try:
            # Values and their types: 1, 1.0 and True are equal (and hash alike) in Python
            # but are different JSON inputs, so they must not share a validation.
            key = (*fields.items(), *map(type, fields.values()))
            hit = cache.get(key)
        except TypeError:  # a nested list or object: never a valid descriptor
            raise _GiveUp from None
        if hit is None:
            hit = cache[key] = (model.model_validate(fields), len(fields) + _str_colons(fields.values()))
        self.tally += hit[1]
        return hit[0]


def _json_colons(value: object) -> int:
    """Object members plus colons inside strings (keys and values) of a parsed JSON value."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is str:
            total += item.count(":")
        elif type(item) is list:
            stack.extend(item)
        elif type(item) is dict:
            total += len(item) + _str_colons(item)
            stack.extend(item.values())
    return total


def _json_error_line(text: str) -> int:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return exc.lineno
    return 1


def load(path: Path) -> Inventory:
    """Read an inventory file from PATH."""
    # Bytes, not text: the parser reads UTF-8 itself, and a decoded copy of a large file would
    # double the peak memory of the load. The bytes are dropped as soon as they are parsed
    # (the reference loader, if needed, reads the file again).
    parsed = _parse_fast(_read_bytes(path))
    inventory = None if parsed is None else _build_fast(*parsed)
    if inventory is not None:
        del parsed
        # The command keeps this inventory (~2 million objects for 100,000 tags) to the end:
        # freezing it keeps every later garbage collection from walking it again, which
        # otherwise doubles the time of the figures and of the report built from them.
        gc.freeze()
        return inventory
    del parsed
    try:  # decoded as Path.read_text() does (newlines translated), for the reference loader
        text = io.TextIOWrapper(io.BytesIO(_read_bytes(path)), encoding="utf-8").read()
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: cannot read the inventory file ({exc.__class__.__name__}).") from None
    return _loads_checked(text, str(path))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such inventory file.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the inventory file ({exc.__class__.__name__}).") from None
