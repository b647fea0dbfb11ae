"""Async read-only client of the distribution API: listing, manifests, configs, retries, limits.

Spec: https://github.com/opencontainers/distribution-spec/blob/main/spec.md
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email.utils
import json
import math
import random
import re
import ssl
import time
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from costcalc import __version__
from costcalc.errors import ManifestError, NotFound, RegistryError, Unauthorized, Unreachable
from costcalc.reference import is_loopback, is_valid_digest, is_valid_tag
from costcalc.registry.oci import MANIFEST_ACCEPT, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, sha256_digest
from costcalc.registry.transport import AsyncioTransport

MAX_ERROR_BODY_BYTES = 1024 * 1024
MAX_LIST_BODY_BYTES = 16 * 1024 * 1024  # a page of 1,000 names is far smaller
MAX_PAGES = 10_000
PAGE_SIZE = 1000  # ECR rejects n > 1000 (ggcr #681)
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
USER_AGENT = f"costcalc/{__version__}"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_NOT_FOUND_CODES = frozenset({"NAME_UNKNOWN", "MANIFEST_UNKNOWN", "BLOB_UNKNOWN"})
_DENIED_CODES = frozenset({"UNAUTHORIZED", "DENIED"})

Sleep = Callable[[float], Awaitable[None]]
Warn = Callable[[str], None]
MAX_WARNINGS = 10  # distinct warnings shown per scan; a chatty registry gets no more
_WARNING_RE = re.compile(r'\s*299\s+\S+\s+"((?:[^"\\]|\\.)*)"')
_UNESCAPE_RE = re.compile(r"\\(.)")
_RATELIMIT_RE = re.compile(r"\s*(\d+)")  # Docker Hub: `76;w=21600`


class _HostGate:
    """Shared per-host backoff: after a 429/5xx/connection failure no request to the host
    starts before `opens_at`, so concurrent tasks wait together instead of each being told
    to slow down by its own failure (regclient's per-host backoff)."""

    def __init__(self) -> None:
        self.opens_at = 0.0
        self.generation = 0

    def close_for(self, seconds: float) -> int:
        """Push the opening time out to now + SECONDS (never earlier); the generation to clear."""
        opens_at = time.monotonic() + seconds
        if opens_at > self.opens_at:
            self.opens_at = opens_at
            self.generation += 1
        return self.generation

    def opened(self, generation: int) -> None:
        # The wait for GENERATION is over: open unless someone pushed it out since. With a
        # real sleep the clock already says so; an injected sleep in tests does not move it.
        if self.generation == generation:
            self.opens_at = 0.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry 408/429/5xx and connection errors."""

    attempts: int = 5
    base_delay_seconds: float = 0.5
    max_delay_seconds: float = 30.0
    retry_after_cap_seconds: float = 60.0
    budget_seconds: float = 300.0  # total time one request may spend, waits included


@dataclass(frozen=True, slots=True)
class Reply:
    """A finished response: status, headers and a size-limited body."""

    status_code: int
    url: httpx.URL
    headers: httpx.Headers
    body: bytes
    links: dict[str | None, dict[str, str]] = field(default_factory=dict)


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


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def sanitize(text: str, limit: int = 200) -> str:
    """Registry-supplied text made safe for one line of output: no control characters, capped."""
    clean = _CONTROL.sub(" ", text).strip()
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


def display_url(url: httpx.URL) -> str:
    """URL without userinfo, query or fragment (signed redirect URLs carry secrets in queries)."""
    return str(url.copy_with(query=None, fragment=None, username=None, password=None))


def _error_detail(body: bytes) -> tuple[str | None, str]:
    """(first error code, 'CODE: message' text) from a distribution error body."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None, ""
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return None, ""
    first = errors[0]
    code = first.get("code") if isinstance(first.get("code"), str) else None
    message = first.get("message") if isinstance(first.get("message"), str) else ""
    return code, sanitize(": ".join(p for p in (code or "", message) if p))


def status_error(
    method: str,
    url: httpx.URL,
    status: int,
    body: bytes,
    identity: str,
    secrets: tuple[str, ...] = (),
) -> RegistryError:
    """The RegistryError subclass and one-sentence message for a failed response."""
    code, detail = _error_detail(body)
    for secret in secrets:  # a registry may echo the credential it was sent
        detail = detail.replace(secret, "[redacted]")
    reason = detail or httpx.codes.get_reason_phrase(status) or "error"
    message = f"{method} {display_url(url)}: {status} {reason}".removesuffix(".") + "."
    error: RegistryError
    if status in (401, 403) or code in _DENIED_CODES:
        error = Unauthorized(f"{message[:-1]} ({identity}).")
    elif status == 404 or code in _NOT_FOUND_CODES:
        error = NotFound(message)
    else:
        error = RegistryError(message)
    # Kept beside the message so callers can branch on them without parsing text.
    setattr(error, "http_status", status)  # noqa: B010
    setattr(error, "registry_code", code)  # noqa: B010
    return error


def registry_code(exc: RegistryError) -> str | None:
    """The distribution error code (e.g. UNSUPPORTED) behind EXC, if the registry sent one."""
    code = getattr(exc, "registry_code", None)
    return code if isinstance(code, str) else None


def registry_status(exc: RegistryError) -> int | None:
    """The HTTP status behind EXC, if it came from a response."""
    status = getattr(exc, "http_status", None)
    return status if isinstance(status, int) else None


class _Cookieless(httpx.Cookies):
    """A cookie store that keeps nothing. Registry clients send no cookies (Docker's and
    containerd's keep none), and clients that each kept their own would send them to some
    requests only. Nor does it look: httpx's own store wraps every response and its request
    in urllib objects to find Set-Cookie headers, about 5 % of a scan's client CPU."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


class _CookielessClient(httpx.AsyncClient):
    """httpx's client with the store above in place of its own (httpx has no setting for it)."""

    _store = _Cookieless()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._store

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        del cookies  # kept nowhere


class RegistryClient:
    """Read-only access to one registry over a few httpx.AsyncClients.

    Scheme: https, unless plain_http is set or the host is a loopback address (localhost,
    127.0.0.0/8, ::1), which Docker also treats as insecure and reaches over http.
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
    ) -> None:
        self.host = host
        self.scheme = "http" if plain_http or is_loopback(host) else "https"
        self.base_url = httpx.URL(f"{self.scheme}://{host}")
        self._origin = str(self.base_url)  # no trailing slash
        self.retry = retry or RetryPolicy()
        self.concurrency = max(1, concurrency)
        # httpx times out each read; a body drip-fed byte by byte needs a whole-response deadline.
        self.deadline_seconds = 2 * timeout_seconds
        self.identity = identity
        self.requests: Counter[str] = Counter()  # by purpose: list, head, manifest, config, ...
        self.answered = 0  # responses received, of any status: the host is reachable
        self._sleep = sleep
        self._warn = warn
        self._warned: set[str] = set()
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._gates: dict[str, _HostGate] = {}
        self._head_allowed = True
        # Requests are spread over `concurrency` clients of a few connections each, not one
        # client with one pool of `concurrency` connections: httpx's own transport (kept when
        # a proxy is configured) walks every pooled connection (a poll() syscall each) when a
        # request starts and ends, so one big pool costs CPU per request that grows with its
        # size (measured: docs/performance.md).
        # The clients share one TLS context (loading CA certificates is slow) and the auth.
        tls = httpx.create_ssl_context()
        # a registry, its token service and a blob redirect target: a few origins
        limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
        # HTTP/1.1 of our own on asyncio's streams: about 60 % of the client CPU per request of
        # httpx's own transport (transport.py). A transport of our own turns httpx's proxy
        # settings from the environment off, so with a proxy configured httpx's own stays.
        direct = transport is None and not _environment_proxies()
        self._clients = [
            _CookielessClient(
                auth=auth,
                transport=AsyncioTransport(tls, limits) if direct else transport,
                verify=tls,
                timeout=httpx.Timeout(timeout_seconds),
                limits=limits,
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,
            )
            for _ in range(self.concurrency)
        ]
        self._in_flight = [0] * self.concurrency  # per client

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    @contextlib.contextmanager
    def _least_busy_client(self) -> Iterator[httpx.AsyncClient]:
        in_flight = self._in_flight
        index = in_flight.index(min(in_flight))
        in_flight[index] += 1
        try:
            yield self._clients[index]
        finally:
            in_flight[index] -= 1

    def url(self, path: str) -> httpx.URL:
        # PATH is an absolute path built from validated names, tags and digests: appending it
        # is what join() does, at half the cost per request.
        return httpx.URL(self._origin + path)

    # -- listing ------------------------------------------------------------------------

    async def catalog(self) -> AsyncIterator[list[object]]:
        """Pages of raw repository names from /v2/_catalog (entries unvalidated)."""
        async for data in self._link_pages(self.url(f"/v2/_catalog?n={PAGE_SIZE}")):
            names = data.get("repositories")
            yield list(names) if isinstance(names, list) else []

    async def tags(self, repository: str) -> TagList:
        """All tags of REPOSITORY; null and malformed entries (Nexus, Artifactory) are dropped."""
        valid: list[str] = []
        invalid: list[str] = []
        async for data in self._link_pages(self.url(f"/v2/{repository}/tags/list?n={PAGE_SIZE}")):
            entries = data.get("tags")
            for entry in entries if isinstance(entries, list) else []:
                (valid if is_valid_tag(entry) else invalid).append(entry if isinstance(entry, str) else repr(entry))
        return TagList(tags=tuple(dict.fromkeys(valid)), invalid=tuple(invalid))

    async def _link_pages(self, url: httpx.URL) -> AsyncIterator[dict[str, Any]]:
        """JSON pages following Link rel="next" verbatim (Quay's tokens are opaque)."""
        async for page in self._pages(url, authenticate=True, next_field=None):
            yield page

    async def json_pages(self, url: httpx.URL, next_field: str = "next") -> AsyncIterator[dict[str, Any]]:
        """Unauthenticated JSON pages of an API naming its next page in the body (Docker Hub)."""
        async for page in self._pages(url, authenticate=False, next_field=next_field):
            yield page

    async def _pages(
        self, url: httpx.URL, *, authenticate: bool, next_field: str | None
    ) -> AsyncIterator[dict[str, Any]]:
        """Pages from URL on; next links resolved, same origin only, loops and caps checked."""
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
            data = _json_object(reply)
            yield data
            if next_field is None:
                following = reply.links.get("next", {}).get("url")
            else:
                value = data.get(next_field)
                following = value if isinstance(value, str) else None
            next_url = _same_origin(reply.url, following) if following else None

    # -- manifests and blobs ------------------------------------------------------------

    async def head_manifest(self, repository: str, reference: str) -> ManifestHead:
        """The digest a tag points to: Docker-Content-Digest, else the hash of a GET body."""
        url = self.url(f"/v2/{repository}/manifests/{reference}")
        if self._head_allowed:
            try:
                reply = await self.request("HEAD", url, purpose="head", accept=MANIFEST_ACCEPT, limit_bytes=0)
            except RegistryError as exc:
                # A registry or proxy without HEAD (405/501): GET instead, and stop asking.
                if registry_status(exc) not in (405, 501):
                    raise
                self._head_allowed = False
            else:
                digest = reply.headers.get("Docker-Content-Digest", "").strip()
                if is_valid_digest(digest):
                    return ManifestHead(digest=digest, media_type=_media_type(reply))
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
        return ManifestHead(digest=sha256_digest(reply.body), media_type=_media_type(reply), body=reply.body)

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
        gate = self._gates.setdefault(host, _HostGate())
        extra: dict[str, Any] = {} if authenticate else {"auth": None}
        for attempt in range(1, policy.attempts + 1):
            delay: float | None = None
            failure: RegistryError
            try:
                async with limit:
                    slept += await self._wait(gate)
                    self.requests[purpose] += 1
                    with self._least_busy_client() as client:
                        # The deadline covers the exchange, not the wait for a slot or the gate.
                        async with (
                            asyncio.timeout(self.deadline_seconds),
                            client.stream(
                                method,
                                url,
                                headers={"Accept": accept},
                                follow_redirects=follow_redirects,
                                **extra,
                            ) as response,
                        ):
                            self.answered += 1
                            self._notice(response)
                            status = response.status_code
                            if method == "HEAD":
                                # A HEAD answer has no body; reading it marks the exchange done so
                                # the connection goes back to the pool instead of being closed.
                                await response.aread()
                            if 200 <= status < 300:
                                body = (
                                    await _read_limited(response, limit_bytes, method, too_large)
                                    if method != "HEAD"
                                    else b""
                                )
                                return Reply(status, response.url, response.headers, body, dict(response.links))
                            error_body = await _read_error_body(response) if method != "HEAD" else b""
                            failure = status_error(
                                method,
                                response.url,
                                status,
                                error_body,
                                self.identity,
                                secrets=_secrets_of(response.request),
                            )
                            if status not in RETRY_STATUSES:
                                raise failure
                            retry_after = parse_retry_after(response.headers.get("Retry-After"))
                            if retry_after is not None:
                                delay = min(retry_after, policy.retry_after_cap_seconds)
            except (httpx.DecodingError, httpx.TooManyRedirects, httpx.InvalidURL) as exc:
                # The answer arrived but cannot be used: asking again gets the same answer.
                raise RegistryError(
                    f"{method} {display_url(url)}: {type(exc).__name__}: {sanitize(str(exc)) or 'unusable response'}."
                ) from None
            except TimeoutError:
                failure = RegistryError(
                    f"{method} {display_url(url)}: no complete answer within {self.deadline_seconds:g} s."
                )
            except httpx.TransportError as exc:
                reason = sanitize(str(exc)) or "connection failed"
                if _untrusted_certificate(exc):
                    # Deterministic: retrying cannot help, and nothing else on this host will work.
                    raise Unreachable(
                        f"{method} {display_url(url)}: the TLS certificate of {self.host} is not "
                        f"trusted ({reason}); add its CA to SSL_CERT_FILE, or use --plain-http "
                        "if the registry serves plain HTTP."
                    ) from None
                kind = Unreachable if isinstance(exc, httpx.ConnectError) else RegistryError
                failure = kind(f"{method} {display_url(url)}: {type(exc).__name__}: {reason}.")
            if delay is None:
                # Full jitter keeps many clients (and our own tasks) from retrying in lockstep.
                ceiling = min(policy.max_delay_seconds, policy.base_delay_seconds * 2 ** (attempt - 1))
                delay = random.uniform(ceiling / 2, ceiling)
            elapsed = time.monotonic() - started + slept
            if attempt == policy.attempts or elapsed + delay > policy.budget_seconds:
                raise type(failure)(f"{str(failure).removesuffix('.')} (gave up after {attempt} attempts).")
            self.requests["retry"] += 1
            # Every request to this host waits too, not only this one (SPEC §7, per-host backoff).
            generation = gate.close_for(delay)
            before = time.monotonic()
            await self._sleep(delay)
            gate.opened(generation)
            # Count only the part of the wait the clock did not see (an injected sleep in tests);
            # a real sleep is already in time.monotonic().
            slept += max(0.0, delay - (time.monotonic() - before))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _wait(self, gate: _HostGate) -> float:
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

    def _notice(self, response: httpx.Response) -> None:
        """Surface a registry's Warning headers and a low Docker Hub pull budget, each once."""
        for value in response.headers.get_list("Warning"):
            # Distribution spec "Warnings": `299 - "text"`; other codes are HTTP caching noise.
            match = _WARNING_RE.match(value)
            if match:
                text = sanitize(_UNESCAPE_RE.sub(r"\1", match[1]))
                self._warn_once(text, f"{self.host} says: {text}")
        remaining = _RATELIMIT_RE.match(response.headers.get("RateLimit-Remaining", ""))
        limit = _RATELIMIT_RE.match(response.headers.get("RateLimit-Limit", ""))
        if remaining is None or limit is None or int(limit[1]) == 0:
            return
        left, total = int(remaining[1]), int(limit[1])
        if left == 0:
            self._warn_once(
                "ratelimit:0",
                f"{self.host}: the pull rate limit is used up (0 of {total} left); manifest "
                "GETs will be refused until the window resets (HEAD requests do not count).",
            )
        elif left <= max(10, total // 10):
            self._warn_once(
                "ratelimit:low",
                f"{self.host}: only {left} of {total} pulls left in the rate-limit window; "
                "each manifest GET counts as a pull (cached manifests do not).",
            )

    def _warn_once(self, key: str, message: str) -> None:
        if self._warn is None or key in self._warned or len(self._warned) >= MAX_WARNINGS:
            return
        self._warned.add(key)
        self._warn(message)


def _untrusted_certificate(exc: BaseException) -> bool:
    """Whether an httpx error was caused by a failed TLS certificate verification."""
    seen: BaseException | None = exc
    for _ in range(10):  # httpx wraps httpcore wraps ssl: a short chain
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _secrets_of(request: httpx.Request) -> tuple[str, ...]:
    """The credential strings in REQUEST's Authorization header (token, or Basic user:password)."""
    _, _, value = request.headers.get("Authorization", "").partition(" ")
    found = [value] if len(value) >= 4 else []
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        decoded = ""
    found += [part for part in (decoded, decoded.partition(":")[2]) if len(part) >= 4]
    return tuple(found)


def _same_origin(base: httpx.URL, link: str) -> httpx.URL:
    """LINK resolved against BASE; credentials ride on every page, so another origin is refused."""
    try:
        target = base.join(link)
    except (httpx.InvalidURL, ValueError):
        raise RegistryError(
            f"GET {display_url(base)}: the next-page link {sanitize(link, 80)!r} is not a URL."
        ) from None
    if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
        raise RegistryError(
            f"GET {display_url(base)}: the next-page link points to another host "
            f"({sanitize(target.scheme)}://{sanitize(target.host)}); refusing to follow it."
        )
    return target


def _media_type(reply: Reply) -> str | None:
    value = reply.headers.get("Content-Type")
    return value.split(";")[0].strip() if value else None


def _json_object(reply: Reply) -> dict[str, Any]:
    try:
        data = json.loads(reply.body)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise RegistryError(f"GET {display_url(reply.url)}: the response is not a JSON object.")
    return data


async def _read_limited(response: httpx.Response, limit_bytes: int, method: str, too_large: type[Exception]) -> bytes:
    """The body, refusing it up front by Content-Length and again while streaming."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit_bytes:
        where = f"{method} {display_url(response.url)}"
        raise too_large(f"{where}: the body is {int(declared)} bytes, over the {limit_bytes}-byte limit.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit_bytes:
            raise too_large(f"{method} {display_url(response.url)}: the body is over the {limit_bytes}-byte limit.")
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_error_body(response: httpx.Response) -> bytes:
    """At most 1 MiB of an error body; a larger one is ignored rather than read."""
    try:
        return await _read_limited(response, MAX_ERROR_BODY_BYTES, "GET", ValueError)
    except (ValueError, httpx.TransportError):
        return b""


def _environment_proxies() -> bool:
    """True if the environment names a proxy (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, ...), as httpx
    reads it; NO_PROXY alone names none."""
    return any(scheme != "no" for scheme in urllib.request.getproxies())
