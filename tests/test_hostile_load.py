"""Registries under load: 429 storms, 503 flaps, slow answers, connection resets.

The scan finishes with everything readable, lists the rest in `errors`, and its retries are
bounded in count (RetryPolicy.attempts) and in time (waits go through an injected sleep).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from pathlib import Path

import httpx
import pytest

from costcalc.errors import RegistryError
from costcalc.registry.client import RegistryClient, RetryPolicy
from tests.hostile import (
    FakeRegistry,
    FakeSleep,
    LoopbackServer,
    error,
    http_date,
    scan_fake,
    serve_registry,
)

POLICY = RetryPolicy(
    attempts=4, base_delay_seconds=0.5, max_delay_seconds=8, retry_after_cap_seconds=60, budget_seconds=120
)


def fleet() -> FakeRegistry:
    registry = FakeRegistry()
    for repo in ("acme/a", "acme/b", "acme/c"):
        for tag in ("v1", "v2"):
            registry.push_image(repo, tag)
    return registry


def flaky(statuses: list[int], headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """A responder failing with STATUSES in turn (per URL), then letting the registry answer."""
    seen: dict[str, itertools.count[int]] = {}

    def respond(request: httpx.Request, match: re.Match[str]) -> httpx.Response | None:
        n = next(seen.setdefault(f"{request.method} {request.url}", itertools.count()))
        if n < len(statuses):
            return error(statuses[n], "TOOMANYREQUESTS", "slow down", headers=headers)
        return None

    return respond


def test_429_storm_with_retry_after_seconds_is_honoured_and_the_scan_completes() -> None:
    registry = fleet()
    registry.on(None, r"/v2/acme/", flaky([429, 429], {"Retry-After": "7"}))
    sleep = FakeSleep()
    inventory = scan_fake(registry, "acme", sleep=sleep, retry=POLICY)
    assert inventory.errors == ()
    assert sum(len(r.tags) for r in inventory.repositories) == 6
    assert sleep.waits and all(w == 7 for w in sleep.waits)


def test_retry_after_as_an_http_date_is_honoured() -> None:
    registry = fleet()
    registry.on(None, r"/v2/acme/a/tags", flaky([429], {"Retry-After": http_date(20)}))
    sleep = FakeSleep()
    inventory = scan_fake(registry, "acme", sleep=sleep, retry=POLICY)
    assert inventory.errors == ()
    assert len(sleep.waits) == 1 and 17 <= sleep.waits[0] <= 20.5


def test_absurd_retry_after_is_capped_and_the_total_wait_bounded() -> None:
    registry = fleet()
    registry.on(
        None, r"/v2/acme/b/", lambda r, m: error(429, "TOOMANYREQUESTS", "x", headers={"Retry-After": "999999999"})
    )
    sleep = FakeSleep()
    inventory = scan_fake(registry, "acme", sleep=sleep, retry=POLICY)
    assert {e.repository for e in inventory.errors} == {"acme/b"}
    assert sorted(r.name for r in inventory.repositories if r.tags) == ["acme/a", "acme/c"]
    assert max(sleep.waits) <= POLICY.retry_after_cap_seconds
    assert sum(sleep.waits) <= POLICY.budget_seconds
    assert registry.count("GET", r"/acme/b/tags/list") <= POLICY.attempts


def test_retry_after_in_the_past_or_garbage_falls_back_to_backoff() -> None:
    registry = fleet()
    registry.on(None, r"/v2/acme/a/tags", flaky([429], {"Retry-After": http_date(-3600)}))
    registry.on(None, r"/v2/acme/b/tags", flaky([429], {"Retry-After": "soon, maybe"}))
    sleep = FakeSleep()
    inventory = scan_fake(registry, "acme", sleep=sleep, retry=POLICY)
    assert inventory.errors == ()
    assert len(sleep.waits) == 2
    assert all(0 <= w <= POLICY.max_delay_seconds for w in sleep.waits)


def test_503_flaps_are_retried_and_everything_is_read() -> None:
    registry = fleet()
    registry.on(None, r"/v2/acme/", flaky([503, 502, 503]))
    sleep = FakeSleep()
    inventory = scan_fake(registry, "acme", sleep=sleep, retry=POLICY)
    assert inventory.errors == ()
    assert sum(len(r.tags) for r in inventory.repositories) == 6
    assert len(inventory.manifests) == 6
    # every wait is jittered exponential backoff, never above the ceiling
    assert all(0 < w <= POLICY.max_delay_seconds for w in sleep.waits)


def test_permanent_5xx_on_one_repository_is_an_error_others_complete() -> None:
    registry = fleet()
    registry.on(None, r"/v2/acme/c/manifests/", lambda r, m: error(503, "UNAVAILABLE", "down"))
    sleep = FakeSleep()
    inventory = scan_fake(registry, "acme", sleep=sleep, retry=POLICY)
    assert {(e.repository, e.tag) for e in inventory.errors} == {("acme/c", "v1"), ("acme/c", "v2")}
    assert all("gave up after 4 attempts" in e.reason for e in inventory.errors)
    assert sorted(r.name for r in inventory.repositories if r.tags) == ["acme/a", "acme/b"]
    assert registry.count("HEAD", r"/acme/c/manifests/") == 2 * POLICY.attempts


def test_retries_stop_when_the_time_budget_is_spent() -> None:
    registry = fleet()
    registry.on(
        None, r"/v2/acme/a/tags", lambda r, m: error(429, "TOOMANYREQUESTS", "x", headers={"Retry-After": "50"})
    )
    policy = RetryPolicy(attempts=100, retry_after_cap_seconds=60, budget_seconds=120)
    sleep = FakeSleep()
    inventory = scan_fake(registry, "acme", sleep=sleep, retry=policy)
    assert {e.repository for e in inventory.errors} == {"acme/a"}
    assert sum(sleep.waits) <= 120
    assert registry.count("GET", r"/acme/a/tags/list") <= 3


# -- real sockets: hangs, drips, resets -------------------------------------------------


def _scan_loopback(server: LoopbackServer, registry: FakeRegistry, policy: RetryPolicy, timeout_seconds: float):  # type: ignore[no-untyped-def]
    registry.host = server.host
    serve_registry(server, registry)
    return registry


def _client(server: LoopbackServer, timeout: float, attempts: int = 2) -> RegistryClient:
    return RegistryClient(server.host, timeout_seconds=timeout, sleep=FakeSleep(), retry=RetryPolicy(attempts=attempts))


def test_response_that_never_comes_times_out_and_is_retried_a_bounded_number_of_times() -> None:
    with LoopbackServer() as server:
        server.route("GET", r"/tags/list", lambda h: h.hang(max_seconds=10))

        async def main() -> None:
            async with _client(server, timeout=0.3, attempts=3) as client:
                await client.tags("acme/api")

        started = time.monotonic()
        with pytest.raises(RegistryError, match="Timeout"):
            asyncio.run(main())
        assert time.monotonic() - started < 3
        assert sum(1 for s in server.seen if "tags/list" in s.path) == 3


def test_body_dripping_slower_than_the_timeout_allows_is_cut_off() -> None:
    """Headers at once, then one byte every 0.1 s: no single read times out, the whole does."""
    with LoopbackServer() as server:
        server.route("GET", r"/tags/list", lambda h: h.slow_body(b'{"tags": []}' + b" " * 400, delay=0.1))

        async def main() -> None:
            async with _client(server, timeout=0.5, attempts=2) as client:
                await client.tags("acme/api")

        started = time.monotonic()
        with pytest.raises((RegistryError, TimeoutError)):
            asyncio.run(asyncio.wait_for(main(), timeout=4))
        elapsed = time.monotonic() - started
        assert elapsed < 4, "the client kept reading a drip-fed body past its timeout"


def test_connection_resets_are_retried_and_the_scan_completes() -> None:
    registry = fleet()
    with LoopbackServer() as server:
        _scan_loopback(server, registry, POLICY, 5)
        reset_once: set[str] = set()

        def sometimes_reset(handler) -> None:  # type: ignore[no-untyped-def]
            key = f"{handler.command} {handler.path}"
            if key not in reset_once:  # every request is reset once, then answered
                reset_once.add(key)
                handler.reset()
            else:
                server.routes[-1][2](handler)

        server.route(None, r"^/v2/acme/", sometimes_reset)
        sleep = FakeSleep()
        inventory = scan_fake(
            registry, "acme", sleep=sleep, retry=POLICY, transport=httpx.AsyncHTTPTransport(retries=0)
        )
    assert inventory.errors == ()
    assert sum(len(r.tags) for r in inventory.repositories) == 6
    assert sleep.waits, "resets should have been retried"


def test_a_host_that_always_resets_gives_bounded_errors() -> None:
    registry = fleet()
    with LoopbackServer() as server:
        _scan_loopback(server, registry, POLICY, 5)
        server.route(None, r"^/v2/acme/b/", lambda h: h.reset())
        inventory = scan_fake(
            registry, "acme", sleep=FakeSleep(), retry=POLICY, transport=httpx.AsyncHTTPTransport(retries=0)
        )
        attempts = sum(1 for s in server.seen if s.path.startswith("/v2/acme/b/"))
    assert {e.repository for e in inventory.errors} == {"acme/b"}
    assert sorted(r.name for r in inventory.repositories if r.tags) == ["acme/a", "acme/c"]
    assert attempts == POLICY.attempts


def test_a_registry_that_never_answers_ends_the_scan_with_one_sentence() -> None:
    from costcalc.errors import Unreachable

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known")

    registry = fleet()
    with pytest.raises(Unreachable, match=r"^registry\.test cannot be reached; GET .*gave up after 4"):
        scan_fake(
            registry, "acme", retry=POLICY, transport=httpx.MockTransport(refuse), repos=("acme/a", "acme/b", "acme/c")
        )


def test_a_connection_failure_after_the_registry_answered_is_one_repositorys_error() -> None:
    registry = fleet()

    def refuse_b(request: httpx.Request, match: re.Match[str]) -> httpx.Response | None:
        raise httpx.ConnectError("connection refused")

    registry.on(None, r"/v2/acme/b/", refuse_b)
    inventory = scan_fake(registry, "acme", retry=POLICY, concurrency=1)
    assert {e.repository for e in inventory.errors} == {"acme/b"}
    assert sum(len(r.tags) for r in inventory.repositories) == 4


def test_registry_warnings_reach_the_scan_warnings_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from costcalc.registry.scan import ScanOptions, run_scan

    monkeypatch.setenv("HOME", str(tmp_path))  # no docker config.json of the machine's user
    for name in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(name, raising=False)
    registry = fleet()

    def deprecated(request: httpx.Request, match: re.Match[str]) -> httpx.Response:
        digest = registry.repos["acme/a"][match[1]]
        return httpx.Response(200, headers={"Docker-Content-Digest": digest, "Warning": '299 - "acme/a is deprecated"'})

    registry.on("HEAD", r"/v2/acme/a/manifests/(\w+)$", deprecated)
    warnings: list[str] = []
    inventory = run_scan(
        "registry.test/acme",
        ScanOptions(repos=("acme/a",), use_cache=False),
        warn=warnings.append,
        transport=registry.transport(),
    )
    assert inventory.errors == ()
    assert warnings == ["registry.test says: acme/a is deprecated"]


@pytest.mark.parametrize("value", ["²", "١٢", "3²"])
def test_a_retry_after_of_non_ascii_digits_falls_back_to_backoff(value: str) -> None:
    # str.isdigit() says yes to these, float() and int() say no.
    registry = fleet()
    registry.on(None, r"/v2/acme/a/tags", flaky([429], {"Retry-After": value.encode()}))  # type: ignore[dict-item]
    sleep = FakeSleep()
    inventory = scan_fake(registry, "acme", sleep=sleep, retry=POLICY)
    assert inventory.errors == ()
    assert len(sleep.waits) == 1
    assert 0 <= sleep.waits[0] <= POLICY.max_delay_seconds
