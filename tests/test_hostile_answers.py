"""Hostile registry answers, round two: each is one repository's error or one sentence, never a
traceback, never a silently wrong number (token bodies, interim answers without end, header
sizes, ambiguous manifests, lying descriptors, dates at the ends of the calendar)."""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from typing import Any

import httpx
import pytest

from costcalc.errors import ManifestError, RegistryError
from costcalc.registry.challenge import RegistryAuth
from costcalc.registry.client import RegistryClient, RetryPolicy
from costcalc.registry.credentials import Credential
from costcalc.registry.oci import OCI_INDEX, parse_config, parse_created, parse_manifest
from tests.hostile import (
    OCI_CONFIG,
    OCI_LAYER,
    OCI_MANIFEST,
    SECRET_PASSWORD,
    SECRET_TOKEN,
    FakeRegistry,
    FakeSleep,
    LoopbackServer,
    canonical,
    config_body,
    digest_of,
    error,
    image_manifest,
    index_manifest,
    layer,
    scan_fake,
)

REALM = "https://auth.test/token"


def credential() -> Credential:
    return Credential("alice", SECRET_PASSWORD, source="--password-stdin")


def token_registry(token_answer: httpx.Response, tags: int = 1) -> FakeRegistry:
    """A registry wanting `Bearer SECRET_TOKEN` from auth.test, which answers TOKEN_ANSWER."""
    registry = FakeRegistry()
    for n in range(tags):
        registry.push_image("acme/api", f"v{n}", layers=[layer(f"layer {n}", 100 + n)])

    def gate(request: httpx.Request, match: re.Match[str]) -> httpx.Response | None:
        if request.headers.get("Authorization") == f"Bearer {SECRET_TOKEN}":
            return None
        challenge = f'Bearer realm="{REALM}",service="registry.test"'
        return error(401, "UNAUTHORIZED", "authentication required", headers={"WWW-Authenticate": challenge})

    registry.on(None, r"^registry\.test/v2/", gate)
    registry.on(None, r"^auth\.test/", lambda r, m: token_answer)
    return registry


def scan_with_token(registry: FakeRegistry) -> Any:
    auth = RegistryAuth(registry.host, credential())
    return scan_fake(registry, "acme", repos=("acme/api",), auth=auth)


# -- token bodies ---------------------------------------------------------------------------


def test_a_token_body_nested_200000_deep_is_the_repositorys_error() -> None:
    nested = b"[" * 200_000 + b"]" * 200_000
    inventory = scan_with_token(token_registry(httpx.Response(200, content=nested)))
    assert [e.reason for e in inventory.errors] == [
        "The token server https://auth.test/token sent JSON nested too deeply to read."
    ]


@pytest.mark.parametrize(
    "expires_in",
    [b"9" * 400, b"9" * 5000, b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-5", b'"300"', b"true"],
    ids=["400-digits", "5000-digits", "nan", "infinity", "minus-infinity", "1e400", "negative", "string", "bool"],
)
def test_an_absurd_expires_in_still_caches_the_token(expires_in: bytes) -> None:
    body = b'{"token": "%s", "expires_in": %s}' % (SECRET_TOKEN.encode(), expires_in)
    registry = token_registry(httpx.Response(200, content=body), tags=4)
    inventory = scan_with_token(registry)
    assert inventory.errors == ()
    assert len(inventory.repositories[0].tags) == 4
    # One token for the repository's scope, whatever the lifetime said: never one per request.
    assert len(registry.sent_to("auth.test")) == 1


def test_a_token_realm_with_an_untrusted_certificate_is_named_not_the_registry() -> None:
    registry = token_registry(httpx.Response(200, json={"token": SECRET_TOKEN}))

    def untrusted(request: httpx.Request, match: re.Match[str]) -> httpx.Response:
        cause = ssl.SSLCertVerificationError("certificate verify failed: self-signed certificate")
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]") from cause

    registry.on(None, r"^auth\.test/", untrusted)
    inventory = scan_with_token(registry)
    [failure] = inventory.errors
    assert "the TLS certificate of auth.test is not trusted" in failure.reason
    assert "registry.test is not trusted" not in failure.reason


# -- answers that never end, headers too large ----------------------------------------------


def test_endless_interim_answers_end_at_the_deadline_and_are_not_retried() -> None:
    """h11 (under httpx) skips 1xx answers without a limit; the whole-answer deadline ends it."""

    def processing(handler: Any) -> None:
        owner = handler.server.owner
        while not owner.stopping.wait(0.02):
            handler.wfile.write(b"HTTP/1.1 102 Processing\r\n\r\n")
            handler.wfile.flush()
        handler.close_connection = True

    with LoopbackServer() as server:
        server.route("GET", r"/tags/list", processing)

        async def main() -> None:
            retry = RetryPolicy(attempts=5)
            async with RegistryClient(server.host, timeout_seconds=0.5, sleep=FakeSleep(), retry=retry) as client:
                await client.tags("acme/api")

        started = time.monotonic()
        with pytest.raises(RegistryError, match=r"no complete answer within 1 s\.$"):
            asyncio.run(main())
        assert time.monotonic() - started < 4
        assert sum(1 for seen in server.seen if "tags/list" in seen.path) == 1


@pytest.mark.parametrize("status", [431, 494])
def test_a_request_refused_for_its_header_size_is_not_retried(status: int) -> None:
    registry = FakeRegistry()
    registry.push_image("acme/api", "v1")
    registry.on("GET", r"/tags/list", lambda r, m: httpx.Response(status, text="too large"))

    async def main() -> None:
        retry = RetryPolicy(attempts=5)
        async with RegistryClient(registry.host, transport=registry.transport(), sleep=FakeSleep(), retry=retry) as c:
            await c.tags("acme/api")

    with pytest.raises(RegistryError, match="refused the size of the request's headers") as caught:
        asyncio.run(main())
    assert caught.value.status == status
    assert registry.count("GET", r"/tags/list") == 1


# -- ambiguous manifests, lying descriptors ---------------------------------------------------


def _image_fields() -> dict[str, Any]:
    """An image manifest's fields, without a mediaType: a config and one 5 MB layer."""
    config = config_body()
    return {
        "schemaVersion": 2,
        "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": digest_of(b"5 MB layer"), "size": 5_000_000}],
    }


AMBIGUOUS = {
    "no-media-type-index-content-type-with-layers": (canonical(_image_fields()), OCI_INDEX),
    "layers-and-manifests": (canonical({**_image_fields(), "mediaType": OCI_MANIFEST, "manifests": []}), None),
    "index-media-type-with-layers": (canonical({**_image_fields(), "mediaType": OCI_INDEX}), None),
    "duplicate-media-type": (
        b'{"schemaVersion": 2, "mediaType": "%s", "mediaType": "%s", "manifests": []}'
        % (OCI_INDEX.encode(), OCI_MANIFEST.encode()),
        None,
    ),
}


@pytest.mark.parametrize(("body", "content_type"), AMBIGUOUS.values(), ids=AMBIGUOUS.keys())
def test_an_ambiguous_manifest_is_rejected(body: bytes, content_type: str | None) -> None:
    with pytest.raises(ManifestError, match="rejecting ambiguous manifest"):
        parse_manifest(body, digest_of(body), content_type)


def test_an_ambiguous_manifest_is_its_repositorys_error_and_the_scan_goes_on() -> None:
    registry = FakeRegistry()
    registry.push_image("acme/good", "v1")
    body, content_type = AMBIGUOUS["no-media-type-index-content-type-with-layers"]
    registry.tag("acme/bad", "v1", registry.add(body, content_type))
    inventory = scan_fake(registry, "acme")
    assert [(e.repository, e.tag) for e in inventory.errors] == [("acme/bad", "v1")]
    assert "rejecting ambiguous manifest" in inventory.errors[0].reason
    assert [r.name for r in inventory.repositories if r.tags] == ["acme/good"]
    assert inventory.figures.summary().tags == 1


def test_a_config_shorter_than_its_descriptor_claims_is_refused_not_counted() -> None:
    registry = FakeRegistry()
    config = config_body()
    registry.add(config, OCI_CONFIG)
    lying = canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": 10**12},
            "layers": [layer("a", 10)],
        }
    )
    registry.tag("acme/api", "v1", registry.add(lying, OCI_MANIFEST))
    inventory = scan_fake(registry, "acme")
    [failure] = inventory.errors
    assert f"is {len(config)} bytes, but the manifest says {10**12}" in failure.reason
    assert inventory.figures.summary().tags == 0
    assert all(blob.size_bytes < 10**12 for record in inventory.manifests.values() for blob in record.layers)


# -- dates at the ends of the calendar -------------------------------------------------------


@pytest.mark.parametrize("created", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_creation_time_outside_the_calendar_in_utc_is_no_date_and_no_crash(created: str) -> None:
    assert parse_created(created) is None
    body = config_body(created=created)
    assert parse_config(body, digest_of(body)).created is None
    registry = FakeRegistry()
    registry.push_image("acme/other", "v1")
    registry.add(body, OCI_CONFIG)
    manifest = canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": digest_of(body), "size": len(body)},
            "layers": [layer("old", 10)],
        }
    )
    registry.tag("acme/api", "v1", registry.add(manifest, OCI_MANIFEST))
    inventory = scan_fake(registry, "acme")
    assert inventory.errors == ()
    assert inventory.figures.summary().tags == 2


def test_the_calendars_own_ends_still_parse() -> None:
    assert parse_created("0001-01-01T00:00:00Z") is not None
    assert parse_created("9999-12-31T23:59:59Z") is not None


@pytest.mark.parametrize("lying_tag", ["a", "b"])
def test_an_index_claiming_the_wrong_size_for_a_child_fails_that_index_alone_whichever_tag_is_read_first(
    lying_tag: str,
) -> None:
    registry = FakeRegistry()
    config = config_body()
    registry.add(config, OCI_CONFIG)
    child = image_manifest(config, [layer("shared", 10)])
    registry.add(child, OCI_MANIFEST)
    honest = index_manifest([(child, "linux/amd64", OCI_MANIFEST)])
    lying = canonical(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": digest_of(child), "size": len(child) + 7}],
        }
    )
    honest_tag = "b" if lying_tag == "a" else "a"
    registry.tag("acme/api", lying_tag, registry.add(lying, OCI_INDEX))
    registry.tag("acme/api", honest_tag, registry.add(honest, OCI_INDEX))
    # One at a time, so the tag read first is the one listed first.
    inventory = scan_fake(registry, "acme", concurrency=1)
    assert [(e.tag, e.digest) for e in inventory.errors] == [(lying_tag, digest_of(lying))]
    assert f"is {len(child)} bytes, but the index says {len(child) + 7}" in inventory.errors[0].reason
    [repository] = inventory.repositories
    assert [t.tag for t in repository.tags] == [honest_tag]
