"""Keep-alive connections the server closes while they sit in the pool: the next request
must open a new connection, as urllib3 does (it checks a pooled socket before reusing it),
not fail on the dead one. Differential against requests, both modes."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import requests as real_requests

import balrog
import balrog.requests as requests
from support.servers import ThreadedServer, recv_head

pytestmark = pytest.mark.both_modes

LIBS = [real_requests, requests]
IDLE_LIMIT = 0.2  # the server closes a connection idle this long


class ShortKeepAliveServer(ThreadedServer):
    """Answers every request on a connection, and closes the connection once it has been
    idle for IDLE_LIMIT seconds (as nginx's keepalive_timeout does, only shorter)."""

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(IDLE_LIMIT)
        with conn:
            pending = b""
            try:
                while True:
                    received = recv_head(conn, pending)
                    if received is None:
                        return
                    head, pending = received
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    while len(pending) < length:
                        pending += conn.recv(65536)
                    body = b"got %d" % length
                    pending = pending[length:]
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            except OSError:
                return  # idle too long: the connection is closed


@pytest.fixture
def server() -> Iterator[ShortKeepAliveServer]:
    running = ShortKeepAliveServer().start()
    yield running
    running.close()


def pause(seconds: float) -> None:
    if balrog.mode() == "green":
        balrog.sleep(seconds)
    else:
        time.sleep(seconds)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_request_after_the_server_closed_the_idle_connection(
    server: ShortKeepAliveServer, method: str
) -> None:
    url = f"http://127.0.0.1:{server.port}/"
    seen = []
    for lib in LIBS:
        before = server.accepted
        with lib.Session() as session:
            outcomes = []
            # Right away (the connection is reused), then after the server closed it.
            for delay in (0, 0, 3 * IDLE_LIMIT, 0, 3 * IDLE_LIMIT):
                pause(delay)
                data = b"abc" if method == "POST" else None
                outcomes.append(session.request(method, url, data=data, timeout=5).text)
        seen.append((outcomes, server.accepted - before))
    expected_body = "got 3" if method == "POST" else "got 0"
    assert seen[0] == seen[1] == ([expected_body] * 5, 3)


def test_module_function_after_a_pause(server: ShortKeepAliveServer) -> None:
    """requests.get() shares no pool between calls in requests; balrog's module functions
    must not trip over a connection closed between them either."""
    url = f"http://127.0.0.1:{server.port}/"
    for lib in LIBS:
        assert lib.get(url, timeout=5).text == "got 0"
        pause(3 * IDLE_LIMIT)
        assert lib.get(url, timeout=5).text == "got 0"
