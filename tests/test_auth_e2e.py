"""Basic (htpasswd) and Bearer (token server) auth against the real distribution registry."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import bcrypt
import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from costcalc.errors import Unauthorized
from costcalc.registry.challenge import RegistryAuth
from costcalc.registry.credentials import Credential
from costcalc.registry.scan import ScanOptions, run_scan
from tests.certificates import self_signed
from tests.registryd import Pusher, RunningRegistry, start_registry

ROOT = Path(__file__).resolve().parent.parent
USER = "alice"
# Unique per run so a grep for it cannot match anything but a leak.
PASSWORD = "pw-" + secrets.token_hex(12)
WRONG = "wrong-" + secrets.token_hex(12)
REPOS = ["acme/api", "acme/web", "acme/worker"]
ISSUER = "costcalc-test-issuer"
SERVICE = "costcalc-test-registry"


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def push_images(push: Pusher) -> None:
    for n, repo in enumerate(REPOS):
        push.image(repo, "v1", [b"shared base layer" * 20, f"layer {n}".encode()])
        push.image(repo, "v2", [b"shared base layer" * 20, f"layer {n} v2".encode()])


def run_cli(registry: RunningRegistry, password: str, workdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    workdir.mkdir(parents=True, exist_ok=True)  # -o's directory must exist before the scan starts
    args = [
        sys.executable,
        "-m",
        "costcalc",
        "scan",
        f"{registry.host}/acme",
        "--plain-http",
        "--username",
        USER,
        "--password-stdin",
        "--cache-dir",
        str(workdir / "cache"),
        "-o",
        str(workdir / "inventory.json"),
        *extra,
    ]
    for repo in REPOS:
        args += ["--repo", repo]
    return subprocess.run(
        args,
        input=password + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def assert_never_stored(secret_values: list[str], done: subprocess.CompletedProcess[str], workdir: Path) -> None:
    """No secret in stdout, stderr, the inventory or any cache file (bytes grepped)."""
    places = {"stdout": done.stdout.encode(), "stderr": done.stderr.encode()}
    for path in workdir.rglob("*"):
        if path.is_file():
            places[str(path)] = path.read_bytes()
    for secret in secret_values:
        for where, data in places.items():
            assert secret.encode() not in data, f"a secret leaked into {where}"
            assert base64.b64encode(f"{USER}:{secret}".encode()) not in data, f"Basic value in {where}"


def assert_scanned(workdir: Path) -> None:
    inventory = json.loads((workdir / "inventory.json").read_text())
    assert inventory["errors"] == []
    assert {r["name"]: len(r["tags"]) for r in inventory["repositories"]} == dict.fromkeys(REPOS, 2)
    assert len(inventory["manifests"]) == 2 * len(REPOS)


def assert_rejected_once(stderr: str, sentence: str) -> None:
    """Rejected credentials end the scan with exactly one error sentence, not one per repository."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines == [f"costcalc: error: {sentence}"], stderr


def one_sentence_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("costcalc: error: ") and lines[0].endswith("."), stderr
    return lines[0]


# --- Basic: htpasswd ----------------------------------------------------------------------


@pytest.fixture
def htpasswd_registry(tmp_path: Path) -> Iterator[RunningRegistry]:
    # distribution 2.8 accepts htpasswd auth over plain HTTP (no TLS needed on loopback);
    # it verifies bcrypt entries only.
    htpasswd = tmp_path / "htpasswd"
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    htpasswd.write_text(f"{USER}:{hashed}\n")
    running = start_registry(
        tmp_path / "registry", auth={"htpasswd": {"realm": "costcalc-test", "path": str(htpasswd)}}
    )
    push = Pusher(running.url, headers={"Authorization": basic(USER, PASSWORD)})
    try:
        push_images(push)
        push.close()
        yield running
    finally:
        running.stop()


def test_basic_flow_answers_one_challenge_then_sends_basic_preemptively(
    htpasswd_registry: RunningRegistry,
) -> None:
    since = htpasswd_registry.access_log_offset()
    auth = RegistryAuth(htpasswd_registry.host, Credential(USER, PASSWORD, source="test"))

    async def list_tags() -> None:
        async with httpx.AsyncClient(base_url=htpasswd_registry.url, auth=auth) as client:
            for repo in REPOS:
                assert (await client.get(f"/v2/{repo}/tags/list")).json()["tags"] == ["v1", "v2"]

    asyncio.run(list_tags())
    statuses = [status for _, _, status in htpasswd_registry.requests(since, user_agent="python-httpx")]
    assert statuses == [401, 200, 200, 200]


def test_basic_flow_wrong_password_is_unauthorized(htpasswd_registry: RunningRegistry) -> None:
    auth = RegistryAuth(htpasswd_registry.host, Credential(USER, WRONG, source="--password-stdin"))

    async def list_tags() -> None:
        async with httpx.AsyncClient(base_url=htpasswd_registry.url, auth=auth) as client:
            await client.get("/v2/acme/api/tags/list")

    with pytest.raises(Unauthorized) as caught:
        asyncio.run(list_tags())
    assert str(caught.value) == (
        f"{htpasswd_registry.host} rejected the credentials from --password-stdin (401 UNAUTHORIZED)."
    )


def test_an_ipv6_loopback_registry_is_scanned_with_credentials(tmp_path: Path) -> None:
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"{USER}:{bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()}\n")
    running = start_registry(
        tmp_path / "registry",
        auth={"htpasswd": {"realm": "costcalc-test", "path": str(htpasswd)}},
        address="::1",
    )
    try:
        assert running.host.startswith("[::1]:")
        push = Pusher(running.url, headers={"Authorization": basic(USER, PASSWORD)})
        push_images(push)
        push.close()
        options = ScanOptions(use_cache=False, username=USER, password=PASSWORD, repos=tuple(REPOS))
        inventory = run_scan(f"{running.host}/acme", options)
    finally:
        running.stop()
    assert inventory.errors == ()
    assert {r.name: len(r.tags) for r in inventory.repositories} == dict.fromkeys(REPOS, 2)


def test_basic_scan_cli(htpasswd_registry: RunningRegistry, tmp_path: Path) -> None:
    ok = run_cli(htpasswd_registry, PASSWORD, tmp_path / "ok")
    assert ok.returncode == 0, ok.stderr
    assert_scanned(tmp_path / "ok")
    assert_never_stored([PASSWORD], ok, tmp_path / "ok")

    bad = run_cli(htpasswd_registry, WRONG, tmp_path / "bad", "--strict")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    expected = f"{htpasswd_registry.host} rejected the credentials from --password-stdin (401 UNAUTHORIZED)."
    assert_rejected_once(bad.stderr, expected)
    assert_never_stored([WRONG, PASSWORD], bad, tmp_path / "bad")


def test_wrong_password_ends_the_scan_with_one_sentence(htpasswd_registry: RunningRegistry, tmp_path: Path) -> None:
    bad = run_cli(htpasswd_registry, WRONG, tmp_path)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    line = one_sentence_error(bad.stderr)
    assert "rejected the credentials from --password-stdin" in line


# --- Bearer: a token server issuing RS256 JWTs with an x5c chain ---------------------------


@dataclass
class TokenServer:
    """Issues distribution-style JWTs for Basic USER:PASSWORD; records every request."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def mint(self, subject: str, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            granted = [a for a in actions.split(",") if a in ("pull", "push", "*")]
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        der = self.cert.public_bytes(serialization.Encoding.DER)
        # distribution 2.8 checks the x5c chain against rootcertbundle (token.go verifySigningKey).
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"x5c": [base64.b64encode(der).decode()]})
        self.issued.append(token)
        return token


def make_token_server() -> tuple[TokenServer, ThreadingHTTPServer]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = self_signed(key, "costcalc test token issuer")
    server = TokenServer(key, cert)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            authorization = self.headers.get("Authorization")
            server.requests.append(
                {
                    "path": urlsplit(self.path).path,
                    "query": query,
                    "authorized": authorization is not None,
                }
            )
            if authorization != basic(USER, PASSWORD):
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"details": "bad credentials"}')
                return
            token = server.mint(USER, query.get("scope", []))
            body = json.dumps({"token": token, "expires_in": 300}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.port = http.server_address[1]
    threading.Thread(target=http.serve_forever, daemon=True).start()
    return server, http


@pytest.fixture
def token_registry(tmp_path: Path) -> Iterator[tuple[RunningRegistry, TokenServer]]:
    server, http = make_token_server()
    bundle = tmp_path / "root.pem"
    bundle.write_bytes(server.cert.public_bytes(serialization.Encoding.PEM))
    auth = {
        "token": {
            "realm": server.realm,
            "service": SERVICE,
            "issuer": ISSUER,
            "rootcertbundle": str(bundle),
        }
    }
    running = start_registry(tmp_path / "registry", auth=auth)
    try:
        push = Pusher(
            running.url,
            headers={"Authorization": "Bearer " + server.mint("pusher", [f"repository:{r}:pull,push" for r in REPOS])},
        )
        push_images(push)
        push.close()
        server.requests.clear()
        server.issued.clear()
        yield running, server
    finally:
        running.stop()
        http.shutdown()
        http.server_close()


def test_bearer_flow_costs_one_token_request_per_repository(
    token_registry: tuple[RunningRegistry, TokenServer],
) -> None:
    registry, server = token_registry
    since = registry.access_log_offset()
    auth = RegistryAuth(registry.host, Credential(USER, PASSWORD, source="test"))
    accept = "application/vnd.oci.image.manifest.v1+json"
    with httpx.Client(base_url=registry.url, auth=auth) as client:
        for repo in REPOS:
            assert client.get(f"/v2/{repo}/tags/list").json()["tags"] == ["v1", "v2"]
            for tag in ("v1", "v2"):
                head = client.head(f"/v2/{repo}/manifests/{tag}", headers={"Accept": accept})
                assert head.status_code == 200
    statuses = [status for _, _, status in registry.requests(since, user_agent="python-httpx")]
    # One 401 to learn the realm; after that every repository's token is fetched first.
    assert statuses == [401] + [200] * (len(REPOS) * 3)
    assert [r["query"]["scope"] for r in server.requests] == [[f"repository:{r}:pull"] for r in REPOS]
    assert all(r["authorized"] for r in server.requests)
    assert all(len(r["query"]["scope"]) == 1 for r in server.requests)  # never accumulated


def test_bearer_flow_wrong_password_is_one_sentence(
    token_registry: tuple[RunningRegistry, TokenServer],
) -> None:
    registry, server = token_registry
    auth = RegistryAuth(registry.host, Credential(USER, WRONG, source="--password-stdin"))
    with (
        httpx.Client(base_url=registry.url, auth=auth) as client,
        pytest.raises(Unauthorized) as caught,
    ):
        client.get("/v2/acme/api/tags/list")
    assert str(caught.value) == (
        f"The token server {server.realm} rejected the credentials from --password-stdin (401)."
    )
    assert len(server.requests) == 1


def test_bearer_scan_cli(token_registry: tuple[RunningRegistry, TokenServer], tmp_path: Path) -> None:
    registry, server = token_registry
    since = registry.access_log_offset()
    ok = run_cli(registry, PASSWORD, tmp_path / "ok")
    assert ok.returncode == 0, ok.stderr
    assert_scanned(tmp_path / "ok")
    statuses = [status for _, _, status in registry.requests(since)]
    assert statuses.count(401) <= 1, statuses  # realm learned once, then tokens fetched first
    scopes = sorted(s for r in server.requests for s in r["query"].get("scope", []))
    assert scopes == sorted(f"repository:{r}:pull" for r in REPOS)  # one token per repository
    assert server.issued
    assert_never_stored([PASSWORD, *server.issued], ok, tmp_path / "ok")

    bad = run_cli(registry, WRONG, tmp_path / "bad", "--strict")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    expected = f"The token server {server.realm} rejected the credentials from --password-stdin (401)."
    assert_rejected_once(bad.stderr, expected)
    assert_never_stored([WRONG, PASSWORD], bad, tmp_path / "bad")
