"""fork(): a child never uses the keep-alive connections of its parent's pools."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

# The client runs in a fresh interpreter: in this one, earlier tests may have started
# balrog's shared runtime, which would hide a fork count kept only once it starts.
_CLIENT = """
import os, sys
import balrog.requests as requests
session = requests.Session()
url = sys.argv[1]
assert session.get(url).text == "ok"
pid = os.fork()
if pid == 0:
    try:
        os._exit(0 if session.get(url).text == "ok" else 3)
    except BaseException:
        os._exit(4)
_, status = os.waitpid(pid, 0)
assert session.get(url).text == "ok"
print(os.WEXITSTATUS(status))
"""


class _CountingServer:
    """HTTP/1.1 keep-alive on 127.0.0.1 answering "ok" to every request; counts the
    connections it accepts."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _serve(conn: socket.socket) -> None:
        with conn:
            pending = b""
            while True:
                while b"\r\n\r\n" not in pending:
                    data = conn.recv(65536)
                    if not data:
                        return
                    pending += data
                _, _, pending = pending.partition(b"\r\n\r\n")
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


@pytest.fixture
def counting_server() -> Iterator[_CountingServer]:
    server = _CountingServer()
    yield server
    server.listener.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_opens_its_own_connection(counting_server: _CountingServer) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CLIENT, f"http://127.0.0.1:{counting_server.port}/"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0"]
    # The parent's connection (kept alive across the fork and used again after it), and
    # the child's own: sharing the parent's socket would have made it one.
    assert counting_server.accepted == 2
