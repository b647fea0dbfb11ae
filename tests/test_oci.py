"""Manifest parsing: every media type, shape detection, attestations, artifacts, verification."""

from __future__ import annotations

import json
from typing import Any

import pytest

from costcalc.errors import ManifestError
from costcalc.registry.oci import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    parse_config,
    parse_manifest,
    sha256_digest,
)

D1, D2, D3 = (sha256_digest(x) for x in (b"1", b"2", b"3"))
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
IMAGE_CONFIG = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": D1, "size": 10}


def parsed(document: dict[str, Any], content_type: str | None = None) -> Any:
    body = json.dumps(document).encode()
    return parse_manifest(body, sha256_digest(body), content_type)


def image(media_type: str = OCI_MANIFEST, **extra: Any) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": IMAGE_CONFIG,
        "layers": [{"mediaType": OCI_LAYER, "digest": D2, "size": 100}],
        **extra,
    }


@pytest.mark.parametrize(
    ("document", "shape", "kind", "media_type"),
    [
        (image(), "manifest", "image", OCI_MANIFEST),
        (
            {
                **image(DOCKER_MANIFEST),
                "config": {
                    **IMAGE_CONFIG,
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "digest": D2,
                        "size": 5,
                    }
                ],
            },
            "manifest",
            "image",
            DOCKER_MANIFEST,
        ),
        (
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []},
            "index",
            "image",
            OCI_INDEX,
        ),
        (
            {"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": []},
            "index",
            "image",
            DOCKER_LIST,
        ),
        ({"schemaVersion": 2, "manifests": []}, "index", "image", OCI_INDEX),  # no mediaType (GHCR)
        (
            {"schemaVersion": 2, "config": IMAGE_CONFIG, "layers": []},
            "manifest",
            "image",
            OCI_MANIFEST,
        ),
        (
            image(artifactType="application/vnd.dev.cosign.artifact.sig.v1+json"),
            "manifest",
            "artifact",
            OCI_MANIFEST,
        ),
        (
            {
                **image(),
                "config": {**IMAGE_CONFIG, "mediaType": "application/vnd.cncf.helm.config.v1+json"},
            },
            "manifest",
            "artifact",
            OCI_MANIFEST,
        ),
        (
            {
                **image(),
                "layers": [
                    {
                        "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                        "digest": D2,
                        "size": 3,
                    }
                ],
            },
            "manifest",
            "artifact",
            OCI_MANIFEST,
        ),
    ],
)
def test_media_types_shapes_and_kinds(document: dict[str, Any], shape: str, kind: str, media_type: str) -> None:
    result = parsed(document)
    assert (result.shape, result.kind, result.media_type) == (shape, kind, media_type)


def test_content_type_decides_when_the_body_is_silent() -> None:
    body = {"schemaVersion": 2, "config": IMAGE_CONFIG, "layers": []}
    assert parsed(body, DOCKER_MANIFEST + "; charset=utf-8").media_type == DOCKER_MANIFEST


def test_index_entries_platforms_and_attestations() -> None:
    result = parsed(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": D1,
                    "size": 1,
                    "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
                },
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": D2,
                    "size": 2,
                    "platform": {"os": "unknown", "architecture": "unknown"},
                    "annotations": {
                        "vnd.docker.reference.type": "attestation-manifest",
                        "vnd.docker.reference.digest": D1,
                    },
                },
                {"mediaType": OCI_MANIFEST, "digest": D3, "size": 3},
            ],
        }
    )
    assert [(c.platform, c.attestation) for c in result.children] == [
        ("linux/arm64/v8", False),
        (None, True),
        (None, False),
    ]


def test_foreign_layers_are_flagged() -> None:
    result = parsed(
        {
            **image(DOCKER_MANIFEST),
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                    "digest": D2,
                    "size": 9,
                    "urls": ["https://mcr.microsoft.com/x"],
                },
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": D3,
                    "size": 1,
                },
            ],
        }
    )
    assert [layer.foreign for layer in result.layers] == [True, False]


def test_schema1_is_an_error_naming_the_legacy_format() -> None:
    with pytest.raises(ManifestError, match="Docker schema 1 manifest \\(legacy format"):
        parsed({"schemaVersion": 1, "name": "x", "tag": "v1", "fsLayers": [{"blobSum": D1}]})


def test_digest_mismatch_is_rejected() -> None:
    body = json.dumps(image()).encode()
    with pytest.raises(ManifestError, match="does not match its digest"):
        parse_manifest(body, sha256_digest(body + b" "))


@pytest.mark.parametrize("size", [-1, 1.5, "10", True, None])
def test_bad_sizes_are_rejected(size: object) -> None:
    with pytest.raises(ManifestError, match=r"invalid size|has no|invalid"):
        parsed({**image(), "layers": [{"mediaType": OCI_LAYER, "digest": D2, "size": size}]})


def test_config_gives_platform_and_created() -> None:
    body = json.dumps(
        {
            "os": "linux",
            "architecture": "arm",
            "variant": "v7",
            "created": "2026-03-04T05:06:07.123456789Z",
        }
    ).encode()
    config = parse_config(body, sha256_digest(body))
    assert config.platform == "linux/arm/v7"
    assert config.created is not None and config.created.isoformat() == "2026-03-04T05:06:07.123456+00:00"


def test_a_subject_is_read_as_the_digest_it_names_and_a_bad_one_is_refused() -> None:
    subject = {"mediaType": OCI_MANIFEST, "digest": D3, "size": 321}
    assert parsed(image(subject=subject)).subject == D3
    assert parsed(image()).subject is None
    with pytest.raises(ManifestError, match="subject"):
        parsed(image(subject={"mediaType": OCI_MANIFEST, "digest": "sha256:nothex", "size": 1}))
