"""A latency-injecting HTTP/1.1 reverse proxy that counts the requests passing through it.

It sits on loopback in front of the registry so that every client (costcalc, skopeo,
python-dxf) pays the same fixed delay per request, as across a real network, and so
that requests are counted by method and path kind outside the client under test.

Run alone: ``python -m benchmarks.proxy --upstream 127.0.0.1:5000 --delay-ms 20``; it
prints ``listening on HOST:PORT`` and serves until killed. Control endpoints (neither
delayed nor counted): ``GET /__proxy/stats`` (JSON counts), ``POST /__proxy/reset``,
``POST /__proxy/delay?ms=N``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import sys
from collections import Counter
from urllib.parse import parse_qs, urlsplit

LOOPBACK = "127.0.0.1"
_NO_BODY_STATUS = frozenset({204, 304})
_TLS_HANDSHAKE = b"\x16"


def path_kind(path: str) -> str:
    """The kind of a distribution API path: ping, catalog, tags, manifest, blob, upload, other."""
    path = urlsplit(path).path
    if path in ("/v2", "/v2/"):
        return "ping"
    if path.startswith("/v2/_catalog"):
        return "catalog"
    if path.endswith("/tags/list"):
        return "tags"
    if "/manifests/" in path:
        return "manifest"
    if "/blobs/uploads" in path:
        return "upload"
    if "/blobs/" in path:
        return "blob"
    return "other"


class _Message:
    """The head of an HTTP/1.1 request or response, headers kept in order and raw case."""

    def __init__(self, start_line: str, headers: list[tuple[str, str]]) -> None:
        self.start_line = start_line
        self.headers = headers

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def encode(self) -> bytes:
        lines = [self.start_line, *(f"{k}: {v}" for k, v in self.headers), "", ""]
        return "\r\n".join(lines).encode("latin-1")


async def _read_head(reader: asyncio.StreamReader, prefix: bytes = b"") -> _Message | None:
    try:
        raw = prefix + await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = raw.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if line:
            key, _, value = line.partition(":")
            headers.append((key.strip(), value.strip()))
    return _Message(lines[0], headers)


async def _relay_body(
    head: _Message, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, until_eof: bool
) -> None:
    """Copy the body that follows HEAD from READER to WRITER, byte for byte (chunked or sized)."""
    if (head.header("transfer-encoding") or "").lower() == "chunked":
        while True:
            size_line = await reader.readuntil(b"\r\n")
            writer.write(size_line)
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while True:  # trailers, then the empty line
                    line = await reader.readuntil(b"\r\n")
                    writer.write(line)
                    if line == b"\r\n":
                        return
            writer.write(await reader.readexactly(size + 2))
            await writer.drain()
    length = head.header("content-length")
    if length is not None:
        remaining = int(length)
        while remaining:
            chunk = await reader.read(min(remaining, 1 << 16))
            if not chunk:
                raise ConnectionError("upstream closed mid-body")
            writer.write(chunk)
            remaining -= len(chunk)
        return
    if until_eof:
        while chunk := await reader.read(1 << 16):
            writer.write(chunk)


class LatencyProxy:
    """Forwards every request to UPSTREAM after DELAY seconds and counts it by method and kind."""

    def __init__(self, upstream: str, *, delay_s: float = 0.020, connect_delay_s: float = 0.0, port: int = 0) -> None:
        host, _, upstream_port = upstream.rpartition(":")
        self.upstream_host = host or LOOPBACK
        self.upstream_port = int(upstream_port)
        self.delay_s = delay_s
        self.connect_delay_s = connect_delay_s  # a TCP handshake's round trip, per new connection
        self.port = port
        self.counts: Counter[str] = Counter()
        self.connections = 0
        self._server: asyncio.base_events.Server | None = None

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, LOOPBACK, self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def stats(self) -> dict[str, object]:
        """Requests by "METHOD kind", their total, client connections, and the current delay."""
        return {
            "requests": dict(sorted(self.counts.items())),
            "total": sum(self.counts.values()),
            "connections": self.connections,
            "delay_ms": round(self.delay_s * 1000, 3),
            "connect_delay_ms": round(self.connect_delay_s * 1000, 3),
        }

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            first = await client_r.read(1)
            if first in (b"", _TLS_HANDSHAKE):
                # A TLS client probing for HTTPS: answer in plain HTTP at once, as Go's server
                # does, so that it falls back to http:// instead of waiting for a timeout.
                client_w.write(b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTPS request.\n")
                await client_w.drain()
                return
            if self.connect_delay_s > 0:
                await asyncio.sleep(self.connect_delay_s)
            while True:
                request = await _read_head(client_r, first)
                first = b""
                if request is None:
                    return
                method, target, _ = request.start_line.split(" ", 2)
                if target.startswith("/__proxy/"):
                    await self._control(method, target, request, client_r, client_w)
                    continue
                self.counts[f"{method} {path_kind(target)}"] += 1
                if self.delay_s > 0:
                    await asyncio.sleep(self.delay_s)
                if upstream is None or upstream[1].is_closing():
                    upstream = await asyncio.open_connection(self.upstream_host, self.upstream_port)
                up_r, up_w = upstream
                up_w.write(request.encode())
                await _relay_body(request, client_r, up_w, until_eof=False)
                await up_w.drain()
                response = await _read_head(up_r)
                if response is None:
                    client_w.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                    await client_w.drain()
                    return
                client_w.write(response.encode())
                status = int(response.start_line.split(" ", 2)[1])
                sized = response.header("content-length") is not None or (
                    (response.header("transfer-encoding") or "").lower() == "chunked"
                )
                if method != "HEAD" and status not in _NO_BODY_STATUS and status >= 200:
                    await _relay_body(response, up_r, client_w, until_eof=True)
                await client_w.drain()
                closing = (request.header("connection") or "").lower() == "close" or (
                    (response.header("connection") or "").lower() == "close"
                )
                if not sized and method != "HEAD":  # body delimited by EOF: the connection is spent
                    return
                if closing:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            return
        finally:
            if upstream is not None:
                upstream[1].close()
            client_w.close()

    async def _control(
        self,
        method: str,
        target: str,
        request: _Message,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        await _relay_body(request, reader, _Sink(), until_eof=False)  # type: ignore[arg-type]
        parts = urlsplit(target)
        if parts.path == "/__proxy/reset" and method == "POST":
            self.counts.clear()
            self.connections = 1  # this control connection
        elif parts.path == "/__proxy/delay" and method == "POST":
            query = parse_qs(parts.query)
            self.delay_s = float(query["ms"][0]) / 1000
            self.connect_delay_s = float(query.get("connect_ms", ["0"])[0]) / 1000
        body = json.dumps(self.stats()).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()


class _Sink:
    """A writer that discards (control request bodies)."""

    def write(self, data: bytes) -> None:
        del data

    async def drain(self) -> None:
        return None


_UPSTREAM = re.compile(r"^[\w.-]*:\d+$")


async def _main(upstream: str, delay_ms: float, connect_delay_ms: float, port: int) -> None:
    proxy = LatencyProxy(upstream, delay_s=delay_ms / 1000, connect_delay_s=connect_delay_ms / 1000, port=port)
    await proxy.start()
    print(f"listening on {proxy.address}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await proxy.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.proxy", description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the registry")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="delay added to each request")
    parser.add_argument(
        "--connect-delay-ms",
        type=float,
        default=0.0,
        help="delay added once per new client connection (a TCP handshake); default 0",
    )
    parser.add_argument("--port", type=int, default=0, help="loopback port to listen on (0: any free)")
    args = parser.parse_args(argv)
    if not _UPSTREAM.match(args.upstream):
        parser.error("--upstream must be HOST:PORT")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.upstream, args.delay_ms, args.connect_delay_ms, args.port))
    sys.exit(0)


if __name__ == "__main__":
    main()
