"""WWW-Authenticate challenges (RFC 7235) and the token scopes a request needs, parsed (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Challenge:
    """One RFC 7235 challenge: a lower-cased scheme and its lower-cased parameter names."""

    scheme: str
    params: Mapping[str, str]


_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_SCHEME_RE = re.compile(_TCHARS)
# Values may be quoted strings (with backslash escapes) or, leniently, any run without
# whitespace, comma or quote: registries send unquoted URLs that are not RFC tokens.
_PARAM_RE = re.compile(rf'({_TCHARS})[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|[^\s,"]+)')
_TOKEN68_RE = re.compile(r"[A-Za-z0-9._~+/-]+=*(?=[ \t]*(?:,|$))")
_SPACE_RE = re.compile(r"[ \t]*")
_SEPARATORS_RE = re.compile(r"[\s,]*")


def parse_challenges(headers: list[str]) -> list[Challenge]:
    """Every challenge in the given WWW-Authenticate header values, in order."""
    challenges: list[Challenge] = []
    for header in headers:
        i = 0
        while True:
            i = _skip(_SEPARATORS_RE, header, i)
            scheme = _SCHEME_RE.match(header, i)
            if scheme is None:
                break
            i = _skip(_SPACE_RE, header, scheme.end())
            params: dict[str, str] = {}
            token68 = _TOKEN68_RE.match(header, i)
            if token68 is not None and _PARAM_RE.match(header, i) is None:
                i = token68.end()
            else:
                while (param := _PARAM_RE.match(header, i)) is not None:
                    value = param.group(2)
                    if value.startswith('"'):
                        value = re.sub(r"\\(.)", r"\1", value[1:-1])
                    params.setdefault(param.group(1).lower(), value)
                    i = _skip(_SPACE_RE, header, param.end())
                    if not header.startswith(",", i):
                        break
                    following = _skip(_SEPARATORS_RE, header, i)
                    if _PARAM_RE.match(header, following) is None:
                        break  # the comma ends this challenge; a new scheme follows
                    i = following
            challenges.append(Challenge(scheme.group().lower(), params))
            if i < len(header) and not header[i].isspace() and header[i] != ",":
                i += 1  # skip a stray character rather than loop on it
    return challenges


def _skip(pattern: re.Pattern[str], text: str, start: int) -> int:
    match = pattern.match(text, start)
    return match.end() if match else start


def pick_challenge(challenges: list[Challenge]) -> Challenge | None:
    """The challenge to answer: Bearer (with a realm) first, else Basic, else none."""
    for challenge in challenges:
        if challenge.scheme == "bearer" and challenge.params.get("realm"):
            return challenge
    return next((c for c in challenges if c.scheme == "basic"), None)


_REPOSITORY_PATH_RE = re.compile(
    r"/v2/(?P<name>.+)/(?:manifests/[^/]+|tags/list|blobs/uploads/.*|blobs/[^/]+|referrers/[^/]+)"
)


def scopes_for(request: httpx.Request) -> tuple[str, ...]:
    """The token scopes a request needs, from its path (distribution token spec scope grammar)."""
    path = request.url.path
    if path == "/v2/_catalog":
        return ("registry:catalog:*",)
    match = _REPOSITORY_PATH_RE.fullmatch(path)
    if match is None:
        return ()
    actions = "pull" if request.method in ("GET", "HEAD") else "pull,push"
    return (f"repository:{match['name']}:{actions}",)
