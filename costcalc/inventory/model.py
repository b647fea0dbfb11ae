"""The Inventory model (SPEC §3.2): what a scan found, frozen, and how it is built (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Literal, NamedTuple

import pydantic.dataclasses
from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from costcalc.inventory.figures import Figures

SCHEMA_VERSION = 1
DEFAULT_PLATFORM = "linux/amd64"


ByteCount = Annotated[int, Field(ge=0, strict=True)]  # a size: JSON true is not 1 byte


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# What an inventory holds many of is a frozen dataclass with slots, not a model: 871,200
# descriptors, 118,800 records and 100,000 tags in a 100,000-tag inventory. As models (an
# instance dict and a fields-set each) descriptors took 64 MiB more and reading one field of
# each took twice as long (0.39-0.40 s against 0.17-0.21 s); records and tags as models took
# ~80 MiB more and a report on that file ~12 % longer. The JSON, read and written, is the same.
# (The decorator is spelled out on each class: mypy knows them as dataclasses only through it.)
@pydantic.dataclasses.dataclass(frozen=True, slots=True, config=ConfigDict(extra="forbid"))
class BlobRef:
    """A config or layer descriptor as the inventory stores it."""

    media_type: str
    digest: str
    size_bytes: ByteCount
    foreign: bool = False  # non-distributable: fetched from its URLs, not stored by the registry


@pydantic.dataclasses.dataclass(frozen=True, slots=True, config=ConfigDict(extra="forbid"))
class ChildRef:
    """An index entry: a child manifest with its platform, or an attestation."""

    media_type: str
    digest: str
    size_bytes: ByteCount
    platform: str | None = None
    attestation: bool = False


@pydantic.dataclasses.dataclass(frozen=True, slots=True, config=ConfigDict(extra="forbid"))
class ManifestRecord:
    """One manifest or index, by digest, as reached from some tag."""

    media_type: str
    size_bytes: ByteCount
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


@pydantic.dataclasses.dataclass(frozen=True, slots=True, config=ConfigDict(extra="forbid"))
class TagRef:
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
        """The derived figures of this inventory (SPEC §2), computed on demand and memoised."""
        from costcalc.inventory.figures import Figures  # figures imports this module

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


class Version(NamedTuple):
    """A distinct image digest of a repository, with the tags that point to it.

    A named tuple, not a model: derived from the validated inventory (nothing to validate),
    and a 100,000-tag report makes ~100,000 of them, each built in a fraction of a model's time.
    """

    digest: str
    tags: tuple[str, ...]
    created: datetime | None


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
