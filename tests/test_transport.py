"""The scan's HTTP stack against real servers: TLS and HTTP/2 on the real registry, the loopback
TLS-first fallback, a private CA beside the default trust, and proxies from the environment
through a real forwarding proxy process."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import pytest

from costcalc.errors import CostcalcError, InputError, RegistryError, Unauthorized, Unreachable
from costcalc.registry.client import RegistryClient, RetryPolicy
from costcalc.registry.scan import ScanOptions, run_scan
from tests.certificates import server_files
from tests.registryd import Pusher, RunningRegistry, free_port, start_registry

PROXY_SCRIPT = Path(__file__).with_name("forward_proxy.py")
TEST_NAME = "registry.test"  # not loopback by its spelling: only the proxy maps it to 127.0.0.1
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
BASE = b"shared base layer " * 64


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or CA bundle from the machine running the tests."""
    for name in (*PROXY_VARIABLES, "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def push_acme(push: Pusher) -> None:
    push.image("acme/api", "v1", [BASE, b"api 1"])
    push.image("acme/api", "v2", [BASE, b"api 2"])
    push.image("acme/web", "v1", [BASE, b"web 1"])


REQUESTS = 1 + 2 + 3 * 3  # catalog, two tag lists, then a HEAD, a manifest and a config per tag


@pytest.fixture
def tls_registry(tmp_path: Path) -> Iterator[RunningRegistry]:
    """The real registry serving HTTPS (and so HTTP/2) with a certificate for 127.0.0.1 and
    registry.test, trusted through its `ca_file` only."""
    running = start_registry(
        tmp_path / "registry", tls=server_files(tmp_path / "tls", addresses=["127.0.0.1"], names=[TEST_NAME])
    )
    push = Pusher(running.url, verify=running.ca_file)
    try:
        push_acme(push)
        push.close()
        yield running
    finally:
        running.stop()


def port_of(registry: RunningRegistry) -> str:
    return registry.host.rsplit(":", 1)[1]


# -- TLS, HTTP/2, the private CA ------------------------------------------------------------


def test_a_tls_registry_is_scanned_over_http2_for_every_request(tls_registry: RunningRegistry) -> None:
    since = tls_registry.access_log_offset()
    inventory = run_scan(f"{tls_registry.host}/acme", ScanOptions(use_cache=False, ca_file=tls_registry.ca_file))
    assert inventory.figures.summary().tags == 3
    assert tls_registry.protocols(since) == ["HTTP/2.0"] * REQUESTS


def test_http1_keeps_a_tls_registry_on_http_1_1(tls_registry: RunningRegistry) -> None:
    since = tls_registry.access_log_offset()
    options = ScanOptions(use_cache=False, ca_file=tls_registry.ca_file, http1=True)
    assert run_scan(f"{tls_registry.host}/acme", options).figures.summary().tags == 3
    assert tls_registry.protocols(since) == ["HTTP/1.1"] * REQUESTS


def test_a_ca_file_is_trusted_beside_the_default_trust_not_instead_of_it(
    tls_registry: RunningRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unrelated, _ = server_files(tmp_path / "unrelated")
    target = f"{tls_registry.host}/acme"
    # The default trust (here SSL_CERT_FILE) still holds when --ca-file names another CA.
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_registry.ca_file))
    assert run_scan(target, ScanOptions(use_cache=False, ca_file=unrelated)).figures.summary().tags == 3
    monkeypatch.delenv("SSL_CERT_FILE")
    with pytest.raises(Unreachable, match=r"TLS certificate of 127\.0\.0\.1:\d+ is not trusted .*--ca-file"):
        run_scan(target, ScanOptions(use_cache=False, ca_file=unrelated))


def test_a_ca_file_without_certificates_is_one_sentence(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")
    with pytest.raises(InputError, match=r"ca\.pem: cannot load the CA certificates"):
        run_scan("127.0.0.1:1/acme", ScanOptions(use_cache=False, ca_file=not_pem, repos=("acme/api",)))


# -- loopback: TLS first, plain HTTP when the port does not speak TLS -------------------------


def test_a_loopback_registry_serving_plain_http_is_reached_after_the_tls_attempt(
    registry: RunningRegistry, pusher: Pusher
) -> None:
    push_acme(pusher)
    since = registry.access_log_offset()
    assert run_scan(f"{registry.host}/acme", ScanOptions(use_cache=False)).figures.summary().tags == 3
    # The TLS attempt never reached the registry's API: exactly the scan's requests, over HTTP/1.1.
    assert registry.protocols(since) == ["HTTP/1.1"] * REQUESTS


def test_requests_that_set_out_together_over_tls_all_follow_the_fallback(
    registry: RunningRegistry, pusher: Pusher
) -> None:
    # Named repositories: their tag lists are the scan's first requests, sent at once, each
    # meeting the plain-HTTP port over TLS before any of them has found out.
    push_acme(pusher)
    since = registry.access_log_offset()
    options = ScanOptions(use_cache=False, repos=("acme/api", "acme/web"), concurrency=4)
    inventory = run_scan(f"{registry.host}/acme", options)
    assert inventory.errors == ()
    assert inventory.figures.summary().tags == 3
    assert registry.protocols(since) == ["HTTP/1.1"] * (REQUESTS - 1)  # no catalog


def test_plain_http_forces_http_even_on_a_tls_port(tls_registry: RunningRegistry) -> None:
    with pytest.raises(RegistryError, match=r"GET http://127\.0\.0\.1:\d+/v2/_catalog"):
        run_scan(f"{tls_registry.host}/acme", ScanOptions(use_cache=False, plain_http=True))


# -- proxies from the environment -------------------------------------------------------------


@dataclass
class ForwardProxy:
    url: str
    log_path: Path

    def log(self) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]


@pytest.fixture
def forward_proxy(tmp_path: Path) -> Iterator[ForwardProxy]:
    """tests/forward_proxy.py as its own process, mapping registry.test to 127.0.0.1."""
    log = tmp_path / "proxy.log"
    process = subprocess.Popen(
        [sys.executable, str(PROXY_SCRIPT), "--log", str(log), "--map", f"{TEST_NAME}=127.0.0.1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on "), line
        yield ForwardProxy(f"http://127.0.0.1:{line.split()[-1]}", log)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_plain_http_registry_is_scanned_through_the_proxy(
    registry: RunningRegistry, pusher: Pusher, forward_proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    push_acme(pusher)
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    target = f"{TEST_NAME}:{port_of(registry)}"
    inventory = run_scan(f"{target}/acme", ScanOptions(use_cache=False, plain_http=True))
    assert inventory.figures.summary().tags == 3
    seen = forward_proxy.log()
    assert len(seen) == REQUESTS
    assert all(entry["target"].startswith(f"http://{target}/v2/") for entry in seen)


def test_an_https_registry_is_scanned_through_a_connect_tunnel_over_http2(
    tls_registry: RunningRegistry, forward_proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", forward_proxy.url)
    target = f"{TEST_NAME}:{port_of(tls_registry)}"
    since = tls_registry.access_log_offset()
    inventory = run_scan(f"{target}/acme", ScanOptions(use_cache=False, ca_file=tls_registry.ca_file))
    assert inventory.figures.summary().tags == 3
    seen = forward_proxy.log()
    assert seen and {(entry["method"], entry["target"]) for entry in seen} == {("CONNECT", target)}
    assert tls_registry.protocols(since) == ["HTTP/2.0"] * REQUESTS


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost"])
def test_a_loopback_registry_is_never_proxied(
    registry: RunningRegistry,
    pusher: Pusher,
    forward_proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    push_acme(pusher)
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(variable, forward_proxy.url)
    inventory = run_scan(f"{name}:{port_of(registry)}/acme", ScanOptions(use_cache=False))
    assert inventory.figures.summary().tags == 3
    assert forward_proxy.log() == []


def test_a_proxy_reached_over_plain_http_never_carries_a_registry_credential(
    tmp_path: Path, forward_proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "proxy-test-password-8d1f"
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"alice:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()}\n")
    running = start_registry(tmp_path / "registry", auth={"htpasswd": {"realm": "r", "path": str(htpasswd)}})
    try:
        monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
        options = ScanOptions(use_cache=False, plain_http=True, username="alice", password=password)
        with pytest.raises(Unauthorized, match="over plain HTTP"):
            run_scan(f"{TEST_NAME}:{port_of(running)}/acme", options)
    finally:
        running.stop()
    seen = forward_proxy.log()
    assert seen, "the request went through the proxy"
    assert all("authorization" not in entry["head"].lower() for entry in seen)
    assert password not in forward_proxy.log_path.read_text()


def test_a_failing_proxy_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("HTTPS_PROXY", dead)

    async def tags() -> None:
        async with RegistryClient(TEST_NAME, retry=RetryPolicy(attempts=1)) as client:
            await client.tags("acme/api")

    with pytest.raises(Unreachable, match=rf"through the proxy {dead}\b"):
        asyncio.run(tags())


def test_a_socks_proxy_without_the_extra_is_one_sentence_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "socksio", None)  # as if httpx[socks] were not installed
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(CostcalcError, match=r"SOCKS proxy .*pip install 'costcalc\[socks\]'\.$"):
        run_scan(f"{TEST_NAME}/acme", ScanOptions(use_cache=False, repos=("acme/api",)))


def test_a_proxy_of_an_unknown_scheme_is_one_sentence_without_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", "ftp://user:proxy-password-31f@proxy.example:21")
    with pytest.raises(CostcalcError, match=r"^the proxy named in the environment .* socks5h URL\.$") as caught:
        run_scan(f"{TEST_NAME}/acme", ScanOptions(use_cache=False, repos=("acme/api",)))
    assert "proxy-password-31f" not in str(caught.value)
