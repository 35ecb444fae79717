"""Streamed request bodies: files and iterators go out as they are read, not from memory.

Differential against requests on the same local server (framing headers, bytes received,
redirects, exceptions), plus memory flatness for a 200 MB upload and timeouts while
uploading. Every test runs blocking and as a green task.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import socket
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests as real_requests

import balrog
import balrog.requests as requests
from support.servers import ThreadedServer

pytestmark = pytest.mark.both_modes

LIBS = {"requests": real_requests, "balrog": requests}


# -- a server that counts what it receives without keeping it --------------------------------


class _Broken(Exception):
    pass


class CountingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_exactly(self, size: int, digest: Any) -> int:
        left = size
        while left:
            piece = self.rfile.read(min(left, 256 * 1024))
            if not piece:
                raise _Broken
            digest.update(piece)
            left -= len(piece)
        return size

    def _drain(self) -> tuple[int, str, int]:
        """Length, sha256 and number of chunks of the body (chunks: 0 unless chunked)."""
        digest = hashlib.sha256()
        total = chunks = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline()
                if not line:
                    raise _Broken
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return total, digest.hexdigest(), chunks
                total += self._read_exactly(size, digest)
                chunks += 1
                if self.rfile.readline() not in (b"\r\n", b"\n"):
                    raise _Broken
        length = int(self.headers.get("Content-Length") or 0)
        return self._read_exactly(length, digest), digest.hexdigest(), 0

    def _reply(self, status: int, data: dict[str, Any], headers: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
        body = json.dumps(data, sort_keys=True).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        tag = query.get("tag", "")
        log: list[Any] = self.server.log  # type: ignore[attr-defined]
        try:
            length, sha, _chunks = self._drain()
        except (_Broken, ValueError, OSError):
            log.append((tag, "broken"))
            self.close_connection = True
            return
        log.append((tag, "complete", length))
        seen = {
            "method": self.command,
            "path": url.path,
            "length": length,
            "sha256": sha,
            "transfer_encoding": self.headers.get("Transfer-Encoding"),
            "content_length": self.headers.get("Content-Length"),
            "content_type": self.headers.get("Content-Type"),
            "peer_port": self.client_address[1],
        }
        if url.path.startswith("/redirect/"):
            status = int(url.path.rsplit("/", 1)[1])
            self._reply(status, seen, [("Location", "/count?tag=" + tag)])
            return
        if url.path == "/sleep":
            time.sleep(float(query.get("seconds", "1")))
        self._reply(200, seen)

    do_PUT = do_POST
    do_GET = do_POST  # what a 303 turns a POST into


class _Backlogged(ThreadingHTTPServer):
    # The default backlog (5) resets connections when twenty green tasks connect at once.
    request_queue_size = 128


class CountingServer:
    def __init__(self) -> None:
        self.httpd = _Backlogged(("127.0.0.1", 0), CountingHandler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.httpd.log = []  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def __call__(self, path: str) -> str:
        return self.url + path

    @property
    def log(self) -> list[Any]:
        return self.httpd.log  # type: ignore[attr-defined]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class SilentServer(ThreadedServer):
    """Accepts connections and never reads from them (a send then stalls)."""

    def __init__(self) -> None:
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}"
        self.conns: list[socket.socket] = []
        self.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self.conns.append(conn)

    def stop(self) -> None:
        self.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture(scope="module")
def counting() -> Iterator[CountingServer]:
    server = CountingServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.stop()


# -- helpers --------------------------------------------------------------------------------


def outcome(lib: Any, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    """What a call produced, in a form both libraries can be compared on."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            response = lib.request(method, url, **kwargs)
    except Exception as exc:
        return {"error": type(exc).__name__, "message": str(exc)}
    seen = response.json()
    seen.pop("peer_port", None)
    return {
        "status": response.status_code,
        "seen": seen,
        "history": [(r.status_code, r.json()["length"]) for r in response.history],
        "sent_te": response.request.headers.get("Transfer-Encoding"),
        "sent_cl": response.request.headers.get("Content-Length"),
    }


def compare(make_kwargs: Callable[[], dict[str, Any]], url: str, method: str = "POST") -> dict[str, Any]:
    """Run the same call through both libraries (fresh arguments each) and compare."""
    ours = outcome(requests, method, url, **make_kwargs())
    theirs = outcome(real_requests, method, url, **make_kwargs())
    assert ours == theirs
    return ours


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def big_file() -> Iterator[tuple[str, bytes]]:
    data = os.urandom(300_000)
    with tempfile.NamedTemporaryFile(delete=False) as handle:
        handle.write(data)
    yield handle.name, data
    os.unlink(handle.name)


# -- files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("position", [0, 1234, 300_000])
def test_binary_file(counting: CountingServer, big_file: tuple[str, bytes], position: int) -> None:
    path, data = big_file

    def kwargs() -> dict[str, Any]:
        handle = open(path, "rb")
        handle.seek(position)
        return {"data": handle}

    result = compare(kwargs, counting("/count"))
    rest = data[position:]
    assert result["seen"]["length"] == len(rest)
    assert result["seen"]["sha256"] == sha(rest)
    if rest:
        assert result["seen"]["content_length"] == str(len(rest))
        assert result["seen"]["transfer_encoding"] is None
    else:
        # requests sends a file with nothing left chunked (super_len is 0).
        assert result["seen"]["transfer_encoding"] == "chunked"


def test_text_file(counting: CountingServer, tmp_path: Any) -> None:
    path = tmp_path / "text.txt"
    path.write_bytes(("héllo wörld\n" * 20_000).encode("utf-8"))

    def kwargs() -> dict[str, Any]:
        return {"data": open(path, encoding="utf-8")}

    result = compare(kwargs, counting("/count"))
    assert result["seen"]["sha256"] == sha(path.read_bytes())
    assert result["seen"]["content_length"] == str(path.stat().st_size)


def test_empty_file(counting: CountingServer, tmp_path: Any) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    result = compare(lambda: {"data": open(path, "rb")}, counting("/count"))
    assert result["seen"]["length"] == 0
    assert result["seen"]["transfer_encoding"] == "chunked"


def test_bytesio_with_position(counting: CountingServer) -> None:
    def kwargs() -> dict[str, Any]:
        body = io.BytesIO(b"0123456789" * 50_000)
        body.seek(17)
        return {"data": body, "headers": {"Content-Type": "application/octet-stream"}}

    result = compare(kwargs, counting("/count"))
    assert result["seen"]["length"] == 500_000 - 17
    assert result["seen"]["content_length"] == str(500_000 - 17)


def _pipe_of(data: bytes) -> Any:
    read_fd, write_fd = os.pipe()

    def writer() -> None:
        with os.fdopen(write_fd, "wb") as out:
            out.write(data)

    threading.Thread(target=writer, daemon=True).start()
    return os.fdopen(read_fd, "rb")


def test_pipe_unknown_length(counting: CountingServer) -> None:
    data = os.urandom(1_000_000)
    result = compare(lambda: {"data": _pipe_of(data)}, counting("/count"))
    assert result["seen"]["transfer_encoding"] == "chunked"
    assert result["seen"]["sha256"] == sha(data)


def test_put_file_object_without_iter(counting: CountingServer) -> None:
    """Anything with read() streams, even without __iter__ (requests sizes it with super_len)."""

    class Reader:
        def __init__(self) -> None:
            self.inner = io.BytesIO(b"abc" * 100_000)

        def read(self, size: int = -1) -> bytes:
            return self.inner.read(size)

        def tell(self) -> int:
            return self.inner.tell()

        def seek(self, offset: int, whence: int = 0) -> int:
            return self.inner.seek(offset, whence)

    result = compare(lambda: {"data": Reader()}, counting("/count"), method="PUT")
    assert result["seen"]["length"] == 300_000


# -- iterators ------------------------------------------------------------------------------


_BLOB = os.urandom(3_000_000)

GENERATORS: dict[str, Callable[[], Iterator[Any]]] = {
    "bytes": lambda: (bytes([i]) * 10_000 for i in range(50)),
    "str": lambda: (f"chunk {i} é\n" for i in range(1000)),
    "mixed": lambda: iter([b"a", "b", b"", "", bytearray(b"cd"), memoryview(b"ef"), b"g" * 70_000]),
    "empty": lambda: iter(()),
    "one_big": lambda: iter([_BLOB]),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generator(counting: CountingServer, name: str) -> None:
    make = GENERATORS[name]
    result = compare(lambda: {"data": make()}, counting("/count"))
    assert result["seen"]["transfer_encoding"] == "chunked"
    assert result["seen"]["content_length"] is None
    expected = b"".join(c.encode() if isinstance(c, str) else bytes(c) for c in make())
    assert result["seen"]["sha256"] == sha(expected)


def test_generator_with_explicit_content_length(counting: CountingServer) -> None:
    def kwargs() -> dict[str, Any]:
        return {"data": (b"x" * 1000 for _ in range(100)), "headers": {"Content-Length": "100000"}}

    """requests keeps the caller's Content-Length next to its own ``Transfer-Encoding:
    chunked`` and urllib3 then writes the body unframed under both headers, so a server that
    honours the chunked header (RFC 9112 says it must) waits for chunk sizes and the call
    times out (checked by hand; not compared here, it would only time out). balrog sends
    the body chunked and drops the length a sender must not send alongside it."""
    ours = outcome(requests, "POST", counting("/count"), **kwargs())
    assert ours["seen"]["content_length"] is None
    assert ours["seen"]["transfer_encoding"] == "chunked"
    assert ours["seen"]["length"] == 100_000
    assert ours["sent_cl"] == "100000"  # the PreparedRequest still shows requests' headers


def test_generator_of_wrong_items(counting: CountingServer) -> None:
    result = compare(lambda: {"data": iter([b"ok", 5])}, counting("/count"))
    assert result["error"] == "TypeError"


def _wait_for(predicate: Callable[[], bool]) -> None:
    """Poll the server's log (the server thread records a broken upload when it sees EOF)."""
    deadline = time.monotonic() + 10
    while not predicate():
        assert time.monotonic() < deadline, "the server never saw the upload end"
        balrog.sleep(0.01)


@pytest.mark.parametrize("lib_name", sorted(LIBS))
def test_generator_raising_midway(counting: CountingServer, lib_name: str) -> None:
    """The producer's exception reaches the caller as is; the request never looks complete
    to the server, and the connection is not reused."""
    lib = LIBS[lib_name]
    tag = f"raise-{lib_name}-{balrog.mode()}"

    class Boom(Exception):
        pass

    def gen() -> Iterator[bytes]:
        for _ in range(20):
            yield b"z" * 65536
        raise Boom("producer failed")

    with lib.Session() as session:
        first = session.post(counting(f"/count?tag={tag}-before"), data=b"warm").json()["peer_port"]
        with pytest.raises(Boom, match="producer failed") as info:
            session.post(counting(f"/count?tag={tag}"), data=gen())
        assert info.type is Boom
        _wait_for(lambda: (tag, "broken") in counting.log)
        assert not [entry for entry in counting.log if entry[0] == tag and entry[1] == "complete"]
        after = session.post(counting(f"/count?tag={tag}-after"), data=b"again").json()["peer_port"]
    assert after != first


def test_file_read_raising(counting: CountingServer) -> None:
    class Failing(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 3:
                raise OSError(5, "disk on fire")
            return b"q" * 1000

    result = compare(lambda: {"data": Failing()}, counting("/count"))
    # urllib3 takes an OSError from read() for a failed send: requests' ConnectionError.
    assert result == {
        "error": "ConnectionError",
        "message": "('Connection aborted.', OSError(5, 'disk on fire'))",
    }


def test_session_reuses_connection_after_streamed_upload(counting: CountingServer) -> None:
    with requests.Session() as session:
        ports = {
            session.post(counting("/count"), data=(b"p" * 1000 for _ in range(100))).json()["peer_port"]
            for _ in range(3)
        }
    assert len(ports) == 1


def test_streamed_response_of_streamed_upload(counting: CountingServer) -> None:
    response = requests.post(counting("/count"), data=iter([b"a" * 100_000]), stream=True)
    assert json.loads(b"".join(response.iter_content(1000)))["length"] == 100_000


def test_green_producer_doing_io(counting: CountingServer) -> None:
    """The producer runs on the caller's thread (in its green task), so it may do balrog
    I/O itself: here each chunk is the body of another request."""

    def gen() -> Iterator[bytes]:
        for i in range(5):
            yield requests.post(counting("/count"), data=b"x" * i).json()["sha256"].encode()

    expected = b"".join(sha(b"x" * i).encode() for i in range(5))
    seen = requests.post(counting("/count"), data=gen()).json()
    assert seen["sha256"] == sha(expected)


def test_green_fan_out(counting: CountingServer) -> None:
    def one(i: int) -> int:
        return requests.post(counting("/count"), data=(b"f" * 4096 for _ in range(i + 1))).json()["length"]

    if balrog.mode() == "green":
        results = balrog.gather(*[(lambda i=i: one(i)) for i in range(20)])
    else:
        results = [one(i) for i in range(20)]
    assert list(results) == [4096 * (i + 1) for i in range(20)]


# -- redirects ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [307, 308])
def test_redirect_rewinds_file(counting: CountingServer, big_file: tuple[str, bytes], status: int) -> None:
    path, data = big_file

    def kwargs() -> dict[str, Any]:
        handle = open(path, "rb")
        handle.seek(100)
        return {"data": handle}

    result = compare(kwargs, counting(f"/redirect/{status}"))
    assert result["history"] == [(status, len(data) - 100)]
    assert result["seen"]["sha256"] == sha(data[100:])


@pytest.mark.parametrize("status", [307, 308])
def test_redirect_with_generator(counting: CountingServer, status: int) -> None:
    """requests cannot rewind a generator: the redirected request goes out with what is
    left of it (nothing), still chunked."""
    result = compare(lambda: {"data": (b"g" * 1000 for _ in range(50))}, counting(f"/redirect/{status}"))
    assert result["history"] == [(status, 50_000)]
    assert result["seen"]["length"] == 0
    assert result["seen"]["transfer_encoding"] == "chunked"


@pytest.mark.parametrize("status", [307, 308])
def test_redirect_with_pipe_is_unrewindable(counting: CountingServer, status: int) -> None:
    result = compare(lambda: {"data": _pipe_of(b"p" * 100_000)}, counting(f"/redirect/{status}"))
    assert result["error"] == "UnrewindableBodyError"


def test_redirect_303_drops_streamed_body(counting: CountingServer) -> None:
    result = compare(lambda: {"data": iter([b"x" * 5000])}, counting("/redirect/303"))
    assert result["history"] == [(303, 5000)]


# -- timeouts and interruption --------------------------------------------------------------


def test_read_timeout_after_upload(counting: CountingServer) -> None:
    def kwargs() -> dict[str, Any]:
        return {"data": (b"t" * 65536 for _ in range(30)), "timeout": (5, 0.3)}

    result = compare(kwargs, counting("/sleep?seconds=1.5"))
    assert result["error"] == "ReadTimeout"


def test_read_timeout_with_file(counting: CountingServer, big_file: tuple[str, bytes]) -> None:
    path, _ = big_file
    result = compare(lambda: {"data": open(path, "rb"), "timeout": 0.3}, counting("/sleep?seconds=1.5"))
    assert result["error"] == "ReadTimeout"


def test_slow_producer_is_not_a_timeout(counting: CountingServer) -> None:
    """The read timeout starts once the body is sent: a producer slower than it is fine
    (requests' socket timeouts never see the producer's time either)."""

    def gen() -> Iterator[bytes]:
        for _ in range(4):
            balrog.sleep(0.2)
            yield b"s" * 100

    seen = requests.post(counting("/count"), data=gen(), timeout=0.3).json()
    assert seen["length"] == 400


def test_send_stall_times_out(silent: SilentServer) -> None:
    """A server that stops reading: requests' send times out after the connect timeout."""

    def kwargs() -> dict[str, Any]:
        return {"data": (b"w" * 65536 for _ in range(100_000)), "timeout": (0.5, 30)}

    result = compare(kwargs, silent.url + "/upload")
    assert result == {
        "error": "ConnectionError",
        "message": "('Connection aborted.', TimeoutError('timed out'))",
    }


def test_interrupt_during_upload(silent: SilentServer) -> None:
    """Ctrl-C (a signal handler raising) interrupts a blocked blocking-mode upload."""
    if balrog.mode() != "blocking":
        pytest.skip("signal handlers run on the main thread, in blocking mode here")

    class Interrupted(Exception):
        pass

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(Interrupted):
            requests.post(silent.url + "/upload", data=(b"i" * 65536 for _ in range(100_000)))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- memory ---------------------------------------------------------------------------------


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """The highest RSS of this process while the block runs (sampled by a thread)."""

    def __enter__(self) -> PeakRss:
        self.start = _rss()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def growth(self) -> int:
        return self.peak - self.start


SIZE = 200 * 1024 * 1024
MEMORY_BOUND = 60 * 1024 * 1024


def test_memory_flat_file_upload(counting: CountingServer, tmp_path: Any) -> None:
    path = tmp_path / "big.bin"
    block = os.urandom(1024 * 1024)
    with open(path, "wb") as out:
        for _ in range(SIZE // len(block)):
            out.write(block)
    with open(path, "rb") as handle, PeakRss() as rss:
        seen = requests.post(counting("/count"), data=handle).json()
    assert seen["length"] == SIZE
    assert seen["content_length"] == str(SIZE)
    print(f"file upload of {SIZE >> 20} MB: RSS grew by {rss.growth / 1e6:.1f} MB")
    assert rss.growth < MEMORY_BOUND


def test_memory_flat_generator_upload(counting: CountingServer) -> None:
    def gen() -> Iterator[bytes]:
        for i in range(SIZE // (1024 * 1024)):
            yield bytes([i % 256]) * (1024 * 1024)

    with PeakRss() as rss:
        seen = requests.post(counting("/count"), data=gen()).json()
    assert seen["length"] == SIZE
    assert seen["transfer_encoding"] == "chunked"
    print(f"generator upload of {SIZE >> 20} MB: RSS grew by {rss.growth / 1e6:.1f} MB")
    assert rss.growth < MEMORY_BOUND
