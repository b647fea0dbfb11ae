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

from costcalc.registry import RegistryClient
from costcalc.transport import AsyncioTransport
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
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
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
