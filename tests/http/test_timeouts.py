"""When requests' read timeout starts: once the connection is usable (urllib3 sets it on the
socket after connecting), so a slow connect never counts against it and a long connect
timeout never lengthens it. Differential against requests on the same servers."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests as real_requests

import balrog.requests as requests
from support.servers import ThreadedServer, recv_head

pytestmark = pytest.mark.both_modes

LIBS = [real_requests, requests]


def outcome(call: Any) -> str:
    try:
        response = call()
    except Exception as exc:
        return type(exc).__name__
    return f"{response.status_code} {response.text}"


@pytest.mark.parametrize("timeout", [0.3, (5, 0.3)])
def test_read_timeout_not_lengthened_by_connect_timeout(httpbin: Any, timeout: Any) -> None:
    """The server answers after 1.5 s: the read timeout (0.3 s) fires, whatever the connect
    timeout (balrog used to wait for read + connect before giving up on the head)."""
    results = [outcome(lambda lib=lib: lib.get(httpbin("/delay/1.5"), timeout=timeout)) for lib in LIBS]
    assert results == ["ReadTimeout", "ReadTimeout"]


def test_read_timeout_on_a_pooled_connection(httpbin: Any) -> None:
    """The second request reuses the connection: its read timeout runs from the start."""
    results = []
    for lib in LIBS:
        with lib.Session() as session:
            session.get(httpbin("/get"))
            results.append(outcome(lambda s=session: s.get(httpbin("/delay/1.5"), timeout=(5, 0.3))))
    assert results == ["ReadTimeout", "ReadTimeout"]


class SlowHandshakeServer(ThreadedServer):
    """A TLS server that waits before its handshake (the client's connect phase) and then
    answers at once: a read timeout shorter than the wait must not fire."""

    def __init__(self, context: ssl.SSLContext, pause: float) -> None:
        super().__init__()
        self.context = context
        self.pause = pause
        self.url = f"https://127.0.0.1:{self.port}/"
        self.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            time.sleep(self.pause)
            with self.context.wrap_socket(conn, server_side=True) as tls:
                if recv_head(tls) is not None:
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        except OSError:
            conn.close()


@pytest.fixture(scope="module")
def slow_handshake(tls: dict[str, Any]) -> Iterator[SlowHandshakeServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls["server_cert"].configure_cert(context)
    server = SlowHandshakeServer(context, pause=0.8)
    yield server
    server.close()


def test_slow_connect_does_not_count_against_the_read_timeout(
    slow_handshake: SlowHandshakeServer, tls: dict[str, Any]
) -> None:
    results = [
        outcome(lambda lib=lib: lib.get(slow_handshake.url, timeout=(5, 0.3), verify=tls["ca_path"]))
        for lib in LIBS
    ]
    assert results == ["200 ok", "200 ok"]


def test_slow_connect_still_bounded_by_the_connect_timeout(
    slow_handshake: SlowHandshakeServer, tls: dict[str, Any]
) -> None:
    """A TLS handshake slower than the connect timeout. urllib3 reports it as a ReadTimeout
    (the socket is connected, the handshake's read times out); balrog's connect covers TCP
    and TLS together and says ConnectTimeout. Both are requests' Timeout (a documented
    difference)."""
    results = [
        outcome(lambda lib=lib: lib.get(slow_handshake.url, timeout=(0.3, 5), verify=tls["ca_path"]))
        for lib in LIBS
    ]
    assert results == ["ReadTimeout", "ConnectTimeout"]
