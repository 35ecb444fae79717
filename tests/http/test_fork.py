"""fork(): a child never uses the keep-alive connections of its parent's pools."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from support.servers import ThreadedServer, recv_head

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


class _OkServer(ThreadedServer):
    """HTTP/1.1 keep-alive answering "ok" to every request (``accepted`` counts the
    connections)."""

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            pending = b""
            while (received := recv_head(conn, pending)) is not None:
                pending = received[1]
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


@pytest.fixture
def counting_server() -> Iterator[_OkServer]:
    server = _OkServer().start()
    yield server
    server.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_opens_its_own_connection(counting_server: _OkServer) -> None:
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
