"""Property-based differential test of the response side: a local server answers with a
generated status line, headers and body (exact bytes), and requests and balrog.requests
must read the same thing from it — status, reason, headers (repeated ones joined),
encoding, text, ``json()`` or its exception, ``links``, ``iter_lines()``,
``iter_content(decode_unicode=True)``, cookies, redirect flags and ``raise_for_status()``.
"""

from __future__ import annotations

import base64
import gzip
import json
import socket
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests as upstream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import balrog.requests as ours
from support.servers import ThreadedServer, recv_head

pytestmark = [pytest.mark.timeout(300), pytest.mark.both_modes]


class ReplayServer(ThreadedServer):
    """Answers each request with the response its ``X-Reply`` header spells (base64 JSON:
    status line, header lines, body), then closes the connection."""

    def __init__(self) -> None:
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}"

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            received = recv_head(conn)
            if received is None:
                return
            for line in received[0].split(b"\r\n"):
                if line.lower().startswith(b"x-reply:"):
                    spec = json.loads(base64.b64decode(line.split(b":", 1)[1].strip()))
                    break
            else:
                return
            head = base64.b64decode(spec["head"])
            body = base64.b64decode(spec["body"])
            coding = spec.get("coding")
            if coding == "gzip":
                body, head = gzip.compress(body, mtime=0), head + b"Content-Encoding: gzip\r\n"
            elif coding == "deflate":
                body, head = zlib.compress(body), head + b"Content-Encoding: deflate\r\n"
            pieces = spec.get("chunks")
            if pieces is None:
                conn.sendall(head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
                return
            # Chunked, cut where the spec says (sizes repeat to the end).
            out = [head + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"]
            at, turn = 0, 0
            while at < len(body):
                size = pieces[turn % len(pieces)]
                out.append(b"%x\r\n%s\r\n" % (len(body[at : at + size]), body[at : at + size]))
                at, turn = at + size, turn + 1
            out.append(b"0\r\n\r\n")
            conn.sendall(b"".join(out))


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    server = ReplayServer().start()
    yield server
    server.close()


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), max_codepoint=0x3FF), max_size=12)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "text/html; charset=utf-8",
        "text/plain",
        "text/html",
        "application/json",
        "application/json; charset=utf-16",
        'text/html; charset="ISO-8859-1"',
        "text/plain; charset=bogus-charset",
        "text/plain; charset=UTF-8; format=flowed",
        "application/octet-stream",
        "TEXT/CSV; Charset=latin-1",
        "application/problem+json",
        "text/plain;charset='utf-8'",
    ]
)
ENCODINGS = st.sampled_from(["utf-8", "latin-1", "utf-16", "utf-16-le", "utf-32", "utf-8-sig", "ascii"])
LINKS = st.sampled_from(
    [
        None,
        '<http://a/b>; rel="next"',
        '<http://a/1>; rel=next, <http://a/9>; rel="last"',
        "<http://a/x>",
        '<http://a/y>; rel="alternate"; type="text/html"; title="Ü"',
        "  <http://a/z> ; rel = prev",  # (trailing blanks: hyper drops them, http.client not)
        "",
        "garbage",
    ]
)
COOKIES = st.sampled_from(
    [
        [],
        ["a=1"],
        ["a=1; Path=/", "b=2; HttpOnly"],
        ['q="quoted value"; Max-Age=100'],
        ["gone=1; Max-Age=0"],
        ["d=3; Domain=other.example"],
        ["e=; Expires=Thu, 01 Jan 1970 00:00:00 GMT"],
    ]
)
STATUSES = st.sampled_from(
    [200, 201, 203, 206, 299, 301, 302, 303, 307, 308, 400, 401, 404, 418, 499, 500, 503, 599]
)
# ASCII only: a non-ASCII reason phrase does not survive httparse (docs/http.md).
REASONS = st.sampled_from(["", "OK", "Custom Reason", "Tab\there", "  spaced  "])


@st.composite
def replies(draw: Any) -> dict[str, Any]:
    status = draw(STATUSES)
    reason = draw(REASONS)
    reason_bytes = reason.encode()
    lines = [b"HTTP/1.1 %d %s" % (status, reason_bytes)]
    content_type = draw(CONTENT_TYPES)
    if content_type is not None:
        lines.append(b"Content-Type: " + content_type.encode())
    link = draw(LINKS)
    if link is not None:
        lines.append(b"Link: " + link.encode("utf-8"))
    for cookie in draw(COOKIES):
        lines.append(b"Set-Cookie: " + cookie.encode())
    if draw(st.booleans()):
        lines += [b"X-Multi: one", b"x-multi: two"]
    if 300 <= status < 400 and draw(st.booleans()):
        lines.append(b"Location: /elsewhere")
    kind = draw(st.sampled_from(["text", "json", "bytes", "lines"]))
    if kind == "text":
        body = draw(TEXT).encode(draw(ENCODINGS), "replace")
    elif kind == "json":
        value = draw(
            st.recursive(
                st.none() | st.booleans() | st.integers() | TEXT,
                lambda i: st.lists(i, max_size=3),
                max_leaves=5,
            )
        )
        body = json.dumps(value, ensure_ascii=draw(st.booleans())).encode(draw(ENCODINGS), "replace")
    elif kind == "lines":
        parts = draw(st.lists(st.sampled_from(["a", "", "b c", "ü", "\r", "\n", "\r\n"]), max_size=8))
        body = "".join(parts).encode("utf-8")
    else:
        body = draw(st.binary(max_size=40))
    head = b"".join(line + b"\r\n" for line in lines)
    return {
        "head": base64.b64encode(head).decode(),
        "body": base64.b64encode(body).decode(),
        "coding": draw(st.sampled_from([None, None, "gzip", "deflate"])),
        "chunks": draw(st.none() | st.lists(st.integers(1, 7), min_size=1, max_size=3)),
    }


def _outcome(call: Any) -> Any:
    try:
        return call()
    except Exception as exc:
        return ["raised", type(exc).__name__, str(exc)[:80]]


def read(lib: Any, url: str, reply: dict[str, Any]) -> dict[str, Any]:
    header = base64.b64encode(json.dumps(reply).encode()).decode()
    seen: dict[str, Any] = {}
    response = lib.get(url + "/", headers={"X-Reply": header}, allow_redirects=False)
    seen["status"] = response.status_code
    seen["reason"] = response.reason
    seen["ok"] = response.ok
    seen["headers"] = sorted(
        (k.lower(), v) for k, v in response.headers.items() if k.lower() not in ("date", "server")
    )
    seen["encoding"] = response.encoding
    seen["content"] = response.content
    seen["text"] = _outcome(lambda: response.text)
    seen["json"] = _outcome(lambda: json.dumps(response.json()))  # (NaN != NaN)
    seen["links"] = response.links
    seen["lines"] = _outcome(lambda: list(response.iter_lines(chunk_size=3)))
    seen["lines unicode"] = _outcome(lambda: list(response.iter_lines(chunk_size=4, decode_unicode=True)))
    seen["chunks"] = _outcome(lambda: "".join(str(c) for c in response.iter_content(5, decode_unicode=True)))
    seen["cookies"] = sorted(response.cookies.items())
    seen["redirect"] = [response.is_redirect, response.is_permanent_redirect]
    seen["raise"] = _outcome(response.raise_for_status)
    if isinstance(seen["raise"], list):
        seen["raise"][1] = seen["raise"][1]  # class names match: HTTPError in both trees
    return seen


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(reply=replies())
def test_responses_read_as_requests(replay: ReplayServer, reply: dict[str, Any]) -> None:
    expected = read(upstream, replay.url, reply)
    actual = read(ours, replay.url, reply)
    for key in expected:
        assert actual[key] == expected[key], key


def read_streamed(lib: Any, url: str, reply: dict[str, Any], size: int, decode: bool) -> dict[str, Any]:
    """Each way of consuming a streamed body, on a request of its own."""
    header = base64.b64encode(json.dumps(reply).encode()).decode()

    def get() -> Any:
        return lib.get(url + "/", headers={"X-Reply": header}, allow_redirects=False, stream=True)

    def pieces(values: Any) -> Any:
        if reply["coding"] is None or not isinstance(values, list) or values[:1] == ["raised"]:
            return values
        # Compressed: urllib3 decodes each raw piece of at most `size` bytes, so the decoded
        # pieces follow the compression, not the body (and iter_lines splits "\r\n" across
        # two of them into two lines); what they add up to must agree.
        return (b"" if values and isinstance(values[0], bytes) else "").join(values)

    seen: dict[str, Any] = {}
    seen["lines"] = pieces(_outcome(lambda: list(get().iter_lines(chunk_size=size, decode_unicode=decode))))
    seen["chunks"] = pieces(_outcome(lambda: list(get().iter_content(size, decode_unicode=decode))))

    def raw_reads() -> list[bytes]:
        raw = get().raw
        pieces = []
        while True:
            piece = raw.read(size, decode_content=decode)
            if not piece:
                return pieces
            pieces.append(piece)

    seen["raw reads"] = _outcome(lambda: b"".join(raw_reads()))
    seen["text after stream"] = _outcome(lambda: get().text)
    return seen


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(reply=replies(), size=st.integers(1, 9), decode=st.booleans())
def test_streamed_responses_read_as_requests(
    replay: ReplayServer, reply: dict[str, Any], size: int, decode: bool
) -> None:
    expected = read_streamed(upstream, replay.url, reply, size, decode)
    actual = read_streamed(ours, replay.url, reply, size, decode)
    for key in expected:
        assert actual[key] == expected[key], key
