"""Property-based differential test of what goes on the wire: generated calls
(``requests.request(method, url, params=, data=, json=, headers=, cookies=, auth=,
files=)``) through requests and balrog.requests against a server that records the exact
request bytes. Request line, headers and body must be the same, up to what is known to
differ (docs/http.md): header order, the Accept-Encoding default, and each client's random
multipart boundary. (Plain HTTP: over HTTPS reqwest also adds ``Accept: */*`` when the
caller removed it, and sends a ``'`` in a query as ``%27``.)
"""

from __future__ import annotations

import base64
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests as upstream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import balrog.requests as ours
from support.servers import ThreadedServer, recv_request

pytestmark = [pytest.mark.timeout(300), pytest.mark.both_modes]


class RecordingServer(ThreadedServer):
    """Answers every request with 200 and the request's bytes, base64, as the body."""

    def __init__(self) -> None:
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}"

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            request = recv_request(conn)
            if request is None:
                return
            head, body = request
            reply = base64.b64encode(head + b"\r\n\r\n" + body)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(reply) + reply
            )


@pytest.fixture(scope="module")
def recorder() -> Iterator[RecordingServer]:
    server = RecordingServer().start()
    yield server
    server.close()


SAFE = st.text(alphabet=st.sampled_from(list("abcXYZ019-_.~ =&+/?%;,:@!$'()*ü€ \"")), max_size=8)
NAMES = st.text(alphabet=st.sampled_from(list("abcXYZ-_")), min_size=1, max_size=6)
VALUES = st.one_of(SAFE, st.binary(max_size=6), st.integers(-3, 3), st.none())
PARAMS = st.one_of(
    st.none(),
    st.dictionaries(SAFE, st.one_of(VALUES, st.lists(VALUES, max_size=2)), max_size=3),
    st.lists(st.tuples(SAFE, VALUES), max_size=3),
    SAFE,
)
DATA = st.one_of(
    st.none(),
    st.dictionaries(SAFE, st.one_of(SAFE, st.lists(SAFE, max_size=2)), max_size=3),
    st.lists(st.tuples(SAFE, SAFE), max_size=3),
    SAFE,
    st.binary(max_size=12),
)
JSON = st.one_of(st.none(), st.dictionaries(SAFE, st.one_of(SAFE, st.integers(), st.booleans()), max_size=3))
HEADERS = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(
            ["X-A", "x-b", "Content-Type", "User-Agent", "Accept-Language", "X-Empty", "Cookie", "Accept"]
        ),
        st.one_of(st.text(alphabet=st.sampled_from(list("abc 019;=,/*-")), max_size=8), st.none()),
        max_size=3,
    ),
)
COOKIES = st.one_of(
    st.none(),
    st.dictionaries(NAMES, st.text(alphabet=st.sampled_from(list("abc019")), max_size=5), max_size=3),
)
AUTH = st.one_of(st.none(), st.tuples(SAFE, SAFE))
FILES = st.one_of(
    st.none(),
    st.dictionaries(
        NAMES,
        st.one_of(
            st.binary(max_size=8),
            st.tuples(SAFE, st.binary(max_size=8)),
            st.tuples(SAFE, st.binary(max_size=8), st.sampled_from(["text/plain", "application/x-thing"])),
        ),
        min_size=1,
        max_size=2,
    ),
)
METHODS = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get", "post"])
PATHS = st.lists(
    st.sampled_from(
        [
            "",
            "/",
            "/a",
            "/b c",
            "/ü",
            "/%41",
            "/x?y=1",
            "/x#frag",
            "/./d/../e",
            "/%2e%2E/f",
            "/g'h",
            "?",
            "/i?'",
        ]
    ),
    max_size=3,
).map("".join)


def _normalised(raw: bytes) -> Any:
    head, _, body = raw.partition(b"\r\n\r\n")
    request_line, *header_lines = head.split(b"\r\n")
    headers = []
    boundary = None
    for line in header_lines:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip()
        if name in (b"accept-encoding", b"host"):
            continue
        if name == b"content-type" and b"boundary=" in value:
            boundary = value.split(b"boundary=", 1)[1]
            value = value.replace(boundary, b"BOUNDARY")
        headers.append((name, value))
    # (a caller's Content-Type may hide the boundary from the header: take it from the body)
    opening = re.match(rb"--([0-9a-f]{32})\r\n", body)
    boundary = boundary or (opening.group(1) if opening else None)
    if boundary:
        body = body.replace(boundary, b"BOUNDARY")
    return request_line, sorted(headers), body


def sent(lib: Any, url: str, kwargs: dict[str, Any]) -> Any:
    try:
        response = lib.request(url=url, timeout=10, **kwargs)
    except Exception as exc:
        return ("raised", [c.__name__ for c in type(exc).__mro__ if c.__module__ != "builtins"][:3])
    return _normalised(base64.b64decode(response.content))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    method=METHODS,
    path=PATHS,
    params=PARAMS,
    data=DATA,
    json=JSON,
    headers=HEADERS,
    cookies=COOKIES,
    auth=AUTH,
    files=FILES,
)
def test_same_bytes_on_the_wire(recorder: RecordingServer, method: str, path: str, **kwargs: Any) -> None:
    if kwargs["files"] is not None and not isinstance(kwargs["data"], (dict, list, type(None))):
        kwargs["data"] = None  # requests refuses str/bytes data next to files ("cannot encode")
    kwargs["method"] = method
    url = recorder.url + path
    assert sent(ours, url, kwargs) == sent(upstream, url, kwargs)
