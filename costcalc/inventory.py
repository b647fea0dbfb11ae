"""The Inventory model (SPEC §3.2), its file format, and the figures derived from it (SPEC §2).

Everything here is pure: an Inventory is built by the scanner (or loaded from a file) and
never changes; the figures are computed from it on demand and memoised per Inventory.
"""

from __future__ import annotations

import gc
import io
import json
import mmap
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
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
        # Σ reachable(digest) per tagged digest, without building its dict (naive_bytes).
        self._reachable_totals: dict[str, int] = {}

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
        return {name: blobs for name, blobs, _ in self._repository_walks}

    @cached_property
    def _repository_walks(self) -> list[tuple[str, dict[str, int], set[str]]]:
        """Per repository: its blobs and its stored layer digests, in one walk of its tags.

        One walk per repository, not one per tag: the manifests its tags share are visited
        once, and no per-tag dict is built (reachable() builds those only when asked).
        """
        manifests = self.inventory.manifests
        walks: list[tuple[str, dict[str, int], set[str]]] = []
        totals = self._reachable_totals
        for repo in self.inventory.repositories:
            blobs: dict[str, int] = {}
            layers: set[str] = set()
            seen: set[str] = set()
            for tag_digest in {t.digest for t in repo.tags}:
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
                    blobs[digest] = record.size_bytes
                    config = record.config
                    if config is not None:
                        blobs[config.digest] = config.size_bytes
                    stored = {layer.digest: layer.size_bytes for layer in record.layers if not layer.foreign}
                    blobs.update(stored)  # in layer order, as reachable() writes them
                    layers.update(stored)
                    if record.children:
                        stack.extend((child.digest, child.size_bytes) for child in record.children)
                    elif (
                        digest == tag_digest
                        and digest not in stored
                        and (config is None or (config.digest != digest and config.digest not in stored))
                    ):  # a plain image, its blobs all distinct: Σ reachable(digest), for naive_bytes
                        totals[digest] = (
                            record.size_bytes + (config.size_bytes if config else 0) + sum(stored.values())
                        )
            walks.append((repo.name, blobs, layers))
        return walks

    @cached_property
    def _shared_blobs(self) -> frozenset[str]:
        """Blob digests that two or more repositories reference (usually few: base layers)."""
        seen: set[str] = set()
        shared: set[str] = set()
        for blobs in self.repository_blobs.values():
            # set methods taking the dict: they iterate it at C speed. (`seen & blobs.keys()`
            # would copy the growing `seen` for every repository.)
            shared.update(seen.intersection(blobs))
            seen.update(blobs)
        return frozenset(shared)

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
        return sum(sum(blobs.values()) for blobs in self.repository_blobs.values())

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
            return {name: sum(blobs.values()) for name, blobs in self.repository_blobs.items()}
        return dict(self._attributed_registry)

    @cached_property
    def _attributed_registry(self) -> dict[str, int]:
        sizes = self.blob_sizes
        shared = self._shared_blobs
        # A blob only one repository references is all its own: summed per repository at C
        # speed (its size is that repository's, as blob_sizes has it); only shared ones split.
        result = {
            name: sum(map(sizes.__getitem__, blobs.keys() - shared.intersection(blobs)))
            for name, blobs in self.repository_blobs.items()
        }
        for digest in shared:
            owners = self.blob_repositories[digest]
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
        manifests = self.inventory.manifests
        result: dict[str, tuple[Version, ...]] = {}
        for repo in self.inventory.repositories:
            tags_by_digest: dict[str, list[str]] = defaultdict(list)
            for tag in repo.tags:
                tags_by_digest[tag.digest].append(tag.tag)
            versions = []
            for digest, tags in tags_by_digest.items():
                record = manifests.get(digest)
                # created() inline for the usual case, an image manifest with its own time
                created = record.created if record is not None and record.created is not None else self.created(digest)
                # the values come from the validated inventory: no validation
                versions.append(_version(digest, tuple(sorted(tags)), created))
            # By created, then digest; unknown times first. The key is the time since a fixed
            # instant: comparing timedeltas is cheap, comparing aware datetimes calls
            # utcoffset() on both sides of every comparison.
            try:
                versions.sort(key=lambda v: (v.created - _EPOCH if v.created else _NO_TIME, v.digest))
            except TypeError:  # a time without an offset: compared as datetimes, as always
                versions.sort(key=lambda v: (v.created or _EPOCH, v.digest))
            result[repo.name] = tuple(versions)
            self._image_versions[repo.name] = tuple(
                v for v in versions if (r := manifests.get(v.digest)) is not None and r.kind == "image"
            )
        return result

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
                result.append({
                    "repository": repo.name,
                    "tag": tag.tag,
                    "digest": tag.digest,
                    "kind": record.kind if record else "unknown",
                    "platforms": self.platforms(tag.digest),
                })
        return result


_VERSION_FIELDS = set(Version.model_fields)
_EPOCH = datetime.min.replace(tzinfo=UTC)
_NO_TIME = timedelta(0)  # an unknown created time sorts as _EPOCH


def _version(digest: str, tags: tuple[str, ...], created: datetime | None) -> Version:
    """A Version from values already validated, without validation: what model_construct does,
    minus its per-call generality (~100,000 versions in a 100,000-tag report). All instances
    share one fields-set: all fields are always given, and frozen models never change it."""
    version = Version.__new__(Version)
    object.__setattr__(version, "__dict__", {"digest": digest, "tags": tags, "created": created})
    object.__setattr__(version, "__pydantic_fields_set__", _VERSION_FIELDS)
    object.__setattr__(version, "__pydantic_extra__", None)
    object.__setattr__(version, "__pydantic_private__", None)
    return version


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
_M = TypeVar("_M", bound=BaseModel)


_BATCH = 2048  # manifests validated per call
_MANIFESTS: TypeAdapter[dict[str, ManifestRecord]] = TypeAdapter(dict[str, ManifestRecord])


class _GiveUp(Exception):
    """The fast loader cannot vouch for this text: let model_validate_json decide."""


# JSON escapes of a colon; see _Builder (a decoded colon with no colon byte behind it).
_ESCAPED_COLON = re.compile(r"\\u003[aA]")
_ESCAPED_COLON_BYTES = re.compile(rb"\\u003[aA]")


def _loads_fast(text: str | bytes) -> Inventory | None:
    parsed = _parse_fast(text)
    return None if parsed is None else _build_fast(*parsed)


def _parse_fast(text: str | bytes) -> tuple[object, int] | None:
    """The parsed tree and the colons of TEXT, or None if the fast path cannot take TEXT."""
    if not _colons_trustworthy(text):
        return None
    colons = text.count(":") if isinstance(text, str) else text.count(b":")
    with _gc_paused():
        try:
            return from_json(text), colons
        except ValueError:
            return None


def _colons_trustworthy(text: str | bytes | mmap.mmap) -> bool:
    """False if TEXT writes a colon as an escape (which the colon tally cannot see)."""
    # A plain substring search first: on 270 MB it is ~10 times faster than the regex.
    if isinstance(text, str):
        return "\\u003" not in text or _ESCAPED_COLON.search(text) is None
    return text.find(b"\\u003") < 0 or _ESCAPED_COLON_BYTES.search(text) is None  # find: mmap too


def _build_fast(tree: object, colons: int, builder: _Builder | None = None) -> Inventory | None:
    """The Inventory of TREE, or None. BUILDER, if given, has built its manifests already."""
    builder = builder or _Builder()
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
    return sum([v.count(":") for v in values if type(v) is str])  # a list: faster than a generator


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
        # The usual descriptor (all four fields, of their exact JSON types) is keyed by its
        # values alone; any other shape by its members and their types (_descriptor).
        self._blobs: dict[tuple[object, ...], tuple[BlobRef, int]] = {}
        self._children: dict[tuple[object, ...], tuple[ChildRef, int]] = {}
        # Every instance validated from the same member names has the same fields-set; one
        # shared set instead of one per instance saves ~700 bytes per manifest. (Frozen models
        # never change it, and model_copy copies it before updating.)
        self._fields_sets: dict[tuple[str, ...], set[str]] = {}
        self.built: dict[str, ManifestRecord] | None = None  # the manifests, if built in pieces

    def inventory(self, tree: object) -> Inventory:
        if type(tree) is not dict:
            raise _GiveUp
        fields = dict(tree)
        self.tally += len(tree) + _str_colons(tree.values())
        manifests = tree.get("manifests")
        if self.built is not None:  # by _load_pieces, which put {} in their place in TREE
            if manifests != {}:
                raise _GiveUp
            fields["manifests"] = self.built
        elif type(manifests) is dict:
            fields["manifests"] = self.manifests(manifests)
        for name in ("repositories", "errors"):  # small: counted generically, validated by pydantic
            self.tally += _json_colons(tree.get(name))
        return Inventory.model_validate(fields)

    def manifests(
        self, raw: dict[str, object], into: dict[str, ManifestRecord] | None = None
    ) -> dict[str, ManifestRecord]:
        """Validate the manifests of RAW (digest -> record) into INTO, emptying RAW as it goes.

        A batch of records at a time: its descriptors are swapped for shared instances, then
        pydantic validates the batch in one call (no Python call per record or config), and
        the batch's parsed tree is freed before the next, so the tree and the models are never
        held in full at once (the models reuse the memory the tree gives back).
        """
        result: dict[str, ManifestRecord] = {} if into is None else into
        keys = list(raw)
        self.tally += len(keys) + _str_colons(keys)
        for start in range(0, len(keys), _BATCH):
            batch = {digest: raw.pop(digest) for digest in keys[start : start + _BATCH]}
            for record in batch.values():
                self._prepare(record)
            validated = _MANIFESTS.validate_python(batch)
            for record, model in zip(batch.values(), validated.values(), strict=True):
                self._share_fields_set(model, record)  # type: ignore[arg-type]  # _prepare checked
                if model.config is not None:
                    self._share_fields_set(model.config, record["config"])  # type: ignore[index]
            result.update(validated)
        return result

    def _prepare(self, raw: object) -> None:
        """Count the colons of a record and put shared descriptor instances in its place."""
        if type(raw) is not dict:
            raise _GiveUp
        self.tally += len(raw) + _str_colons(raw.values())
        config = raw.get("config")
        if type(config) is dict:  # distinct per image: validated by pydantic with the record
            self.tally += len(config) + _str_colons(config.values())
        layers = raw.get("layers")
        if type(layers) is list:
            raw["layers"] = self._layers(layers)
        children = raw.get("children")
        if type(children) is list:
            raw["children"] = tuple([self._descriptor(d, self._children, ChildRef) for d in children])

    def _layers(self, layers: list[object]) -> tuple[BlobRef, ...]:
        # The hot loop: 871,200 descriptors in the 100,000-tag file, 100,120 distinct. A usual
        # descriptor (four members) is found by the tuple of its values, inline: a call per
        # descriptor would cost as much as the rest of the loop.
        blobs = self._blobs
        found: list[BlobRef] = []
        tally = 0
        for raw in layers:
            try:
                key = (raw["media_type"], raw["digest"], raw["size_bytes"], raw["foreign"])  # type: ignore[index]
                hit = blobs.get(key) if type(key[2]) is int and type(key[3]) is bool and len(raw) == 4 else None  # type: ignore[arg-type]
            except (KeyError, TypeError):  # not a usual descriptor (TypeError: not an object)
                hit = None
            if hit is None:  # a new descriptor, or another shape: _blob decides
                found.append(self._blob(raw))
                continue
            tally += hit[1]
            found.append(hit[0])
        self.tally += tally
        return tuple(found)

    @staticmethod
    def _blob_key(raw: object) -> tuple[object, ...] | None:
        """The four values of a usual blob descriptor, each of exactly its JSON type, else None.

        type() checks, not isinstance: True is an int, and 1, 1.0 and True are equal (and hash
        alike) in Python but different JSON inputs that must not share a validation. A digest
        or media type that is not a string fails validation, so those need no check.
        """
        if type(raw) is not dict or len(raw) != 4:
            return None
        try:
            key = (raw["media_type"], raw["digest"], raw["size_bytes"], raw["foreign"])
        except KeyError:
            return None
        return key if type(key[2]) is int and type(key[3]) is bool else None

    def _blob(self, raw: object) -> BlobRef:
        key = self._blob_key(raw)
        if key is None:  # any other shape: keyed by members and types (never equal to a key above)
            return self._descriptor(raw, self._blobs, BlobRef)
        try:
            hit = self._blobs.get(key)
        except TypeError:  # an unhashable (list or object) digest or media type: never valid
            raise _GiveUp from None
        if hit is None:
            hit = self._blobs[key] = self._validate(cast("dict[str, object]", raw), BlobRef)
        self.tally += hit[1]
        return hit[0]

    def _descriptor(
        self, raw: object, cache: dict[tuple[object, ...], tuple[_D, int]], model: type[_D]
    ) -> _D:
        if type(raw) is not dict:
            raise _GiveUp
        fields: dict[str, object] = cast("dict[str, object]", raw)
        try:
            # Members and their types: 1, 1.0 and True are equal (and hash alike) in Python
            # but are different JSON inputs, so they must not share a validation. (These keys
            # begin with a (name, value) pair, so they never equal a key of _blob's.)
            key = (*fields.items(), *map(type, fields.values()))
            hit = cache.get(key)
        except TypeError:  # a nested list or object: never a valid descriptor
            raise _GiveUp from None
        if hit is None:
            hit = cache[key] = self._validate(fields, model)
        self.tally += hit[1]
        return hit[0]

    def _validate(self, fields: dict[str, object], model: type[_D]) -> tuple[_D, int]:
        """A new distinct descriptor: its model, and the colons each occurrence accounts for."""
        instance = self._share_fields_set(model.model_validate(fields), fields)
        return instance, len(fields) + _str_colons(fields.values())

    def _share_fields_set(self, instance: _M, fields: Mapping[str, object]) -> _M:
        names = tuple(fields)
        shared = self._fields_sets.setdefault(names, instance.__pydantic_fields_set__)
        object.__setattr__(instance, "__pydantic_fields_set__", shared)
        return instance


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
    # A file as dumps() writes it is built piece by piece from the mapped file. Anything else
    # is parsed whole from its bytes, not text: the parser reads UTF-8 itself, and a decoded
    # copy of a large file would double the peak memory. The bytes are dropped once parsed
    # (the reference loader, if needed, reads the file again).
    inventory = _load_mapped(path)
    if inventory is None:
        parsed = _parse_fast(_read_bytes(path))
        inventory = None if parsed is None else _build_fast(*parsed)
        del parsed
    if inventory is not None:
        # The command keeps this inventory (~1 million objects for 100,000 tags) to the end:
        # freezing it keeps every later garbage collection from walking it again, which
        # otherwise doubles the time of the figures and of the report built from them.
        gc.freeze()
        return inventory
    try:  # decoded as Path.read_text() does (newlines translated), for the reference loader
        text = io.TextIOWrapper(io.BytesIO(_read_bytes(path)), encoding="utf-8").read()
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: cannot read the inventory file ({exc.__class__.__name__}).") from None
    return _loads_checked(text, str(path))


# Parsing a 270 MB file whole builds ~450 MB of dicts next to its bytes before the first model
# exists. A file as dumps() writes it (indent=1) is instead parsed in pieces of ~_PIECE bytes of
# its `manifests` object, each piece built into models and freed before the next is parsed.
_PIECE = 256 << 10  # measured: smaller pieces load faster (their tree stays in cache), 4 MiB ~25% slower
_RELEASE = 16 << 20  # bytes of mapped file given back at a time
_MANIFESTS_OPEN = b'\n "manifests": {'
_MANIFESTS_CLOSE = b"\n }"  # indent 1: the first one after the opening closes `manifests`
_RECORD_END = b"\n  },"  # indent 2: a comma between two members of `manifests`


def _load_mapped(path: Path) -> Inventory | None:
    """_load_pieces over the file mapped, not read: the pages of the pieces already built are
    given back as it goes, so the file's bytes are never all resident next to the models."""
    try:
        with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _load_pieces(data)
    except (OSError, ValueError):  # unreadable, empty (cannot be mapped) or not a regular file
        return None  # _read_bytes words the problem, or the whole-tree path takes the file


def _load_pieces(data: bytes | mmap.mmap) -> Inventory | None:
    """The Inventory of DATA parsed piece by piece, or None to let the whole-tree path decide.

    Why the pieces add up to the file: a raw newline is never inside a JSON string, so each
    split point is the closing brace and comma tokens of *some* object. If every piece parses
    as the members of an object, the commas were between members of `manifests` itself, and
    `manifests` is exactly the union of the pieces; otherwise (a file laid out differently)
    this returns None. The rest of the file, with `{}` in place of `manifests`, parses
    to the same tree as the whole file would, and the placeholder is checked to be the
    top-level `manifests` (anywhere else, extra="forbid" rejects a `manifests` member).
    """
    opening = data.find(_MANIFESTS_OPEN)
    if opening < 0 or not _colons_trustworthy(data):
        return None
    body_start = opening + len(_MANIFESTS_OPEN)
    body_end = data.find(_MANIFESTS_CLOSE, body_start)
    if body_end < 0:
        return None
    builder = _Builder()
    built = builder.built = {}
    colons = 0  # of the pieces and the rest: the whole file's (the commas between have none)
    released = 0  # the mapped pages below this offset are given back
    with _gc_paused():
        try:
            start = body_start
            split = -1
            while start < body_end:
                split = data.find(_RECORD_END, min(start + _PIECE, body_end), body_end)
                end = body_end if split < 0 else split + len(_RECORD_END) - 1  # before the comma
                text = data[start:end]
                colons += text.count(b":")
                piece = from_json(b"{" + text + b"}")
                del text
                if isinstance(data, mmap.mmap) and end - released >= _RELEASE:
                    # Read-only file pages: dropped from memory, read again from the file if
                    # touched (only the fallback would). Whole pages only, below this piece's end.
                    upto = end - end % mmap.PAGESIZE
                    data.madvise(mmap.MADV_DONTNEED, released, upto - released)
                    released = upto
                if type(piece) is not dict or not piece:  # empty: a stray comma the file cannot hold
                    return None
                expected = len(built) + len(piece)
                builder.manifests(piece, built)
                if len(built) != expected:  # a digest repeated across pieces: the reference decides
                    return None
                start = end + 1
            if split >= 0 and start >= body_end:  # the last piece ended at a comma: a trailing one
                return None
            rest = data[: body_start - 1] + b"{}" + data[body_end + len(_MANIFESTS_CLOSE) :]
            colons += rest.count(b":")
            skeleton = from_json(rest)
            del rest
        except (ValueError, RecursionError, _GiveUp):
            return None
    return _build_fast(skeleton, colons, builder)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such inventory file.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the inventory file ({exc.__class__.__name__}).") from None
