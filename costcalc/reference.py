"""Parse registry targets (HOST[:PORT][/NAMESPACE]), repository names, tags and digests (pure)."""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass

from costcalc.errors import InvalidReference

# distribution-spec grammar: path components separated by "/", each lowercase alnum runs
# joined by ".", "_", "__" or runs of "-".
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
REPOSITORY_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
DIGEST_RE = re.compile(r"(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})")
_HOST_RE = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:.]+\]"
)
MAX_REPOSITORY_LENGTH = 255

DOCKER_HUB_NAMES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
DOCKER_HUB_API_HOST = "registry-1.docker.io"


@dataclass(frozen=True, slots=True)
class Target:
    """A scan target: a registry host (with optional port) and a namespace ("" = everything)."""

    registry: str
    namespace: str

    @property
    def is_docker_hub(self) -> bool:
        return self.registry in DOCKER_HUB_NAMES

    @property
    def api_host(self) -> str:
        """The host[:port] that serves the distribution API."""
        return DOCKER_HUB_API_HOST if self.is_docker_hub else self.registry

    def __str__(self) -> str:
        return f"{self.registry}/{self.namespace}" if self.namespace else self.registry


def parse_target(text: str) -> Target:
    """Parse HOST[:PORT][/NAMESPACE]; a scheme prefix or trailing slash is tolerated."""
    raw = text.strip()
    for scheme in ("https://", "http://"):
        if raw.startswith(scheme):
            raw = raw[len(scheme) :]
    raw = raw.rstrip("/")
    host, _, namespace = raw.partition("/")
    if not host:
        raise InvalidReference(f"{text!r} is not a registry target: expected HOST[:PORT][/NAMESPACE].")
    validate_host(host, text)
    if namespace:
        validate_repository(namespace, what="namespace")
    return Target(registry=canonical_registry(host), namespace=namespace)


def canonical_registry(host: str) -> str:
    """HOST[:PORT] as costcalc names a registry: lower case, Docker Hub's three host names as docker.io."""
    name = host.lower()
    return "docker.io" if name in DOCKER_HUB_NAMES else name


def validate_host(host: str, original: str | None = None) -> None:
    """Check HOST[:PORT] syntax."""
    name, port = split_port(host)
    if not _HOST_RE.fullmatch(name) or (
        port is not None and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536)
    ):
        raise InvalidReference(f"{original or host!r}: {host!r} is not a valid registry host[:port].")


def split_port(host: str) -> tuple[str, str | None]:
    """HOST[:PORT] as (host, port text or None); an IPv6 host keeps its brackets."""
    if host.startswith("["):
        end = host.find("]")
        rest = host[end + 1 :]
        return host[: end + 1], (rest[1:] if rest.startswith(":") else None)
    name, sep, port = host.rpartition(":")
    return (name, port) if sep else (host, None)


def host_name(host: str) -> str:
    """The host part of HOST[:PORT], without brackets."""
    return split_port(host)[0].strip("[]")


@functools.lru_cache(maxsize=64)  # asked for every request sent over plain HTTP
def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses, as HOST[:PORT] or a bare host ("::1", as httpx
    gives an IPv6 URL's host, without brackets): where Docker also allows plain HTTP."""
    text = host.lower()
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        pass
    name = host_name(text)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def validate_repository(name: str, what: str = "repository name") -> str:
    """Return NAME if it follows the distribution-spec repository grammar, else raise."""
    if len(name) > MAX_REPOSITORY_LENGTH or not REPOSITORY_RE.fullmatch(name):
        raise InvalidReference(
            f"{name!r} is not a valid {what}: use lowercase path components "
            "of letters, digits and . _ - separated by /."
        )
    return name


def is_valid_repository(name: object) -> bool:
    return isinstance(name, str) and len(name) <= MAX_REPOSITORY_LENGTH and bool(REPOSITORY_RE.fullmatch(name))


def is_valid_tag(tag: object) -> bool:
    return isinstance(tag, str) and bool(TAG_RE.fullmatch(tag))


def is_valid_digest(digest: object) -> bool:
    return isinstance(digest, str) and bool(DIGEST_RE.fullmatch(digest))


def normalize_repository(target: Target, name: str) -> str:
    """A repository name as the registry knows it: Docker Hub's one-segment names get library/."""
    name = name.strip().strip("/")
    if target.is_docker_hub and "/" not in name:
        name = f"library/{name}"
    return validate_repository(name)


def in_namespace(namespace: str, repository: str) -> bool:
    """True if REPOSITORY lies under NAMESPACE (path-component prefix, "" matches all)."""
    return not namespace or repository == namespace or repository.startswith(namespace + "/")


@dataclass(frozen=True, slots=True)
class ImageReference:
    """REPOSITORY[:TAG][@DIGEST] within a known registry."""

    repository: str
    tag: str | None
    digest: str | None


def parse_image_reference(text: str) -> ImageReference:
    """Parse REPOSITORY[:TAG][@DIGEST] (no registry host)."""
    rest, _, digest = text.partition("@")
    repository, tag = rest, None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        repository, tag = rest[:colon], rest[colon + 1 :]
    validate_repository(repository)
    if tag is not None and not is_valid_tag(tag):
        raise InvalidReference(f"{text!r}: {tag!r} is not a valid tag.")
    if digest and not is_valid_digest(digest):
        raise InvalidReference(f"{text!r}: {digest!r} is not a valid sha256 or sha512 digest.")
    return ImageReference(repository=repository, tag=tag, digest=digest or None)
