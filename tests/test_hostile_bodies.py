"""Hostile manifest bodies: too big, endless, malformed, lying about their digest, cyclic, deep.

Each test names the behaviour it proves; docs/reliability.md lists them for review.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from costcalc.errors import ManifestError, RegistryError
from costcalc.inventory.model import BlobRef, ChildRef, ManifestRecord, build_inventory
from costcalc.registry.client import RegistryClient, RetryPolicy
from costcalc.registry.oci import MAX_MANIFEST_BYTES, parse_manifest
from tests.hostile import (
    DOCKER_SCHEMA1_SIGNED,
    OCI_INDEX,
    OCI_MANIFEST,
    CountingStream,
    FakeRegistry,
    LoopbackServer,
    MiB,
    canonical,
    config_body,
    digest_of,
    image_manifest,
    layer,
    scan_fake,
    schema1_manifest,
)

NO_RETRY = RetryPolicy(attempts=1)


async def _no_sleep(_seconds: float) -> None:
    return None


def client_for(registry: FakeRegistry, **kwargs: Any) -> RegistryClient:
    kwargs.setdefault("retry", NO_RETRY)
    return RegistryClient(registry.host, transport=registry.transport(), sleep=_no_sleep, **kwargs)


async def _get_manifest(registry: FakeRegistry, digest: str) -> bytes:
    async with client_for(registry) as client:
        return (await client.get_manifest("acme/api", digest)).body


def manifest_body(**fields: Any) -> bytes:
    config = config_body()
    data = json.loads(image_manifest(config, [layer("a", 10)]))
    data.update(fields)
    return canonical(data)


# -- size limits: never read a hostile body into memory -------------------------------


def test_50mb_manifest_with_content_length_is_refused_before_reading() -> None:
    registry = FakeRegistry()
    registry.push_image("acme/api", "v1")
    stream = CountingStream(total=50 * MiB)
    registry.on(
        "GET",
        r"/manifests/sha256:",
        lambda r, m: httpx.Response(
            200, headers={"Content-Length": str(50 * MiB), "Content-Type": OCI_MANIFEST}, stream=stream
        ),
    )
    with pytest.raises(ManifestError, match="limit"):
        asyncio.run(_get_manifest(registry, digest_of(b"big")))
    assert stream.consumed <= 64 * 1024, "the body was read although Content-Length was over the limit"


def test_50mb_manifest_without_content_length_stops_at_the_limit() -> None:
    registry = FakeRegistry()
    registry.push_image("acme/api", "v1")
    stream = CountingStream(total=50 * MiB)
    registry.on(
        "GET",
        r"/manifests/sha256:",
        lambda r, m: httpx.Response(200, headers={"Content-Type": OCI_MANIFEST}, stream=stream),
    )
    with pytest.raises(ManifestError, match="limit"):
        asyncio.run(_get_manifest(registry, digest_of(b"big")))
    assert stream.consumed <= MAX_MANIFEST_BYTES + 64 * 1024


def test_endless_body_stops_at_the_limit() -> None:
    registry = FakeRegistry()
    registry.push_image("acme/api", "v1")
    stream = CountingStream(total=None)
    registry.on(
        "GET",
        r"/manifests/sha256:",
        lambda r, m: httpx.Response(200, headers={"Content-Type": OCI_MANIFEST}, stream=stream),
    )
    with pytest.raises(ManifestError):
        asyncio.run(_get_manifest(registry, digest_of(b"endless")))
    assert stream.consumed <= MAX_MANIFEST_BYTES + 64 * 1024


def test_endless_chunked_body_over_a_real_socket_stops_and_does_not_hang() -> None:
    with LoopbackServer() as server:
        server.route("GET", r"/manifests/", lambda h: h.endless_chunked(max_seconds=15))

        async def fetch() -> None:
            async with RegistryClient(server.host, retry=NO_RETRY, timeout_seconds=5) as client:
                await client.get_manifest("acme/api", digest_of(b"endless"))

        started = time.monotonic()
        with pytest.raises(ManifestError, match="limit"):
            asyncio.run(asyncio.wait_for(fetch(), timeout=10))
        assert time.monotonic() - started < 10
    assert server.endless_bytes < 64 * MiB  # the server saw the client hang up early


def test_huge_error_body_is_not_read() -> None:
    registry = FakeRegistry()
    stream = CountingStream(total=None)
    registry.on("GET", r"/manifests/", lambda r, m: httpx.Response(500, stream=stream))
    with pytest.raises(RegistryError, match="500"):
        asyncio.run(_get_manifest(registry, digest_of(b"x")))
    assert stream.consumed <= 1 * MiB + 64 * 1024


def test_gzip_bomb_is_bounded_after_decoding() -> None:
    """A small gzip body that inflates past the limit: the limit applies to decoded bytes."""
    import gzip

    bomb = gzip.compress(b" " * (8 * MiB))
    registry = FakeRegistry()
    registry.on(
        "GET",
        r"/manifests/",
        lambda r, m: httpx.Response(
            200, headers={"Content-Encoding": "gzip", "Content-Type": OCI_MANIFEST}, stream=httpx.ByteStream(bomb)
        ),
    )
    with pytest.raises(ManifestError, match="limit"):
        asyncio.run(_get_manifest(registry, digest_of(b"x")))


def test_corrupt_content_encoding_is_a_registry_error_not_a_crash() -> None:
    """Content-Encoding: gzip over garbage makes httpx raise DecodingError; it must be mapped."""
    registry = FakeRegistry()
    registry.on(
        "GET",
        r"/manifests/",
        lambda r, m: httpx.Response(
            200,
            headers={"Content-Encoding": "gzip", "Content-Type": OCI_MANIFEST},
            stream=httpx.ByteStream(b"this is not gzip"),
        ),
    )
    with pytest.raises(RegistryError):
        asyncio.run(_get_manifest(registry, digest_of(b"x")))


def test_redirect_loop_is_a_registry_error_not_a_crash() -> None:
    """A manifest GET that redirects to itself forever: httpx raises TooManyRedirects."""
    registry = FakeRegistry()
    registry.on("GET", r"/manifests/", lambda r, m: httpx.Response(302, headers={"Location": str(r.url)}))
    with pytest.raises(RegistryError):
        asyncio.run(_get_manifest(registry, digest_of(b"x")))


# -- malformed bodies: ManifestError, never another exception -------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (manifest_body()[:-7], "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
        (b"1" * 10_000, "not valid JSON"),
        (b'["a", "list"]', "not a JSON object"),
        (b'{"hello": "world"}', "unsupported media type"),
        (canonical({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}), "no config"),
        (manifest_body(layers={"not": "a list"}), "not a list"),
        (manifest_body(layers=[None]), "not a descriptor"),
        (manifest_body(config={"mediaType": "x", "digest": "md5:abc", "size": 1}), "invalid digest"),
        (manifest_body(artifactType=7), "artifactType"),
    ],
    ids=[
        "truncated",
        "empty",
        "binary",
        "deeply-nested",
        "huge-int",
        "array",
        "not-a-manifest",
        "no-config",
        "layers-object",
        "layer-null",
        "bad-digest",
        "artifact-type-int",
    ],
)
def test_malformed_manifest_is_a_manifest_error(body: bytes, reason: str) -> None:
    with pytest.raises(ManifestError, match=reason):
        parse_manifest(body, digest_of(body))


@pytest.mark.parametrize("size", [-1, -(2**63), 2**63, 2**64 + 1, 1.5, "100", True, None, float("nan")])
def test_negative_or_absurd_descriptor_size_is_rejected(size: object) -> None:
    config = config_body()
    data = json.loads(image_manifest(config, [layer("a", 10)]))
    data["layers"][0]["size"] = size
    body = json.dumps(data).encode()
    with pytest.raises(ManifestError, match="invalid size"):
        parse_manifest(body, digest_of(body))


def test_body_not_matching_the_requested_digest_is_rejected() -> None:
    body = manifest_body()
    other = digest_of(b"what was asked for")
    with pytest.raises(ManifestError, match="does not match"):
        parse_manifest(body, other)


def test_oversized_body_is_rejected_by_the_parser_before_hashing() -> None:
    body = b" " * (MAX_MANIFEST_BYTES + 1)
    with pytest.raises(ManifestError, match="limit"):
        parse_manifest(body, digest_of(b"anything"))


def test_schema1_manifest_is_an_error_naming_the_legacy_format() -> None:
    body = schema1_manifest("acme/api", "old")
    with pytest.raises(ManifestError, match="schema 1"):
        parse_manifest(body, digest_of(body), DOCKER_SCHEMA1_SIGNED)
    # also recognised by shape alone, without Content-Type or mediaType
    with pytest.raises(ManifestError, match="schema 1"):
        parse_manifest(body, digest_of(body), None)


def test_unknown_top_level_media_type_is_an_error_naming_it() -> None:
    body = manifest_body(mediaType="application/vnd.example.mystery+json")
    with pytest.raises(ManifestError, match=r"vnd\.example\.mystery"):
        parse_manifest(body, digest_of(body))


def test_unknown_layer_and_config_media_types_are_an_artifact_not_an_error() -> None:
    config = b"{}"
    body = canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.example.config+json", "digest": digest_of(config), "size": 2},
            "layers": [{"mediaType": "application/vnd.example.blob", "digest": digest_of(b"b"), "size": 5}],
        }
    )
    parsed = parse_manifest(body, digest_of(body))
    assert parsed.kind == "artifact"
    assert [x.size_bytes for x in parsed.layers] == [5]


def test_index_that_contains_itself_is_rejected() -> None:
    # The digest of a body cannot appear inside that body except by a hash collision, so the
    # parser is given the digest the index claims to list (as a lying registry would serve it).
    claimed = digest_of(b"claimed")
    body = canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_INDEX, "digest": claimed, "size": 100}],
        }
    )
    with pytest.raises(ManifestError):
        parse_manifest(body, claimed)


# -- counting: duplicates once, cycles and deep nesting bounded ----------------------

LAYER_MT = "application/vnd.oci.image.layer.v1.tar+gzip"


def _d(name: str) -> str:
    return digest_of(name.encode())


def _image(*layers: tuple[str, int]) -> ManifestRecord:
    return ManifestRecord(
        media_type=OCI_MANIFEST,
        size_bytes=100,
        kind="image",
        platform="linux/amd64",
        config=BlobRef(media_type="application/vnd.oci.image.config.v1+json", digest=_d("cfg"), size_bytes=10),
        layers=tuple(BlobRef(media_type=LAYER_MT, digest=_d(n), size_bytes=s) for n, s in layers),
    )


def _index(*children: str) -> ManifestRecord:
    return ManifestRecord(
        media_type=OCI_INDEX,
        size_bytes=50,
        kind="image",
        children=tuple(ChildRef(media_type=OCI_INDEX, digest=c, size_bytes=50) for c in children),
    )


NOW = datetime(2026, 11, 27, tzinfo=UTC)


def test_duplicate_layers_in_one_manifest_are_counted_once() -> None:
    body = image_manifest(config_body(), [layer("same", 1000), layer("same", 1000), layer("b", 1)])
    parsed = parse_manifest(body, digest_of(body))
    assert len(parsed.layers) == 3  # the parser keeps what the manifest says ...
    inventory = build_inventory(
        "r.test", "", NOW, {"acme/api": [("v1", _d("m"))]}, {_d("m"): _image(("same", 1000), ("same", 1000), ("b", 1))}
    )
    figures = inventory.figures
    # ... and sizes count each blob once: manifest 100 + config 10 + 1000 + 1
    assert figures.unique_bytes == 1111
    assert figures.naive_bytes == 1111
    assert figures.platforms(_d("m")) == {"linux/amd64": 1001}


def test_index_cycle_in_an_inventory_is_counted_once_and_terminates() -> None:
    manifests = {_d("a"): _index(_d("b")), _d("b"): _index(_d("a"), _d("img")), _d("img"): _image(("l", 7))}
    inventory = build_inventory("r.test", "", NOW, {"acme/api": [("v1", _d("a"))]}, manifests)
    figures = inventory.figures
    assert figures.unique_bytes == 50 + 50 + 100 + 10 + 7
    figures.platforms(_d("a"))
    figures.created(_d("a"))
    figures.pull_bytes(_d("a"), "linux/amd64")


def _deep_inventory(depth: int) -> Any:
    manifests = {_d("img"): _image(("l", 7))}
    child = _d("img")
    for level in range(depth):
        digest = _d(f"idx{level}")
        manifests[digest] = _index(child)
        child = digest
    return build_inventory("r.test", "", NOW, {"acme/api": [("v1", child)]}, manifests), child


def test_index_nesting_1000_levels_does_not_raise_recursion_error() -> None:
    inventory, top = _deep_inventory(1000)
    figures = inventory.figures
    assert figures.unique_bytes == 1000 * 50 + 100 + 10 + 7
    assert figures.summary().blobs == 1000 + 3
    assert figures.platforms(top) == {"linux/amd64": 7}
    assert figures.created(top) is None
    assert figures.pull_bytes(top, "linux/amd64") == 1000 * 50 + 100 + 10 + 7
    figures.version_delta_bytes("acme/api")


@pytest.mark.parametrize("concurrency", [1, 16])
def test_a_missing_child_is_an_error_of_every_tag_that_reaches_it(concurrency: int) -> None:
    from tests.hostile import (
        OCI_CONFIG,
        OCI_MANIFEST,
        config_body,
        image_manifest,
        index_manifest,
        layer,
        scan_fake,
    )

    registry = FakeRegistry()
    config = config_body("linux", "arm64")
    registry.add(config, OCI_CONFIG)
    arm = image_manifest(config, [layer("arm", 10)])  # listed by the index, never stored
    amd, _ = registry.blobs[registry.push_image("acme/a", "seed")]
    index = registry.add(
        index_manifest([(amd, "linux/amd64", OCI_MANIFEST), (arm, "linux/arm64", OCI_MANIFEST)]), OCI_INDEX
    )
    for repo in ("acme/a", "acme/b", "acme/c"):
        registry.tag(repo, "v1", index)
    inventory = scan_fake(registry, "acme", concurrency=concurrency)
    missing = {(e.repository, e.tag) for e in inventory.errors if e.digest == digest_of(arm)}
    assert missing == {("acme/a", "v1"), ("acme/b", "v1"), ("acme/c", "v1")}


def test_a_content_length_of_non_ascii_digits_is_ignored_and_the_body_read_within_the_limit() -> None:
    registry = FakeRegistry()
    digest = registry.push_image("acme/api", "v1")

    def superscript_length(request: httpx.Request, match: re.Match[str]) -> httpx.Response:
        body, media_type = registry.blobs[digest]
        headers = {"Content-Type": media_type, "Docker-Content-Digest": digest, "Content-Length": "²".encode()}
        return httpx.Response(200, headers=headers, content=body if request.method == "GET" else b"")

    registry.on(None, r"/v2/acme/api/manifests/", superscript_length)
    inventory = scan_fake(registry, "acme")
    assert inventory.errors == ()
    assert inventory.figures.summary().tags == 1
