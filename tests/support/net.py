"""Loopback helpers: free ports, a port that never answers, and waiting for a server to listen."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def unanswered_port() -> Iterator[int]:
    """A loopback port where a connect never completes: a listener whose accept backlog
    is full, so the kernel leaves further SYNs unanswered (a connect-timeout target)."""
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(8):
            filler = socket.socket()
            fillers.append(filler)
            filler.setblocking(False)
            try:
                filler.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def wait_for_port(
    host: str, port: int, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Return once something accepts connections on host:port, or raise TimeoutError.

    With ``process`` (the server being waited for), a server that exits during start-up
    raises RuntimeError at once instead of after the whole timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server on {host}:{port} exited at start-up ({process.returncode})")
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


def uvicorn_command(app: str, port: int, http: str = "h11") -> list[str]:
    """uvicorn serving ``app`` on 127.0.0.1:port the way the demo, bench and tests all do:
    the asyncio loop (green tasks run on it), no lifespan, no access log, a deep backlog for
    hundreds of concurrent clients."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "asyncio",
        "--http",
        http,
        "--lifespan",
        "off",
        "--no-access-log",
        "--log-level",
        "warning",
        "--backlog",
        "2048",
    ]


def default_sigint() -> None:
    """``preexec_fn`` for a child that must see Ctrl-C: a shell starts background jobs with
    SIGINT ignored, and Python then installs no KeyboardInterrupt handler in the child."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
