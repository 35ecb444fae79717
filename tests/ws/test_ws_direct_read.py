"""A large binary frame read by a blocking recv() goes straight into the returned bytes
(crates/balrog-ws/src/conn/direct.rs). A read cut short must leave nothing half-filled
visible and the connection consistent: after a timeout or Ctrl-C in the middle of a 1 MiB
frame the next recv() returns the whole message; the end of the stream in the middle of
one gives websockets' error. Green mode runs the same scripts through the task."""

from __future__ import annotations

import hashlib
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

import balrog
from support.proc import interrupt_child

from .servers import BIG_BLOB, RawServer, WebsocketsServer
from .test_ws_client import same

pytestmark = pytest.mark.both_modes

BIG_SHA = hashlib.sha256(BIG_BLOB).hexdigest()


def digest(message: Any) -> tuple[str, int, str]:
    return type(message).__name__, len(message), hashlib.sha256(message).hexdigest()


@pytest.mark.parametrize("then", ["recv", "recv_streaming"])
def test_timeout_in_the_middle_of_a_big_frame(raw_server: RawServer, then: str) -> None:
    """The first recv() times out with half the frame read; the next one (or a streaming
    receive, which the connection's task serves) gets the whole message."""

    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(
            url + "/big-in-halves-while-waiting", ping_interval=None, max_size=None, close_timeout=2
        ) as ws:
            ws.send("go")
            balrog.sleep(0.4)  # the first half has arrived (not required for correctness)
            try:
                ws.recv(timeout=0.1)
                timed_out = False
            except TimeoutError:
                timed_out = True
            ws.send("again")
            if then == "recv":
                message = ws.recv(timeout=10)
            else:
                message = b"".join(ws.recv_streaming())
            return timed_out, digest(message), ws.recv(timeout=10)

    result = same(raw_server.url, script)
    assert result["result"] == (True, ("bytes", 1 << 20, BIG_SHA), "after")


def test_end_of_stream_in_the_middle_of_a_big_frame(raw_server: RawServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(
            url + "/eof-mid-frame-while-waiting", ping_interval=None, max_size=None, close_timeout=2
        ) as ws:
            ws.send("go")
            ws.recv(timeout=10)

    result = same(raw_server.url, script)
    assert result["type"] == "ConnectionClosedError"


def test_huge_declared_length_without_a_size_limit(raw_server: RawServer) -> None:
    """max_size=None and a frame header declaring 2**62 bytes: no up-front allocation of
    that size (it would abort the process), the end of the stream gives websockets' error."""

    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(
            url + "/huge-length-while-waiting", ping_interval=None, max_size=None, close_timeout=2
        ) as ws:
            ws.send("go")
            ws.recv(timeout=10)

    result = same(raw_server.url, script)
    assert result["type"] == "ConnectionClosedError"


def test_big_binary_messages_round_trip(ws_server: WebsocketsServer) -> None:
    """Sizes around the direct-read threshold, one over the limit, and a text message."""

    def script(connect: Callable[..., Any], url: str) -> Any:
        out = []
        with connect(url + "/echo", compression=None, max_size=1 << 20) as ws:
            for size in (65535, 65536, 65537, 300_000, 1 << 20):
                message = BIG_BLOB[:size]
                ws.send(message)
                out.append(digest(ws.recv(timeout=10)))
            ws.send(BIG_BLOB[:300_000].decode("latin-1"))  # 450 kB of UTF-8
            out.append(len(ws.recv(timeout=10)))
        with connect(url + "/echo", compression=None, max_size=100_000) as ws:
            ws.send(BIG_BLOB[:200_000])
            try:
                ws.recv(timeout=10)
            except Exception as exc:  # the class name is what is compared
                out.append(type(exc).__name__)
        return out

    result = same(ws_server.url, script)
    assert result["result"][-1] == "ConnectionClosedError"


_CTRL_C_CHILD = textwrap.dedent(
    """
    import hashlib, sys
    from balrog.websockets.sync.client import connect

    with connect(sys.argv[1] + "/big-in-halves-while-waiting", max_size=None,
                 ping_interval=None, close_timeout=2) as ws:
        ws.send("go")
        print("waiting", flush=True)
        try:
            ws.recv()
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        ws.send("again")
        message = ws.recv(timeout=10)
        print(type(message).__name__, len(message), hashlib.sha256(message).hexdigest(), flush=True)
        print(ws.recv(timeout=10), flush=True)
    """
)


def test_ctrl_c_in_the_middle_of_a_big_frame(raw_server: RawServer, balrog_mode: str) -> None:
    if balrog_mode == "green":
        pytest.skip("Ctrl-C in green mode is the event loop's (tests/core)")
    # The server sends the first half 0.2 s after "go".
    out = interrupt_child(_CTRL_C_CHILD, raw_server.url, after=0.5)
    assert out.split() == ["interrupted", "bytes", str(1 << 20), BIG_SHA, "after"]
