"""Write examples/fleet.json: a deterministic, realistic inventory of a company's registry.

Run `python examples/generate.py` from the repository root; the output is byte-identical on
every run (seeded random numbers, fixed dates, digests that are real sha256 hashes of the
synthetic manifest, config and layer contents).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from costcalc.inventory.file import dumps
from costcalc.inventory.model import BlobRef, ChildRef, ManifestRecord, build_inventory

SEED = 20261127
SCANNED_AT = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
MB = 1_000_000

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
COSIGN_LAYER = "application/vnd.dev.cosign.simplesigning.v1+json"
INTOTO_LAYER = "application/vnd.in-toto+json"

# Base images as their compressed layers (bytes), per architecture: what `docker pull`
# of the base transfers. node:20-bookworm-slim and python:3.12-slim share debian's layer.
DEBIAN_SLIM = 28_230_000
BASES = {
    "node20": [
        ("debian-bookworm-slim", DEBIAN_SLIM),
        ("node20-runtime", 41_600_000),
        ("node20-yarn", 4_900_000),
        ("node20-entrypoint", 450),
    ],
    "python312": [
        ("debian-bookworm-slim", DEBIAN_SLIM),
        ("python312-deps", 3_500_000),
        ("python312-runtime", 13_100_000),
        ("python312-setuptools", 250),
    ],
    "distroless": [("distroless-static", 1_950_000), ("distroless-tzdata", 103_000)],
    "alpine": [("alpine-3.20", 3_620_000)],
}


def sha(content: str | bytes) -> str:
    data = content.encode() if isinstance(content, str) else content
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Service:
    name: str
    base: str
    deps_bytes: int  # dependency layer (node_modules, site-packages, ...)
    app_bytes: int  # application layer, varies a little per version
    versions: int
    multi_arch: bool = False
    signed: bool = False
    docker_media: bool = False  # built by an older pipeline: Docker schema 2 types


SERVICES = [
    Service("acme/web/storefront", "node20", 96 * MB, 14 * MB, 18, multi_arch=True, signed=True),
    Service("acme/web/checkout-ui", "node20", 88 * MB, 9 * MB, 14, multi_arch=True),
    Service("acme/web/admin", "node20", 71 * MB, 6 * MB, 9),
    Service("acme/web/docs", "node20", 45 * MB, 31 * MB, 6),
    Service("acme/api/gateway", "node20", 64 * MB, 4 * MB, 16, multi_arch=True, signed=True),
    Service("acme/api/orders", "node20", 58 * MB, 3 * MB, 15, multi_arch=True),
    Service("acme/api/catalog", "node20", 61 * MB, 3 * MB, 12),
    Service("acme/api/notifications", "node20", 39 * MB, 2 * MB, 10, docker_media=True),
    Service("acme/api/search", "python312", 180 * MB, 5 * MB, 11),
    Service("acme/payments/ledger", "distroless", 0, 24 * MB, 14, multi_arch=True, signed=True),
    Service("acme/payments/gateway", "distroless", 0, 19 * MB, 13, multi_arch=True, signed=True),
    Service("acme/payments/fraud-scoring", "python312", 410 * MB, 8 * MB, 9),
    Service("acme/data/etl", "python312", 240 * MB, 6 * MB, 12),
    Service("acme/data/reporting", "python312", 150 * MB, 4 * MB, 8),
    Service("acme/data/legacy-batch", "python312", 95 * MB, 3 * MB, 3, docker_media=True),
    Service("acme/ml/recommender", "python312", 1_650 * MB, 12 * MB, 7),
    Service("acme/platform/ingress-controller", "distroless", 0, 31 * MB, 10, multi_arch=True),
    Service("acme/platform/operator", "distroless", 0, 22 * MB, 9, multi_arch=True, signed=True),
    Service("acme/platform/migrations", "alpine", 12 * MB, 1 * MB, 8),
    Service("acme/platform/cli", "distroless", 0, 14 * MB, 6, multi_arch=True),
    Service("acme/ci/runner", "alpine", 310 * MB, 2 * MB, 5),
    Service("acme/ci/node-builder", "node20", 120 * MB, 1 * MB, 4),
    Service("acme/ci/python-builder", "python312", 95 * MB, 1 * MB, 1),
]
CHARTS = ["storefront", "checkout-ui", "gateway", "orders", "ledger", "ingress-controller"]


class Fleet:
    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.manifests: dict[str, ManifestRecord] = {}
        self.tags: dict[str, list[tuple[str, str]]] = {}

    def layer(self, key: str, size: int, media_type: str = OCI_LAYER) -> BlobRef:
        return BlobRef(media_type=media_type, digest=sha(f"layer:{key}"), size_bytes=size)

    def config(self, payload: dict[str, object], media_type: str = OCI_CONFIG) -> tuple[BlobRef, str]:
        body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        return BlobRef(media_type=media_type, digest=sha(body), size_bytes=len(body)), sha(body)

    def manifest(self, media_type: str, body: dict[str, object], record: dict[str, object]) -> str:
        """Store a manifest whose digest and size are those of its real JSON body."""
        data = json.dumps(body, sort_keys=True, indent=3).encode()
        digest = sha(data)
        self.manifests[digest] = ManifestRecord(media_type=media_type, size_bytes=len(data), **record)  # type: ignore[arg-type]
        return digest

    def image(self, repo: str, layers: list[BlobRef], created: datetime, platform: str, docker: bool) -> str:
        os_name, arch = platform.split("/")[:2]
        config, _ = self.config(
            {
                "architecture": arch,
                "os": os_name,
                "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "config": {"Labels": {"org.opencontainers.image.source": f"https://git.example.com/{repo}"}},
                "rootfs": {"type": "layers", "diff_ids": [sha(f"diff:{lay.digest}") for lay in layers]},
            },
            DOCKER_CONFIG if docker else OCI_CONFIG,
        )
        media_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
        body = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": config.media_type, "digest": config.digest, "size": config.size_bytes},
            "layers": [{"mediaType": lay.media_type, "digest": lay.digest, "size": lay.size_bytes} for lay in layers],
        }
        return self.manifest(
            media_type,
            body,
            {"kind": "image", "platform": platform, "created": created, "config": config, "layers": tuple(layers)},
        )

    def attestation(self, repo: str, subject: str, created: datetime) -> str:
        config, _ = self.config({"attestation-for": subject})
        sbom = self.layer(f"sbom:{repo}:{subject}", self.rng.randint(40_000, 900_000), INTOTO_LAYER)
        provenance = self.layer(f"provenance:{repo}:{subject}", self.rng.randint(4_000, 12_000), INTOTO_LAYER)
        body = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": config.media_type, "digest": config.digest, "size": config.size_bytes},
            "layers": [
                {"mediaType": x.media_type, "digest": x.digest, "size": x.size_bytes} for x in (sbom, provenance)
            ],
        }
        return self.manifest(
            OCI_MANIFEST, body, {"kind": "artifact", "created": created, "config": config, "layers": (sbom, provenance)}
        )

    def index(self, children: list[ChildRef]) -> str:
        body = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": c.media_type,
                    "digest": c.digest,
                    "size": c.size_bytes,
                    "platform": {
                        "os": (c.platform or "unknown/unknown").split("/")[0],
                        "architecture": (c.platform or "unknown/unknown").split("/")[1],
                    },
                }
                for c in children
            ],
        }
        return self.manifest(OCI_INDEX, body, {"kind": "image", "children": tuple(children)})

    def signature(self, repo: str, subject: str, created: datetime) -> str:
        config, _ = self.config({"architecture": "", "os": "", "rootfs": {"type": "layers", "diff_ids": []}})
        payload = self.layer(f"cosign:{repo}:{subject}", self.rng.randint(240, 420), COSIGN_LAYER)
        body = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": config.media_type, "digest": config.digest, "size": config.size_bytes},
            "layers": [{"mediaType": payload.media_type, "digest": payload.digest, "size": payload.size_bytes}],
        }
        return self.manifest(
            OCI_MANIFEST, body, {"kind": "artifact", "created": created, "config": config, "layers": (payload,)}
        )

    def child(self, digest: str, platform: str | None, attestation: bool = False) -> ChildRef:
        record = self.manifests[digest]
        return ChildRef(
            media_type=record.media_type,
            digest=digest,
            size_bytes=record.size_bytes,
            platform=platform if not attestation else "unknown/unknown",
            attestation=attestation,
        )

    def service(self, svc: Service) -> None:
        rng = self.rng
        tags: list[tuple[str, str]] = []
        start = SCANNED_AT - timedelta(days=150)
        step = timedelta(days=150 / (svc.versions + 1))
        base_release = 0
        deps_release = 0
        major, minor, patch = rng.randint(1, 3), rng.randint(0, 9), 0
        platforms = ["linux/amd64", "linux/arm64"] if svc.multi_arch else ["linux/amd64"]
        pr = rng.randint(100, 900)
        for v in range(svc.versions):
            created = start + step * (v + 1) + timedelta(minutes=rng.randint(0, 600))
            if v and rng.random() < 0.12:
                base_release += 1  # the base image was rebuilt with security fixes
            if v and rng.random() < 0.3:
                deps_release += 1  # a lockfile change
            children: list[ChildRef] = []
            digest = ""
            for platform in platforms:
                arch = platform.split("/")[1]
                media = DOCKER_LAYER if svc.docker_media else OCI_LAYER
                layers = [
                    self.layer(f"{key}:{arch}:{base_release // 2 if 'debian' in key else base_release}", size, media)
                    for key, size in BASES[svc.base]
                ]
                if svc.deps_bytes:
                    deps = int(svc.deps_bytes * (1 + 0.01 * deps_release))
                    layers.append(self.layer(f"{svc.name}:deps:{arch}:{deps_release}", deps, media))
                app = int(svc.app_bytes * rng.uniform(0.95, 1.05))
                layers.append(self.layer(f"{svc.name}:app:{arch}:{v}", app, media))
                digest = self.image(svc.name, layers, created, platform, svc.docker_media)
                children.append(self.child(digest, platform))
            if svc.multi_arch:
                for image_child in list(children):  # buildx attaches an SBOM and provenance per image
                    attestation = self.attestation(svc.name, image_child.digest, created)
                    children.append(self.child(attestation, None, attestation=True))
                digest = self.index(children)
            sha7 = sha(f"commit:{svc.name}:{v}")[7:14]
            tags.append((f"sha-{sha7}", digest))
            if v % 3 == 2 or v == svc.versions - 1:
                patch += 1
                tags.append((f"v{major}.{minor}.{patch}", digest))
            if v == svc.versions - 2:
                pr += rng.randint(1, 40)
                tags.append((f"pr-{pr}", digest))
            if svc.signed and (v % 3 == 2 or v == svc.versions - 1):
                signature = self.signature(svc.name, digest, created)
                tags.append((f"{digest.replace(':', '-')}.sig", signature))
        newest = digest
        tags.append(("main", newest))
        if svc.name != "acme/ci/node-builder":  # no `latest` here: a pull takes the newest version
            tags.append(("latest", newest))
        self.tags[svc.name] = tags

    def chart(self, name: str) -> None:
        tags: list[tuple[str, str]] = []
        for n in range(self.rng.randint(8, 16)):
            version = f"0.{n // 4 + 3}.{n % 4}"
            config, _ = self.config(
                {"apiVersion": "v2", "name": name, "version": version, "type": "application"}, HELM_CONFIG
            )
            content = self.layer(f"chart:{name}:{version}", self.rng.randint(3_500, 28_000), HELM_LAYER)
            created = SCANNED_AT - timedelta(days=140 - n * 8)
            body = {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": HELM_CONFIG, "digest": config.digest, "size": config.size_bytes},
                "layers": [{"mediaType": HELM_LAYER, "digest": content.digest, "size": content.size_bytes}],
            }
            digest = self.manifest(
                OCI_MANIFEST,
                body,
                {
                    "kind": "artifact",
                    "artifact_type": HELM_CONFIG,
                    "created": created,
                    "config": config,
                    "layers": (content,),
                },
            )
            tags.append((version, digest))
        self.tags[f"acme/charts/{name}"] = tags


def build() -> str:
    fleet = Fleet()
    for svc in SERVICES:
        fleet.service(svc)
    for chart in CHARTS:
        fleet.chart(chart)
    inventory = build_inventory("registry.example.com", "acme", SCANNED_AT, fleet.tags, fleet.manifests)
    return dumps(inventory)


def main() -> None:
    target = Path(__file__).resolve().parent / "fleet.json"
    target.write_text(build(), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
