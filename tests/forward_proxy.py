"""A small forwarding HTTP proxy for tests, run as its own process: absolute-form requests
(plain HTTP) and CONNECT tunnels (HTTPS), with a host map so a test name such as
`registry.test` reaches 127.0.0.1, and a log of every request head that passed through.

    python tests/forward_proxy.py --log FILE [--map registry.test=127.0.0.1 ...]

prints `listening on PORT` once it accepts connections, and serves until killed. Each log line
is a JSON object: {"method", "target", "head"} (head: the request head as received, so a test
can search it for a credential). Forwarded requests go upstream with `Connection: close`, and
the client's connection closes after the answer: one request per connection, simply.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

HEAD_LIMIT = 64 * 1024


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        if writer.can_write_eof():
            writer.write_eof()


class Proxy:
    def __init__(self, log: Path, hosts: dict[str, str]) -> None:
        self.log = log
        self.hosts = hosts

    def record(self, method: str, target: str, head: bytes) -> None:
        entry = {"method": method, "target": target, "head": head.decode("latin-1")}
        with self.log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            writer.close()
            return
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _version = request_line.split(" ", 2)
        self.record(method, target, head)
        try:
            if method == "CONNECT":
                await self.tunnel(target, reader, writer)
            else:
                await self.forward(method, target, [line for line in header_lines if line], reader, writer)
        finally:
            with contextlib.suppress(OSError):
                writer.close()

    async def upstream(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            return await asyncio.open_connection(self.hosts.get(host, host), port)
        except OSError:
            return None

    async def tunnel(self, target: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, _, port = target.rpartition(":")
        connected = await self.upstream(host.strip("[]"), int(port))
        if connected is None:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        up_reader, up_writer = connected
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        up_writer.close()

    async def forward(
        self,
        method: str,
        target: str,
        headers: list[str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        url = urlsplit(target)
        connected = await self.upstream(url.hostname or "", url.port or 80)
        if url.scheme != "http" or connected is None:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        up_reader, up_writer = connected
        kept = [h for h in headers if h.split(":", 1)[0].strip().lower() not in ("connection", "proxy-connection")]
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        up_writer.write(
            "\r\n".join([f"{method} {path} HTTP/1.1", *kept, "Connection: close", "", ""]).encode("latin-1")
        )
        length = next((h.split(":", 1)[1].strip() for h in kept if h.lower().startswith("content-length:")), "0")
        if length.isdigit() and int(length):
            up_writer.write(await reader.readexactly(int(length)))
        await up_writer.drain()
        await _pipe(up_reader, writer)
        up_writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--map", action="append", default=[], help="NAME=ADDRESS")
    args = parser.parse_args()
    hosts = dict(entry.split("=", 1) for entry in args.map)
    proxy = Proxy(args.log, hosts)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0, limit=HEAD_LIMIT)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    sys.exit(0)
