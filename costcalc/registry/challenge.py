"""The Basic/Bearer challenge flow of one registry: token requests, their cache, who gets credentials.

Failure contract for the registry client: the flow raises `Unauthorized` (from inside
httpx's auth flow, so it surfaces from `client.send`) when it gives up: a 401 it cannot
answer with credentials, a second 401 after its one retry, a refused or malformed token
exchange, a realm it will not use, or a 401 from a host the registry redirected to. Its
message names the host and the credential source tried, never a secret. A 401 with no Basic
or Bearer challenge is returned unchanged. 403 and every other status pass through untouched.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any

import httpx

from costcalc.errors import CredentialsRejected, Unauthorized
from costcalc.reference import DOCKER_HUB_NAMES, host_name, is_loopback, split_port
from costcalc.registry import network
from costcalc.registry.credentials import SOURCES_TRIED, Credential
from costcalc.registry.responses import MAX_ERROR_BODY_BYTES, error_detail
from costcalc.registry.www_authenticate import Challenge, parse_challenges, pick_challenge, scopes_for

MAX_TOKEN_BODY_BYTES = 1024 * 1024
# containers/image and regclient never trust a token for less than 60 s; renew a little
# early so a token does not expire between the cache check and the registry's check.
MIN_TOKEN_LIFETIME_SECONDS = 60.0
# A token server may claim any lifetime; past a day the claim is not worth believing.
MAX_TOKEN_LIFETIME_SECONDS = 86_400.0
TOKEN_RENEWAL_BUFFER_SECONDS = 10.0
_TOKEN_KEY = "costcalc.token_key"  # noqa: S105 - an extensions key
_MAX_CACHED_TOKENS = 1024
_MAX_NUMBER_DIGITS = 30  # longer integers in a token body are read as infinite, never converted

Resolve = Callable[[str, int], Awaitable[list[str]]]


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float


TokenKey = tuple[str, str, tuple[str, ...]]


class RegistryAuth(httpx.Auth):
    """Answers one registry's Basic or Bearer challenges lazily, caching one token per scope."""

    # The hand-driven `auth_flow` reads bodies; the async driver below reads only 401 and
    # token bodies, bounded, so a manifest stream stays the client's to limit. There is no
    # synchronous driver: costcalc's client is async.
    requires_response_body = True

    def __init__(
        self,
        registry_host: str,
        credential: Credential | None,
        *,
        plain_http: bool = False,
        clock: Callable[[], float] = time.monotonic,
        resolve: Resolve | None = None,
    ) -> None:
        self._host = registry_host.lower()
        self._host_name = host_name(self._host).lower()
        port = split_port(self._host)[1]
        self._port = int(port) if port is not None and port.isascii() and port.isdigit() else None
        # Docker Hub is named docker.io but served from registry-1.docker.io.
        hub = self._host_name in DOCKER_HUB_NAMES
        self._names = DOCKER_HUB_NAMES if hub else frozenset({self._host_name})
        self._credential = credential
        self._plain_http = plain_http
        self._loopback = is_loopback(self._host)
        self._clock = clock
        self._resolve = resolve or network.resolve
        self._address_kinds: dict[str, int] = {}
        self._bearer: Challenge | None = None  # realm and service, once a registry has named them
        self._basic = False
        self._tokens: dict[TokenKey, _Token] = {}
        self._inflight: dict[TokenKey, asyncio.Event] = {}
        self._probe: asyncio.Event | None = None
        self._probed = False

    # --- the driver: bounded body reads, single-flight token fetches, realm addresses -------

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        flow = self.auth_flow(request)
        outgoing = next(flow)
        waited: set[str] = set()  # each kind of wait at most once, so restarts are bounded
        probing = False
        try:
            while True:
                key: TokenKey | None = outgoing.extensions.get(_TOKEN_KEY)
                pending = self._inflight.get(key) if key is not None else None
                if key is None and outgoing is request and not self._probed:
                    # Until one response has told us how this registry authenticates, let
                    # one request find out while the others wait: N concurrent first
                    # requests then cost one 401, not N.
                    pending = self._probe
                    if pending is None:
                        self._probe = asyncio.Event()
                        probing = True
                kind = "token" if key is not None else "probe"
                if pending is not None and kind not in waited:
                    # Another request is finding out, or fetching this very token: wait,
                    # then start over so the flow finds the answer cached.
                    waited.add(kind)
                    await pending.wait()
                    flow.close()
                    flow = self.auth_flow(request)
                    outgoing = next(flow)
                    continue
                done: asyncio.Event | None = None
                if key is not None:
                    # In flight from here on, before any await: a request for the same scope
                    # arriving meanwhile waits for this token instead of fetching its own.
                    done = self._inflight[key] = asyncio.Event()
                try:
                    if key is not None:
                        await self._refuse_internal_realm(outgoing.url)
                    response = yield outgoing
                    if key is not None or response.status_code == 401:
                        await _aread_bounded(response, MAX_TOKEN_BODY_BYTES)
                finally:
                    if key is not None and done is not None:
                        if self._inflight.get(key) is done:
                            del self._inflight[key]
                        done.set()
                try:
                    outgoing = flow.send(response)
                except StopIteration:
                    return
                finally:
                    if probing:
                        probing = False
                        self._end_probe()
        finally:
            if probing:
                self._end_probe()

    def _end_probe(self) -> None:
        self._probed = True
        if self._probe is not None:
            self._probe.set()

    # --- the flow ------------------------------------------------------------------------

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not self._is_registry(request.url):
            # Only the registry's own host ever gets its credentials; anything else passes as is.
            yield request
            return
        path_scopes = scopes_for(request)
        sent: str | None = None
        if self._may_carry_credentials(request.url):
            if self._bearer is not None:
                token = yield from self._token(self._bearer, path_scopes, request.url, fresh=False)
                request.headers["Authorization"] = f"Bearer {token}"
                sent = "bearer"
            elif self._basic and self._credential is not None:
                request.headers["Authorization"] = _basic_header(self._credential)
                sent = "basic"
        response = yield request
        if response.status_code != 401:
            return
        self._refuse_redirect_target(request, response)
        challenge = pick_challenge(parse_challenges(response.headers.get_list("www-authenticate")))
        if challenge is None:
            return
        scopes = tuple(challenge.params.get("scope", "").split()) or path_scopes
        if not self._may_carry_credentials(request.url):
            raise Unauthorized(
                f"{self._host} asks for credentials over plain HTTP; costcalc sends credentials "
                "over plain HTTP only to a loopback registry."
            )
        if challenge.scheme == "basic":
            if self._credential is None:
                raise CredentialsRejected(f"{self._host} requires credentials, and none were found ({SOURCES_TRIED}).")
            if sent == "basic":
                raise self._rejected(response, challenge)
            self._basic = True
            request.headers["Authorization"] = _basic_header(self._credential)
        else:
            self._bearer = Challenge("bearer", {k: challenge.params.get(k, "") for k in ("realm", "service")})
            token = yield from self._token(challenge, scopes, request.url, fresh=sent == "bearer")
            request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # The retried request may be redirected too, and its target's 401 says nothing
            # of the registry's credentials.
            self._refuse_redirect_target(request, response)
            retry = pick_challenge(parse_challenges(response.headers.get_list("www-authenticate")))
            raise self._rejected(response, retry or challenge)

    def _refuse_redirect_target(self, request: httpx.Request, response: httpx.Response) -> None:
        """Raise if RESPONSE, a 401, comes from a host the registry redirected REQUEST to."""
        if not self._is_registry(response.url):
            # A redirect target (storage, a CDN) asking for credentials: the registry's are not
            # its to have, and its realm is not the registry's.
            raise Unauthorized(
                f"{network.display_url(response.url)}, where {self._host} redirected {request.url.path}, "
                "asks for credentials; costcalc sends the registry's credentials only to the registry."
            )

    def _token(
        self, challenge: Challenge, scopes: tuple[str, ...], registry_url: httpx.URL, *, fresh: bool
    ) -> Generator[httpx.Request, httpx.Response, str]:
        realm_text, service = challenge.params.get("realm", ""), challenge.params.get("service", "")
        key: TokenKey = (realm_text, service, scopes)
        cached = self._tokens.get(key)
        if cached is not None and not fresh and cached.expires_at > self._clock():
            return cached.value
        realm = self._check_realm(registry_url.join(realm_text))
        credential = self._credential
        if credential is not None and not self._may_carry_credentials(realm):
            credential = None
        params: dict[str, str | list[str]] = {"service": service} if service else {}
        if scopes:
            params["scope"] = list(scopes)
        headers = {"Accept": "application/json"}
        extensions = {_TOKEN_KEY: key}
        response: httpx.Response | None = None
        if credential is not None and credential.identity_token:
            # Distribution's OAuth2 token flow; ggcr falls back to GET on 404 for token
            # servers without it, as do we (and on 405).
            form = {
                "grant_type": "refresh_token",
                "refresh_token": credential.secret,
                "client_id": "costcalc",
                "scope": " ".join(scopes),
            }
            if service:
                form["service"] = service
            response = yield httpx.Request("POST", realm, data=form, headers=headers, extensions=extensions)
            if response.status_code in (404, 405):
                response = None
        if response is None:
            if credential is not None:
                headers["Authorization"] = _basic_header(credential)
            response = yield httpx.Request("GET", realm, params=params, headers=headers, extensions=extensions)
        return self._accept_token(response, key, realm, credential)

    def _accept_token(
        self,
        response: httpx.Response,
        key: TokenKey,
        realm: httpx.URL,
        credential: Credential | None,
    ) -> str:
        where = f"The token server {network.display_url(realm)}"
        if (response.url.scheme, response.url.host) != (realm.scheme, realm.host):
            self._check_realm(response.url)  # a redirected token request (ggcr realmRedirectCheck)
        if response.status_code in (401, 403):
            if credential is None:
                raise CredentialsRejected(
                    f"{where} refused an anonymous token for {_scope_text(key[2])} "
                    f"({response.status_code}); no credentials were found ({SOURCES_TRIED})."
                )
            raise CredentialsRejected(
                f"{where} rejected the credentials from {credential.source} ({response.status_code})."
            )
        if response.status_code != 200:
            raise Unauthorized(f"{where} answered {response.status_code} for {_scope_text(key[2])}.")
        body = response.content
        if len(body) > MAX_TOKEN_BODY_BYTES:
            raise Unauthorized(f"{where} sent a response over 1 MiB; costcalc does not read it.")
        try:
            answer: Any = json.loads(body, parse_int=_bounded_int)
        except (ValueError, UnicodeDecodeError):
            raise Unauthorized(f"{where} did not send JSON.") from None
        except RecursionError:
            raise Unauthorized(f"{where} sent JSON nested too deeply to read.") from None
        token = answer.get("token") or answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not re.fullmatch(r"[!-~]+", token):
            raise Unauthorized(f"{where} sent no usable token.")
        seconds = _lifetime(answer.get("expires_in"))
        now = self._clock()
        if len(self._tokens) >= _MAX_CACHED_TOKENS:
            self._tokens = {k: t for k, t in self._tokens.items() if t.expires_at > now}
        self._tokens[key] = _Token(token, now + seconds - TOKEN_RENEWAL_BUFFER_SECONDS)
        return token

    def _check_realm(self, realm: httpx.URL) -> httpx.URL:
        """REALM if it is safe to ask for a token there (ggcr validateRealmURL), else raise."""
        same_host = realm.host.lower() in self._names
        if realm.scheme not in ("http", "https") or not realm.host:
            raise Unauthorized(f"{self._host} named a token realm that is not an http(s) URL.")
        if realm.scheme == "http" and not (same_host and (self._loopback or self._plain_http)):
            raise Unauthorized(
                f"{self._host} named a plain-HTTP token server on {realm.host}; costcalc asks only "
                "HTTPS token servers, or plain HTTP on the host of a plain-HTTP registry."
            )
        return realm

    async def _refuse_internal_realm(self, realm: httpx.URL) -> None:
        """Raise if REALM, on another host than the registry, resolves to an address more internal
        than the registry's own (loopback, link-local, private): however it is spelled
        (2130706433, 0x7f000001, 127.1, localhost, a name), the address decides."""
        if realm.host.lower() in self._names:
            return
        port = realm.port or (443 if realm.scheme == "https" else 80)
        realm_kind = await self._address_kind(realm.host, port)
        if realm_kind == network.PUBLIC:
            return
        if realm_kind <= await self._address_kind(self._host_name, self._port or 443):
            return  # a private registry's token server on the same private network
        raise Unauthorized(
            f"{self._host} named a token server at {realm.host}, an internal address "
            f"({network.KIND_NAMES[realm_kind]}); costcalc does not send requests there."
        )

    async def _address_kind(self, host: str, port: int) -> int:
        """The most internal kind of address HOST resolves to (public if it does not resolve)."""
        kind = self._address_kinds.get(host)
        if kind is None:
            try:
                addresses = await self._resolve(host, port)
            except OSError:  # the request itself will say the name does not resolve
                addresses = []
            kind = max((network.address_kind(address) for address in addresses), default=network.PUBLIC)
            self._address_kinds[host] = kind
        return kind

    def _rejected(self, response: httpx.Response, challenge: Challenge) -> CredentialsRejected:
        # The registry's own words: only a sanitized, capped form may reach a terminal.
        error = network.sanitize(challenge.params.get("error") or _oci_error_code(response) or "UNAUTHORIZED", 80)
        if self._credential is None:
            return CredentialsRejected(
                f"{self._host} requires credentials ({response.status_code} {error}), "
                f"and none were found ({SOURCES_TRIED})."
            )
        return CredentialsRejected(
            f"{self._host} rejected the credentials from {self._credential.source} ({response.status_code} {error})."
        )

    def _is_registry(self, url: httpx.URL) -> bool:
        default = {"https": 443, "http": 80}.get(url.scheme)
        return url.host.lower() in self._names and (url.port or default) == (self._port or default)

    def _may_carry_credentials(self, url: httpx.URL) -> bool:
        # Never send a credential or token over plain HTTP to a non-loopback host.
        return url.scheme == "https" or is_loopback(url.host)


def _basic_header(credential: Credential) -> str:
    pair = f"{credential.username}:{credential.secret}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _scope_text(scopes: tuple[str, ...]) -> str:
    return " ".join(scopes) or "the registry"


def _bounded_int(text: str) -> float | int:
    """A JSON integer, or infinity when it has more digits than any lifetime or count needs
    (Python refuses to convert past 4,300 digits, and slowly before that)."""
    return int(text) if len(text) <= _MAX_NUMBER_DIGITS else math.inf


def _lifetime(value: object) -> float:
    """How long to keep a token: its expires_in when that is a sane number of seconds, else the
    minimum (absent, NaN, infinite, a string): a token is cached in every case, so a bad
    expires_in never costs one token request per registry request."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return MIN_TOKEN_LIFETIME_SECONDS
    return min(max(float(value), MIN_TOKEN_LIFETIME_SECONDS), MAX_TOKEN_LIFETIME_SECONDS)


def _oci_error_code(response: httpx.Response) -> str | None:
    code, _ = error_detail(response.content[:MAX_ERROR_BODY_BYTES])
    return code if code is not None and re.fullmatch(r"[A-Z_]{1,64}", code) else None


async def _aread_bounded(response: httpx.Response, limit: int) -> None:
    if _is_read(response):
        return
    chunks: list[bytes] = []
    total = 0
    try:
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                break
    finally:
        await response.aclose()
    response._content = b"".join(chunks)[: limit + 1]


def _is_read(response: httpx.Response) -> bool:
    try:
        response.content  # noqa: B018 - raises ResponseNotRead for an unread stream
    except httpx.ResponseNotRead:
        return False
    return True
