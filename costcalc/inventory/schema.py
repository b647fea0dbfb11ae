"""The inventory file's shape, schemas 1 and 2, as pydantic validates it whole (pure).

Entries are typed dicts, not models: pydantic checks them as strictly, and a 100,000-tag file
holds ~330,000 of them; schema 2's are turned into the inventory's records as they are
validated, so no model instances are built and none are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    GetPydanticSchema,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    with_config,
)
from pydantic_core import PydanticCustomError, core_schema
from typing_extensions import TypedDict

from costcalc.inventory.records import BlobRef, ChildRef, ManifestRecord, Repository, ScanError, TagRef

# The largest size a descriptor may give: OCI descriptors hold a signed 64-bit size, and a
# size past it is no blob's (a hostile or broken file), which a report must not multiply.
MAX_SIZE_BYTES = 2**63 - 1

ByteCount = Annotated[int, Field(ge=0, le=MAX_SIZE_BYTES, strict=True)]  # JSON true is not 1 byte

_STRICT = ConfigDict(extra="forbid")


def _in_utc(value: datetime) -> datetime:
    """VALUE in UTC (a time without an offset is UTC already), so that every later step compares
    and writes times alike; a time that leaves the calendar once in UTC is no time a scan wrote."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("utc_time", "a time outside the years a date can hold in UTC") from None


UtcTime = Annotated[datetime, AfterValidator(_in_utc)]


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
    created: NotRequired[UtcTime | None]
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
    scanned_at: UtcTime
    repositories: NotRequired[tuple[RepositoryV1, ...]]
    manifests: NotRequired[dict[str, ManifestV1]]
    errors: NotRequired[tuple[ScanError, ...]]


# Schema 2: each blob once, in `blobs`; manifests name their config and layers by digest. An
# entry may leave out a field that equals the file's `defaults` (a manifest's media type and
# kind, a config's or a layer's media type): the file says what it left out, once.
#
# Validation builds the inventory's records itself: `defaults` and `blobs` are validated
# first (the order of the fields below, whatever the file's order) and handed on in the
# validation context, so each manifest becomes its ManifestRecord as soon as it is
# validated, its digests resolved to shared BlobRefs: no second tree of entries is held.


@with_config(_STRICT)
class ManifestDefaults(TypedDict):
    media_type: NotRequired[str]
    kind: NotRequired[Literal["image", "artifact"]]


@with_config(_STRICT)
class BlobDefaults(TypedDict):
    media_type: NotRequired[str]


@with_config(_STRICT)
class Defaults(TypedDict):
    """What an entry that leaves a field out has. A blob's media type depends on how a
    manifest names it: as its config or as one of its layers."""

    manifest: NotRequired[ManifestDefaults]
    config: NotRequired[BlobDefaults]
    layer: NotRequired[BlobDefaults]


@with_config(_STRICT)
class Blob(TypedDict):
    """A config or layer blob, by the digest `blobs` keys it with."""

    media_type: NotRequired[str]  # left out: the default of the role a manifest names it in
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
    media_type: NotRequired[str]  # left out: defaults.manifest.media_type
    size_bytes: ByteCount
    kind: NotRequired[Literal["image", "artifact"]]  # left out: defaults.manifest.kind
    artifact_type: NotRequired[str]
    platform: NotRequired[str]
    created: NotRequired[UtcTime]
    pushed_at: NotRequired[UtcTime]  # when the provider's API says the manifest was pushed
    last_pulled_at: NotRequired[UtcTime]  # and last pulled
    subject: NotRequired[str]  # the manifest a referrer (signature, SBOM) refers to
    config: NotRequired[BlobLink]
    layers: NotRequired[tuple[BlobLink, ...]]
    children: NotRequired[tuple[Child, ...]]


@with_config(_STRICT)
class RepositoryV2(TypedDict):
    name: str
    tags: NotRequired[tuple[Tag, ...]]
    untagged: NotRequired[tuple[str, ...]]  # manifests the repository stores with no tag, by digest


def _problem(field: str, message: str) -> PydanticCustomError:
    """A problem with FIELD of the entry being validated (the file's loader names the field)."""
    return PydanticCustomError("inventory_entry", "{message}", {"field": field, "message": message})


class _RoleRefs(dict[str, BlobRef]):
    """The BlobRefs of `blobs` in one role (config or layer), each made when first named.

    A plain class at module level, holding its entries as attributes: no reference cycle, so
    the table is freed as soon as the load is done, even while the collector is paused.
    """

    __slots__ = ("_default", "_entries")

    def __init__(self, entries: dict[str, _Entry], default: str | None) -> None:
        super().__init__()
        self._entries = entries
        self._default = default

    def __missing__(self, digest: str) -> BlobRef:
        media_type, size, foreign, urls = self._entries[digest]  # KeyError: not in blobs
        media_type = self._default if media_type is None else media_type
        if media_type is None:
            raise KeyError(digest)
        ref = self[digest] = BlobRef(media_type, digest, size, foreign, urls)
        return ref


_Entry = tuple[str | None, int, bool, tuple[str, ...]]


class BlobTable:
    """`blobs` as manifests name them: as a config, or as a layer (an entry that gives no media
    type has its role's default). Each blob becomes one BlobRef per role, when first named."""

    __slots__ = ("_entries", "config", "layer")

    def __init__(self, entries: dict[str, Blob], defaults: Defaults) -> None:
        # the entries as tuples (of untracked values), not dicts: smaller while the manifests load
        self._entries: dict[str, _Entry] = {
            digest: (b.get("media_type"), b["size_bytes"], b.get("foreign", False), b.get("urls", ()))
            for digest, b in entries.items()
        }
        self.config = _RoleRefs(self._entries, defaults.get("config", {}).get("media_type"))
        self.layer = _RoleRefs(self._entries, defaults.get("layer", {}).get("media_type"))

    def resolve(self, link: BlobLink, role: Literal["config", "layer"], field: str) -> BlobRef:
        if not isinstance(link, str):
            return BlobRef(
                link["media_type"], link["digest"], link["size_bytes"], link.get("foreign", False), link.get("urls", ())
            )
        try:
            return (self.config if role == "config" else self.layer)[link]
        except KeyError:
            if link in self._entries:
                raise _problem(field, f"blob {link} gives no media_type and the file no default for a {role}") from None
            raise _problem(field, f"{link} is not in blobs") from None


_NO_BLOBS = BlobTable({}, {})


def _state(info: ValidationInfo) -> dict[str, Any]:
    """What one load's validators hand on: `defaults` and `blobs` (validate() passes the dict)."""
    state = info.context
    if not isinstance(state, dict):
        raise TypeError("an inventory file is validated by validate(), which passes its context")
    return state


def _defaults(value: Defaults, info: ValidationInfo) -> Defaults:
    _state(info)["defaults"] = value
    return value


def _blob_table(value: object, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> BlobTable:
    state = _state(info)
    try:
        entries = handler(value)
    except ValidationError:
        state["blobs"] = None  # its own errors say what is wrong: no manifest is checked against it
        raise
    table = state["blobs"] = BlobTable(entries, state.get("defaults", {}))
    return table


def _manifest(m: ManifestV2, info: ValidationInfo) -> ManifestRecord:
    state = _state(info)
    table: BlobTable | None = state.get("blobs", _NO_BLOBS)
    if table is None:  # `blobs` is invalid: the file is refused for that alone
        return ManifestRecord("", 0, "image")
    defaults: ManifestDefaults = state.get("defaults", {}).get("manifest", {})
    media_type = m.get("media_type", defaults.get("media_type"))
    kind = m.get("kind", defaults.get("kind"))
    if media_type is None or kind is None:
        missing = "media_type" if media_type is None else "kind"
        raise _problem(missing, f"{missing} is not given and the file has no default for it")
    links = m.get("layers", ())
    try:
        layers = tuple(map(table.layer.__getitem__, links))  # type: ignore[arg-type]  # digests, but for a rare descriptor
    except (KeyError, TypeError):  # a digest not in `blobs`, or a descriptor (a dict) of its own
        layers = tuple(table.resolve(link, "layer", f"layers.{i}") for i, link in enumerate(links))
    config = m.get("config")
    return ManifestRecord(
        media_type,
        m["size_bytes"],
        kind,
        m.get("artifact_type"),
        m.get("platform"),
        m.get("created"),
        None if config is None else table.resolve(config, "config", "config"),
        layers,
        tuple(map(child_ref, m.get("children", ()))),
        m.get("pushed_at"),
        m.get("last_pulled_at"),
        m.get("subject"),
    )


def _repository(r: RepositoryV2) -> Repository:
    return Repository(r["name"], tag_refs(r.get("tags", ())), r.get("untagged", ()))


def tag_refs(tags: Iterable[Tag]) -> tuple[TagRef, ...]:
    return tuple([TagRef(t["tag"], t["digest"]) for t in tags])


def child_ref(c: Child) -> ChildRef:
    return ChildRef(c["media_type"], c["digest"], c["size_bytes"], c.get("platform"), c.get("attestation", False))


def _after(function: Callable[..., Any], entry: type) -> GetPydanticSchema:
    """The schema of ENTRY, then FUNCTION(value, info) makes the record of it."""
    return GetPydanticSchema(
        lambda _, handler: core_schema.with_info_after_validator_function(function, handler(entry))
    )


@with_config(_STRICT)
class FileV2(TypedDict):
    schema_version: Literal[2]
    registry: str
    namespace: NotRequired[str]
    scanned_at: UtcTime
    # validated in this order: defaults and blobs before the manifests that need them
    defaults: NotRequired[Annotated[Defaults, _after(_defaults, Defaults)]]
    blobs: NotRequired[
        Annotated[
            BlobTable,
            GetPydanticSchema(
                lambda _, handler: core_schema.with_info_wrap_validator_function(_blob_table, handler(dict[str, Blob]))
            ),
        ]
    ]
    manifests: NotRequired[dict[str, Annotated[ManifestRecord, _after(_manifest, ManifestV2)]]]
    repositories: NotRequired[tuple[Annotated[Repository, _after(lambda r, _: _repository(r), RepositoryV2)], ...]]
    errors: NotRequired[tuple[ScanError, ...]]


_INVENTORY_FILE: TypeAdapter[FileV1 | FileV2] = TypeAdapter(
    Annotated[FileV1 | FileV2, Field(discriminator="schema_version")]
)


def validate(data: bytes) -> FileV1 | FileV2:
    """DATA validated as an inventory file; schema 2's records built on the way."""
    return _INVENTORY_FILE.validate_json(data, context={})
