"""Retries of failures while waiting for the response (urllib3's "read" retries), as requests
does them: `HTTPAdapter(max_retries=N)` retries a read timeout or a connection the server
closed without answering, for idempotent methods; spent retries end in a ConnectionError
("Max retries exceeded"); the default adapter and `read=False` raise the failure as is.
Differential against requests on the same flaky server."""

from __future__ import annotations

import io
import itertools
import socket
import time
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests as real_requests
from urllib3.util.retry import Retry as Urllib3Retry

import balrog.requests as requests
from support.servers import ThreadedServer, recv_head

pytestmark = pytest.mark.both_modes

LIBS = [real_requests, requests]
TIMEOUT = (5, 0.3)
_ids = itertools.count()


class FlakyServer(ThreadedServer):
    """`/?id=K&fail=N&mode=timeout|close|503`: the first N requests with that id get no
    answer (held past the read timeout, or closed at once) or a 503, later ones a 200
    naming the attempt and the body length received."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts: dict[str, int] = defaultdict(int)
        self.start()

    def url(self, fail: int, mode: str) -> str:
        return f"http://127.0.0.1:{self.port}/?id={next(_ids)}&fail={fail}&mode={mode}"

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            pending = b""
            while True:
                received = recv_head(conn, pending)
                if received is None:
                    return
                head, pending = received
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])
                }
                length = int(headers.get("content-length", "0"))
                while len(pending) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    pending += chunk
                pending = pending[length:]
                query = dict(parse_qsl(urlsplit(lines[0].split(" ")[1]).query))
                self.attempts[query["id"]] += 1
                attempt = self.attempts[query["id"]]
                if attempt <= int(query["fail"]):
                    if query["mode"] == "503":
                        conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
                        continue
                    if query["mode"] == "timeout":
                        time.sleep(0.6)
                    return  # closes without an answer
                body = f"attempt {attempt} length {length}".encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


@pytest.fixture(scope="module")
def flaky() -> Any:
    server = FlakyServer()
    yield server
    server.close()


def run(
    lib: Any, flaky: FlakyServer, fail: int, mode: str, retries: Any, method: str = "GET", **kwargs: Any
) -> Any:
    """(outcome, attempts the server saw): the body text, or the exception's class chain
    and whether it reads as an exhausted retry."""
    url = flaky.url(fail, mode)
    with lib.Session() as session:
        if retries is not None:
            session.mount("http://", lib.adapters.HTTPAdapter(max_retries=retries))
        try:
            outcome: Any = session.request(method, url, timeout=TIMEOUT, **kwargs).text
        except lib.RequestException as exc:
            names = [
                cls.__name__ for cls in type(exc).__mro__ if cls.__module__.endswith("requests.exceptions")
            ]
            outcome = (names, "Max retries exceeded" in str(exc))
    return outcome, flaky.attempts[urlsplit(url).query.split("&")[0].split("=")[1]]


def same(*args: Any, **kwargs: Any) -> Any:
    results = [run(lib, *args, **kwargs) for lib in LIBS]
    assert results[1] == results[0]
    return results[0]


@pytest.mark.parametrize("mode", ["timeout", "close"])
def test_retried_until_answered(flaky: FlakyServer, mode: str) -> None:
    assert same(flaky, 2, mode, 3) == ("attempt 3 length 0", 3)


def test_spent_read_retries_are_a_connection_error(flaky: FlakyServer) -> None:
    outcome, attempts = same(flaky, 9, "timeout", 1)
    assert outcome == (["ConnectionError", "RequestException"], True)
    assert attempts == 2


def test_spent_retries_after_closed_connections(flaky: FlakyServer) -> None:
    outcome, attempts = same(flaky, 9, "close", 2)
    assert outcome[0][0] == "ConnectionError"
    assert outcome[1] is True
    assert attempts == 3


def test_exhausted_cause_keeps_urllib3s_shape(flaky: FlakyServer) -> None:
    url = flaky.url(9, "timeout")
    adapter = requests.adapters.HTTPAdapter(max_retries=1)
    with requests.Session() as session:
        session.mount("http://", adapter)
        with pytest.raises(requests.ConnectionError) as caught:
            session.get(url, timeout=TIMEOUT)
    cause = caught.value.args[0]
    assert "Max retries exceeded with url: /?id=" in str(cause)
    assert type(cause.reason).__name__ == "ReadTimeoutError"
    assert "Read timed out. (read timeout=0.3)" in str(cause.reason)
    assert caught.value.request is not None


@pytest.mark.parametrize("mode", ["timeout", "close"])
def test_default_adapter_never_retries(flaky: FlakyServer, mode: str) -> None:
    outcome, attempts = same(flaky, 1, mode, None)
    assert attempts == 1
    assert outcome[1] is False  # the failure as is: ReadTimeout / "Connection aborted."


def test_post_is_not_retried(flaky: FlakyServer) -> None:
    outcome, attempts = same(flaky, 1, "timeout", 3, method="POST", data=b"x")
    assert outcome == (["ReadTimeout", "Timeout", "RequestException"], False)
    assert attempts == 1


@pytest.mark.parametrize(
    ("policy", "expected_attempts"),
    [
        (Urllib3Retry(total=3, read=0), 1),
        (Urllib3Retry(total=3, read=False), 1),
        (Urllib3Retry(total=0), 1),
        (Urllib3Retry(total=None, read=2), 3),
        (Urllib3Retry(total=1, read=5), 2),
    ],
    ids=["read0", "read-false", "total0", "read2", "total1"],
)
def test_urllib3_retry_policies(flaky: FlakyServer, policy: Any, expected_attempts: int) -> None:
    _, attempts = same(flaky, 9, "timeout", policy)
    assert attempts == expected_attempts


def test_allowed_methods_none_retries_post(flaky: FlakyServer) -> None:
    policy = Urllib3Retry(total=3, allowed_methods=None)
    assert same(flaky, 1, "close", policy, method="POST", data=b"abc") == ("attempt 2 length 3", 2)


def test_file_body_is_sent_again_whole(flaky: FlakyServer) -> None:
    def body() -> io.BytesIO:
        data = io.BytesIO(b"0123456789" * 1000)
        data.read(10)  # sent from where the caller left it, on every attempt
        return data

    results = [run(lib, flaky, 1, "close", 2, method="PUT", data=body()) for lib in LIBS]
    assert results[0] == results[1] == ("attempt 2 length 9990", 2)


def test_generator_body_is_not_sent_again(flaky: FlakyServer) -> None:
    """An iterator cannot be rewound: balrog raises the failure rather than resend nothing."""
    outcome, attempts = run(requests, flaky, 1, "close", 2, method="PUT", data=iter([b"abc"]))
    assert attempts == 1
    assert outcome[0][0] == "ConnectionError"


def test_streamed_responses_are_retried_before_the_head(flaky: FlakyServer) -> None:
    same(flaky, 1, "timeout", 2, stream=True)


def _retries_seen(lib: Any, flaky: FlakyServer, fail: int, policy: Any) -> Any:
    url = flaky.url(fail, "close")
    with lib.Session() as session:
        if policy is not None:
            session.mount("http://", lib.adapters.HTTPAdapter(max_retries=policy))
        retries = session.get(url, timeout=TIMEOUT).raw.retries
    history = [(h.method, h.url.split("?")[0], h.error is not None, h.status) for h in retries.history]
    return retries.total, retries.read, history


@pytest.mark.parametrize(
    ("fail", "policy"),
    [(0, None), (0, 3), (2, 3), (1, Urllib3Retry(total=None, read=4)), (1, Urllib3Retry(total=5, connect=2))],
    ids=["default", "unused", "two-retries", "read-count", "total-count"],
)
def test_raw_retries_history(flaky: FlakyServer, fail: int, policy: Any) -> None:
    """`response.raw.retries`: the policy with what was spent, and one history entry per
    retry (urllib3's RequestHistory fields)."""
    results = [_retries_seen(lib, flaky, fail, policy) for lib in LIBS]
    assert results[1] == results[0]
    assert len(results[0][2]) == fail


def test_raw_retries_after_status_retries(flaky: FlakyServer) -> None:
    """A status retry leaves an entry with its status and no error."""
    policy = Urllib3Retry(total=3, status_forcelist=[503])
    seen = []
    for lib in LIBS:
        with lib.Session() as session:
            session.mount("http://", lib.adapters.HTTPAdapter(max_retries=policy))
            response = session.get(flaky.url(2, "503"), timeout=TIMEOUT)
            history = [(h.method, h.error, h.status) for h in response.raw.retries.history]
            seen.append((response.text, response.raw.retries.total, history))
    assert seen[0] == seen[1] == ("attempt 3 length 0", 1, [("GET", None, 503), ("GET", None, 503)])
