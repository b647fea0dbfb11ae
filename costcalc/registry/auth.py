"""Registry credentials (flags, config.json, helpers, auth.json) and the Basic/Bearer auth flow.

Failure contract for the registry client: the flow raises `Unauthorized` (from inside
httpx's auth flow, so it surfaces from `client.send`) when it gives up: a 401 it cannot
answer with credentials, a second 401 after its one retry, a refused or malformed token
exchange, or a realm it will not use. Its message names the registry and the credential
source tried, never a secret. A 401 with no Basic or Bearer challenge is returned unchanged.
403 and every other status pass through untouched.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from costcalc.errors import CredentialsRejected, InputError, Unauthorized
from costcalc.reference import DOCKER_HUB_NAMES, host_name, is_loopback

MAX_TOKEN_BODY_BYTES = 1024 * 1024
MAX_ERROR_BODY_BYTES = 1024 * 1024
HELPER_TIMEOUT_SECONDS = 30.0
# containers/image and regclient never trust a token for less than 60 s; renew a little
# early so a token does not expire between the cache check and the registry's check.
MIN_TOKEN_LIFETIME_SECONDS = 60.0
TOKEN_RENEWAL_BUFFER_SECONDS = 10.0
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
SOURCES_TRIED = "--username/--password-stdin, docker config.json, $REGISTRY_AUTH_FILE, containers auth.json"
_TOKEN_KEY = "costcalc.token_key"  # noqa: S105 - an extensions key
_MAX_CACHED_TOKENS = 1024


@dataclass(frozen=True)
class Credential:
    """A username and secret for one registry; `source` (where it came from) is safe to print."""

    username: str
    secret: str = field(repr=False)
    identity_token: bool = False  # secret is an OAuth2 refresh/identity token
    source: str = ""


# --- credential resolution -------------------------------------------------------------


def resolve_credential(
    registry_host: str,
    username: str | None = None,
    password: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Credential | None:
    """REGISTRY_HOST's credential from the flags, config.json, then auth.json; None = anonymous."""
    if username is not None or password is not None:
        if not username or password is None:
            raise InputError("--username and --password-stdin must be given together.")
        return Credential(username, password, source="--password-stdin")
    env = os.environ if environ is None else environ
    for path, label in _auth_files(env):
        credential = _from_auth_file(path, label, registry_host, env)
        if credential is not None:
            return credential
    return None


def _auth_files(env: Mapping[str, str]) -> list[tuple[Path, str]]:
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    docker_dir = Path(env["DOCKER_CONFIG"]) if env.get("DOCKER_CONFIG") else home / ".docker"
    files = [(docker_dir / "config.json", "docker config.json")]
    if env.get("REGISTRY_AUTH_FILE"):
        files.append((Path(env["REGISTRY_AUTH_FILE"]), "$REGISTRY_AUTH_FILE"))
    if env.get("XDG_RUNTIME_DIR"):
        files.append((Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json", "containers auth.json"))
    return files


def normalize_auth_key(key: str) -> str:
    """The host a config.json `auths` key stands for; Docker Hub's aliases all become docker.io."""
    text = key.strip().lower()
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
    text = text.split("/", 1)[0]
    return "docker.io" if text in DOCKER_HUB_NAMES else text


def _from_auth_file(path: Path, label: str, registry_host: str, env: Mapping[str, str]) -> Credential | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the credentials file ({type(exc).__name__}).") from None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        # The position only: the text around it may be a secret.
        raise InputError(f"{path}:{exc.lineno}: not valid JSON.") from None
    if not isinstance(config, dict):
        raise InputError(f"{path}: expected a JSON object.")
    wanted = normalize_auth_key(registry_host)
    where = f"{label} {path}"

    # Docker's own order: a per-host helper, then the default store, then plain `auths`
    # (docker/cli configfile.GetCredentialsStore). A helper that has nothing for this host
    # falls through to `auths`, which Docker would not do, so a stale store cannot hide a
    # credential written in the file.
    helpers = config.get("credHelpers") or {}
    if not isinstance(helpers, dict):
        raise InputError(f"{path}: credHelpers: expected an object of host -> helper name.")
    helper = next((name for key, name in helpers.items() if normalize_auth_key(key) == wanted), None)
    store = config.get("credsStore")
    for name, kind in ((helper, "credHelpers"), (store, "credsStore")):
        if name is None:
            continue
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9._-]+", name):
            raise InputError(f"{path}: {kind}: not a credential helper name.")
        credential = _from_helper(name, wanted, f"{where} ({kind}: {name})", env)
        if credential is not None:
            return credential

    auths = config.get("auths") or {}
    if not isinstance(auths, dict):
        raise InputError(f"{path}: auths: expected an object of registry -> credentials.")
    keys = sorted((k for k in auths if normalize_auth_key(k) == wanted), key=lambda k: k != registry_host)
    for key in keys:
        credential = _from_auths_entry(auths[key], path, key, f"{where} (auths)")
        if credential is not None:
            return credential
    return None


def _from_auths_entry(entry: object, path: Path, key: str, source: str) -> Credential | None:
    if not isinstance(entry, dict):
        raise InputError(f"{path}: auths.{key}: expected an object.")
    username = entry.get("username") or ""
    secret = entry.get("password") or ""
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(str(entry["auth"]), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InputError(f"{path}: auths.{key}.auth: not base64 of username:password.") from None
        # Some tools pad the decoded pair with NULs (regclient decodeAuth, containers/image).
        username, sep, secret = decoded.rstrip("\x00").partition(":")
        if not sep:
            raise InputError(f"{path}: auths.{key}.auth: not base64 of username:password.")
    token = entry.get("identitytoken")
    if isinstance(token, str) and token:
        return Credential(username or "<token>", token, identity_token=True, source=source)
    if not isinstance(username, str) or not isinstance(secret, str):
        raise InputError(f"{path}: auths.{key}: username and password must be strings.")
    if username and secret:
        return Credential(username, secret, source=source)
    # An empty entry is Docker's marker for "stored in a credential helper".
    return None


def _from_helper(name: str, host: str, source: str, env: Mapping[str, str]) -> Credential | None:
    program = f"docker-credential-{name}"
    executable = shutil.which(program, path=env.get("PATH"))
    if executable is None:
        raise InputError(f"{source} names {program}, which is not on PATH.")
    server_url = DOCKER_HUB_AUTH_KEY if host == "docker.io" else host
    try:
        # Stdout and stderr are never echoed: a helper may print the secret.
        done = subprocess.run(
            [executable, "get"],
            input=server_url,
            capture_output=True,
            text=True,
            timeout=HELPER_TIMEOUT_SECONDS,
            env=dict(env),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InputError(f"{program} get did not answer within {HELPER_TIMEOUT_SECONDS:.0f} s for {host}.") from None
    except OSError as exc:
        raise InputError(f"{program} could not be run for {host} ({type(exc).__name__}).") from None
    if done.returncode != 0:
        # docker-credential-helpers' ErrCredentialsNotFound message.
        if "credentials not found" in (done.stdout + done.stderr).lower():
            return None
        raise Unauthorized(f"{program} get failed for {host} (exit status {done.returncode}; {source}).")
    try:
        answer = json.loads(done.stdout)
    except json.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("Secret", ""), str):
        raise InputError(f"{program} get sent output that is not the helper protocol's JSON for {host}.")
    username, secret = str(answer.get("Username") or ""), answer.get("Secret") or ""
    if not secret:
        return None
    if username == "<token>":
        return Credential(username, secret, identity_token=True, source=source)
    return Credential(username, secret, source=source)


# --- WWW-Authenticate parsing -------------------------------------------------------------


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


# --- the flow -------------------------------------------------------------------------------

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


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float


TokenKey = tuple[str, str, tuple[str, ...]]


class RegistryAuth(httpx.Auth):
    """Answers one registry's Basic or Bearer challenges lazily, caching one token per scope."""

    # The hand-driven `auth_flow` reads bodies; the sync/async drivers below read only
    # 401 and token bodies, bounded, so a manifest stream stays the client's to limit.
    requires_response_body = True

    def __init__(
        self,
        registry_host: str,
        credential: Credential | None,
        *,
        plain_http: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._host = registry_host.lower()
        self._host_name = host_name(self._host).lower()
        before, sep, port = self._host.rpartition(":")
        bracketed_ok = not self._host.startswith("[") or before.endswith("]")
        self._port = int(port) if sep and port.isdigit() and bracketed_ok else None
        # Docker Hub is named docker.io but served from registry-1.docker.io.
        hub = self._host_name in DOCKER_HUB_NAMES
        self._names = DOCKER_HUB_NAMES if hub else frozenset({self._host_name})
        self._credential = credential
        self._plain_http = plain_http
        self._loopback = is_loopback(self._host)
        self._clock = clock
        self._bearer: Challenge | None = None  # realm and service, once a registry has named them
        self._basic = False
        self._tokens: dict[TokenKey, _Token] = {}
        self._inflight: dict[TokenKey, asyncio.Event] = {}
        self._probe: asyncio.Event | None = None
        self._probed = False

    # --- drivers: bounded body reads and single-flight token fetches -------------------

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        flow = self.auth_flow(request)
        outgoing = next(flow)
        while True:
            response = yield outgoing
            if outgoing.extensions.get(_TOKEN_KEY) is not None or response.status_code == 401:
                _read_bounded(response, MAX_TOKEN_BODY_BYTES)
            try:
                outgoing = flow.send(response)
            except StopIteration:
                return

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
                    done = self._inflight[key] = asyncio.Event()
                try:
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
            retry = pick_challenge(parse_challenges(response.headers.get_list("www-authenticate")))
            raise self._rejected(response, retry or challenge)

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
        where = f"The token server {_display(realm)}"
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
            answer: Any = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise Unauthorized(f"{where} did not send JSON.") from None
        token = answer.get("token") or answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not re.fullmatch(r"[!-~]+", token):
            raise Unauthorized(f"{where} sent no usable token.")
        lifetime = answer.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) else 0.0
        seconds = max(seconds, MIN_TOKEN_LIFETIME_SECONDS)
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
        if not same_host and _is_internal_address(realm.host):
            raise Unauthorized(
                f"{self._host} named a token server at the internal address {realm.host}; "
                "costcalc does not send requests there."
            )
        return realm

    def _rejected(self, response: httpx.Response, challenge: Challenge) -> CredentialsRejected:
        error = challenge.params.get("error") or _oci_error_code(response) or "UNAUTHORIZED"
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
        # SPEC §7: never send a credential or token over plain HTTP to a non-loopback host.
        return url.scheme == "https" or is_loopback(url.host)


def _basic_header(credential: Credential) -> str:
    pair = f"{credential.username}:{credential.secret}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _display(url: httpx.URL) -> str:
    """URL without userinfo or query, for messages."""
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}{url.path}"


def _scope_text(scopes: tuple[str, ...]) -> str:
    return " ".join(scopes) or "the registry"


def _is_internal_address(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local or address.is_unspecified


def _oci_error_code(response: httpx.Response) -> str | None:
    try:
        errors = json.loads(response.content[:MAX_ERROR_BODY_BYTES]).get("errors")
        code = errors[0]["code"]
    except Exception:  # any shape that is not an OCI error body
        return None
    return code if isinstance(code, str) and re.fullmatch(r"[A-Z_]{1,64}", code) else None


def _read_bounded(response: httpx.Response, limit: int) -> None:
    if _is_read(response):
        return
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                break
    finally:
        response.close()
    # Keep at most limit+1 bytes, enough for the flow to see "too large"; httpx's own
    # read of non-final responses then finds the body already there.
    response._content = b"".join(chunks)[: limit + 1]


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
