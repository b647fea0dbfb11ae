"""The inventory file's shape, schemas 1 and 2, as pydantic validates it whole (pure).

Entries are typed dicts, not models: pydantic checks them as strictly, and a 100,000-tag file
holds ~330,000 of them, which as plain dicts of strings and numbers cost the load no model
instances to build and the garbage collector nothing to walk.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, NotRequired

from pydantic import ConfigDict, Field, TypeAdapter, with_config
from typing_extensions import TypedDict

from costcalc.inventory.records import ScanError

# The largest size a descriptor may give: OCI descriptors hold a signed 64-bit size, and a
# size past it is no blob's (a hostile or broken file), which a report must not multiply.
MAX_SIZE_BYTES = 2**63 - 1

ByteCount = Annotated[int, Field(ge=0, le=MAX_SIZE_BYTES, strict=True)]  # JSON true is not 1 byte

_STRICT = ConfigDict(extra="forbid")


@with_config(_STRICT)
class Child(TypedDict):
    """An index entry: a child manifest with its platform, or an attestation (both schemas)."""

    media_type: str
    digest: str
    size_bytes: ByteCount
    platform: NotRequired[str | None]
    attestation: NotRequired[bool]


@with_config(_STRICT)
class Tag(TypedDict):
    tag: str
    digest: str


# Schema 1: every manifest holds its descriptors whole.


@with_config(_STRICT)
class DescriptorV1(TypedDict):
    media_type: str
    digest: str
    size_bytes: ByteCount
    foreign: NotRequired[bool]


@with_config(_STRICT)
class ManifestV1(TypedDict):
    media_type: str
    size_bytes: ByteCount
    kind: Literal["image", "artifact"]
    artifact_type: NotRequired[str | None]
    platform: NotRequired[str | None]
    created: NotRequired[datetime | None]
    config: NotRequired[DescriptorV1 | None]
    layers: NotRequired[tuple[DescriptorV1, ...]]
    children: NotRequired[tuple[Child, ...]]


@with_config(_STRICT)
class RepositoryV1(TypedDict):
    name: str
    tags: NotRequired[tuple[Tag, ...]]


@with_config(_STRICT)
class FileV1(TypedDict):
    schema_version: Literal[1]
    registry: str
    namespace: NotRequired[str]
    scanned_at: datetime
    repositories: NotRequired[tuple[RepositoryV1, ...]]
    manifests: NotRequired[dict[str, ManifestV1]]
    errors: NotRequired[tuple[ScanError, ...]]


# Schema 2: each blob once, in `blobs`; manifests name their config and layers by digest.


@with_config(_STRICT)
class Blob(TypedDict):
    """A config or layer blob, by the digest `blobs` keys it with."""

    media_type: str
    size_bytes: ByteCount
    foreign: NotRequired[bool]  # non-distributable: not stored by the registry, fetched from urls
    urls: NotRequired[tuple[str, ...]]


@with_config(_STRICT)
class Descriptor(TypedDict):
    """A descriptor written whole: a manifest that describes a blob otherwise than `blobs`
    does (another media type for the same bytes, say) keeps its own words."""

    digest: str
    media_type: str
    size_bytes: ByteCount
    foreign: NotRequired[bool]
    urls: NotRequired[tuple[str, ...]]


BlobLink = str | Descriptor  # a digest of `blobs`, or a descriptor of its own


@with_config(_STRICT)
class ManifestV2(TypedDict):
    media_type: str
    size_bytes: ByteCount
    kind: Literal["image", "artifact"]
    artifact_type: NotRequired[str]
    platform: NotRequired[str]
    created: NotRequired[datetime]
    pushed_at: NotRequired[datetime]  # when the provider's API says the manifest was pushed
    last_pulled_at: NotRequired[datetime]  # and last pulled
    subject: NotRequired[str]  # the manifest a referrer (signature, SBOM) refers to
    config: NotRequired[BlobLink]
    layers: NotRequired[tuple[BlobLink, ...]]
    children: NotRequired[tuple[Child, ...]]


@with_config(_STRICT)
class RepositoryV2(TypedDict):
    name: str
    tags: NotRequired[tuple[Tag, ...]]
    untagged: NotRequired[tuple[str, ...]]  # manifests the repository stores with no tag, by digest


@with_config(_STRICT)
class FileV2(TypedDict):
    schema_version: Literal[2]
    registry: str
    namespace: NotRequired[str]
    scanned_at: datetime
    repositories: NotRequired[tuple[RepositoryV2, ...]]
    manifests: NotRequired[dict[str, ManifestV2]]
    blobs: NotRequired[dict[str, Blob]]
    errors: NotRequired[tuple[ScanError, ...]]


INVENTORY_FILE: TypeAdapter[FileV1 | FileV2] = TypeAdapter(
    Annotated[FileV1 | FileV2, Field(discriminator="schema_version")]
)
