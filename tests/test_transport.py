"""The asyncio transport (transport.py) against real sockets: TLS, reuse, servers that close or
stall, and when RegistryClient uses it."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from costcalc.errors import RegistryError
from costcalc.registry.client import RegistryClient, RetryPolicy
from costcalc.registry.transport import AsyncioTransport
from tests.certificates import self_signed

LIMITS = httpx.Limits(max_connections=4, max_keepalive_connections=4)
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def certificate_files(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = self_signed(key, "costcalc test", addresses=["127.0.0.1"])
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class Server:
    """A loopback server that answers each request with HANDLER and counts its connections."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0


@asynccontextmanager
async def serving(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    server = Server()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    listening = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls)
    server.port = listening.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listening.close()


async def answer_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while await reader.readuntil(b"\r\n\r\n"):
        writer.write(OK)
        await writer.drain()


def client(ssl_context: ssl.SSLContext | None = None, timeout: float = 5.0) -> httpx.AsyncClient:
    context = ssl_context or ssl.create_default_context()
    return httpx.AsyncClient(transport=AsyncioTransport(context, LIMITS), timeout=timeout)


def test_tls_requests_reuse_one_verified_connection(tmp_path: Path) -> None:
    cert, key = certificate_files(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)

    async def run() -> tuple[list[bytes], int, bool]:
        async with serving(answer_ok, server_tls) as server, client(ssl.create_default_context(cafile=cert)) as http:
            bodies = []
            for _ in range(3):
                response = await http.get(f"https://127.0.0.1:{server.port}/v2/")
                bodies.append(response.content)
            stream = response.extensions["network_stream"]
            return bodies, server.connections, stream.get_extra_info("ssl_object") is not None

    bodies, connections, encrypted = asyncio.run(run())
    assert bodies == [b"ok"] * 3
    assert connections == 1
    assert encrypted


def test_an_untrusted_certificate_is_a_connect_error(tmp_path: Path) -> None:
    cert, key = certificate_files(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)

    async def run() -> None:
        async with serving(answer_ok, server_tls) as server, client() as http:  # default CAs only
            await http.get(f"https://127.0.0.1:{server.port}/v2/")

    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        asyncio.run(run())


def test_a_server_that_never_answers_is_a_read_timeout() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(5)

    async def run() -> None:
        async with serving(stall) as server, client(timeout=0.2) as http:
            await http.get(f"http://127.0.0.1:{server.port}/v2/")

    with pytest.raises(httpx.ReadTimeout):
        asyncio.run(run())


def test_a_refused_connection_is_a_connect_error() -> None:
    async def run() -> None:
        async with serving(answer_ok) as server:
            port = server.port
        async with client() as http:  # the server is gone: nothing listens on its port
            await http.get(f"http://127.0.0.1:{port}/v2/")

    with pytest.raises(httpx.ConnectError):
        asyncio.run(run())


@pytest.mark.parametrize("parting", [b"", b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n"])
def test_a_connection_the_server_closed_is_not_reused(parting: bytes) -> None:
    # A server may close an idle connection, after a 408 of its own or silently: the next
    # request goes on a new connection and never reads what the old one was sent.
    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(OK)
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(parting)
        await writer.drain()

    async def run() -> tuple[list[int], int]:
        async with serving(once) as server, client() as http:
            statuses = []
            for _ in range(2):
                statuses.append((await http.get(f"http://127.0.0.1:{server.port}/v2/")).status_code)
                await asyncio.sleep(0.2)  # the server has closed the idle connection by now
            return statuses, server.connections

    statuses, connections = asyncio.run(run())
    assert statuses == [200, 200]
    assert connections == 2


def uses_asyncio_transport(registry: RegistryClient) -> bool:
    return all(isinstance(c._transport, AsyncioTransport) for c in registry._clients)


@pytest.mark.parametrize(
    ("environment", "expected"),
    [({}, True), ({"NO_PROXY": "example.com"}, True), ({"HTTPS_PROXY": "http://127.0.0.1:3128"}, False)],
)
def test_the_asyncio_transport_is_used_unless_a_proxy_is_configured(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: bool
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    registry = RegistryClient("registry.example.com")
    try:
        assert uses_asyncio_transport(registry) is expected
    finally:
        asyncio.run(registry.aclose())


# -- HTTP/1.1 framing, reuse and limits, against servers that answer in every legal way ----------


def answering(*responses: bytes) -> Handler:
    """A handler that answers the requests on each connection with RESPONSES, in turn."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for response in responses:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(response)
            await writer.drain()

    return handler


def fetch_all(
    handler: Handler, *urls: str, method: str = "GET", limits: httpx.Limits = LIMITS
) -> tuple[list[httpx.Response], int]:
    """Each path of URLS requested in turn on one client; the responses (read) and connections made."""

    async def run() -> tuple[list[httpx.Response], int]:
        async with serving(handler) as server:
            transport = AsyncioTransport(ssl.create_default_context(), limits)
            async with httpx.AsyncClient(transport=transport, timeout=5) as http:
                responses = [await http.request(method, f"http://127.0.0.1:{server.port}{url}") for url in urls]
            return responses, server.connections

    return asyncio.run(run())


def test_a_chunked_body_is_decoded_and_its_connection_reused() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nTrailer-Field: x\r\n\r\n"
    )
    responses, connections = fetch_all(answering(chunked, OK), "/a", "/b")
    assert [r.content for r in responses] == [b"hello world", b"ok"]
    assert connections == 1


def test_a_body_delimited_by_the_end_of_the_connection_is_read_whole_and_not_reused() -> None:
    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 100_000)
        await writer.drain()

    responses, connections = fetch_all(until_close, "/a", "/b")
    assert [len(r.content) for r in responses] == [100_000, 100_000]
    assert connections == 2


@pytest.mark.parametrize(
    ("connection_header", "expected_connections"),
    [(b"", 2), (b"Connection: keep-alive\r\n", 1)],
)
def test_an_http_1_0_response_keeps_its_connection_only_if_it_says_keep_alive(
    connection_header: bytes, expected_connections: int
) -> None:
    response = b"HTTP/1.0 200 OK\r\n" + connection_header + b"Content-Length: 2\r\n\r\nok"
    responses, connections = fetch_all(answering(response, response), "/a", "/b")
    assert [r.content for r in responses] == [b"ok", b"ok"]
    assert responses[0].http_version == "HTTP/1.0"
    assert connections == expected_connections


def test_a_connection_close_answer_is_not_reused() -> None:
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    responses, connections = fetch_all(answering(closing), "/a", "/b")
    assert [r.status_code for r in responses] == [200, 200]
    assert connections == 2


def test_a_head_answer_has_no_body_whatever_its_content_length_and_keeps_the_connection() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nDocker-Content-Digest: sha256:00\r\n\r\n"
    responses, connections = fetch_all(answering(head, head, head), "/a", "/b", "/c", method="HEAD")
    assert [(r.status_code, r.content, r.headers["docker-content-digest"]) for r in responses] == [
        (200, b"", "sha256:00")
    ] * 3
    assert connections == 1


def test_interim_answers_are_skipped() -> None:
    responses, _ = fetch_all(answering(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n" + OK), "/a")
    assert (responses[0].status_code, responses[0].content) == (200, b"ok")


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", id="body-cut-short"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", id="two-lengths"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok", id="negative-length"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n", id="bad-chunk-size"
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX0\r\n\r\n", id="chunk-without-crlf"
        ),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nok", id="chunked-cut-short"),
        pytest.param(b"HTTP/2 200 OK\r\n\r\n", id="not-http-1"),
        pytest.param(b"HTTP/1.1 2000 OK\r\n\r\n", id="bad-status"),
        pytest.param(b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", id="header-without-colon"),
        pytest.param(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n", id="obsolete-folding"),
        pytest.param(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", id="head-over-64-KiB"),
        pytest.param(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", id="unasked-upgrade"),
        pytest.param(b"", id="no-answer"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok", id="unsupported-coding"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + b"X-T: 1\r\n" * 10_000 + b"\r\n",
            id="trailers-over-64-KiB",
        ),
    ],
)
def test_a_malformed_answer_is_a_remote_protocol_error(answer: bytes) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        fetch_all(answering(answer), "/a")


def test_a_get_on_a_reused_connection_the_server_closed_is_sent_again_on_a_new_one() -> None:
    async def serve_one_then_hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(OK)
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")  # the second request arrives, and is not answered

    responses, connections = fetch_all(serve_one_then_hang_up, "/a", "/b", "/c")
    assert [r.content for r in responses] == [b"ok"] * 3
    # Each connection answers one request: b and c each find theirs closed, and go again.
    assert connections == 3


def test_a_post_on_a_connection_closed_by_the_server_is_not_sent_twice() -> None:
    requests = 0

    async def serve_one_then_hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        await reader.readuntil(b"\r\n\r\n")
        requests += 1
        writer.write(OK)
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")
        requests += 1

    async def run() -> None:
        async with serving(serve_one_then_hang_up) as server, client() as http:
            await http.post(f"http://127.0.0.1:{server.port}/token")
            await http.post(f"http://127.0.0.1:{server.port}/token")

    with pytest.raises(httpx.RemoteProtocolError):
        asyncio.run(run())
    assert requests == 2


def test_request_bodies_arrive_whole_with_a_length_or_chunked() -> None:
    received: list[bytes] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if b"Content-Length: " in head:
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                received.append(await reader.readexactly(length))
            else:
                assert b"Transfer-Encoding: chunked" in head
                body = b""
                while size := int((await reader.readuntil(b"\r\n"))[:-2], 16):
                    body += (await reader.readexactly(size + 2))[:-2]
                await reader.readuntil(b"\r\n")
                received.append(body)
            writer.write(OK)
            await writer.drain()

    async def parts() -> AsyncIterator[bytes]:
        for part in (b"grant_type=", b"", b"password"):
            yield part

    async def run() -> int:
        async with serving(echo) as server, client() as http:
            url = f"http://127.0.0.1:{server.port}/token"
            await http.post(url, data={"grant_type": "refresh_token", "service": "registry"})
            await http.post(url, content=parts())
            return server.connections

    assert asyncio.run(run()) == 1
    assert received == [b"grant_type=refresh_token&service=registry", b"grant_type=password"]


def test_a_header_with_a_line_break_is_never_sent() -> None:
    async def run() -> None:
        async with serving(answer_ok) as server, client() as http:
            await http.get(f"http://127.0.0.1:{server.port}/v2/", headers={"X-A": "1\r\nInjected: yes"})

    with pytest.raises(httpx.LocalProtocolError):
        asyncio.run(run())


def test_an_unsupported_scheme_is_refused() -> None:
    async def run() -> None:
        transport = AsyncioTransport(ssl.create_default_context(), LIMITS)
        await transport.handle_async_request(httpx.Request("GET", "ftp://127.0.0.1/v2/"))

    with pytest.raises(httpx.UnsupportedProtocol):
        asyncio.run(run())


def test_a_body_left_unread_closes_its_connection() -> None:
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1_000_000

    async def run() -> tuple[int, bytes, int]:
        async with serving(answering(big, OK)) as server, client() as http:
            url = f"http://127.0.0.1:{server.port}/blob"
            async with http.stream("GET", url) as response:
                first = len(await response.aiter_raw().__anext__())
            after = await http.get(url)
            return first, after.content, server.connections

    first, after, connections = asyncio.run(run())
    assert 0 < first < 1_000_000
    assert after == b"x" * 1_000_000  # a fresh connection: not the rest of the first body
    assert connections == 2


def test_requests_wait_for_a_free_connection_and_time_out_in_the_pool() -> None:
    open_now = most_open = 0

    async def slow_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now, most_open
        open_now += 1
        most_open = max(most_open, open_now)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                await asyncio.sleep(0.05)
                writer.write(OK)
                await writer.drain()
        finally:
            open_now -= 1

    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    async def run() -> list[int]:
        async with serving(slow_ok) as server:
            transport = AsyncioTransport(ssl.create_default_context(), one)
            async with httpx.AsyncClient(transport=transport, timeout=5) as http:
                url = f"http://127.0.0.1:{server.port}/v2/"
                answers = await asyncio.gather(*(http.get(url) for _ in range(4)))
                with pytest.raises(httpx.PoolTimeout):
                    await asyncio.gather(http.get(url), http.get(url, timeout=httpx.Timeout(5, pool=0.01)))
                return [a.status_code for a in answers]

    assert asyncio.run(run()) == [200] * 4
    assert most_open == 1


def test_a_cancelled_request_gives_back_its_connection_slot() -> None:
    async def stall_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")  # and the rest never comes
        await writer.drain()
        await asyncio.sleep(5)

    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    async def run() -> int:
        async with serving(stall_first) as server:
            transport = AsyncioTransport(ssl.create_default_context(), one)
            async with httpx.AsyncClient(transport=transport, timeout=5) as http:
                url = f"http://127.0.0.1:{server.port}/v2/"
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(0.2):
                        await http.get(url)
                async with asyncio.timeout(1):  # the slot is free again: a new connection
                    with pytest.raises(httpx.ReadTimeout):
                        await http.get(url, timeout=0.1)
            return server.connections

    assert asyncio.run(run()) == 2


def test_an_idle_connection_past_its_keepalive_expiry_is_replaced() -> None:
    short = httpx.Limits(max_connections=2, max_keepalive_connections=2, keepalive_expiry=0.05)

    async def run() -> int:
        async with serving(answer_ok) as server:
            transport = AsyncioTransport(ssl.create_default_context(), short)
            async with httpx.AsyncClient(transport=transport, timeout=5) as http:
                url = f"http://127.0.0.1:{server.port}/v2/"
                await http.get(url)
                await http.get(url)  # reused at once
                await asyncio.sleep(0.1)
                await http.get(url)  # expired: a new connection
            return server.connections

    assert asyncio.run(run()) == 2


def test_an_idle_connection_to_another_origin_gives_way_at_the_connection_limit() -> None:
    closed: list[str] = []

    def remembering(name: str) -> Handler:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await answer_ok(reader, writer)
            except asyncio.IncompleteReadError:
                closed.append(name)  # the client closed this connection

        return handler

    # Room for two idle connections, but only one connection open at a time.
    one = httpx.Limits(max_connections=1, max_keepalive_connections=2)

    async def run() -> None:
        async with serving(remembering("a")) as a, serving(remembering("b")) as b:
            transport = AsyncioTransport(ssl.create_default_context(), one)
            async with httpx.AsyncClient(transport=transport, timeout=5) as http:
                await http.get(f"http://127.0.0.1:{a.port}/v2/")
                await http.get(f"http://127.0.0.1:{b.port}/v2/")
                await asyncio.sleep(0.05)
                assert closed == ["a"]  # before the client closes: one connection open at a time

    asyncio.run(run())


def test_a_large_chunk_arrives_in_reads_the_caller_can_count() -> None:
    # A chunk's declared size is not buffered whole: a registry cannot push a body past
    # costcalc's size limit by announcing it as one enormous chunk.
    size = 1_000_000
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % size + b"y" * size + b"\r\n0\r\n\r\n"

    async def run() -> list[int]:
        async with (
            serving(answering(chunked)) as server,
            client() as http,
            http.stream("GET", f"http://127.0.0.1:{server.port}/blob") as response,
        ):
            return [len(part) async for part in response.aiter_raw()]

    parts = asyncio.run(run())
    assert sum(parts) == size
    assert max(parts) <= 64 * 1024


def test_a_chunked_answer_that_also_has_a_length_is_read_as_chunked_and_its_connection_closed() -> None:
    both = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    responses, connections = fetch_all(answering(both, both), "/a", "/b")
    assert [r.content for r in responses] == [b"ok", b"ok"]
    assert connections == 2


def test_a_malformed_answer_gives_back_its_connection_slot() -> None:
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    bad = b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"

    answers = [bad, OK]

    async def in_turn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while answers:  # across connections
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answers.pop(0))
            await writer.drain()

    async def run() -> bytes:
        async with serving(in_turn) as server:
            transport = AsyncioTransport(ssl.create_default_context(), one)
            async with httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(5, pool=0.5)) as http:
                url = f"http://127.0.0.1:{server.port}/v2/"
                with pytest.raises(httpx.RemoteProtocolError):
                    await http.get(url)
                return (await http.get(url)).content  # a new connection: the first was closed

    assert asyncio.run(run()) == b"ok"


def test_a_request_that_asks_to_close_its_connection_does_not_leave_it_in_the_pool() -> None:
    async def run() -> int:
        async with serving(answer_ok) as server, client() as http:
            for _ in range(2):
                await http.get(f"http://127.0.0.1:{server.port}/v2/", headers={"Connection": "close"})
            return server.connections

    assert asyncio.run(run()) == 2


@pytest.mark.parametrize(
    "echo",
    [
        b"Authorization: Bearer %s\r\n\r\n",  # as a status line
        b"HTTP/1.1 200 OK\r\nBearer %s\r\n\r\n",  # as a header line without a colon
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%s\r\n",  # as a chunk size
    ],
)
def test_a_malformed_answer_that_echoes_a_credential_is_refused_without_quoting_it(echo: bytes) -> None:
    secret = b"s3cr3t-t0ken-value"

    async def run() -> None:
        async with serving(answering(echo % secret)) as server, client() as http:
            await http.get(
                f"http://127.0.0.1:{server.port}/v2/", headers={"Authorization": "Bearer s3cr3t-t0ken-value"}
            )

    with pytest.raises(httpx.RemoteProtocolError) as raised:
        asyncio.run(run())
    assert secret.decode() not in str(raised.value)


def test_a_malformed_answer_reaches_the_scan_as_a_registry_error() -> None:
    async def run() -> None:
        async with serving(answering(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n")) as server:
            registry = RegistryClient(f"127.0.0.1:{server.port}", retry=RetryPolicy(attempts=1))
            async with registry:
                await registry.head_manifest("acme/api", "v1")

    with pytest.raises(RegistryError, match=r"127\.0\.0\.1"):
        asyncio.run(run())
