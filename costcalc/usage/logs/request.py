"""One logged registry request (`Request`), and the URI, address and time rules every log format shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal
from urllib.parse import unquote, urlsplit

from costcalc.reference import DIGEST_RE, MAX_REPOSITORY_LENGTH, REPOSITORY_RE, TAG_RE

Kind = Literal["manifest", "blob", "other"]
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}


class BadLine(Exception):
    """A log line (or record) that cannot be read; str(exc) says why, in a few words."""


@dataclass(slots=True)  # not frozen: a frozen dataclass is several times slower to build, per log line
class Request:
    """A request as a log records it. `kind` other: not a manifest or blob download (pings,
    uploads, listings, malformed names); it still tells the log's time span."""

    time: float  # seconds since the epoch, UTC
    client: str  # the client's address, without a port
    agent: str
    method: str
    kind: Kind
    repository: str = ""
    reference: str = ""  # a tag or digest (manifests), a digest (blobs)
    status: int = 0
    size_bytes: int | None = None  # response body bytes, None where the log does not say

    @property
    def succeeded(self) -> bool:
        """True for a 2xx answer, and for a blob download redirected to storage (not 304: nothing sent)."""
        return 200 <= self.status < 300 or (self.kind == "blob" and self.status in _REDIRECTS)


@lru_cache(maxsize=1 << 14)  # a log asks for the same few manifests and blobs over and over
def target(uri: str) -> tuple[Kind, str, str]:
    """(kind, repository, reference) of a request URI (path or absolute URL, any query string)."""
    try:
        path = unquote(urlsplit(uri).path)
    except ValueError:
        return ("other", "", "")
    if not path.startswith("/v2/"):
        return ("other", "", "")
    for kind, marker in (("manifest", "/manifests/"), ("blob", "/blobs/")):
        name, found, reference = path[4:].rpartition(marker)
        if not found or "/" in reference:
            continue
        if len(name) > MAX_REPOSITORY_LENGTH or not REPOSITORY_RE.fullmatch(name):
            return ("other", "", "")
        if DIGEST_RE.fullmatch(reference) or (kind == "manifest" and TAG_RE.fullmatch(reference)):
            return ("manifest" if kind == "manifest" else "blob", name, reference)
        return ("other", "", "")
    return ("other", "", "")


def _is_number(text: str) -> bool:
    """True for ASCII digits only: str.isdigit() also takes `²` (int() fails on it) and `٢` (int() reads it)."""
    return text.isascii() and text.isdigit()


def address(text: str) -> str:
    """The client address of TEXT without a port (`1.2.3.4:5`, `[::1]:5`); other text as it is."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        return text[1 : text.index("]")]
    host, colon, port = text.rpartition(":")
    if colon and _is_number(port) and host.count(":") == 0:
        return host
    return text


def status(text: str) -> int:
    if len(text) != 3 or not _is_number(text):
        raise BadLine(f"status: {text[:20]!r} is not an HTTP status")
    return int(text)


def size(text: str) -> int | None:
    """Response bytes from a log field; `-` (Apache's none) is 0 bytes."""
    if text == "-":
        return 0
    if not _is_number(text) or len(text) > 18:
        raise BadLine(f"size: {text[:20]!r} is not a byte count")
    return int(text)


@lru_cache(maxsize=1 << 12)  # many lines share a second
def clf_time(text: str) -> float:
    """Seconds since the epoch of a Common Log Format time, `07/Dec/2026:08:37:30 +0000`.

    Months are matched by name here, not by strptime's %b, which follows the process locale."""
    try:
        day, month, rest = text.split("/", 2)
        year, hour, minute, second_zone = rest.split(":", 3)
        second, zone = second_zone.split(" ")
        sign = 1 if zone[0] == "+" else -1 if zone[0] == "-" else 0
        if not sign or len(zone) != 5 or not _is_number(zone[1:]):
            raise ValueError(zone)
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60)
        moment = datetime(int(year), _MONTHS[month.lower()], int(day), int(hour), int(minute), int(second), tzinfo=UTC)
        return _in_calendar(moment.timestamp() - offset)
    except (ValueError, KeyError, IndexError, OverflowError, OSError):
        raise BadLine(f"time: {text[:40]!r} is not a log time") from None


@lru_cache(maxsize=1 << 12)
def iso_time(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 time (`2026-12-07T08:37:31.094308804Z`)."""
    trimmed = text.strip()
    if "." in trimmed:  # fromisoformat takes at most 6 fraction digits; Go writes up to 9
        head, _, tail = trimmed.partition(".")
        digits = len(tail) - len(tail.lstrip("0123456789"))
        trimmed = head + "." + tail[: min(digits, 6)] + tail[digits:] if digits else head + tail
    try:
        moment = datetime.fromisoformat(trimmed)
    except ValueError:
        raise BadLine(f"time: {text[:40]!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise BadLine(f"time: {text[:40]!r} has no time zone")
    try:
        return _in_calendar(moment.timestamp())
    except (OverflowError, ValueError, OSError):
        raise BadLine(f"time: {text[:40]!r} is out of range") from None


def _in_calendar(seconds: float) -> float:
    """SECONDS, if they are a time in UTC between years 1 and 9999 (else ValueError or OverflowError):
    a log's first and last times are written in UTC, and an offset or a float's rounding can
    carry a time at either end of the calendar beyond it."""
    datetime.fromtimestamp(seconds, UTC)
    return seconds
