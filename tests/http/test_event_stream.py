"""A chunked body is handed on chunk by chunk, as requests (urllib3's ``read_chunked``) does:
``iter_content(1024)`` / ``iter_lines()`` on a server-sent event stream yield each event
when it arrives, not once 1024 bytes have. The server sends its next event only after the
client saw the previous one, so a client holding pieces back would wait forever (the
server's 30 s bound only turns that hang into a failure)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests as upstream

import balrog.requests as ours
from support.servers import ThreadedServer, recv_head

pytestmark = pytest.mark.both_modes

EVENTS = 3


class LockstepServer(ThreadedServer):
    """One chunked response, an event per chunk, each sent once ``seen`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}/events"
        self.seen = threading.Semaphore(0)
        self.stalled = False

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            if recv_head(conn) is None:
                return
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            for number in range(EVENTS):
                if number and not self.seen.acquire(timeout=30):
                    self.stalled = True  # the client never saw the previous event
                event = b"data: %d\n\n" % number
                conn.sendall(b"%x\r\n%s\r\n" % (len(event), event))
            conn.sendall(b"0\r\n\r\n")


@pytest.fixture
def lockstep() -> Iterator[LockstepServer]:
    server = LockstepServer().start()
    yield server
    server.close()


@pytest.mark.parametrize("lib", [upstream, ours], ids=["requests", "balrog"])
@pytest.mark.parametrize("how", ["iter_lines", "iter_content"])
def test_events_arrive_one_by_one(lockstep: LockstepServer, lib: Any, how: str) -> None:
    response = lib.get(lockstep.url, stream=True, timeout=60)
    pieces = response.iter_lines(chunk_size=1024) if how == "iter_lines" else response.iter_content(1024)
    got = []
    for piece in pieces:
        if piece:
            got.append(piece)
            lockstep.seen.release()
    assert not lockstep.stalled
    expected = (
        [b"data: %d" % n for n in range(EVENTS)]
        if how == "iter_lines"
        else [b"data: %d\n\n" % n for n in range(EVENTS)]
    )
    assert got == expected
