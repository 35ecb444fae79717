"""``Response.raw`` as urllib3's HTTPResponse behaves in requests: an io.IOBase that reads
raw or decoded bytes, lines, into buffers and through io wrappers, with urllib3's header
mapping. Differential against requests on the same server."""

from __future__ import annotations

import io
import json
import shutil
from typing import Any

import pytest
import requests as real_requests

import balrog.requests as requests

pytestmark = pytest.mark.both_modes

LIBS = [real_requests, requests]

# What code reads of urllib3's HTTPResponse (getcode is absent there too).
SURFACE = (
    "read read1 readinto readline readlines stream headers status reason version version_string "
    "tell release_conn drain_conn getheader getheaders info geturl get_redirect_location isclosed "
    "closed readable seekable data json decode_content auto_close enforce_content_length "
    "length_remaining retries connection url chunked fileno flush close shutdown"
).split()


def same(call: Any) -> Any:
    """The call's result with requests and with balrog.requests, asserted equal."""
    results = [call(lib) for lib in LIBS]
    assert results[1] == results[0]
    return results[0]


def test_surface(httpbin: Any) -> None:
    for lib in LIBS:
        raw = lib.get(httpbin("/get"), stream=True).raw
        assert [name for name in SURFACE if not hasattr(raw, name)] == []
        assert isinstance(raw, io.IOBase)


def test_status_line_and_url(httpbin: Any) -> None:
    def status(lib: Any) -> Any:
        raw = lib.get(httpbin("/get?q=1"), stream=True).raw
        return raw.status, raw.reason, raw.version, raw.version_string, raw.url, raw.geturl()

    assert same(status) == (200, "OK", 11, "HTTP/1.1", "/get?q=1", "/get?q=1")


def test_partial_reads_and_position(httpbin: Any) -> None:
    def reads(lib: Any) -> Any:
        raw = lib.get(httpbin("/bytes/70000?seed=3"), stream=True).raw
        steps = [raw.length_remaining, raw.closed]
        first = raw.read(10)
        buffer = bytearray(1000)
        count = raw.readinto(buffer)
        rest = raw.read()
        steps += [len(first), count, len(rest), raw.tell(), raw.length_remaining, raw.closed, raw.isclosed()]
        steps.append(raw.read())
        return steps, first + bytes(buffer[:count]) + rest

    steps, body = same(reads)
    assert steps == [70000, False, 10, 1000, 68990, 70000, 0, True, True, b""]
    assert len(body) == 70000


def test_read1_returns_what_arrived(httpbin: Any) -> None:
    for lib in LIBS:
        raw = lib.get(httpbin("/bytes/200000?seed=4"), stream=True).raw
        pieces = []
        while piece := raw.read1(50000):
            assert 0 < len(piece) <= 50000
            pieces.append(piece)
        assert sum(map(len, pieces)) == 200000
        assert raw.read1() == b""


def test_lines(httpbin: Any) -> None:
    same(lambda lib: list(lib.get(httpbin("/stream/4"), stream=True).raw))
    same(lambda lib: lib.get(httpbin("/stream/4"), stream=True).raw.readlines())

    def by_readline(lib: Any) -> list[bytes]:
        raw = lib.get(httpbin("/stream/3"), stream=True).raw
        return [raw.readline(), raw.readline(5), next(raw), raw.readline(), raw.readline()]

    same(by_readline)


def test_iteration_decodes_but_read_does_not(httpbin: Any) -> None:
    """Iterating raw decodes the content coding (urllib3's __iter__); read() by default not."""
    # (The two clients send different headers, which the body echoes: compare its shape.)
    decoded = same(lambda lib: json.loads(b"".join(lib.get(httpbin("/gzip"), stream=True).raw))["gzipped"])
    assert decoded is True
    first = same(lambda lib: lib.get(httpbin("/gzip"), stream=True).raw.read(2))
    assert first == b"\x1f\x8b"


def test_copyfileobj_and_io_wrappers(httpbin: Any) -> None:
    def copied(lib: Any) -> bytes:
        sink = io.BytesIO()
        shutil.copyfileobj(lib.get(httpbin("/bytes/100000?seed=5"), stream=True).raw, sink)
        return sink.getvalue()

    assert len(same(copied)) == 100000

    def decoded(lib: Any) -> Any:
        raw = lib.get(httpbin("/gzip"), stream=True).raw
        raw.decode_content = True
        text = io.TextIOWrapper(raw, encoding="utf-8").read()
        return json.loads(text)["gzipped"]

    same(decoded)

    def buffered(lib: Any) -> bytes:
        return io.BufferedReader(lib.get(httpbin("/stream/2"), stream=True).raw).readline()

    same(buffered)


def test_data_and_json(httpbin: Any) -> None:
    def data(lib: Any) -> Any:
        raw = lib.get(httpbin("/get?x=1"), stream=True).raw
        first = raw.data
        return first == raw.data, sorted(raw.json()), raw.closed

    same(data)
    # After requests read the content itself, raw has nothing left.
    same(lambda lib: lib.get(httpbin("/get")).raw.data)


def test_headers_keep_repeated_values(httpbin: Any) -> None:
    url = httpbin("/response-headers?X-Dup=one&X-Dup=two&Set-Cookie=a%3D1&Set-Cookie=b%3D2")

    def headers(lib: Any) -> Any:
        h = lib.get(url).raw.headers
        return (
            type(h).__name__,
            h["x-dup"],
            h.getlist("X-DUP"),
            h.get_all("set-cookie"),
            h.getlist("absent"),
            [pair for pair in h.items() if pair[0].lower() in ("x-dup", "set-cookie")],
            "X-Dup" in h,
            h == h.copy(),
            len(h.copy()) == len(h),
        )

    result = same(headers)
    assert result[2] == ["one", "two"]


def test_header_dict_editing() -> None:
    from urllib3 import HTTPHeaderDict as Reference

    from balrog.requests._raw import HTTPHeaderDict

    results = []
    for cls in (Reference, HTTPHeaderDict):
        h = cls({"A": "1"}, b="2")
        h.add("a", "3")
        h.add("B", "4", combine=True)
        h.extend([("c", "5"), ("C", "6")])
        h["d"] = "7"
        del h["c"]
        merged = h | {"e": "8"}
        results.append(
            (
                h["a"],
                h["b"],
                h.getlist("A"),
                list(h),
                list(h.itermerged()),
                list(h.iteritems()),
                h == {"a": "1, 3", "B": "2, 4", "D": "7"},
                h != {"a": "1"},
                list(merged.itermerged()),
                repr(cls({"X": "1"})).endswith("({'X': '1'})"),
            )
        )
    assert results[1] == results[0]


def test_redirect_location(httpbin: Any) -> None:
    same(lambda lib: lib.get(httpbin("/redirect/1"), allow_redirects=False).raw.get_redirect_location())
    same(lambda lib: lib.get(httpbin("/get")).raw.get_redirect_location())


def test_drain_then_reuse(httpbin: Any) -> None:
    for lib in LIBS:
        with lib.Session() as session:
            raw = session.get(httpbin("/bytes/300000?seed=6"), stream=True).raw
            raw.read(100)
            raw.drain_conn()
            assert raw.read() == b""
            assert session.get(httpbin("/get?after=1")).json()["args"] == {"after": "1"}


def test_close_mid_body(httpbin: Any) -> None:
    def closed(lib: Any) -> Any:
        raw = lib.get(httpbin("/bytes/300000?seed=7"), stream=True).raw
        raw.read(10)
        raw.close()
        return raw.closed, raw.read()

    same(closed)


def test_original_response_metadata(httpbin: Any) -> None:
    # urllib3's `_original_response` (http.client's response), which code reaches for the
    # HTTP version and for the headers as an HTTPMessage with repeated ones kept.
    url = httpbin("/response-headers?X-Dup=one&X-Dup=two&Set-Cookie=a%3D1&Set-Cookie=b%3D2")

    def original(lib: Any) -> Any:
        response = lib.get(url)
        orig = response.raw._original_response
        msg = orig.msg
        return (
            orig.status,
            orig.reason,
            orig.version,
            type(msg).__name__,
            msg.get_all("x-dup"),
            msg.get_all("Set-Cookie"),
            msg["Content-Type"],
            orig.getheader("X-Dup"),
            orig.getheader("absent", "default"),
            [pair for pair in orig.getheaders() if pair[0].lower() in ("x-dup", "set-cookie")],
            orig.headers is msg,
        )

    assert same(original)[4] == ["one", "two"]
