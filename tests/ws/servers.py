"""Local WebSocket servers for the tests (127.0.0.1 only).

* :class:`WebsocketsServer` — the real websockets asyncio server in a thread, with
  behaviours chosen by path (echo, close codes, rejections, redirects, fragments...).
* :class:`RawServer` — a hand-written server for what a correct server never sends:
  invalid UTF-8, reserved bits, oversized frames, resets, silence; and for frames sent
  at a chosen moment (the ``*-while-waiting`` scripts: after the client's "go", while it
  is blocked in ``recv()``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers as WsHeaders
from websockets.http11 import Request, Response

from support.servers import ThreadedServer, recv_exact

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WebsocketsServer:
    def __init__(self, compression: str | None = "deflate") -> None:
        self.compression = compression
        self.port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(30)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = self._loop.create_future()
        async with serve(
            self._handler,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            compression=self.compression,
            subprotocols=["chat", "superchat"],
            select_subprotocol=self._select_subprotocol,
            max_size=2**22,
            # Tests open up to 300 connections at once: asyncio's default backlog (100)
            # overflows when the machine is busy.
            backlog=1024,
        ) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(10)

    @staticmethod
    def _select_subprotocol(connection: ServerConnection, subprotocols: Any) -> str | None:
        for p in subprotocols:
            if p in ("chat", "superchat"):
                return p
        return None

    @staticmethod
    def _process_request(connection: ServerConnection, request: Request) -> Response | None:
        path = request.path
        if path.startswith("/reject/"):
            status = int(path.rsplit("/", 1)[1])
            return connection.respond(HTTPStatus(status), f"rejected with {status}\n")
        if path.startswith("/redirect-to/"):
            response = connection.respond(HTTPStatus.FOUND, "")
            response.headers["Location"] = urllib.parse.unquote(path.removeprefix("/redirect-to/"))
            return response
        if path.startswith("/redirect"):
            response = connection.respond(HTTPStatus.FOUND, "")
            response.headers["Location"] = "/echo"
            return response
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else "/"
        if path.startswith("/echo"):
            async for message in ws:
                await ws.send(message)
        elif path.startswith("/close/"):
            code = int(path.rsplit("/", 1)[1])
            await ws.close(code, "bye")
        elif path == "/send-then-close":
            await ws.send("a")
            await ws.send(b"b")
            await ws.close()
        elif path == "/subprotocol":
            await ws.send(str(ws.subprotocol))
            await ws.wait_closed()
        elif path.startswith("/headers"):
            headers = {k.lower(): v for k, v in ws.request.headers.raw_items()} if ws.request else {}
            await ws.send(json.dumps({"path": path, "headers": headers}))
            await ws.wait_closed()
        elif path == "/fragments":
            await ws.send(["frag", "ment", "ed"])
            await ws.send([b"\x00", b"\x01"])
            await ws.wait_closed()
        elif path.startswith("/big/"):
            size = int(path.rsplit("/", 1)[1])
            await ws.send(b"x" * size)
            await ws.wait_closed()
        elif path == "/silent":
            await ws.wait_closed()
        else:
            await ws.close(4000, "unknown path")


#: The 1 MiB payload of the large-frame scripts.
BIG_BLOB = bytes(range(256)) * 4096


def _frame(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0) -> bytes:
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


def _read_frame(sock: socket.socket) -> tuple[int, bytes] | None:
    def exact(n: int) -> bytes:
        return recv_exact(sock, n)

    try:
        b0, b1 = exact(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", exact(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", exact(8))
        mask = exact(4) if b1 & 0x80 else b"\0\0\0\0"
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(exact(n)))
        return b0 & 0x0F, payload
    except (EOFError, OSError):
        return None


class RawServer(ThreadedServer):
    """Accepts the handshake, then plays the script named by the request path."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[tuple[int, bytes]] = []
        self._scripts: dict[str, Callable[[socket.socket], None]] = {
            "/invalid-utf8": lambda s: self._send_then_wait(s, _frame(1, b"caf\xc3(")),
            "/reserved-bits": lambda s: self._send_then_wait(s, _frame(2, b"x", rsv=0x20)),
            "/bad-opcode": lambda s: self._send_then_wait(s, _frame(5, b"x")),
            "/unexpected-continuation": lambda s: self._send_then_wait(s, _frame(0, b"x")),
            "/big-frame": lambda s: self._send_then_wait(s, _frame(2, b"y" * 2000)),
            "/bad-close-code": lambda s: self._send_then_wait(s, _frame(8, struct.pack("!H", 999))),
            "/reset": self._reset,
            "/eof": lambda s: s.close(),
            "/no-pong": self._no_pong,
            "/masked": lambda s: self._send_then_wait(s, b"\x81\x81abcd" + bytes([ord("x") ^ ord("a")])),
            "/ping-while-waiting": self._ping_while_waiting,
            "/close-while-waiting": lambda s: self._after_go(
                s, _frame(8, struct.pack("!H", 4001) + b"later")
            ),
            "/bad-frame-while-waiting": lambda s: self._after_go(s, _frame(5, b"x")),
            "/fragments-while-waiting": self._fragments_while_waiting,
            "/ping-while-idle": self._ping_while_idle,
            "/big-in-halves-while-waiting": self._big_in_halves,
            "/eof-mid-frame-while-waiting": self._eof_mid_frame,
            "/huge-length-while-waiting": self._huge_length,
            "/slow-close": self._slow_close,
        }

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _serve(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                conn.close()
                return
            data += chunk
        lines = data.split(b"\r\n")
        path = lines[0].split(b" ")[1].decode()
        key = next(
            line.split(b":", 1)[1].strip() for line in lines if line.lower().startswith(b"sec-websocket-key")
        )
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        if path == "/garbage-response":
            conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            conn.close()
            return
        if path == "/smtp-response":  # not HTTP, but three space-separated words
            conn.sendall(b"220 smtp.invalid ESMTP Postfix\r\n")
            conn.close()
            return
        if path == "/hang":
            # Never answer the upgrade: the client's open_timeout must fire.
            conn.settimeout(30)
            try:
                conn.recv(1)
            except OSError:
                pass
            conn.close()
            return
        if path == "/bad-accept":
            accept = base64.b64encode(b"0" * 20)
        # An empty Sec-WebSocket-Protocol answer (no token where one must be).
        extra = b"Sec-WebSocket-Protocol: \r\n" if path == "/empty-subprotocol" else b""
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n" + extra + b"\r\n"
        )
        script = self._scripts.get(path)
        if script is None:
            conn.close()
            return
        script(conn)

    def _slow_close(self, conn: socket.socket) -> None:
        """Answer the client's close frame half a second late, then end the connection."""
        conn.settimeout(10)
        while (frame := _read_frame(conn)) is not None:
            if frame[0] == 8:
                time.sleep(0.5)
                conn.sendall(_frame(8, frame[1]))
                break
        conn.close()

    def _send_then_wait(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        conn.settimeout(10)
        while (frame := _read_frame(conn)) is not None:
            self.received.append(frame)
            if frame[0] == 8:
                break
        conn.close()

    @staticmethod
    def _wait_for(conn: socket.socket, opcode: int, payload: bytes | None = None) -> tuple[int, bytes] | None:
        """Read frames until one with `opcode` (and `payload`); None at EOF."""
        conn.settimeout(10)
        while (frame := _read_frame(conn)) is not None:
            if frame[0] == opcode and payload in (None, frame[1]):
                return frame
        return None

    def _after_go(self, conn: socket.socket, data: bytes) -> None:
        """Wait for the client's "go", give it time to block in recv(), then send `data`."""
        if self._wait_for(conn, 1, b"go") is None:
            conn.close()
            return
        time.sleep(0.2)
        self._send_then_wait(conn, data)

    def _ping_while_waiting(self, conn: socket.socket) -> None:
        """A ping and a message in one segment while the client waits; once the pong is
        back, a message naming its payload."""
        if self._wait_for(conn, 1, b"go") is None:
            conn.close()
            return
        time.sleep(0.2)
        conn.sendall(_frame(9, b"are you there") + _frame(1, b"right after the ping"))
        pong = self._wait_for(conn, 10)
        if pong is None:
            conn.close()
            return
        self.received.append(pong)
        self._send_then_wait(conn, _frame(1, b"pong: " + pong[1]))

    def _fragments_while_waiting(self, conn: socket.socket) -> None:
        """A 1 MiB binary message in 16 fragments sent in pieces, a ping between two."""
        if self._wait_for(conn, 1, b"go") is None:
            conn.close()
            return
        time.sleep(0.2)
        blob = bytes(range(256)) * 4096
        step = len(blob) // 16
        for i in range(16):
            opcode = 2 if i == 0 else 0
            frame = _frame(opcode, blob[i * step : (i + 1) * step], fin=i == 15)
            conn.sendall(frame[: len(frame) // 2])
            time.sleep(0.005)
            conn.sendall(frame[len(frame) // 2 :])
            if i == 3:
                conn.sendall(_frame(9, b"mid-message"))
        self._send_then_wait(conn, b"")

    def _ping_while_idle(self, conn: socket.socket) -> None:
        """After "go" is answered, ping a client that is not calling recv(): tell it
        afterwards whether the pong came before its next message ("done")."""
        if self._wait_for(conn, 1, b"go") is None:
            conn.close()
            return
        conn.sendall(_frame(1, b"ok"))
        time.sleep(0.1)
        conn.sendall(_frame(9, b"idle?"))
        conn.settimeout(10)
        first = None
        while (frame := _read_frame(conn)) is not None:
            if frame[0] == 10 or (frame[0] == 1 and frame[1] == b"done"):
                first = frame
                break
        if first is None:
            conn.close()
            return
        self._send_then_wait(conn, _frame(1, b"pong first" if first[0] == 10 else b"done first"))

    def _big_in_halves(self, conn: socket.socket) -> None:
        """A 1 MiB binary frame cut in two: the first half while the client waits, the
        rest once it says "again" (after its recv() timed out or was interrupted), then a
        text message "after"."""
        if self._wait_for(conn, 1, b"go") is None:
            conn.close()
            return
        time.sleep(0.2)
        frame = _frame(2, BIG_BLOB)
        conn.sendall(frame[: len(frame) // 2])
        if self._wait_for(conn, 1, b"again") is None:
            conn.close()
            return
        conn.sendall(frame[len(frame) // 2 :])
        self._send_then_wait(conn, _frame(1, b"after"))

    def _eof_mid_frame(self, conn: socket.socket) -> None:
        """Half of a 1 MiB binary frame while the client waits, then the end of the stream."""
        if self._wait_for(conn, 1, b"go") is None:
            conn.close()
            return
        time.sleep(0.2)
        frame = _frame(2, BIG_BLOB)
        conn.sendall(frame[: len(frame) // 2])
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(10)
        while _read_frame(conn) is not None:
            pass
        conn.close()

    def _huge_length(self, conn: socket.socket) -> None:
        """A binary frame declaring 2**62 bytes of payload, a little of it, then the end of
        the stream: a client without a size limit must not try to allocate that much."""
        if self._wait_for(conn, 1, b"go") is None:
            conn.close()
            return
        time.sleep(0.2)
        conn.sendall(bytes([0x82, 127]) + struct.pack("!Q", 1 << 62) + BIG_BLOB[:100_000])
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(10)
        while _read_frame(conn) is not None:
            pass
        conn.close()

    @staticmethod
    def _reset(conn: socket.socket) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    @staticmethod
    def _no_pong(conn: socket.socket) -> None:
        conn.settimeout(10)
        while (frame := _read_frame(conn)) is not None:
            if frame[0] == 8:
                break
        conn.close()


__all__ = ["BIG_BLOB", "RawServer", "WebsocketsServer", "WsHeaders"]


class UnixWebsocketsServer(WebsocketsServer):
    """The same behaviours as :class:`WebsocketsServer`, on a Unix socket at ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__()

    async def _main(self) -> None:
        from websockets.asyncio.server import unix_serve

        self._loop = asyncio.get_running_loop()
        self._stop = self._loop.create_future()
        async with unix_serve(
            self._handler,
            self.path,
            process_request=self._process_request,
            compression=self.compression,
            max_size=2**22,
        ):
            self._ready.set()
            await self._stop
