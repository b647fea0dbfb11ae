"""Synthetic fleets: images pushed into a real registry, and large inventories built in memory.

``push_fleet`` fills a running distribution registry over the real upload API
(POST /v2/NAME/blobs/uploads/ -> Location; PUT Location&digest=...; PUT
/v2/NAME/manifests/REF) with a namespace of services that share a few base images, tiny
blobs so that 2,000 tags build in about a minute. It returns the ground truth a scanner
must find: tags, distinct manifests and distinct configs, hence the minimum of requests.

``synthetic_inventory`` builds an Inventory of any number of tags with
``inventory.build_inventory``, shaped like a CI-fed registry (one version per tag, a
``latest`` alias, shared base layers, some multi-arch indexes), for the report benchmark.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from pydantic_core import to_json

from costcalc.inventory.model import BlobRef, ChildRef, Inventory, ManifestRecord, build_inventory

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
MULTI_ARCH_EVERY = 10  # every 10th repository publishes a two-platform index
ARCHES = ("amd64", "arm64")


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class FleetTruth:
    """What a namespace of the registry holds: the figures a correct scan must find."""

    namespace: str
    repositories: int = 0
    tags: int = 0
    manifests: set[str] = field(default_factory=set)
    configs: set[str] = field(default_factory=set)
    layers: int = 0  # layer references summed over tags (tags x layers)

    def minimum_requests(self, list_pages: int) -> int:
        """The minimum: list pages + one HEAD per tag + one GET per distinct manifest and config."""
        return list_pages + self.tags + len(self.manifests) + len(self.configs)

    def as_dict(self) -> dict[str, int | str]:
        return {
            "namespace": self.namespace,
            "repositories": self.repositories,
            "tags": self.tags,
            "distinct_manifests": len(self.manifests),
            "distinct_configs": len(self.configs),
            "tag_layer_references": self.layers,
        }


class Uploader:
    """Pushes blobs and manifests with the distribution upload API, a few requests at a time."""

    def __init__(self, base_url: str, concurrency: int = 8) -> None:
        self.client = httpx.AsyncClient(base_url=base_url, timeout=60)
        self.limit = asyncio.Semaphore(concurrency)
        self.requests = 0

    async def close(self) -> None:
        await self.client.aclose()

    async def blob(self, repo: str, data: bytes) -> str:
        digest = digest_of(data)
        async with self.limit:
            started = await self.client.post(f"/v2/{repo}/blobs/uploads/")
            started.raise_for_status()
            location = started.headers["location"]
            separator = "&" if "?" in location else "?"
            done = await self.client.put(
                f"{location}{separator}digest={digest}",
                content=data,
                headers={"Content-Type": "application/octet-stream"},
            )
            done.raise_for_status()
            self.requests += 2
        return digest

    async def manifest(self, repo: str, reference: str, body: bytes, media_type: str) -> str:
        async with self.limit:
            response = await self.client.put(
                f"/v2/{repo}/manifests/{reference}", content=body, headers={"Content-Type": media_type}
            )
            response.raise_for_status()
            self.requests += 1
        return digest_of(body)


def _json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _descriptor(media_type: str, data: bytes, **extra: object) -> dict[str, object]:
    return {"mediaType": media_type, "digest": digest_of(data), "size": len(data), **extra}


def _layer_bytes(*key: object) -> bytes:
    """A tiny, distinct layer body (a real fleet's would be megabytes; sizes don't matter here)."""
    seed = "/".join(str(k) for k in key).encode()
    return hashlib.sha512(seed).digest() * 4


@dataclass(frozen=True)
class _Image:
    manifest: bytes
    config: bytes
    layers: tuple[bytes, ...]


def _image(base: tuple[bytes, ...], app: tuple[bytes, ...], arch: str, created: datetime) -> _Image:
    layers = (*base, *app)
    config = _json(
        {
            "architecture": arch,
            "os": "linux",
            "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "rootfs": {"type": "layers", "diff_ids": [digest_of(b"diff" + layer) for layer in layers]},
        }
    )
    manifest = _json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": _descriptor(OCI_CONFIG, config),
            "layers": [_descriptor(OCI_LAYER, layer) for layer in layers],
        }
    )
    return _Image(manifest, config, layers)


async def _push_image(up: Uploader, repo: str, image: _Image, pushed: set[bytes]) -> None:
    blobs = [b for b in (*image.layers, image.config) if b not in pushed]
    pushed.update(blobs)
    await asyncio.gather(*(up.blob(repo, b) for b in blobs))


async def _push_service(
    up: Uploader,
    truth: FleetTruth,
    repo: str,
    index: int,
    versions: int,
    bases: list[tuple[bytes, ...]],
) -> None:
    """One repository: VERSIONS distinct images tagged v1..vN plus `latest` on the newest."""
    base = bases[index % len(bases)]
    pushed: set[bytes] = set()
    multi_arch = index % MULTI_ARCH_EVERY == 0
    last = b""
    for version in range(1, versions + 1):
        created = EPOCH + timedelta(days=index, hours=version)
        tag = f"v{version}"
        if multi_arch:
            children = []
            for arch in ARCHES:
                image = _image(base, (_layer_bytes(repo, version, arch),), arch, created)
                await _push_image(up, repo, image, pushed)
                await up.manifest(repo, digest_of(image.manifest), image.manifest, OCI_MANIFEST)
                truth.manifests.add(digest_of(image.manifest))
                truth.configs.add(digest_of(image.config))
                children.append(
                    _descriptor(OCI_MANIFEST, image.manifest, platform={"architecture": arch, "os": "linux"})
                )
            body = _json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children})
            await up.manifest(repo, tag, body, OCI_INDEX)
            last_type = OCI_INDEX
            layers_per_tag = sum(len(base) + 1 for _ in ARCHES)
        else:
            image = _image(base, (_layer_bytes(repo, version),), "amd64", created)
            await _push_image(up, repo, image, pushed)
            body = image.manifest
            await up.manifest(repo, tag, body, OCI_MANIFEST)
            truth.configs.add(digest_of(image.config))
            last_type = OCI_MANIFEST
            layers_per_tag = len(image.layers)
        truth.manifests.add(digest_of(body))
        truth.tags += 1
        truth.layers += layers_per_tag
        last = body
    await up.manifest(repo, "latest", last, last_type)
    truth.tags += 1
    truth.layers += layers_per_tag


def _bases(count: int, layers: int) -> list[tuple[bytes, ...]]:
    return [tuple(_layer_bytes("base", b, n) for n in range(layers)) for b in range(count)]


async def push_fleet(base_url: str, namespace: str, repositories: int, tags: int) -> FleetTruth:
    """Push REPOSITORIES services of TAGS tags each (TAGS-1 versions + latest) under NAMESPACE."""
    truth = FleetTruth(namespace, repositories=repositories)
    up = Uploader(base_url)
    bases = _bases(4, 3)
    try:
        width = len(str(repositories - 1))
        await asyncio.gather(
            *(
                _push_service(up, truth, f"{namespace}/svc-{i:0{width}d}", i, max(tags - 1, 1), bases)
                for i in range(repositories)
            )
        )
    finally:
        await up.close()
    return truth


async def push_aliases(
    base_url: str, namespace: str, repositories: int, images: int, tags_per_image: int, layers: int = 16
) -> FleetTruth:
    """IMAGES distinct images per repository, each under TAGS_PER_IMAGE tags (memory benchmark).

    The images are the same bytes whatever TAGS_PER_IMAGE is, so two namespaces pushed with
    1 and 10 tags per image hold the same distinct manifests with 10x the tags.
    """
    truth = FleetTruth(namespace, repositories=repositories)
    up = Uploader(base_url)
    base = _bases(1, layers - 2)[0]
    try:

        async def one(repo_index: int) -> None:
            repo = f"{namespace}/app-{repo_index:02d}"
            pushed: set[bytes] = set()
            for number in range(images):
                app = (_layer_bytes("mem", repo_index, number, 0), _layer_bytes("mem", repo_index, number, 1))
                image = _image(base, app, "amd64", EPOCH + timedelta(hours=number))
                await _push_image(up, repo, image, pushed)
                truth.manifests.add(digest_of(image.manifest))
                truth.configs.add(digest_of(image.config))
                await asyncio.gather(
                    *(
                        up.manifest(repo, f"b{number}-{alias}", image.manifest, OCI_MANIFEST)
                        for alias in range(tags_per_image)
                    )
                )
                truth.tags += tags_per_image
                truth.layers += tags_per_image * len(image.layers)

        await asyncio.gather(*(one(i) for i in range(repositories)))
    finally:
        await up.close()
    return truth


def synthetic_inventory(tags: int, tags_per_repo: int = 100, layers: int = 8) -> Inventory:
    """An Inventory of TAGS tags: TAGS/TAGS_PER_REPO repositories, one version per tag but `latest`.

    Each image has LAYERS layers: LAYERS-2 from one of 20 shared base images and 2 of its own
    (one carried over from the previous version, one new); every 10th repository publishes
    two-platform indexes. Digests are synthetic but well-formed.
    """
    repos = max(tags // tags_per_repo, 1)
    per_repo = max(tags // repos, 2)
    base_layers = [
        tuple(_fake_blob(OCI_LAYER, ("base", b, n), 20_000_000 + 1_000_003 * n) for n in range(layers - 2))
        for b in range(20)
    ]
    tag_map: dict[str, list[tuple[str, str]]] = {}
    manifests: dict[str, ManifestRecord] = {}
    for r in range(repos):
        name = f"team-{r % 25:02d}/svc-{r:05d}"
        pairs: list[tuple[str, str]] = []
        multi_arch = r % MULTI_ARCH_EVERY == 0
        previous = _fake_blob(OCI_LAYER, (name, "app", 0), 5_000_000 + r)
        for version in range(1, per_repo):
            created = EPOCH + timedelta(days=r % 300, minutes=version)
            own = _fake_blob(OCI_LAYER, (name, "app", version), 3_000_000 + 7 * version + r)
            image_layers = (*base_layers[r % 20], previous, own)
            previous = own
            if multi_arch:
                children = []
                for arch in ARCHES:
                    record = _fake_image(name, version, arch, created, image_layers)
                    child_digest = _fake_digest(name, version, arch)
                    manifests[child_digest] = record
                    children.append(
                        ChildRef(
                            media_type=OCI_MANIFEST,
                            digest=child_digest,
                            size_bytes=record.size_bytes,
                            platform=f"linux/{arch}",
                        )
                    )
                digest = _fake_digest(name, version, "index")
                manifests[digest] = ManifestRecord(
                    media_type=OCI_INDEX,
                    size_bytes=180 + 240 * len(children),
                    kind="image",
                    children=tuple(children),
                )
            else:
                digest = _fake_digest(name, version, "amd64")
                manifests[digest] = _fake_image(name, version, "amd64", created, image_layers)
            pairs.append((f"v{version}", digest))
        pairs.append(("latest", pairs[-1][1]))
        tag_map[name] = pairs
    return build_inventory(
        registry="registry.bench.invalid", namespace="", scanned_at=EPOCH, tags=tag_map, manifests=manifests
    )


def _fake_digest(*key: object) -> str:
    return digest_of("/".join(str(k) for k in key).encode())


def _fake_blob(media_type: str, key: tuple[object, ...], size: int) -> BlobRef:
    return BlobRef(media_type=media_type, digest=_fake_digest(*key), size_bytes=size)


def _fake_image(name: str, version: int, arch: str, created: datetime, layers: tuple[BlobRef, ...]) -> ManifestRecord:
    return ManifestRecord(
        media_type=OCI_MANIFEST,
        size_bytes=400 + 180 * len(layers),
        kind="image",
        platform=f"linux/{arch}",
        created=created,
        config=_fake_blob(OCI_CONFIG, (name, version, arch, "config"), 1_500 + version),
        layers=layers,
    )


def schema_1_text(inventory: Inventory) -> str:
    """INVENTORY as a schema-1 file (each manifest holding its descriptors whole), as costcalc
    wrote inventories before schema 2: what the benchmark compares the schema-2 file's size with."""

    def descriptor(ref: BlobRef) -> dict[str, object]:
        return {
            "media_type": ref.media_type,
            "digest": ref.digest,
            "size_bytes": ref.size_bytes,
            "foreign": ref.foreign,
        }

    def manifest(record: ManifestRecord) -> dict[str, object]:
        return {
            "media_type": record.media_type,
            "size_bytes": record.size_bytes,
            "kind": record.kind,
            "artifact_type": record.artifact_type,
            "platform": record.platform,
            "created": record.created,
            "config": descriptor(record.config) if record.config else None,
            "layers": [descriptor(layer) for layer in record.layers],
            "children": [
                {
                    "media_type": c.media_type,
                    "digest": c.digest,
                    "size_bytes": c.size_bytes,
                    "platform": c.platform,
                    "attestation": c.attestation,
                }
                for c in record.children
            ],
        }

    data = {
        "schema_version": 1,
        "registry": inventory.registry,
        "namespace": inventory.namespace,
        "scanned_at": inventory.scanned_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "repositories": [
            {"name": r.name, "tags": [{"tag": t.tag, "digest": t.digest} for t in r.tags]}
            for r in inventory.repositories
        ],
        "manifests": {digest: manifest(inventory.manifests[digest]) for digest in sorted(inventory.manifests)},
        "errors": [e.model_dump(mode="json") for e in inventory.errors],
    }
    return to_json(data, indent=1).decode() + "\n"
