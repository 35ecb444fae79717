"""Proxies for tests, on 127.0.0.1: an HTTP CONNECT proxy and a SOCKS4/4a/5 proxy. Both
tunnel to loopback addresses only, so no test traffic can leave the machine."""

from __future__ import annotations

import base64
import socket
import ssl
import struct
import threading
from collections.abc import Callable

from .servers import ThreadedServer, recv_exact, recv_head, server_side_tls


class ConnectProxy(ThreadedServer):
    """A small HTTP CONNECT proxy on 127.0.0.1 (tunnels to 127.0.0.1/::1 only).

    Records each request head it receives (``requests``: request line plus headers, as
    bytes). With ``credentials`` set, a request without the matching ``Proxy-Authorization``
    gets 407; ``reply`` replaces the proxy's answer (for malformed or refusing proxies).
    """

    def __init__(
        self, credentials: str | None = None, reply: bytes | None = None, tls: ssl.SSLContext | None = None
    ) -> None:
        self.credentials = credentials
        self.reply = reply
        self.tls = tls  # set: an https:// proxy (TLS from the client to the proxy)
        self.requests: list[bytes] = []
        super().__init__()
        self.start()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def _serve(self, conn: socket.socket) -> None:
        wrapped = server_side_tls(conn, self.tls)
        if wrapped is None:
            return
        with wrapped as conn:
            received = recv_head(conn)
            if received is None:
                return
            head = received[0]
            self.requests.append(head)
            if self.reply is not None:
                conn.sendall(self.reply)
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
            if self.credentials is not None:
                expected = "Basic " + base64.b64encode(self.credentials.encode()).decode()
                if headers.get("proxy-authorization") != expected:
                    conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
                    return
            host, _, port = target.rpartition(":")
            host = host.strip("[]")
            if method != "CONNECT" or host not in ("127.0.0.1", "localhost", "::1"):
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            try:
                upstream = socket.create_connection(("127.0.0.1" if host == "localhost" else host, int(port)))
            except OSError:
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with upstream:
                pump = threading.Thread(target=self._pipe, args=(upstream, conn), daemon=True)
                pump.start()
                self._pipe(conn, upstream)
                pump.join(10)

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class SocksProxy(ThreadedServer):
    """A small SOCKS4/4a and SOCKS5 proxy on 127.0.0.1 (tunnels to loopback only).

    Records each client's handshake bytes (``handshakes``: everything it sent before the
    tunnel opened). With ``credentials`` (``"user:password"``) SOCKS5 clients must use
    RFC 1929 user/password authentication; ``refuse`` makes it refuse every target
    (SOCKS5 reply 0x05, SOCKS4 reply 0x5B).
    """

    def __init__(self, credentials: str | None = None, refuse: bool = False) -> None:
        self.credentials = credentials
        self.refuse = refuse
        self.handshakes: list[bytes] = []
        super().__init__()
        self.start()

    def url(self, scheme: str = "socks5h", userinfo: str = "") -> str:
        return f"{scheme}://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}"

    def _serve(self, conn: socket.socket) -> None:
        seen = bytearray()

        def exact(n: int) -> bytes:
            data = recv_exact(conn, n)
            seen.extend(data)
            return data

        def until_nul() -> bytes:
            data = b""
            while not data.endswith(b"\0"):
                data += exact(1)
            return data[:-1]

        with conn:
            try:
                version = exact(1)[0]
                target = self._socks5(conn, exact) if version == 5 else self._socks4(conn, exact, until_nul)
            except (EOFError, OSError):
                return
            finally:
                self.handshakes.append(bytes(seen))
            if target is None:
                return
            with target:
                pump = threading.Thread(target=ConnectProxy._pipe, args=(target, conn), daemon=True)
                pump.start()
                ConnectProxy._pipe(conn, target)
                pump.join(10)

    def _connect(self, host: str, port: int) -> socket.socket | None:
        if self.refuse or host not in ("127.0.0.1", "localhost", "::1"):
            return None
        try:
            return socket.create_connection(("127.0.0.1" if host == "localhost" else host, port))
        except OSError:
            return None

    def _socks5(self, conn: socket.socket, exact: Callable[[int], bytes]) -> socket.socket | None:
        methods = exact(exact(1)[0])
        if self.credentials is None:
            conn.sendall(b"\x05\x00")
        elif 2 in methods:
            conn.sendall(b"\x05\x02")
            exact(1)  # sub-negotiation version
            user = exact(exact(1)[0]).decode()
            password = exact(exact(1)[0]).decode()
            if f"{user}:{password}" != self.credentials:
                conn.sendall(b"\x01\x01")
                return None
            conn.sendall(b"\x01\x00")
        else:
            conn.sendall(b"\x05\xff")
            return None
        _, _, _, kind = exact(4)
        if kind == 1:
            host = socket.inet_ntop(socket.AF_INET, exact(4))
        elif kind == 4:
            host = socket.inet_ntop(socket.AF_INET6, exact(16))
        else:
            host = exact(exact(1)[0]).decode()
        port = struct.unpack("!H", exact(2))[0]
        target = self._connect(host, port)
        if target is None:
            conn.sendall(b"\x05\x05\x00\x01" + bytes(6))
            return None
        conn.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01" + struct.pack("!H", port))
        return target

    def _socks4(
        self, conn: socket.socket, exact: Callable[[int], bytes], until_nul: Callable[[], bytes]
    ) -> socket.socket | None:
        _, port_bytes, address = exact(1), exact(2), exact(4)
        until_nul()  # user id
        port = struct.unpack("!H", port_bytes)[0]
        host = until_nul().decode() if address[:3] == b"\0\0\0" else socket.inet_ntoa(address)
        target = self._connect(host, port)
        conn.sendall(b"\x00" + (b"\x5a" if target else b"\x5b") + port_bytes + address)
        return target
