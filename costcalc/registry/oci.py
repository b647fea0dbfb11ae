"""OCI and Docker wire formats: media types, descriptors, and parsing of verified bodies (pure).

Spec: https://github.com/opencontainers/image-spec (manifest.md, image-index.md, config.md)
and Docker's image manifest v2 schema 2.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from costcalc.errors import ManifestError
from costcalc.reference import is_valid_digest

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
OCI_ARTIFACT_MANIFEST = "application/vnd.oci.artifact.manifest.v1+json"  # pre-GA, still seen on ACR

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
IMAGE_CONFIG_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST, OCI_ARTIFACT_MANIFEST})
SCHEMA1_TYPES = frozenset({DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED})

# Sent on every manifest HEAD/GET: without the index types Docker Hub down-converts and
# answers with the linux/amd64 manifest's digest (distribution #2395).
MANIFEST_ACCEPT = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST, OCI_ARTIFACT_MANIFEST])

_FILESYSTEM_LAYER_PREFIXES = (
    "application/vnd.oci.image.layer.",
    "application/vnd.docker.image.rootfs.",
)
_FOREIGN_MARKERS = ("foreign", "nondistributable")

ATTESTATION_ANNOTATION = "vnd.docker.reference.type"
ATTESTATION_VALUE = "attestation-manifest"

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_CONFIG_BYTES = 4 * 1024 * 1024

Kind = Literal["image", "artifact"]
Shape = Literal["index", "manifest"]


@dataclass(frozen=True, slots=True)
class Descriptor:
    """A content descriptor: what a manifest says about a blob or a child manifest."""

    media_type: str
    digest: str
    size_bytes: int
    platform: str | None = None
    attestation: bool = False
    foreign: bool = False


@dataclass(frozen=True, slots=True)
class ParsedManifest:
    """A verified manifest or index body, reduced to what sizes and sharing need."""

    digest: str
    media_type: str
    size_bytes: int
    shape: Shape
    kind: Kind
    artifact_type: str | None
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    children: tuple[Descriptor, ...]
    subject: str | None = None  # the digest an OCI 1.1 referrer (signature, SBOM, ...) points at


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """The parts of an image config blob costcalc uses."""

    platform: str | None
    created: datetime | None


def sha256_digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def verify_digest(body: bytes, digest: str) -> None:
    """Raise ManifestError unless BODY hashes to DIGEST (sha256 or sha512, over the raw bytes)."""
    algorithm, _, expected = digest.partition(":")
    if algorithm not in ("sha256", "sha512"):
        raise ManifestError(f"digest {digest!r} uses an unsupported algorithm.")
    actual = hashlib.new(algorithm, body).hexdigest()
    if actual != expected:
        raise ManifestError(f"content of {digest} does not match its digest (got {algorithm}:{actual[:16]}...).")


def platform_key(value: object) -> str | None:
    """os/architecture[/variant] from a platform object, or None if it is not one."""
    if not isinstance(value, dict):
        return None
    os_name, arch, variant = value.get("os"), value.get("architecture"), value.get("variant")
    if not isinstance(os_name, str) or not isinstance(arch, str) or not os_name or not arch:
        return None
    key = f"{os_name}/{arch}"
    if isinstance(variant, str) and variant:
        key += f"/{variant}"
    return key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all distinct: a repeated key is read one way by one parser
    and another way by the next, so which value counts would be a guess."""
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ManifestError(f"rejecting ambiguous manifest: the key {key!r} appears more than once")
            seen.add(key)
    return data


def _load_json_object(body: bytes, what: str, limit: int, *, unique_keys: bool = False) -> dict[str, Any]:
    if len(body) > limit:
        raise ManifestError(f"{what} is {len(body)} bytes, over the {limit}-byte limit.")
    try:
        data = json.loads(body, object_pairs_hook=_unique_keys) if unique_keys else json.loads(body)
    except ManifestError as exc:
        raise ManifestError(f"{what}: {exc}.") from None
    except (ValueError, RecursionError) as exc:
        raise ManifestError(f"{what} is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ManifestError(f"{what} is not a JSON object.")
    return data


def _descriptor(value: object, where: str, *, in_index: bool = False) -> Descriptor:
    if not isinstance(value, dict):
        raise ManifestError(f"{where} is not a descriptor object.")
    media_type = value.get("mediaType")
    digest = value.get("digest")
    size = value.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise ManifestError(f"{where} has no mediaType.")
    if not is_valid_digest(digest):
        raise ManifestError(f"{where} has an invalid digest.")
    # bool is an int subclass in Python; a size must be a real non-negative integer.
    if not isinstance(size, int) or isinstance(size, bool) or size < 0 or size > 2**53:
        raise ManifestError(f"{where} has an invalid size {size!r}: sizes must be integers >= 0.")
    annotations = value.get("annotations")
    attestation = False
    platform = None
    if in_index:
        platform = platform_key(value.get("platform"))
        if isinstance(annotations, dict) and annotations.get(ATTESTATION_ANNOTATION) == ATTESTATION_VALUE:
            attestation = True
        if platform == "unknown/unknown":
            attestation, platform = True, None
    foreign = bool(value.get("urls")) or any(m in media_type for m in _FOREIGN_MARKERS)
    return Descriptor(
        media_type=media_type,
        digest=str(digest),
        size_bytes=size,
        platform=platform,
        attestation=attestation,
        foreign=foreign,
    )


def _descriptor_list(data: dict[str, Any], field: str, what: str, *, in_index: bool = False) -> tuple[Descriptor, ...]:
    raw = data.get(field, [])
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise ManifestError(f"{what}: {field} is not a list.")
    return tuple(_descriptor(item, f"{what}: {field}[{i}]", in_index=in_index) for i, item in enumerate(raw))


def detect_media_type(data: dict[str, Any], content_type: str | None) -> str:
    """The manifest's media type: its mediaType field, else Content-Type, else its shape."""
    declared = data.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    header = (content_type or "").split(";")[0].strip().lower()
    if header in INDEX_TYPES | MANIFEST_TYPES | SCHEMA1_TYPES:
        return header
    # mediaType is only SHOULD in OCI; GHCR and OCI-layout builds omit it (rules_oci #496).
    if "manifests" in data:
        return OCI_INDEX
    if "layers" in data or "config" in data or "blobs" in data:
        return OCI_MANIFEST
    if "fsLayers" in data or data.get("schemaVersion") == 1:
        return DOCKER_SCHEMA1
    return header or "unknown"


def _refuse_ambiguous(data: dict[str, Any], media_type: str, what: str) -> None:
    """Raise for a document that reads as an index one way and as an image another (as skopeo
    does): counting it either way could be a silently wrong number."""
    image_fields = sorted(key for key in ("config", "layers", "fsLayers") if key in data)
    if "manifests" in data and image_fields:
        problem = f"it has both manifests and {', '.join(image_fields)}"
    elif media_type in INDEX_TYPES and image_fields:
        problem = f"it is an index ({media_type}) with {', '.join(image_fields)}"
    elif media_type in MANIFEST_TYPES and "manifests" in data:
        problem = f"it is an image manifest ({media_type}) with manifests"
    else:
        return
    raise ManifestError(f"{what}: rejecting ambiguous manifest: {problem}.")


def _is_filesystem_layer(media_type: str) -> bool:
    return media_type.startswith(_FILESYSTEM_LAYER_PREFIXES) and "tar" in media_type


def parse_manifest(body: bytes, digest: str, content_type: str | None = None) -> ParsedManifest:
    """Verify BODY against DIGEST and parse it as an image manifest, index or artifact manifest."""
    if len(body) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"manifest {digest} is {len(body)} bytes, over the {MAX_MANIFEST_BYTES}-byte limit.")
    verify_digest(body, digest)
    what = f"manifest {digest}"
    data = _load_json_object(body, what, MAX_MANIFEST_BYTES, unique_keys=True)
    media_type = detect_media_type(data, content_type)
    _refuse_ambiguous(data, media_type, what)
    if media_type in SCHEMA1_TYPES:
        raise ManifestError(
            f"{what} is a Docker schema 1 manifest (legacy format, no layer sizes); "
            "re-push the image to convert it to schema 2 or OCI."
        )
    artifact_type = data.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise ManifestError(f"{what}: artifactType is not a string.")
    subject = _descriptor(data["subject"], f"{what}: subject").digest if data.get("subject") is not None else None
    if media_type in INDEX_TYPES:
        children = _descriptor_list(data, "manifests", what, in_index=True)
        if any(child.digest == digest for child in children):
            raise ManifestError(f"{what} lists itself as a child.")
        return ParsedManifest(
            digest=digest,
            media_type=media_type,
            size_bytes=len(body),
            shape="index",
            kind="artifact" if artifact_type else "image",
            artifact_type=artifact_type,
            config=None,
            layers=(),
            children=children,
            subject=subject,
        )
    if media_type not in MANIFEST_TYPES:
        raise ManifestError(f"{what} has unsupported media type {media_type!r}.")
    config = None
    if "config" in data and data["config"] is not None:
        config = _descriptor(data["config"], f"{what}: config")
    elif media_type != OCI_ARTIFACT_MANIFEST:
        raise ManifestError(f"{what} has no config descriptor.")
    layers = _descriptor_list(data, "blobs" if media_type == OCI_ARTIFACT_MANIFEST else "layers", what)
    is_artifact = (
        bool(artifact_type)
        or media_type == OCI_ARTIFACT_MANIFEST
        or config is None
        or config.media_type not in IMAGE_CONFIG_TYPES
        or not all(_is_filesystem_layer(layer.media_type) for layer in layers)
    )
    return ParsedManifest(
        digest=digest,
        media_type=media_type,
        size_bytes=len(body),
        shape="manifest",
        kind="artifact" if is_artifact else "image",
        artifact_type=artifact_type,
        config=config,
        layers=layers,
        children=(),
        subject=subject,
    )


def parse_config(body: bytes, digest: str) -> ImageConfig:
    """Verify and parse an image config blob for its platform and creation time."""
    if len(body) > MAX_CONFIG_BYTES:
        raise ManifestError(f"config {digest} is {len(body)} bytes, over the {MAX_CONFIG_BYTES}-byte limit.")
    verify_digest(body, digest)
    data = _load_json_object(body, f"config {digest}", MAX_CONFIG_BYTES)
    return ImageConfig(platform=platform_key(data), created=parse_created(data.get("created")))


def parse_created(value: object) -> datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime, or None if absent or unparseable."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Go writes up to nanoseconds; Python parses at most microseconds.
    head, dot, rest = text.partition(".")
    if dot:
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest}"
    try:
        created = datetime.fromisoformat(text)
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        # 0001-01-01T00:00:00+01:00 and 9999-12-31T23:59:59-01:00 parse, but fall outside the
        # years a datetime holds once in UTC.
        return created.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
