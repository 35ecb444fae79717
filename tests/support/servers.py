"""Local HTTP and WebSocket servers for tests, on 127.0.0.1 in a background thread."""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .net import free_port, wait_for_port


def recv_head(conn: socket.socket, pending: bytes = b"") -> tuple[bytes, bytes] | None:
    """Read until the blank line ending an HTTP head: (the head, the bytes after it), or
    None when the peer closes first. ``pending``: bytes already read."""
    while b"\r\n\r\n" not in pending:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        pending += chunk
    head, _, rest = pending.partition(b"\r\n\r\n")
    return head, rest


def recv_body(conn: socket.socket, head: bytes, rest: bytes) -> bytes:
    """The body after ``head`` as it came on the wire (chunk framing kept): Content-Length
    bytes, or chunks up to the last one; ``rest``: bytes already read after the head."""
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    if length:
        while len(rest) < int(length.group(1)):
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
    elif re.search(rb"(?im)^transfer-encoding:\s*chunked", head):
        while not rest.endswith(b"0\r\n\r\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
    return rest


def recv_request(conn: socket.socket) -> tuple[bytes, bytes] | None:
    """One request as it came: (its head, its body with chunk framing kept), or None when
    the peer closes before a whole head."""
    received = recv_head(conn)
    if received is None:
        return None
    head, rest = received
    return head, recv_body(conn, head, rest)


def recv_exact(sock: socket.socket, n: int) -> bytes:
    """Exactly ``n`` bytes from ``sock`` (EOFError if the peer closes first)."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def server_side_tls(conn: socket.socket, context: ssl.SSLContext | None) -> socket.socket | None:
    """``conn`` with ``context``'s TLS on the server side (``conn`` itself without a
    context), or None when the handshake fails (``conn`` is closed then)."""
    if context is None:
        return conn
    try:
        return context.wrap_socket(conn, server_side=True)
    except OSError:
        conn.close()
        return None


class ThreadedServer:
    """A listening socket on 127.0.0.1 whose connections are each served on a thread of
    their own (``_serve``); ``start()`` begins accepting, ``close()`` stops. ``accepted``
    counts the connections taken so far."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self._sock.getsockname()[1]
        self.accepted = 0

    def start(self) -> Any:
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def close(self) -> None:
        self._sock.close()

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        raise NotImplementedError


class ConnectionNumberServer(ThreadedServer):
    """Answers every request with the number of the connection it came on (1, 2, ...), as
    its body and in ``X-Conn``, so a test sees which connection each request used.

    ``/big``: ``big_size`` bytes instead; ``/redirect``: a 302 to ``/``; ``/close``:
    ``Connection: close``, then closes. With ``tls`` (a server context) it speaks HTTPS.
    """

    def __init__(self, big_size: int = 1 << 20, tls: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self.big = b"b" * big_size
        self.tls = tls

    def _serve(self, conn: socket.socket) -> None:
        number = str(self.accepted).encode()
        conn.settimeout(30)  # (a TLS socket keeps it)
        wrapped = server_side_tls(conn, self.tls)
        if wrapped is None:
            return
        with wrapped as conn:
            while True:
                try:
                    received = recv_request(conn)
                except OSError:
                    return
                if received is None:
                    return
                head, _ = received
                method, path = head.split(b" ")[:2]
                status, extra, body = b"200 OK", b"", number
                if path.startswith(b"/big"):
                    body = self.big
                elif path.startswith(b"/redirect"):
                    status, extra = b"302 Found", b"Location: /\r\n"
                elif path.startswith(b"/close"):
                    extra = b"Connection: close\r\n"
                answer = b"HTTP/1.1 %s\r\nX-Conn: %s\r\n%sContent-Length: %d\r\n\r\n" % (
                    status,
                    number,
                    extra,
                    len(body),
                )
                try:
                    conn.sendall(answer if method == b"HEAD" else answer + body)
                except OSError:
                    return
                if extra.startswith(b"Connection: close"):
                    return


@contextmanager
def asgi_server(app: Callable[..., Any], host: str = "127.0.0.1", **uvicorn_options: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread; yields its base URL (http://host:port)."""
    import uvicorn

    port = free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", **uvicorn_options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn:{port}", daemon=True)
    thread.start()
    try:
        wait_for_port(host, port)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def websocket_server(handler: Callable[..., Any], host: str = "127.0.0.1", **options: Any) -> Iterator[str]:
    """Serve an asyncio `websockets` handler in a thread; yields its ws:// URL."""
    from websockets.asyncio.server import serve

    port = free_port(host)
    ready = threading.Event()
    stop: dict[str, Any] = {}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop["future"] = loop.create_future()
        stop["loop"] = loop
        async with serve(handler, host, port, **options):
            ready.set()
            await stop["future"]

    thread = threading.Thread(target=asyncio.run, args=(main(),), name=f"ws:{port}", daemon=True)
    thread.start()
    if not ready.wait(30):
        raise TimeoutError("websocket server did not start")
    try:
        yield f"ws://{host}:{port}"
    finally:
        stop["loop"].call_soon_threadsafe(stop["future"].set_result, None)
        thread.join(timeout=10)


async def echo(websocket: Any) -> None:
    """A websockets handler that sends every message back."""
    async for message in websocket:
        await websocket.send(message)


@contextmanager
def hypercorn_server(
    app: Callable[..., Any], certfile: str, keyfile: str, alpn: tuple[str, ...] = ("h2", "http/1.1")
) -> Iterator[str]:
    """Serve an ASGI app over TLS with hypercorn in a thread, offering ``alpn`` (HTTP/2 and
    HTTP/1.1 by default); yields its base URL (https://127.0.0.1:port)."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    port = free_port("127.0.0.1")
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile = certfile
    config.keyfile = keyfile
    config.alpn_protocols = list(alpn)
    config.loglevel = "WARNING"
    config.accesslog = None
    state: dict[str, Any] = {}

    async def main() -> None:
        state["loop"] = asyncio.get_running_loop()
        state["stop"] = asyncio.Event()
        await serve(app, config, shutdown_trigger=state["stop"].wait)

    thread = threading.Thread(target=asyncio.run, args=(main(),), name=f"hypercorn:{port}", daemon=True)
    thread.start()
    try:
        wait_for_port("127.0.0.1", port)
        yield f"https://127.0.0.1:{port}"
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(timeout=10)
