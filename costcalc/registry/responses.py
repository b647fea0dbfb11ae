"""What a registry's answers mean: bodies read within limits, statuses as errors, Retry-After and warnings."""

from __future__ import annotations

import base64
import email.utils
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from costcalc.errors import NotFound, RegistryError, Unauthorized
from costcalc.registry.network import display_url, sanitize

MAX_ERROR_BODY_BYTES = 1024 * 1024
_NOT_FOUND_CODES = frozenset({"NAME_UNKNOWN", "MANIFEST_UNKNOWN", "BLOB_UNKNOWN"})
_DENIED_CODES = frozenset({"UNAUTHORIZED", "DENIED"})
# 431, and nginx's 494: the request's headers are too large; a retry sends the same headers.
HEADER_TOO_LARGE = frozenset({431, 494})
MAX_WARNINGS = 10  # distinct warnings shown per scan; a chatty registry gets no more
_WARNING_RE = re.compile(r'\s*299\s+\S+\s+"((?:[^"\\]|\\.)*)"')
_UNESCAPE_RE = re.compile(r"\\(.)")
_RATELIMIT_RE = re.compile(r"\s*(\d{1,18})")  # Docker Hub: `76;w=21600`


@dataclass(frozen=True, slots=True)
class Reply:
    """A finished response: status, headers and a size-limited body."""

    status_code: int
    url: httpx.URL
    headers: httpx.Headers
    body: bytes
    links: dict[str | None, dict[str, str]] = field(default_factory=dict)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # str.isdigit() also says yes to ² and Arabic-Indic digits; int() no
        return float(text) if len(text) <= 18 else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_detail(body: bytes) -> tuple[str | None, str]:
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
    code, detail = error_detail(body)
    for secret in secrets:  # a registry may echo the credential it was sent
        detail = detail.replace(secret, "[redacted]")
    reason = detail or httpx.codes.get_reason_phrase(status) or "error"
    message = f"{method} {display_url(url)}: {status} {reason}".removesuffix(".")
    if status in HEADER_TOO_LARGE:
        message += " (the registry refused the size of the request's headers)"
    if status in (401, 403) or code in _DENIED_CODES:
        return Unauthorized(f"{message} ({identity}).", status=status, code=code)
    if status == 404 or code in _NOT_FOUND_CODES:
        return NotFound(f"{message}.", status=status, code=code)
    return RegistryError(f"{message}.", status=status, code=code)


def secrets_of(request: httpx.Request) -> tuple[str, ...]:
    """The credential strings in REQUEST's Authorization header (token, or Basic user:password)."""
    _, _, value = request.headers.get("Authorization", "").partition(" ")
    found = [value] if len(value) >= 4 else []
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        decoded = ""
    found += [part for part in (decoded, decoded.partition(":")[2]) if len(part) >= 4]
    return tuple(found)


def media_type(reply: Reply) -> str | None:
    value = reply.headers.get("Content-Type")
    return value.split(";")[0].strip() if value else None


def json_object(reply: Reply) -> dict[str, object]:
    try:
        data = json.loads(reply.body)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise RegistryError(f"GET {display_url(reply.url)}: the response is not a JSON object.")
    return data


async def read_limited(response: httpx.Response, limit_bytes: int, method: str, too_large: type[Exception]) -> bytes:
    """The body, refusing it up front by Content-Length and again while streaming."""
    declared = response.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit_bytes:
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


async def read_error_body(response: httpx.Response) -> bytes:
    """At most 1 MiB of an error body; a larger one is ignored rather than read."""
    try:
        return await read_limited(response, MAX_ERROR_BODY_BYTES, "GET", ValueError)
    except (ValueError, httpx.HTTPError):
        return b""


class Notices:
    """A registry's Warning headers and a low Docker Hub pull budget, each said once per scan."""

    def __init__(self, host: str, warn: Callable[[str], None] | None) -> None:
        self._host = host
        self._warn = warn
        self._warned: set[str] = set()

    def read(self, response: httpx.Response) -> None:
        for value in response.headers.get_list("Warning"):
            # Distribution spec "Warnings": `299 - "text"`; other codes are HTTP caching noise.
            match = _WARNING_RE.match(value)
            if match:
                text = sanitize(_UNESCAPE_RE.sub(r"\1", match[1]))
                self._once(text, f"{self._host} says: {text}")
        remaining = _RATELIMIT_RE.match(response.headers.get("RateLimit-Remaining", ""))
        limit = _RATELIMIT_RE.match(response.headers.get("RateLimit-Limit", ""))
        if remaining is None or limit is None or int(limit[1]) == 0:
            return
        left, total = int(remaining[1]), int(limit[1])
        if left == 0:
            self._once(
                "ratelimit:0",
                f"{self._host}: the pull rate limit is used up (0 of {total} left); manifest "
                "GETs will be refused until the window resets (HEAD requests do not count).",
            )
        elif left <= max(10, total // 10):
            self._once(
                "ratelimit:low",
                f"{self._host}: only {left} of {total} pulls left in the rate-limit window; "
                "each manifest GET counts as a pull (cached manifests do not).",
            )

    def _once(self, key: str, message: str) -> None:
        if self._warn is None or key in self._warned or len(self._warned) >= MAX_WARNINGS:
            return
        self._warned.add(key)
        self._warn(message)


def same_origin(base: httpx.URL, link: str) -> httpx.URL:
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
