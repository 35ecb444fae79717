"""Ctrl-C during a request: the call raises KeyboardInterrupt (as requests does), nothing
hangs, and the session works afterwards. Differential against requests, in a child process
per run (the signal goes to the whole process)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from support.net import unanswered_port
from support.proc import interrupt_child
from support.servers import ThreadedServer, recv_head

# The child: one request that cannot finish (``stall_url``) is interrupted; then one to
# ``ok_url`` on the same session. Prints the interrupted call's exception and the second
# answer. ``mode`` green runs both in a green task under balrog.run (SIGINT then cancels it).
_CHILD = r"""
import json, sys
lib, stall_url, ok_url, mode = sys.argv[1:5]
if lib == "balrog":
    import balrog
    import balrog.requests as requests
else:
    import requests

def body():
    session = requests.Session()
    session.get(ok_url).text  # a pooled connection to reuse afterwards
    print("waiting", flush=True)
    try:
        session.get(stall_url).content
        raised = None
    except BaseException as exc:
        raised = type(exc).__name__
    after = session.get(ok_url).text
    print(json.dumps({"raised": raised, "after": after}), flush=True)

if mode == "green":
    # SIGINT cancels balrog.run's main task: the interrupted wait raises CancelledError.
    try:
        balrog.run(body)
    except KeyboardInterrupt:
        pass
else:
    body()
"""


class StallServer(ThreadedServer):
    """``/head``: never answers; ``/body``: sends a head and 10 bytes of a 1 MB body, then
    nothing; anything else: ``ok``. Connections stay open until the server closes."""

    def __init__(self) -> None:
        super().__init__()
        self.done = threading.Event()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            pending = b""
            while True:
                received = recv_head(conn, pending)
                if received is None:
                    return
                head, pending = received
                path = head.split(b" ")[1]
                if path == b"/head":
                    self.done.wait(30)
                    return
                if path == b"/body":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 10)
                    self.done.wait(30)
                    return
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


@pytest.fixture
def server() -> Iterator[StallServer]:
    running = StallServer().start()
    yield running
    running.done.set()
    running.close()


def run(lib: str, stall_url: str, ok_url: str, mode: str = "blocking") -> dict[str, str]:
    out = interrupt_child(_CHILD, lib, stall_url, ok_url, mode, after=0.5)
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("stall", ["head", "body"])
def test_ctrl_c_while_waiting(server: StallServer, stall: str) -> None:
    """Waiting for the response head, or mid-body: KeyboardInterrupt, and the session still
    answers on another connection."""
    base = f"http://127.0.0.1:{server.port}"
    expected = run("requests", f"{base}/{stall}", f"{base}/ok")
    assert expected == {"raised": "KeyboardInterrupt", "after": "ok"}
    assert run("balrog", f"{base}/{stall}", f"{base}/ok") == expected


def test_ctrl_c_while_connecting() -> None:
    """A connect that never completes (the accept backlog is full): KeyboardInterrupt."""
    ok = StallServer().start()
    try:
        with unanswered_port() as port:
            stall_url, ok_url = f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{ok.port}/ok"
            expected = run("requests", stall_url, ok_url)
            assert expected == {"raised": "KeyboardInterrupt", "after": "ok"}
            assert run("balrog", stall_url, ok_url) == expected
    finally:
        ok.done.set()
        ok.close()


def test_ctrl_c_in_green_mode(server: StallServer) -> None:
    """Under balrog.run, Ctrl-C cancels the main task; the green task's wait raises
    CancelledError, and its next request on the session works."""
    base = f"http://127.0.0.1:{server.port}"
    got = run("balrog", f"{base}/head", f"{base}/ok", mode="green")
    assert got == {"raised": "CancelledError", "after": "ok"}
