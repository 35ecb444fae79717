"""A small asyncio HTTP/1.1 client for firing many concurrent requests at a local server.

One TCP connection per request (``Connection: close``), so N concurrent requests are N
concurrent clients as the server sees them.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


async def request(
    host: str, port: int, target: str, *, method: str = "GET", body: bytes = b"", timeout: float = 120.0
) -> Reply:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        writer.write(head.encode("latin1") + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    return parse(raw)


def parse(raw: bytes) -> Reply:
    head, _, payload = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        payload = _dechunk(payload)
    return Reply(status, headers, payload)


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return bytes(out)


async def fire(host: str, port: int, targets: list[str], concurrency: int) -> list[Reply | BaseException]:
    """GET every target, at most ``concurrency`` at once; replies in order (or the error)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(target: str) -> Reply:
        async with gate:
            return await request(host, port, target)

    return await asyncio.gather(*(one(t) for t in targets), return_exceptions=True)


def fire_sync(host: str, port: int, targets: list[str], concurrency: int) -> list[Reply | BaseException]:
    return asyncio.run(fire(host, port, targets, concurrency))
