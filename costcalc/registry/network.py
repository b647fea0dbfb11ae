"""How a scan reaches a registry: its one httpx client (TLS, HTTP/2, proxies) and httpx's failures as errors."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import socket
import ssl
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path

import httpx

from costcalc import __version__
from costcalc.errors import CostcalcError, InputError, RegistryError, Unreachable
from costcalc.reference import host_name, is_loopback

USER_AGENT = f"costcalc/{__version__}"
# Go's and Docker's clients never send a loopback host through a proxy: a proxy resolves names
# on its own side, and would see every credential sent to a local registry in clear.
LOOPBACK_PATTERNS = ("all://localhost", "all://*.localhost", "all://127.0.0.1", "all://[::1]")
# A registry, its token service and a blob redirect target: a few origins beyond the scan's own.
EXTRA_CONNECTIONS = 4


def ssl_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """httpx's default trust (its CA bundle, or SSL_CERT_FILE / SSL_CERT_DIR), plus CA_FILE's CAs."""
    context = httpx.create_ssl_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else "no PEM certificate in it"
            raise InputError(f"{ca_file}: cannot load the CA certificates ({problem}).") from None
    return context


def open_client(
    registry_host: str,
    *,
    auth: httpx.Auth | None,
    concurrency: int,
    timeout_seconds: float,
    http1: bool = False,
    ca_file: Path | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    on_response: Callable[[httpx.Response], Awaitable[None]] | None = None,
) -> httpx.AsyncClient:
    """The scan's one client: HTTP/2 over TLS unless HTTP1, proxies as the environment names them
    (httpx reads HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY) but never for a loopback host.

    TRANSPORT replaces the network (tests answer with httpx.MockTransport); httpx then reads no
    proxy from the environment. ON_RESPONSE sees every response, those of the auth flow and of
    redirects included."""
    loopback = [*LOOPBACK_PATTERNS]
    if is_loopback(registry_host):
        name = host_name(registry_host)
        loopback.append(f"all://[{name}]" if ":" in name else f"all://{name}")
    # No cookies: registry clients keep none (Docker's and containerd's do not), and a jar
    # refusing every domain is how the standard library says so.
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    try:
        return httpx.AsyncClient(
            auth=auth,
            http2=not http1,
            verify=ssl_context(ca_file),
            mounts=dict.fromkeys(loopback),
            transport=transport,
            timeout=httpx.Timeout(timeout_seconds),
            limits=httpx.Limits(
                max_connections=concurrency + EXTRA_CONNECTIONS,
                max_keepalive_connections=concurrency + EXTRA_CONNECTIONS,
            ),
            headers={"User-Agent": USER_AGENT},
            cookies=jar,
            follow_redirects=False,
            event_hooks={"response": [on_response]} if on_response else None,
        )
    except ImportError as exc:
        if "socks" in str(exc).lower():
            raise CostcalcError(
                "the environment names a SOCKS proxy (ALL_PROXY or HTTPS_PROXY), which needs "
                "costcalc's optional extra: pip install 'costcalc[socks]'."
            ) from None
        raise
    except (ValueError, httpx.InvalidURL):  # a proxy URL httpx cannot parse or does not speak
        # Not httpx's text: it quotes the proxy URL, and so any password in it.
        raise CostcalcError(
            "the proxy named in the environment (HTTP_PROXY, HTTPS_PROXY or ALL_PROXY) is not an "
            "http, https, socks5 or socks5h URL."
        ) from None


def proxy_for(url: httpx.URL) -> str | None:
    """The proxy the environment names for URL (userinfo dropped), as far as error messages need."""
    if is_loopback(url.host):
        return None
    proxies = urllib.request.getproxies()
    if urllib.request.proxy_bypass(url.host):
        return None
    named = proxies.get(url.scheme) or proxies.get("all")
    if not named:
        return None
    proxy = httpx.URL(named if "://" in named else f"http://{named}")
    return str(proxy.copy_with(username=None, password=None, path="/")).removesuffix("/")


@dataclass(frozen=True, slots=True)
class Failure:
    """What a failed exchange means to costcalc: the error to report and whether to try again."""

    error: RegistryError
    retry: bool


# httpx's failures, most specific first: (kind, error class, retry?, what happened).
_TABLE: tuple[tuple[type[Exception], type[RegistryError], bool, str], ...] = (
    (httpx.ProxyError, Unreachable, True, "the proxy refused to connect it"),
    (httpx.ConnectTimeout, Unreachable, True, "connecting timed out"),
    (httpx.ConnectError, Unreachable, True, "cannot connect"),
    (httpx.PoolTimeout, RegistryError, True, "no connection became free in time"),
    (httpx.TimeoutException, RegistryError, True, "the answer stopped arriving"),
    (httpx.RemoteProtocolError, RegistryError, True, "the answer broke the HTTP protocol"),
    (httpx.NetworkError, RegistryError, True, "the connection failed"),
    (httpx.UnsupportedProtocol, RegistryError, False, "not an http(s) URL"),
    (httpx.LocalProtocolError, RegistryError, False, "the request cannot be sent"),
    (httpx.TooManyRedirects, RegistryError, False, "too many redirects"),
    (httpx.DecodingError, RegistryError, False, "the body cannot be decoded"),
    (httpx.InvalidURL, RegistryError, False, "a URL in the answer is not valid"),
    (httpx.HTTPError, RegistryError, True, "the exchange failed"),
)


_CONNECTING = (httpx.ProxyError, httpx.ConnectError, httpx.ConnectTimeout)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def describe(exc: httpx.HTTPError | httpx.InvalidURL, method: str, url: httpx.URL) -> Failure:
    """The costcalc error for EXC, raised while sending METHOD URL, and whether to retry.

    The host that failed is named: the registry's, or a token server's or a redirect
    target's when it was their request (httpx keeps the request on the error)."""
    failed = url
    if isinstance(exc, httpx.RequestError):
        try:
            failed = exc.request.url
        except RuntimeError:  # raised before a request existed
            failed = url
    where = f"{method} {display_url(url)}"
    if failed.host != url.host:
        where += f" (at {failed.host})"
    cause = _ssl_cause(exc)
    if isinstance(cause, ssl.SSLCertVerificationError):
        # Deterministic: retrying cannot help, and nothing else on this host will work.
        reason = getattr(cause, "verify_message", None) or "verification failed"
        hint = "" if failed.host != url.host else ", or use --plain-http if the registry serves plain HTTP"
        return Failure(
            Unreachable(
                f"{where}: the TLS certificate of {failed.netloc.decode('ascii')} is not trusted "
                f"({reason}); pass its CA with --ca-file{hint}."
            ),
            retry=False,
        )
    if cause is not None and not_tls(exc):
        return Failure(
            Unreachable(
                f"{where}: {failed.netloc.decode('ascii')} does not speak TLS on that port; "
                "use --plain-http if the registry serves plain HTTP."
            ),
            retry=False,
        )
    _, error, retry, what = next(row for row in _TABLE if isinstance(exc, row[0]))
    if isinstance(exc, _CONNECTING):
        # The operating system's words (refused, unreachable, no such name) say what to fix;
        # nothing in them comes from the server, which could echo a credential back.
        what = _os_reason(exc) or sanitize(str(exc), 200) or what
        proxy = proxy_for(failed)
        if proxy is not None:
            what += f" (through the proxy {proxy})"
    return Failure(error(f"{where}: {type(exc).__name__}: {what}."), retry)


def _os_reason(exc: BaseException) -> str | None:
    """The operating system's reason behind EXC (refused, no such name...), if there is one."""
    seen: BaseException | None = exc
    for _ in range(10):  # httpx wraps httpcore wraps anyio wraps the OSError: a short chain
        if seen is None:
            return None
        if isinstance(seen, socket.gaierror):
            return str(seen.strerror)
        if isinstance(seen, OSError) and seen.errno is not None and seen.errno > 0:
            return os.strerror(seen.errno)
        seen = seen.__cause__ or seen.__context__
    return None


def not_tls(exc: BaseException) -> bool:
    """Whether EXC says the server answered a TLS handshake with something that is not TLS."""
    cause = _ssl_cause(exc)
    return cause is not None and cause.reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST")


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    for _ in range(10):  # httpx wraps httpcore wraps ssl: a short chain
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def sanitize(text: str, limit: int = 200) -> str:
    """Registry-supplied text made safe for one line of output: no control characters, capped."""
    clean = _CONTROL.sub(" ", text).strip()
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


def display_url(url: httpx.URL) -> str:
    """URL without userinfo, query or fragment (signed redirect URLs carry secrets in queries)."""
    return str(url.copy_with(query=None, fragment=None, username=None, password=None))


PUBLIC, PRIVATE, LINK_LOCAL, LOOPBACK = range(4)
KIND_NAMES = {PRIVATE: "private", LINK_LOCAL: "link-local", LOOPBACK: "loopback"}


def address_kind(text: str) -> int:
    """How internal an IP address is: PUBLIC < PRIVATE < LINK_LOCAL < LOOPBACK."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return PUBLIC
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback or address.is_unspecified:
        return LOOPBACK
    if address.is_link_local:
        return LINK_LOCAL
    return PRIVATE if address.is_private else PUBLIC


async def resolve(host: str, port: int) -> list[str]:
    """The addresses HOST resolves to, as the connection to it would find them."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(entry[4][0]) for entry in found]
