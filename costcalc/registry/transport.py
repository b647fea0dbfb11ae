"""The HTTP transport of registry requests: HTTP/1.1 of our own on asyncio streams (I/O edge).

httpx's default transport runs httpcore's pool and h11's state machine over anyio: measured
against the real registry through the benchmark's proxy, 0.7-0.85 ms of client CPU per
request for the whole httpx stack, and about 0.45 ms with this transport under the same
httpx.AsyncClient (docs/performance.md). A registry scan is thousands of small exchanges, so
that CPU is most of what the client spends.

What it speaks, and nothing more: HTTP/1.1 requests over TCP or TLS (the standard library's,
through asyncio), keep-alive connections pooled per origin, response bodies framed by
Content-Length, chunked coding or the end of the connection (RFC 9112 section 6.3), interim
1xx responses skipped. Every response head and chunk line is bounded. No HTTP/2, no upgrades,
no proxies: RegistryClient keeps httpx's own transport when the environment names a proxy.
Errors are httpx's, as its own transport raises them, so callers cannot tell the difference;
their messages quote nothing a server sent, which could echo a credential back.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx

HEAD_LIMIT_BYTES = 64 * 1024  # a response head or chunk-size line longer than this is refused
_READ_BYTES = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([1-9][0-9][0-9])(?: ([^\r\n]*))?")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FORBIDDEN_IN_VALUE = re.compile(rb"[\x00\r\n]")
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_NO_BODY_STATUSES = frozenset({204, 304})
_RETRYABLE_METHODS = frozenset({"GET", "HEAD"})

Origin = tuple[str, str, int]  # scheme, host, port
Timeouts = dict[str, float | None]  # httpx's "timeout" extension: connect, read, write, pool


class _Stale(Exception):
    """A reused connection ended before any byte of the response: the server closed it idle."""


class _Connection:
    """One TCP (or TLS) connection to an origin, used by one request at a time."""

    def __init__(self, origin: Origin, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.origin = origin
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0
        self.reused = False

    def is_usable(self) -> bool:
        """Whether an idle connection can carry another request.

        Readable while idle means the server closed it, or sent bytes no request asked for (a
        408 before closing, say): either way it is spent. asyncio has already moved such bytes
        into the reader, whose buffer has no public accessor (`_buffer` in every CPython this
        runs on)."""
        reader = self.reader
        pending = bool(getattr(reader, "_buffer", None))
        return not (reader.at_eof() or pending or self.writer.is_closing())

    def close(self) -> None:
        self.writer.close()

    def get_extra_info(self, info: str) -> Any:
        """httpx's `network_stream` extension: the socket's details (ssl_object, peername...)."""
        return self.writer.get_extra_info(info)


class _Pool:
    """Connections per origin: at most MAX_CONNECTIONS carrying requests, idle ones kept for reuse."""

    def __init__(self, ssl_context: ssl.SSLContext, limits: httpx.Limits) -> None:
        self.ssl_context = ssl_context
        self.max_connections = limits.max_connections or 100
        self.max_idle = limits.max_keepalive_connections if limits.max_keepalive_connections is not None else 20
        self.keepalive_expiry = limits.keepalive_expiry
        self.slots = asyncio.Semaphore(self.max_connections)
        self.busy = 0  # requests holding a slot, each with a connection or about to get one
        self.idle: list[_Connection] = []  # oldest first
        self.closed = False

    async def acquire_slot(self, timeout: float | None) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self.slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout("no connection became free in time") from exc
        self.busy += 1

    def release_slot(self) -> None:
        self.busy -= 1
        self.slots.release()

    async def connection(self, origin: Origin, connect_timeout: float | None) -> _Connection:
        """An idle connection to ORIGIN that is still good, or a new one."""
        now = asyncio.get_running_loop().time()
        for index in range(len(self.idle) - 1, -1, -1):  # newest first
            candidate = self.idle[index]
            if candidate.origin != origin:
                continue
            del self.idle[index]
            expired = self.keepalive_expiry is not None and now - candidate.idle_since > self.keepalive_expiry
            if not expired and candidate.is_usable():
                candidate.reused = True
                return candidate
            candidate.close()
        # Idle connections to other origins count against the limit: the oldest give way.
        while self.idle and len(self.idle) + self.busy > self.max_connections:
            self.idle.pop(0).close()
        return await _connect(origin, self.ssl_context, connect_timeout)

    def put_back(self, connection: _Connection) -> None:
        if self.closed or not connection.is_usable():
            connection.close()
            return
        connection.idle_since = asyncio.get_running_loop().time()
        self.idle.append(connection)
        while len(self.idle) > self.max_idle:
            self.idle.pop(0).close()

    def close(self) -> None:
        self.closed = True
        for connection in self.idle:
            connection.close()
        self.idle.clear()


async def _connect(origin: Origin, ssl_context: ssl.SSLContext, timeout: float | None) -> _Connection:
    scheme, host, port = origin
    tls = ssl_context if scheme == "https" else None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                host,
                port,
                ssl=tls,
                server_hostname=host if tls else None,
                limit=HEAD_LIMIT_BYTES,
                happy_eyeballs_delay=0.25,  # RFC 8305's delay, as httpx's own transport uses
            )
    except TimeoutError as exc:
        raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
    except OSError as exc:  # a failed certificate check is an SSLError, an OSError
        raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
    return _Connection(origin, reader, writer)


class _Outgoing:
    """A request's head as bytes, and what its headers say about its body and connection."""

    def __init__(self, request: httpx.Request) -> None:
        target = request.url.raw_path
        if not target or _FORBIDDEN_IN_VALUE.search(target) or b" " in target:
            raise httpx.LocalProtocolError("the request target has a space or a line break")
        lines = [request.method.encode("ascii") + b" " + target + b" HTTP/1.1"]
        self.has_body = self.chunked = self.closing = False
        for name, value in request.headers.raw:
            if not _TOKEN.fullmatch(name) or _FORBIDDEN_IN_VALUE.search(value):
                raise httpx.LocalProtocolError("a request header has an invalid name or a line break")
            lines.append(name + b": " + value)
            lowered = name.lower()
            if lowered == b"content-length":
                self.has_body = True
            elif lowered == b"transfer-encoding":
                self.has_body = True
                self.chunked = value.strip().lower() == b"chunked"
            elif lowered == b"connection":
                self.closing = value.strip().lower() == b"close"
        lines.append(b"\r\n")
        self.head = b"\r\n".join(lines)


async def _send(connection: _Connection, request: httpx.Request, outgoing: _Outgoing, timeout: float | None) -> None:
    writer = connection.writer
    chunked = outgoing.chunked
    try:
        async with asyncio.timeout(timeout):
            writer.write(outgoing.head)
            if outgoing.has_body:
                assert isinstance(request.stream, httpx.AsyncByteStream)
                async for part in request.stream:
                    if chunked and part:
                        writer.write(b"%x\r\n%b\r\n" % (len(part), part))
                    elif part:
                        writer.write(part)
                if chunked:
                    writer.write(b"0\r\n\r\n")
            await writer.drain()
    except TimeoutError as exc:
        raise httpx.WriteTimeout("sending the request timed out") from exc
    except OSError as exc:
        if connection.reused:
            raise _Stale from exc
        raise httpx.WriteError(str(exc) or type(exc).__name__) from exc


class _Head:
    """A parsed response head."""

    def __init__(self, minor: bytes, status: int, reason: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        self.http_version = b"HTTP/1." + minor
        self.status = status
        self.reason = reason
        self.headers = headers

    def values(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.headers if key.lower() == name]

    def tokens(self, name: bytes) -> set[bytes]:
        return {token.lower() for token in _split(self.values(name))}


def _split(values: list[bytes]) -> list[bytes]:
    """The comma-separated elements of a header's VALUES, stripped, in order."""
    return [element.strip(b" \t") for value in values for element in value.split(b",")]


def _parse_head(raw: bytes) -> _Head:
    lines = raw[:-4].split(b"\r\n")
    matched = _STATUS_LINE.fullmatch(lines[0])
    if matched is None:
        raise httpx.RemoteProtocolError("the response's status line is malformed")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):  # obsolete line folding included
            raise httpx.RemoteProtocolError("a response header line is malformed")
        headers.append((name, value.strip(b" \t")))
    return _Head(matched[1], int(matched[2]), matched[3] or b"", headers)


async def _receive_head(connection: _Connection, timeout: float | None) -> _Head:
    """The final response head, interim 1xx answers skipped."""
    reader = connection.reader
    while True:
        try:
            async with asyncio.timeout(timeout):
                raw = await reader.readuntil(b"\r\n\r\n")
        except TimeoutError as exc:
            raise httpx.ReadTimeout("waiting for the response timed out") from exc
        except asyncio.LimitOverrunError as exc:
            raise httpx.RemoteProtocolError(f"the response head is over {HEAD_LIMIT_BYTES} bytes") from exc
        except asyncio.IncompleteReadError as exc:
            if not exc.partial and connection.reused:
                raise _Stale from exc
            raise httpx.RemoteProtocolError("the server closed the connection without sending a response") from exc
        except OSError as exc:
            if connection.reused:
                raise _Stale from exc
            raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
        head = _parse_head(raw)
        if head.status == 101:
            raise httpx.RemoteProtocolError("the server switched protocols, which no request asked for")
        if head.status >= 200:
            return head


def _content_length(head: _Head) -> int | None:
    values = {value for value in _split(head.values(b"content-length")) if value}
    if not values:
        return None
    if len(values) > 1 or not all(value.isdigit() for value in values):
        raise httpx.RemoteProtocolError("the response has an invalid Content-Length")
    return int(values.pop())


class _Body(httpx.AsyncByteStream):
    """The response body, read as it is asked for; the connection goes back to the pool after
    the last byte, or is closed if the body is left unread or cannot be delimited."""

    def __init__(
        self, pool: _Pool, connection: _Connection, head: _Head, method: str, outgoing: _Outgoing, timeouts: Timeouts
    ) -> None:
        self._pool = pool
        self._connection = connection
        self._timeout = timeouts.get("read")
        self._done = False
        connection_tokens = head.tokens(b"connection")
        if outgoing.closing:
            self._reusable = False
        elif head.http_version == b"HTTP/1.1":
            self._reusable = b"close" not in connection_tokens
        else:
            self._reusable = b"keep-alive" in connection_tokens
        codings = [token.lower() for token in _split(head.values(b"transfer-encoding")) if token]
        self._length: int | None = None
        self._chunked = False
        if method == "HEAD" or head.status in _NO_BODY_STATUSES:
            self._length = 0
        elif codings:
            if codings != [b"chunked"]:  # as h11: the other transfer codings are never used
                raise httpx.RemoteProtocolError("the response has an unsupported Transfer-Encoding")
            self._chunked = True
            if head.values(b"content-length"):  # both framings: a smuggling attempt, or a bug
                self._reusable = False
        else:
            self._length = _content_length(head)
        if self._length is None and not self._chunked:
            self._reusable = False  # the body ends when the server closes the connection

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._done:
            return
        try:
            if self._chunked:
                async for part in self._chunks():
                    yield part
            elif self._length is not None:
                async for part in self._sized(self._length):
                    yield part
            else:
                while part := await self._read(_READ_BYTES):
                    yield part
        except BaseException:  # an error, a cancellation, or the reader stopping early
            self._reusable = False
            self._finish()
            raise
        self._finish()

    async def _sized(self, length: int) -> AsyncIterator[bytes]:
        """LENGTH bytes, in reads of at most 64 KiB: the caller's size limit sees them as they come."""
        remaining = length
        while remaining:
            part = await self._read(min(remaining, _READ_BYTES))
            if not part:
                raise httpx.RemoteProtocolError(
                    f"the server closed the connection {remaining} bytes before the end of the body"
                )
            remaining -= len(part)
            yield part

    async def _chunks(self) -> AsyncIterator[bytes]:
        while True:
            line = await self._line()
            size_text = line.split(b";", 1)[0].strip(b" \t")
            if not size_text or len(size_text) > 16 or size_text.strip(_HEX_DIGITS):
                raise httpx.RemoteProtocolError("a chunk size line is malformed")
            size = int(size_text, 16)
            if size == 0:
                trailers = 0
                while line := await self._line():  # trailer fields, up to the empty line
                    trailers += len(line) + 2
                    if trailers > HEAD_LIMIT_BYTES:
                        raise httpx.RemoteProtocolError(f"the trailer fields are over {HEAD_LIMIT_BYTES} bytes")
                return
            async for part in self._sized(size):
                yield part
            if await self._exactly(2) != b"\r\n":
                raise httpx.RemoteProtocolError("a chunk does not end with CRLF")

    async def _read(self, size: int) -> bytes:
        return await self._io(self._connection.reader.read(size))

    async def _exactly(self, size: int) -> bytes:
        return await self._io(self._connection.reader.readexactly(size))

    async def _line(self) -> bytes:
        return (await self._io(self._connection.reader.readuntil(b"\r\n")))[:-2]

    async def _io(self, operation: Any) -> bytes:
        try:
            async with asyncio.timeout(self._timeout):
                result: bytes = await operation
                return result
        except TimeoutError as exc:
            raise httpx.ReadTimeout("reading the response body timed out") from exc
        except asyncio.IncompleteReadError as exc:
            raise httpx.RemoteProtocolError("the server closed the connection in the middle of the body") from exc
        except asyncio.LimitOverrunError as exc:
            raise httpx.RemoteProtocolError(f"a chunk size line is over {HEAD_LIMIT_BYTES} bytes") from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__) from exc

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            if self._reusable:
                self._pool.put_back(self._connection)
            else:
                self._connection.close()
            self._pool.release_slot()

    async def aclose(self) -> None:
        if not self._done:
            # Unread bytes would be taken for the next response: an unfinished body ends the
            # connection. A finished one (HEAD, 204, an empty body) returns it to the pool.
            if self._length != 0:
                self._reusable = False
            self._finish()


def _origin(url: httpx.URL) -> Origin:
    scheme = url.scheme
    if scheme not in _DEFAULT_PORTS:
        raise httpx.UnsupportedProtocol(f"the URL scheme {scheme!r} is not supported")
    host = url.raw_host.decode("ascii")
    if not host:
        raise httpx.UnsupportedProtocol("the URL has no host")
    return scheme, host, url.port or _DEFAULT_PORTS[scheme]


class AsyncioTransport(httpx.AsyncBaseTransport):
    """httpx's transport, for plain connections (no proxy): HTTP/1.1 on asyncio's streams."""

    def __init__(self, ssl_context: ssl.SSLContext, limits: httpx.Limits) -> None:
        self._ssl_context = ssl_context
        self._limits = limits
        self._pool: _Pool | None = None  # made on first use, inside the event loop

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin = _origin(request.url)
        timeouts = request.extensions.get("timeout", {})
        pool = self._pool or self._make_pool()
        await pool.acquire_slot(timeouts.get("pool"))
        try:
            connection, head, body = await self._exchange(pool, origin, request, timeouts)
        except BaseException:
            pool.release_slot()
            raise
        return httpx.Response(
            status_code=head.status,
            headers=head.headers,
            stream=body,
            extensions={"http_version": head.http_version, "reason_phrase": head.reason, "network_stream": connection},
        )

    def _make_pool(self) -> _Pool:
        self._pool = _Pool(self._ssl_context, self._limits)
        return self._pool

    async def _exchange(
        self, pool: _Pool, origin: Origin, request: httpx.Request, timeouts: Timeouts
    ) -> tuple[_Connection, _Head, _Body]:
        """Send REQUEST and read the response head. A GET or HEAD that finds its reused
        connection closed by the server is sent again on another one (a new one at the latest)."""
        outgoing = _Outgoing(request)
        while True:
            connection = await pool.connection(origin, timeouts.get("connect"))
            try:
                await _send(connection, request, outgoing, timeouts.get("write"))
                head = await _receive_head(connection, timeouts.get("read"))
                return connection, head, _Body(pool, connection, head, request.method, outgoing, timeouts)
            except _Stale as exc:
                connection.close()
                if request.method not in _RETRYABLE_METHODS:
                    raise httpx.RemoteProtocolError(
                        "the server closed the connection without sending a response"
                    ) from exc
            except BaseException:
                connection.close()
                raise

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.close()
