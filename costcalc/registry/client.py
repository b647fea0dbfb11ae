"""Async read-only client of the distribution API: listing, manifests, configs, retries, limits.

Spec: https://github.com/opencontainers/distribution-spec/blob/main/spec.md
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from costcalc.errors import ManifestError, RegistryError
from costcalc.reference import is_loopback, is_valid_digest, is_valid_tag
from costcalc.registry import network
from costcalc.registry.network import display_url
from costcalc.registry.oci import MANIFEST_ACCEPT, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, sha256_digest
from costcalc.registry.responses import (
    Notices,
    Reply,
    json_object,
    media_type,
    parse_retry_after,
    read_error_body,
    read_limited,
    same_origin,
    secrets_of,
)
from costcalc.registry.responses import status_error as status_error
from costcalc.registry.retries import HostGate, RetryPolicy

MAX_LIST_BODY_BYTES = 16 * 1024 * 1024  # a page of 1,000 names is far smaller
MAX_PAGES = 10_000
PAGE_SIZE = 1000  # ECR rejects n > 1000 (ggcr #681)
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

Sleep = Callable[[float], Awaitable[None]]
Warn = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ManifestHead:
    """A tag resolved to a digest; body is set when HEAD gave no digest and a GET was needed."""

    digest: str
    media_type: str | None
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class TagList:
    """A repository's tags (valid names only) and the entries that were dropped."""

    tags: tuple[str, ...]
    invalid: tuple[str, ...] = ()


class RegistryClient:
    """Read-only access to one registry over one httpx.AsyncClient (network.open_client).

    Scheme: https, unless plain_http is set. A loopback registry (localhost, 127.0.0.0/8, ::1)
    is tried over https first and reached over http when its port does not speak TLS, as
    Docker does.
    """

    def __init__(
        self,
        host: str,
        *,
        auth: httpx.Auth | None = None,
        plain_http: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        concurrency: int = 16,
        timeout_seconds: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        identity: str = "anonymous",
        warn: Warn | None = None,
        http1: bool = False,
        ca_file: Path | None = None,
    ) -> None:
        self.host = host
        self.scheme = "http" if plain_http else "https"
        self._may_fall_back = not plain_http and is_loopback(host)
        self.retry = retry or RetryPolicy()
        self.concurrency = max(1, concurrency)
        # httpx times out each read; a body drip-fed byte by byte, or interim 1xx answers without
        # end (httpx has no limit on those), need a whole-response deadline.
        self.deadline_seconds = 2 * timeout_seconds
        self.identity = identity
        self.requests: Counter[str] = Counter()  # by purpose: list, head, manifest, config, ...
        self.answered = 0  # responses received, of any status: the host is reachable
        self._sleep = sleep
        self._notices = Notices(host, warn)
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._gates: dict[str, HostGate] = {}
        self._head_allowed = True
        self._http = network.open_client(
            host,
            auth=auth,
            concurrency=self.concurrency,
            timeout_seconds=timeout_seconds,
            http1=http1,
            ca_file=ca_file,
            transport=transport,
            on_response=self._answered,
        )

    async def _answered(self, response: httpx.Response) -> None:
        del response
        self.answered += 1

    @property
    def base_url(self) -> httpx.URL:
        return httpx.URL(f"{self.scheme}://{self.host}")

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def url(self, path: str) -> httpx.URL:
        """PATH (absolute, built from validated names, tags and digests) on the registry."""
        return httpx.URL(f"{self.scheme}://{self.host}{path}")

    # -- listing ------------------------------------------------------------------------

    async def catalog(self) -> AsyncIterator[list[object]]:
        """Pages of raw repository names from /v2/_catalog (entries unvalidated)."""
        async for data in self._pages(self.url(f"/v2/_catalog?n={PAGE_SIZE}"), authenticate=True, next_field=None):
            names = data.get("repositories")
            yield list(names) if isinstance(names, list) else []

    async def tags(self, repository: str) -> TagList:
        """All tags of REPOSITORY; null and malformed entries (Nexus, Artifactory) are dropped."""
        valid: list[str] = []
        invalid: list[str] = []
        url = self.url(f"/v2/{repository}/tags/list?n={PAGE_SIZE}")
        async for data in self._pages(url, authenticate=True, next_field=None):
            entries = data.get("tags")
            for entry in entries if isinstance(entries, list) else []:
                (valid if is_valid_tag(entry) else invalid).append(entry if isinstance(entry, str) else repr(entry))
        return TagList(tags=tuple(dict.fromkeys(valid)), invalid=tuple(invalid))

    async def json_pages(self, url: httpx.URL, next_field: str = "next") -> AsyncIterator[dict[str, Any]]:
        """Unauthenticated JSON pages of an API naming its next page in the body (Docker Hub)."""
        async for page in self._pages(url, authenticate=False, next_field=next_field):
            yield page

    async def _pages(
        self, url: httpx.URL, *, authenticate: bool, next_field: str | None
    ) -> AsyncIterator[dict[str, Any]]:
        """Pages from URL on; next links followed verbatim (Quay's tokens are opaque), resolved,
        same origin only, loops and caps checked."""
        seen: set[str] = set()
        next_url: httpx.URL | None = url
        while next_url is not None:
            if str(next_url) in seen:
                raise RegistryError(f"GET {display_url(next_url)}: the pagination loops back.")
            if len(seen) >= MAX_PAGES:
                raise RegistryError(f"GET {display_url(url)}: more than {MAX_PAGES} pages.")
            seen.add(str(next_url))
            reply = await self.request(
                "GET",
                next_url,
                purpose="list",
                accept="application/json",
                limit_bytes=MAX_LIST_BODY_BYTES,
                authenticate=authenticate,
            )
            data = json_object(reply)
            yield data
            if next_field is None:
                following = reply.links.get("next", {}).get("url")
            else:
                value = data.get(next_field)
                following = value if isinstance(value, str) else None
            next_url = same_origin(reply.url, following) if following else None

    # -- manifests and blobs ------------------------------------------------------------

    async def head_manifest(self, repository: str, reference: str) -> ManifestHead:
        """The digest a tag points to: Docker-Content-Digest, else the hash of a GET body."""
        url = self.url(f"/v2/{repository}/manifests/{reference}")
        if self._head_allowed:
            try:
                reply = await self.request("HEAD", url, purpose="head", accept=MANIFEST_ACCEPT, limit_bytes=0)
            except RegistryError as exc:
                # A registry or proxy without HEAD (405/501): GET instead, and stop asking.
                if exc.status not in (405, 501):
                    raise
                self._head_allowed = False
            else:
                digest = reply.headers.get("Docker-Content-Digest", "").strip()
                if is_valid_digest(digest):
                    return ManifestHead(digest=digest, media_type=media_type(reply))
        # The header is optional (OCI spec; Red Hat's registry and ECR omitted it): one GET more.
        self.requests["head_fallback"] += 1
        reply = await self.request(
            "GET",
            url,
            purpose="manifest",
            accept=MANIFEST_ACCEPT,
            limit_bytes=MAX_MANIFEST_BYTES,
            too_large=ManifestError,
        )
        return ManifestHead(digest=sha256_digest(reply.body), media_type=media_type(reply), body=reply.body)

    async def get_manifest(self, repository: str, digest: str) -> Reply:
        """The raw manifest body by digest (at most 4 MiB); the caller verifies it."""
        url = self.url(f"/v2/{repository}/manifests/{digest}")
        return await self.request(
            "GET",
            url,
            purpose="manifest",
            accept=MANIFEST_ACCEPT,
            limit_bytes=MAX_MANIFEST_BYTES,
            follow_redirects=True,
            too_large=ManifestError,
        )

    async def get_config(self, repository: str, digest: str) -> bytes:
        """A config blob (at most 4 MiB), following redirects to storage without credentials."""
        url = self.url(f"/v2/{repository}/blobs/{digest}")
        # httpx drops Authorization when a redirect leaves the origin (Hub → CDN); keep it so.
        reply = await self.request(
            "GET",
            url,
            purpose="config",
            accept="*/*",
            limit_bytes=MAX_CONFIG_BYTES,
            follow_redirects=True,
            too_large=ManifestError,
        )
        return reply.body

    # -- one request, with limits and retries --------------------------------------------

    async def request(
        self,
        method: str,
        url: httpx.URL,
        *,
        purpose: str,
        accept: str,
        limit_bytes: int,
        follow_redirects: bool = False,
        authenticate: bool = True,
        too_large: type[Exception] = RegistryError,
    ) -> Reply:
        """Send one request with retries; a non-2xx answer raises RegistryError (or a subclass)."""
        started = time.monotonic()
        slept = 0.0
        policy = self.retry
        host = url.netloc.decode("ascii")
        limit = self._limits.setdefault(host, asyncio.Semaphore(self.concurrency))
        gate = self._gates.setdefault(host, HostGate())
        exchange = _Exchange(method, accept, limit_bytes, follow_redirects, authenticate, too_large)
        for attempt in range(1, policy.attempts + 1):
            async with limit:
                slept += await self._wait(gate)
                self.requests[purpose] += 1
                outcome = await self._attempt(exchange, url)
            if isinstance(outcome, Reply):
                return outcome
            failure, delay = outcome
            if delay is None:
                # Full jitter keeps many clients (and our own tasks) from retrying in lockstep.
                ceiling = min(policy.max_delay_seconds, policy.base_delay_seconds * 2 ** (attempt - 1))
                delay = random.uniform(ceiling / 2, ceiling)
            elapsed = time.monotonic() - started + slept
            if attempt == policy.attempts or elapsed + delay > policy.budget_seconds:
                raise type(failure)(
                    f"{str(failure).removesuffix('.')} (gave up after {attempt} attempts).",
                    status=failure.status,
                    code=failure.code,
                )
            self.requests["retry"] += 1
            # Every request to this host waits too, not only this one (per-host backoff).
            generation = gate.close_for(delay)
            before = time.monotonic()
            await self._sleep(delay)
            gate.opened(generation)
            # Count only the part of the wait the clock did not see (an injected sleep in tests);
            # a real sleep is already in time.monotonic().
            slept += max(0.0, delay - (time.monotonic() - before))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self, exchange: _Exchange, url: httpx.URL) -> Reply | tuple[RegistryError, float | None]:
        """One exchange: the reply, or a retryable failure and the delay the registry asked for.
        A failure not worth retrying is raised."""
        try:
            # The deadline covers the exchange, not the wait for a slot or the gate.
            async with asyncio.timeout(self.deadline_seconds):
                return await self._send(exchange, self._on_scheme(url))
        except _Retryable as retryable:
            return retryable.error, retryable.delay
        except TimeoutError:
            # What outlasts the deadline (an answer drip-fed, or interim answers without end)
            # would do so again: not retried.
            raise RegistryError(
                f"{exchange.method} {display_url(url)}: no complete answer within {self.deadline_seconds:g} s."
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            if (
                self._may_fall_back
                and url.scheme == "https"
                and url.host == self.base_url.host
                and network.not_tls(exc)
            ):
                # A loopback registry serving plain HTTP on its port (Docker's fallback); the
                # requests that set out over https before the first one found out follow it.
                self.scheme = "http"
                return await self._attempt(exchange, url)
            failure = network.describe(exc, exchange.method, url)
            if not failure.retry:
                raise failure.error from None
            return failure.error, None

    async def _send(self, exchange: _Exchange, url: httpx.URL) -> Reply:
        """Send EXCHANGE to URL and read the answer; a failed answer is raised."""
        extra: dict[str, Any] = {} if exchange.authenticate else {"auth": None}
        method = exchange.method
        async with self._http.stream(
            method, url, headers={"Accept": exchange.accept}, follow_redirects=exchange.follow_redirects, **extra
        ) as response:
            self._notices.read(response)
            status = response.status_code
            if method == "HEAD":
                # A HEAD answer has no body; reading it marks the exchange done so the
                # connection goes back to the pool instead of being closed.
                await response.aread()
            if 200 <= status < 300:
                body = (
                    await read_limited(response, exchange.limit_bytes, method, exchange.too_large)
                    if method != "HEAD"
                    else b""
                )
                return Reply(status, response.url, response.headers, body, dict(response.links))
            error_body = await read_error_body(response) if method != "HEAD" else b""
            failure = status_error(
                method, response.url, status, error_body, self.identity, secrets=secrets_of(response.request)
            )
            if status not in RETRY_STATUSES:
                raise failure
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            delay = None if retry_after is None else min(retry_after, self.retry.retry_after_cap_seconds)
            raise _Retryable(failure, delay)

    def _on_scheme(self, url: httpx.URL) -> httpx.URL:
        """URL on the scheme the registry turned out to speak, if URL is the registry's."""
        if url.scheme != self.scheme and url.netloc.decode("ascii") == self.host:
            return url.copy_with(scheme=self.scheme)
        return url

    async def _wait(self, gate: HostGate) -> float:
        """Wait until GATE opens; the seconds an injected sleep spent that the clock did not see."""
        remaining = gate.opens_at - time.monotonic()
        if remaining <= 0:
            return 0.0
        generation = gate.generation
        # Rounded up to the millisecond: never start before the gate opens.
        wait = math.ceil(remaining * 1000) / 1000
        self.requests["backoff_wait"] += 1
        before = time.monotonic()
        await self._sleep(wait)
        gate.opened(generation)
        return max(0.0, wait - (time.monotonic() - before))


class _Retryable(Exception):
    """A failed answer worth asking again (408, 429, 5xx), after DELAY if the registry named one."""

    def __init__(self, error: RegistryError, delay: float | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.delay = delay


@dataclass(frozen=True, slots=True)
class _Exchange:
    """What one request asks for and how its answer is read."""

    method: str
    accept: str
    limit_bytes: int
    follow_redirects: bool
    authenticate: bool
    too_large: type[Exception]
