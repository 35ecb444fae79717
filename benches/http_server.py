"""The benchmark server for benches/http_bench.py: a bare ASGI app on uvicorn + httptools.

/small → 13 bytes, /100k → 100 KB, POST /upload → reads the body, answers its length.
Run: python benches/http_server.py PORT  (127.0.0.1 only).
"""

from __future__ import annotations

import sys
from typing import Any

SMALL = b"Hello, World!"
LARGE = bytes(range(256)) * 400  # 102,400 bytes


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    size = 0
    more = True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    if path == "/upload":
        body = str(size).encode()
    elif path == "/100k":
        body = LARGE
    else:
        body = SMALL
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def read_large_bodies_in_large_pieces() -> None:
    """Let uvicorn buffer up to 4 MiB of request body before it pauses reading.

    Its default (64 KiB) pauses the socket and wakes the app once per 64 KiB: for a 10 MB
    upload, ~160 pause/resume round trips through the event loop, which made the server, not
    the client, the bottleneck of the upload case. The body is still read, parsed by
    httptools and handed to the app in chunks; only the chunks are larger. Requests without
    a body (the GET cases) are unaffected. Same server for every client.
    """
    from uvicorn.protocols.http import httptools_impl

    httptools_impl.HIGH_WATER_LIMIT = 4 << 20


if __name__ == "__main__":
    import os

    import uvicorn

    if not os.environ.get("BALROG_BENCH_STOCK_SERVER"):
        read_large_bodies_in_large_pieces()

    uvicorn.run(
        app, host="127.0.0.1", port=int(sys.argv[1]), http="httptools", log_level="error", access_log=False
    )
