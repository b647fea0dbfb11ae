"""Hostile auth: foreign or plain-HTTP realms, failing or huge token answers, endless 401s,
cross-host redirects, and a distinctive password searched for in every output and file."""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from costcalc.errors import CredentialsRejected
from costcalc.inventory.file import dumps
from costcalc.registry.cache import open_cache
from costcalc.registry.challenge import RegistryAuth
from costcalc.registry.credentials import Credential
from tests.hostile import (
    SECRET_PASSWORD,
    SECRET_TOKEN,
    CountingStream,
    FakeRegistry,
    LoopbackServer,
    all_header_text,
    error,
    layer,
    scan_fake,
    serve_registry,
)

USER = "alice"
BASIC = base64.b64encode(f"{USER}:{SECRET_PASSWORD}".encode()).decode()
SECRETS = (SECRET_PASSWORD, SECRET_TOKEN, BASIC)
REPO_ROOT = Path(__file__).resolve().parent.parent


def credential() -> Credential:
    return Credential(USER, SECRET_PASSWORD, source="--password-stdin")


def bearer_registry(realm: str, token_answer: httpx.Response | None = None) -> FakeRegistry:
    """A registry that wants `Bearer SECRET_TOKEN`, naming REALM as its token server."""
    registry = FakeRegistry()
    registry.push_image("acme/api", "v1")

    def gate(request: httpx.Request, match: re.Match[str]) -> httpx.Response | None:
        if request.headers.get("Authorization") == f"Bearer {SECRET_TOKEN}":
            return None
        return error(
            401,
            "UNAUTHORIZED",
            "authentication required",
            headers={"WWW-Authenticate": f'Bearer realm="{realm}",service="registry.test"'},
        )

    registry.on(None, r"^registry\.test/v2/", gate)
    realm_host = httpx.URL(realm).host
    registry.on(
        None,
        rf"^{re.escape(realm_host)}/",
        lambda r, m: token_answer or httpx.Response(200, json={"token": SECRET_TOKEN, "expires_in": 300}),
    )
    return registry


def scan_with_auth(registry: FakeRegistry, cred: Credential | None = None):  # type: ignore[no-untyped-def]
    return scan_fake(registry, "acme", repos=("acme/api",), auth=RegistryAuth(registry.host, cred or credential()))


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a credential reached {where}"


def test_bearer_flow_works_and_sends_the_password_only_to_the_https_realm() -> None:
    registry = bearer_registry("https://auth.test/token")
    inventory = scan_with_auth(registry)
    assert inventory.errors == ()
    assert [t.tag for t in inventory.repositories[0].tags] == ["v1"]
    assert_no_secret(
        all_header_text(registry.sent_to("registry.test")).replace(f"Bearer {SECRET_TOKEN}", ""),
        "the registry other than as the bearer token",
    )
    assert f"Basic {BASIC}" in all_header_text(registry.sent_to("auth.test"))


def test_realm_on_another_host_over_plain_http_gets_no_credentials() -> None:
    registry = bearer_registry("http://evil.example/token")
    inventory = scan_with_auth(registry)
    assert_no_secret(all_header_text(registry.sent_to("evil.example")), "a plain-HTTP realm")
    assert inventory.repositories == () or inventory.repositories[0].tags == ()
    assert any("plain-HTTP" in e.reason or "HTTP" in e.reason for e in inventory.errors)
    assert_no_secret(dumps(inventory), "the inventory")


def test_realm_at_an_internal_address_is_refused() -> None:
    registry = bearer_registry("https://169.254.169.254/latest/meta-data")
    inventory = scan_with_auth(registry)
    assert registry.sent_to("169.254.169.254") == []
    assert any("internal address" in e.reason for e in inventory.errors)


def test_realm_answering_500_is_a_recorded_error_and_the_scan_ends() -> None:
    registry = bearer_registry("https://auth.test/token", httpx.Response(500, text="boom"))
    inventory = scan_with_auth(registry)
    assert any("500" in e.reason for e in inventory.errors)
    assert len(registry.sent_to("auth.test")) <= 5
    assert_no_secret(dumps(inventory), "the inventory")


def test_2mb_token_is_refused_without_reading_it_all() -> None:
    stream = CountingStream(total=2 * 1024 * 1024, byte=b"a")
    registry = bearer_registry(
        "https://auth.test/token", httpx.Response(200, headers={"Content-Type": "application/json"}, stream=stream)
    )
    inventory = scan_with_auth(registry)
    assert any("1 MiB" in e.reason for e in inventory.errors)
    assert stream.consumed <= 1024 * 1024 + 64 * 1024


def test_401_that_never_ends_is_bounded() -> None:
    registry = bearer_registry("https://auth.test/token")
    registry.on(
        None,
        r"^registry\.test/v2/",
        lambda r, m: error(
            401,
            "UNAUTHORIZED",
            "no",
            headers={"WWW-Authenticate": 'Bearer realm="https://auth.test/token",service="registry.test"'},
        ),
    )
    with pytest.raises(CredentialsRejected) as info:
        scan_with_auth(registry)
    assert "rejected the credentials" in str(info.value)
    assert len(registry.requests) <= 10, [str(r.url) for r in registry.requests]


@pytest.mark.parametrize("route", [r"/blobs/", r"/manifests/sha256:"])
def test_redirect_to_another_host_does_not_forward_authorization(route: str) -> None:
    registry = bearer_registry("https://auth.test/token")
    served = dict(registry.blobs)

    def to_cdn(request: httpx.Request, match: re.Match[str]) -> httpx.Response | None:
        if request.headers.get("Authorization") != f"Bearer {SECRET_TOKEN}":
            return None
        digest = request.url.path.rsplit("/", 1)[1]
        return httpx.Response(307, headers={"Location": f"https://cdn.example/b/{digest}?sig=x"})

    def cdn(request: httpx.Request, match: re.Match[str]) -> httpx.Response:
        body, media_type = served[request.url.path.rsplit("/", 1)[1]]
        return httpx.Response(200, content=body, headers={"Content-Type": media_type})

    registry.on("GET", rf"^registry\.test/v2/acme/api{route}", to_cdn)
    registry.on("GET", r"^cdn\.example/", cdn)
    inventory = scan_with_auth(registry)
    assert inventory.errors == ()
    to_cdn_requests = registry.sent_to("cdn.example")
    assert to_cdn_requests, "the redirect was not followed"
    assert all("authorization" not in r.headers for r in to_cdn_requests)
    assert_no_secret(all_header_text(to_cdn_requests), "the redirect target")


def test_registry_echoing_the_token_in_an_error_does_not_leak_it() -> None:
    """A hostile registry reflects the Authorization header into its error message."""
    registry = bearer_registry("https://auth.test/token")

    def echo(request: httpx.Request, match: re.Match[str]) -> httpx.Response | None:
        auth = request.headers.get("Authorization")
        if auth is None:
            return None
        return error(500, "UNKNOWN", f"cannot serve you with {auth}")

    registry.on("GET", r"^registry\.test/v2/acme/api/manifests/", echo)
    registry.on("HEAD", r"^registry\.test/v2/acme/api/manifests/", lambda r, m: None)
    inventory = scan_with_auth(registry)
    assert inventory.errors, "the failing manifest should be recorded"
    assert_no_secret(dumps(inventory), "the inventory (echoed by the registry)")


def test_exception_text_never_holds_the_password() -> None:
    registry = bearer_registry("https://auth.test/token", httpx.Response(401, text="no"))
    with pytest.raises(CredentialsRejected) as info:
        scan_with_auth(registry)
    assert "rejected the credentials" in str(info.value)
    assert_no_secret(str(info.value), "an error message")
    assert_no_secret(repr(info.value), "an exception repr")
    assert SECRET_PASSWORD not in repr(credential())


# -- end to end: the CLI against a loopback registry with token auth --------------------


def _loopback_bearer(server: LoopbackServer, registry: FakeRegistry, echo: bool) -> None:
    serve_registry(server, registry)
    realm = f"{server.url}/token"

    def gate(handler) -> None:  # type: ignore[no-untyped-def]
        if handler.headers.get("Authorization") != f"Bearer {SECRET_TOKEN}":
            handler.respond(
                401,
                b'{"errors":[{"code":"UNAUTHORIZED","message":"login"}]}',
                {"WWW-Authenticate": f'Bearer realm="{realm}",service="loopback"'},
            )
            return
        server.routes[-1][2](handler)  # the registry itself (added first, so last)

    def token(handler) -> None:  # type: ignore[no-untyped-def]
        if handler.headers.get("Authorization") != f"Basic {BASIC}":
            handler.respond(401, b"{}")
            return
        handler.respond(200, json.dumps({"token": SECRET_TOKEN, "expires_in": 600}).encode())

    def broken(handler) -> None:  # type: ignore[no-untyped-def]
        message = f"cannot serve you with {handler.headers.get('Authorization')}" if echo else "no"
        handler.respond(404, json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN", "message": message}]}).encode())

    server.route(None, r"^/v2/", gate)
    server.route("GET", r"^/v2/acme/broken/manifests/sha256:", broken)
    server.route("GET", r"^/token", token)


@pytest.mark.parametrize("echo", [False, True], ids=["plain-404", "404-echoing-the-token"])
def test_cli_scan_never_prints_or_stores_the_password_or_token(tmp_path: Path, echo: bool) -> None:
    registry = FakeRegistry()
    registry.push_image("acme/api", "v1")
    registry.push_image("acme/broken", "v1")
    with LoopbackServer() as server:
        registry.host = server.host
        _loopback_bearer(server, registry, echo)
        cache_dir = tmp_path / "cache"
        out = tmp_path / "inventory.json"
        env = {
            **os.environ,
            "DOCKER_CONFIG": str(tmp_path / "nodocker"),
            "REGISTRY_AUTH_FILE": str(tmp_path / "noauth.json"),
            "NO_COLOR": "1",
        }
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "costcalc",
                "scan",
                f"{server.host}/acme",
                "--username",
                USER,
                "--password-stdin",
                "--cache-dir",
                str(cache_dir),
                "-o",
                str(out),
                "--format",
                "json",
            ],
            input=SECRET_PASSWORD + "\n",
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env=env,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [i["repository"] for i in document["images"]] == ["acme/api"]
    assert any(e["repository"] == "acme/broken" for e in document["errors"])
    assert_no_secret(result.stdout, "stdout")
    assert_no_secret(result.stderr, "stderr")
    assert_no_secret(out.read_text(), "the inventory file")
    for path in cache_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in SECRETS:
                assert secret.encode() not in data, f"a credential reached the cache file {path}"
    cache = open_cache(cache_dir)
    assert cache is not None
    cache.close()
    with sqlite3.connect(cache_dir / "cache.sqlite3") as db:
        dumped = "\n".join(db.iterdump())
    assert_no_secret(dumped, "the cache database")


def test_403_from_the_realm_carrying_the_token_text_is_not_echoed() -> None:
    registry = bearer_registry("https://auth.test/token", httpx.Response(403, text=SECRET_TOKEN))
    with pytest.raises(CredentialsRejected) as info:
        scan_with_auth(registry)
    assert "(403)" in str(info.value)
    assert_no_secret(str(info.value), "an error message")


# -- round two: credentials stay with the registry ----------------------------------------


@pytest.mark.parametrize(
    "challenge",
    ['Bearer realm="https://evil.example/token",service="cdn"', 'Basic realm="cdn"'],
    ids=["bearer", "basic"],
)
def test_a_redirect_targets_challenge_gets_no_credential_and_changes_no_auth_state(challenge: str) -> None:
    registry = bearer_registry("https://auth.test/token")
    registry.push_image("acme/api", "v2", layers=[layer("v2 only", 500)])
    first_config = json.loads(registry.blobs[registry.repos["acme/api"]["v1"]][0])["config"]["digest"]

    def to_cdn(request: httpx.Request, match: re.Match[str]) -> httpx.Response | None:
        if request.headers.get("Authorization") != f"Bearer {SECRET_TOKEN}":
            return None
        return httpx.Response(307, headers={"Location": f"https://cdn.example/b/{first_config}?sig=x"})

    registry.on("GET", rf"^registry\.test/v2/acme/api/blobs/{first_config}", to_cdn)
    registry.on(None, r"^cdn\.example/", lambda r, m: httpx.Response(401, headers={"WWW-Authenticate": challenge}))
    inventory = scan_with_auth(registry)

    failures = [e.reason for e in inventory.errors]
    assert failures and all("cdn.example" in reason and "asks for credentials" in reason for reason in failures)
    assert registry.sent_to("evil.example") == []
    assert_no_secret(all_header_text(registry.sent_to("cdn.example")), "the redirect target")
    # The registry's own flow goes on as before: every tag scanned with the registry's token.
    assert [t.tag for t in inventory.repositories[0].tags] == ["v1", "v2"]
    sent = [r.headers.get("Authorization") for r in registry.sent_to("registry.test")]
    assert set(sent) <= {None, f"Bearer {SECRET_TOKEN}"}
    assert sent[-1] == f"Bearer {SECRET_TOKEN}"


@pytest.mark.parametrize(
    "realm",
    [
        "https://2130706433:5001/token",
        "https://0x7f000001:5001/token",
        "https://127.1:5001/token",
        "https://localhost:5001/token",
        "https://[::1]:5001/token",
        "https://10.0.0.1/token",
        "https://169.254.169.254/latest",
    ],
)
def test_a_realm_resolving_to_an_internal_address_is_refused_however_spelled(realm: str) -> None:
    registry = bearer_registry(realm)
    inventory = scan_with_auth(registry)
    assert [r for r in registry.requests if r.url.host != "registry.test"] == []
    assert any("internal address" in e.reason for e in inventory.errors), inventory.errors


def fake_resolver(table: dict[str, str]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("no such name")
        return [table[host]]

    return resolve


def test_a_realm_name_that_resolves_to_loopback_is_refused() -> None:
    registry = bearer_registry("https://auth.corp.test/token")
    resolve = fake_resolver({"auth.corp.test": "127.0.0.1", "registry.test": "203.0.113.7"})
    auth = RegistryAuth(registry.host, credential(), resolve=resolve)
    inventory = scan_fake(registry, "acme", repos=("acme/api",), auth=auth)
    assert registry.sent_to("auth.corp.test") == []
    assert any("auth.corp.test, an internal address (loopback)" in e.reason for e in inventory.errors)


def test_a_private_registry_may_use_a_token_server_on_its_own_network() -> None:
    registry = bearer_registry("https://auth.corp.test/token")
    resolve = fake_resolver({"auth.corp.test": "10.0.0.6", "registry.test": "10.0.0.5"})
    auth = RegistryAuth(registry.host, credential(), resolve=resolve)
    inventory = scan_fake(registry, "acme", repos=("acme/api",), auth=auth)
    assert inventory.errors == ()
    assert len(registry.sent_to("auth.corp.test")) == 1


def test_an_ipv6_loopback_registry_receives_its_credentials_over_plain_http() -> None:
    registry = FakeRegistry(host="[::1]:5000")
    registry.push_image("acme/api", "v1")
    expected = f"Basic {BASIC}"

    def gate(request: httpx.Request, match: re.Match[str]) -> httpx.Response | None:
        if request.headers.get("Authorization") == expected:
            return None
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})

    registry.on(None, r"/v2/", gate)
    auth = RegistryAuth(registry.host, credential(), plain_http=True)
    inventory = scan_fake(registry, "acme", repos=("acme/api",), auth=auth, plain_http=True)
    assert inventory.errors == ()
    assert [t.tag for t in inventory.repositories[0].tags] == ["v1"]


def first_config_of(registry: FakeRegistry) -> str:
    return str(json.loads(registry.blobs[registry.repos["acme/api"]["v1"]][0])["config"]["digest"])


def test_a_redirect_targets_escape_sequences_never_reach_an_error() -> None:
    registry = bearer_registry("https://auth.test/token")
    config = first_config_of(registry)
    hostile = "https://cdn.example/%1b%5b2J%1b]0;pwned%07/x"

    def to_cdn(request: httpx.Request, match: re.Match[str]) -> httpx.Response | None:
        if request.headers.get("Authorization") != f"Bearer {SECRET_TOKEN}":
            return None
        return httpx.Response(307, headers={"Location": hostile})

    registry.on("GET", rf"^registry\.test/v2/acme/api/blobs/{config}", to_cdn)
    registry.on(None, r"^cdn\.example/", lambda r, m: httpx.Response(401, headers={"WWW-Authenticate": "Basic"}))
    inventory = scan_with_auth(registry)
    [failure] = inventory.errors
    assert "asks for credentials" in failure.reason
    assert hostile.lower() in failure.reason.lower()  # percent-encoded as sent, in whichever case
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", failure.reason)
    assert "\\u001b" not in dumps(inventory).lower() and "\\u0007" not in dumps(inventory).lower()


def test_an_error_value_in_a_challenge_reaches_the_message_without_control_characters() -> None:
    registry = FakeRegistry()
    registry.push_image("acme/api", "v1")
    challenge = 'Bearer realm="https://auth.test/token",service="registry.test",error="in\x1b[2J\x07valid"'
    registry.on(None, r"^registry\.test/v2/", lambda r, m: httpx.Response(401, headers={"WWW-Authenticate": challenge}))
    registry.on(None, r"^auth\.test/", lambda r, m: httpx.Response(200, json={"token": SECRET_TOKEN}))
    with pytest.raises(CredentialsRejected) as info:
        scan_with_auth(registry)
    assert "rejected the credentials from --password-stdin (401 in" in str(info.value)
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", str(info.value))


def test_a_redirect_targets_401_after_a_renewed_token_is_that_blobs_error_not_rejected_credentials() -> None:
    registry = bearer_registry("https://auth.test/token")
    # Another platform, so another config: v2 meets no redirect.
    registry.push_image("acme/api", "v2", layers=[layer("v2 only", 500)], platform="linux/arm64")
    config = first_config_of(registry)
    asked: list[str] = []

    def expired_then_cdn(request: httpx.Request, match: re.Match[str]) -> httpx.Response:
        asked.append(request.headers.get("Authorization", ""))
        if len(asked) == 1:  # the token has expired at the registry: renew it, then retry
            challenge = 'Bearer realm="https://auth.test/token",service="registry.test",error="invalid_token"'
            return error(401, "UNAUTHORIZED", "token expired", headers={"WWW-Authenticate": challenge})
        return httpx.Response(307, headers={"Location": f"https://cdn.example/b/{config}?sig=x"})

    registry.on("GET", rf"^registry\.test/v2/acme/api/blobs/{config}", expired_then_cdn)
    registry.on(None, r"^cdn\.example/", lambda r, m: httpx.Response(401, headers={"WWW-Authenticate": "Basic"}))
    inventory = scan_with_auth(registry)
    assert len(asked) == 2
    failures = [e.reason for e in inventory.errors]
    assert failures and all("cdn.example" in reason and "asks for credentials" in reason for reason in failures)
    # The scan went on: the other tag's blobs were read with the renewed token.
    assert [t.tag for t in inventory.repositories[0].tags] == ["v1", "v2"]
    assert all(e.tag == "v1" for e in inventory.errors)
    assert_no_secret(all_header_text(registry.sent_to("cdn.example")), "the redirect target")
