"""The records an Inventory is made of: descriptors, manifests, repositories, versions (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

DEFAULT_PLATFORM = "linux/amd64"

# What an inventory holds many of (a 100,000-tag inventory: ~120,000 manifests, ~100,000
# distinct descriptors, 100,000 tags) is a frozen dataclass with slots: no instance dict,
# nothing validated again. The inventory file's own models (inventory/schema.py) validate
# what is read; what the scanner builds it has validated itself.


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A config or layer descriptor as the inventory stores it."""

    media_type: str
    digest: str
    size_bytes: int
    foreign: bool = False  # non-distributable: fetched from its URLs, not stored by the registry
    urls: tuple[str, ...] = ()  # where a foreign layer is fetched from


@dataclass(frozen=True, slots=True)
class ChildRef:
    """An index entry: a child manifest with its platform, or an attestation."""

    media_type: str
    digest: str
    size_bytes: int
    platform: str | None = None
    attestation: bool = False


@dataclass(frozen=True, slots=True)
class ManifestRecord:
    """One manifest or index, by digest, as reached from some tag (or stored untagged)."""

    media_type: str
    size_bytes: int
    kind: Literal["image", "artifact"]
    artifact_type: str | None = None
    platform: str | None = None
    created: datetime | None = None
    config: BlobRef | None = None
    layers: tuple[BlobRef, ...] = ()
    children: tuple[ChildRef, ...] = ()
    pushed_at: datetime | None = None  # as a provider's API reports it, when it does
    last_pulled_at: datetime | None = None
    # The manifest this one refers to (OCI 1.1 `subject`: a signature, an SBOM, an attestation).
    subject: str | None = None

    @property
    def is_index(self) -> bool:
        return bool(self.children) or "index" in self.media_type or "list" in self.media_type


@dataclass(frozen=True, slots=True)
class TagRef:
    tag: str
    digest: str


@dataclass(frozen=True, slots=True)
class Repository:
    """A repository: its tags, and the manifests it stores with no tag (by digest)."""

    name: str
    tags: tuple[TagRef, ...] = ()
    untagged: tuple[str, ...] = ()


class ScanError(BaseModel):
    """A repository or tag that could not be read; the scan went on without it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    repository: str | None = None
    tag: str | None = None
    digest: str | None = None
    reason: str


class Summary(BaseModel):
    """The scan summary figures, as `scan --format json` prints them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

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


@dataclass(frozen=True, slots=True)
class Version:
    """A distinct image digest of a repository, with the tags that point to it."""

    digest: str
    tags: tuple[str, ...]
    created: datetime | None
    subject: str | None = None  # set for a referrer: the manifest it refers to


def image_bytes(record: ManifestRecord) -> int:
    """Σ of an image manifest's stored layer sizes (compressed, as a pull transfers them).

    A layer listed twice is stored and transferred once, so each digest counts once.
    """
    stored = {layer.digest: layer.size_bytes for layer in record.layers if not layer.foreign}
    return sum(stored.values())
