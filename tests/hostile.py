"""Misbehaving registries for tests: an in-memory registry for httpx.MockTransport with hooks,
hostile response builders, and a loopback HTTP server on real sockets (slow, reset, endless).

Everything here is test scaffolding: it never talks to the internet.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import struct
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

# A password no real test value could contain by accident: grep every output for it.
SECRET_PASSWORD = "s3cr3t-Pa55w0rd-XYZZY-hostile-7f3a"
SECRET_TOKEN = "tok-SECRET-TOKEN-PLUGH-9c1e"
MiB = 1024 * 1024


# -- bodies ---------------------------------------------------------------------------


def digest_of(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def config_body(os_name: str = "linux", arch: str = "amd64", created: str = "2026-01-01T00:00:00Z") -> bytes:
    return canonical({"architecture": arch, "os": os_name, "created": created, "rootfs": {"type": "layers"}})


def layer(seed: str, size_bytes: int, media_type: str = OCI_LAYER) -> dict[str, Any]:
    """A layer descriptor; the layer itself is never fetched, so its digest is of SEED."""
    return {"mediaType": media_type, "digest": digest_of(seed.encode()), "size": size_bytes}


def image_manifest(config: bytes, layers: list[dict[str, Any]], *, media_type: str = OCI_MANIFEST) -> bytes:
    return canonical(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": len(config)},
            "layers": layers,
        }
    )


def index_manifest(children: list[tuple[bytes, str | None, str]]) -> bytes:
    """An OCI index of (body, platform "os/arch" or None, media type) children."""
    entries = []
    for body, platform, media_type in children:
        entry: dict[str, Any] = {
            "mediaType": media_type,
            "digest": digest_of(body),
            "size": len(body),
        }
        if platform:
            os_name, arch = platform.split("/")[:2]
            entry["platform"] = {"os": os_name, "architecture": arch}
        entries.append(entry)
    return canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})


def schema1_manifest(name: str, tag: str) -> bytes:
    return canonical(
        {
            "schemaVersion": 1,
            "name": name,
            "tag": tag,
            "architecture": "amd64",
            "fsLayers": [{"blobSum": digest_of(b"x")}],
            "history": [{"v1Compatibility": "{}"}],
            "signatures": [],
        }
    )


def http_date(seconds_from_now: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds_from_now), usegmt=True)


# -- streams that count what was read ------------------------------------------------


class CountingStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body of TOTAL bytes (None: endless) produced lazily; counts bytes handed out."""

    def __init__(self, total: int | None, chunk: int = 64 * 1024, byte: bytes = b" ") -> None:
        self.total = total
        self.chunk = byte * chunk
        self.consumed = 0
        self.closed = False

    def _chunks(self) -> Iterator[bytes]:
        while self.total is None or self.consumed < self.total:
            piece = self.chunk if self.total is None else self.chunk[: self.total - self.consumed]
            self.consumed += len(piece)
            yield piece
            if self.consumed > 1024 * MiB:  # a safety net for a client that never stops
                raise RuntimeError("client read 1 GiB of an endless body")

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._chunks():
            yield piece

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


# -- an in-memory registry for MockTransport ------------------------------------------

Responder = Callable[[httpx.Request, re.Match[str]], httpx.Response | None]


@dataclass
class FakeRegistry:
    """A distribution registry in memory; `on()` overrides any route to misbehave.

    Serves /v2/, /v2/_catalog, /v2/NAME/tags/list, HEAD/GET /v2/NAME/manifests/REF and
    GET /v2/NAME/blobs/DIGEST, with Link pagination when `page_size` is set. Every request
    is recorded (method, URL, headers) in `requests`, including those to other hosts.
    """

    host: str = "registry.test"
    repos: dict[str, dict[str, str]] = field(default_factory=dict)
    blobs: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    page_size: int | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    overrides: list[tuple[str | None, re.Pattern[str], Responder]] = field(default_factory=list)

    # content
    def add(self, body: bytes, media_type: str) -> str:
        digest = digest_of(body)
        self.blobs[digest] = (body, media_type)
        return digest

    def tag(self, repo: str, tag: str, digest: str) -> None:
        self.repos.setdefault(repo, {})[tag] = digest

    def push_image(
        self,
        repo: str,
        tag: str,
        layers: list[dict[str, Any]] | None = None,
        platform: str = "linux/amd64",
    ) -> str:
        os_name, arch = platform.split("/")[:2]
        config = config_body(os_name, arch)
        self.add(config, OCI_CONFIG)
        body = image_manifest(config, layers if layers is not None else [layer(f"{repo}:{tag}", 1000)])
        digest = self.add(body, OCI_MANIFEST)
        self.tag(repo, tag, digest)
        return digest

    # misbehaviour
    def on(self, method: str | None, pattern: str, responder: Responder) -> None:
        """Answer METHOD (None: any) requests whose URL (host + path + query) matches PATTERN."""
        self.overrides.insert(0, (method, re.compile(pattern), responder))

    # observation
    def sent_to(self, host: str) -> list[httpx.Request]:
        return [r for r in self.requests if host in (r.url.host, r.url.netloc.decode())]

    def count(self, method: str, pattern: str) -> int:
        rx = re.compile(pattern)
        return sum(1 for r in self.requests if r.method == method and rx.search(_target(r)))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    # the handler
    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        target = _target(request)
        for method, rx, responder in self.overrides:
            if method is not None and method != request.method:
                continue
            match = rx.search(target)
            if match:
                response = responder(request, match)
                if response is not None:
                    return response
        if self.host not in (request.url.host, request.url.netloc.decode()):
            return httpx.Response(404, text="unknown host")
        return self._serve(request)

    def _serve(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path in ("/v2", "/v2/"):
            return httpx.Response(200, json={})
        if path == "/v2/_catalog":
            return self._page(request, sorted(self.repos), "repositories", "/v2/_catalog")
        m = re.fullmatch(r"/v2/(.+)/(tags/list|manifests|blobs)(?:/(.+))?", path)
        if not m:
            return error(404, "UNSUPPORTED", "no such route")
        name, kind, ref = m.groups()
        if name not in self.repos:
            return error(404, "NAME_UNKNOWN", f"repository {name} not known")
        if kind == "tags/list":
            return self._page(
                request,
                sorted(self.repos[name]),
                "tags",
                f"/v2/{name}/tags/list",
                extra={"name": name},
            )
        digest = self.repos[name].get(ref or "", ref or "")
        if digest not in self.blobs:
            code = "MANIFEST_UNKNOWN" if kind == "manifests" else "BLOB_UNKNOWN"
            return error(404, code, f"{ref} not known")
        body, media_type = self.blobs[digest]
        headers = {
            "Content-Type": media_type,
            "Docker-Content-Digest": digest,
            "Content-Length": str(len(body)),
        }
        if request.method == "HEAD":
            return httpx.Response(200, headers=headers)
        return httpx.Response(200, headers=headers, content=body)

    def _page(
        self,
        request: httpx.Request,
        items: list[str],
        key: str,
        path: str,
        extra: dict[str, Any] | None = None,
    ) -> httpx.Response:
        last = request.url.params.get("last")
        n = request.url.params.get("n")
        size = self.page_size or (int(n) if n and n.isdigit() and int(n) > 0 else None)
        if last is not None:
            items = [i for i in items if i > last]
        headers = {}
        if size is not None and len(items) > size:
            items = items[:size]
            headers["Link"] = f'<{path}?n={size}&last={items[-1]}>; rel="next"'
        return httpx.Response(200, json={**(extra or {}), key: items}, headers=headers)


def _target(request: httpx.Request) -> str:
    query = request.url.query.decode()
    return f"{request.url.host}{request.url.path}" + (f"?{query}" if query else "")


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"code": code, "message": message}]}, headers=headers)


def all_header_text(requests: list[httpx.Request]) -> str:
    """Every request's URL, headers and body, for grepping for a secret."""
    parts = []
    for r in requests:
        parts.append(str(r.url))
        parts.extend(f"{k}: {v}" for k, v in r.headers.items())
        with contextlib.suppress(httpx.RequestNotRead):
            parts.append(r.content.decode("latin-1"))
    return "\n".join(parts)


# -- a loopback HTTP server on real sockets -------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    at: float


Route = Callable[["_Handler"], None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LoopbackServer._Server  # type: ignore[name-defined]

    def log_message(self, format: str, *args: object) -> None:
        return

    def _dispatch(self) -> None:
        owner = self.server.owner
        owner.seen.append(Seen(self.command, self.path, dict(self.headers.items()), time.monotonic()))
        for method, rx, route in owner.routes:
            if (method is None or method == self.command) and rx.search(self.path):
                try:
                    route(self)
                except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
                    self.close_connection = True
                return
        self.respond(404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"no route"}]}')

    do_GET = do_HEAD = _dispatch

    # building blocks for routes
    def respond(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        merged = {
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            **(headers or {}),
        }
        for key, value in merged.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0), before any response."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def endless_chunked(self, max_seconds: float = 20.0) -> None:
        """A 200 whose chunked body never ends (until the client hangs up or MAX_SECONDS pass)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"[" * 65536
        deadline = time.monotonic() + max_seconds
        self.server.owner.endless_started += 1
        while time.monotonic() < deadline and not self.server.owner.stopping.is_set():
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.server.owner.endless_bytes += len(chunk)
        self.close_connection = True

    def slow_body(self, body: bytes, delay: float, headers: dict[str, str] | None = None) -> None:
        """Headers at once, then the body one byte every DELAY seconds."""
        self.send_response(200)
        for key, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        for i in range(len(body)):
            if self.server.owner.stopping.wait(delay):
                break
            self.wfile.write(body[i : i + 1])
            self.wfile.flush()
        self.close_connection = True

    def hang(self, max_seconds: float = 20.0) -> None:
        """Read the request, answer nothing."""
        self.server.owner.stopping.wait(max_seconds)
        self.close_connection = True


class LoopbackServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 whose routes may misbehave at the socket level.

    Use as a context manager; `route(method, path_regex, fn)` where fn receives the request
    handler and calls its building blocks (respond, reset, endless_chunked, slow_body, hang).
    """

    class _Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        owner: LoopbackServer

    def __init__(self) -> None:
        self.routes: list[tuple[str | None, re.Pattern[str], Route]] = []
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        self.endless_bytes = 0
        self.endless_started = 0
        self._server = self._Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def route(self, method: str | None, pattern: str, fn: Route) -> None:
        self.routes.insert(0, (method, re.compile(pattern), fn))

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_registry(server: LoopbackServer, registry: FakeRegistry) -> None:
    """Serve FAKE REGISTRY's normal answers from the loopback server (routes added later win)."""

    def fallback(handler: _Handler) -> None:
        request = httpx.Request(
            handler.command,
            f"http://{registry.host}{handler.path}",
            headers=dict(handler.headers.items()),
        )
        response = registry(request)
        body = response.content
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        handler.respond(response.status_code, body, headers)

    server.route(None, r"^/v2", fallback)


# -- driving a scan against a fake registry -------------------------------------------


class FakeSleep:
    """An injectable sleep that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def scan_fake(
    registry: FakeRegistry,
    namespace: str = "",
    *,
    cache: Any = None,
    auth: httpx.Auth | None = None,
    sleep: Callable[[float], Any] | None = None,
    retry: Any = None,
    timeout_seconds: float = 30.0,
    transport: httpx.AsyncBaseTransport | None = None,
    **options: Any,
) -> Any:
    """Run costcalc.registry.scan.scan over REGISTRY through MockTransport; returns the Inventory."""
    import asyncio

    from costcalc.reference import parse_target
    from costcalc.registry.client import RegistryClient, RetryPolicy
    from costcalc.registry.scan import ScanOptions, scan

    target = parse_target(f"{registry.host}/{namespace}" if namespace else registry.host)

    async def main() -> Any:
        client = RegistryClient(
            registry.host,
            auth=auth,
            transport=transport or registry.transport(),
            sleep=sleep or FakeSleep(),
            retry=retry or RetryPolicy(attempts=3),
            timeout_seconds=timeout_seconds,
            plain_http=bool(options.get("plain_http")),
        )
        async with client:
            return await scan(target, ScanOptions(**options), client, cache)

    return asyncio.run(main())
