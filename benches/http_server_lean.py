"""The default benchmark server for benches/http_bench.py: HTTP/1.1 on a bare asyncio Protocol.

Same routes and answers as http_server.py (uvicorn): /small → 13 bytes, /100k → 100 KB,
POST /upload → reads the body, answers its length. Why a second server: the benchmark
compares clients, and every microsecond the server spends on a request is added to every
client alike, which squeezes the ratios toward 1. uvicorn's ASGI layers cost ~30 µs per
request here (wrk's floor 37.6 µs pinned), this server about half that, close to the 20.4 µs
floor of the peer baselines (../shared/reference/baselines.md). It is not a general server:
it reads requests with a Content-Length (or none) and keep-alive, which is what every client
of the benchmark sends; anything else gets an error status and the connection closed.

Run: python benches/http_server_lean.py PORT  (127.0.0.1 only).
"""

from __future__ import annotations

import asyncio
import sys

SMALL = b"Hello, World!"
LARGE = bytes(range(256)) * 400  # 102,400 bytes, as http_server.py


def _response(body: bytes, status: bytes = b"200 OK") -> bytes:
    head = b"HTTP/1.1 %s\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n\r\n" % (status, len(body))
    return head + body


CANNED = {b"/small": _response(SMALL), b"/100k": _response(LARGE)}
NOT_SUPPORTED = _response(b"chunked request bodies are not read here", b"411 Length Required")


class LeanHttp(asyncio.BufferedProtocol):
    """One connection: parse request heads, skip or count bodies, answer canned responses.

    A BufferedProtocol: the loop receives into one buffer per connection, so a 10 MB upload
    does not allocate (and page-fault in) a fresh 256 KiB bytes object per read.
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = bytearray(1 << 20)
        self.view = memoryview(self.buffer)
        self.pending = b""  # an incomplete request head
        self.body_left = 0  # bytes of the current request body still to come
        self.body_size = 0
        self.path = b""
        self.close_after = False

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        if self.body_left:
            taken = min(self.body_left, nbytes)
            self.body_left -= taken
            self.body_size += taken
            if self.body_left:
                return
            self.answer()
            if taken == nbytes:
                return
            data = bytes(self.view[taken:nbytes])
        else:
            data = bytes(self.view[:nbytes])
        buffer = self.pending + data if self.pending else data
        while buffer:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.pending = buffer
                return
            head, buffer = buffer[:end], buffer[end + 4 :]
            if not self.start_request(head):
                return
            taken = min(self.body_left, len(buffer))
            self.body_left -= taken
            self.body_size = taken
            buffer = buffer[taken:]
            if self.body_left:
                break
            self.answer()
        self.pending = b""

    def start_request(self, head: bytes) -> bool:
        line, _, fields = head.partition(b"\r\n")
        parts = line.split(b" ")
        self.path = parts[1] if len(parts) == 3 else b"/"
        self.body_left = 0
        self.close_after = False
        for field in fields.split(b"\r\n"):
            name, _, value = field.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                self.body_left = int(value)
            elif name == b"transfer-encoding":
                self.transport.write(NOT_SUPPORTED)
                self.transport.close()
                return False
            elif name == b"connection" and value.strip().lower() == b"close":
                self.close_after = True
        return True

    def answer(self) -> None:
        if self.path == b"/upload":
            self.transport.write(_response(b"%d" % self.body_size))
        else:
            self.transport.write(CANNED.get(self.path, CANNED[b"/small"]))
        if self.close_after:
            self.transport.close()


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(LeanHttp, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
