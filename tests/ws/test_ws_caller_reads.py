"""A blocking recv() reads the socket on the caller's own thread (crates/balrog-ws/src/conn/
caller.rs): control frames, fragments, errors and the end of the connection must come out
exactly as when the connection's task reads. The ``*-while-waiting`` server scripts send
their frames while the client is blocked in recv(), so in blocking mode the caller's thread
is the one that reads them; in green mode the same tests cover the task."""

from __future__ import annotations

import hashlib
import textwrap
import threading
from collections.abc import Callable
from typing import Any

import pytest

import balrog
from balrog.websockets.sync.client import connect as balrog_connect
from support.proc import interrupt_child

from .servers import RawServer, WebsocketsServer
from .test_ws_client import same

pytestmark = pytest.mark.both_modes


def test_ping_read_by_the_caller_gets_its_pong(raw_server: RawServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/ping-while-waiting", ping_interval=None, close_timeout=2) as ws:
            ws.send("go")
            return ws.recv(timeout=10), ws.recv(timeout=10)

    before = len(raw_server.received)
    result = same(raw_server.url, script)
    assert result["result"] == ("right after the ping", "pong: are you there")
    pongs = [frame for frame in raw_server.received[before:] if frame[0] == 10]
    assert pongs == [(10, b"are you there")] * 2  # websockets' and ours


def test_close_read_by_the_caller_is_answered(raw_server: RawServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/close-while-waiting", ping_interval=None, close_timeout=2) as ws:
            ws.send("go")
            ws.recv(timeout=10)

    before = len(raw_server.received)
    result = same(raw_server.url, script)
    assert result["rcvd"] == (4001, "later")
    assert result["sent"] == (4001, "later")
    assert result["rcvd_then_sent"] is True
    closes = [frame for frame in raw_server.received[before:] if frame[0] == 8]
    assert closes == [(8, b"\x0f\xa1later")] * 2


def test_protocol_error_read_by_the_caller_fails_the_connection(raw_server: RawServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/bad-frame-while-waiting", ping_interval=None, close_timeout=2) as ws:
            ws.send("go")
            ws.recv(timeout=10)

    result = same(raw_server.url, script)
    assert result["sent"][0] == 1002


def test_fragmented_message_read_by_the_caller(raw_server: RawServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(
            url + "/fragments-while-waiting", ping_interval=None, max_size=None, close_timeout=2
        ) as ws:
            ws.send("go")
            message = ws.recv(timeout=10)
            return len(message), hashlib.sha256(message).hexdigest()

    result = same(raw_server.url, script)
    assert result["result"] == (1 << 20, hashlib.sha256(bytes(range(256)) * 4096).hexdigest())


def test_ping_answered_while_no_one_calls_recv(raw_server: RawServer) -> None:
    """After a recv() on this thread, the socket is still read when nobody calls recv()."""

    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/ping-while-idle", ping_interval=None, close_timeout=2) as ws:
            ws.send("go")
            assert ws.recv(timeout=10) == "ok"
            balrog.sleep(1.0)
            ws.send("done")
            return ws.recv(timeout=10)

    assert same(raw_server.url, script)["result"] == "pong first"


def test_other_waits_after_the_caller_read(ws_server: WebsocketsServer) -> None:
    """After recv() read the socket on this thread, a pong, a streamed message and the
    closing handshake still arrive (the task takes the socket back for them)."""

    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/echo") as ws:
            ws.send("a")
            first = ws.recv(timeout=10)
            pong = ws.ping(b"after recv")
            acknowledged = pong.wait(10)
            ws.send(["x", "y", "z"])
            streamed = "".join(ws.recv_streaming())
            ws.send("b")
            last = ws.recv(timeout=10)
        return first, acknowledged, streamed, last, ws.close_code

    assert same(ws_server.url, script)["result"] == ("a", True, "xyz", "b", 1000)


def test_timeouts_while_the_caller_reads(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/echo") as ws:
            out = []
            for timeout in (0.05, 0, 0.1):
                try:
                    ws.recv(timeout=timeout)
                except TimeoutError:
                    out.append("timeout")
                ws.send(f"after {timeout}")
                out.append(ws.recv(timeout=10))
            return out

    assert same(ws_server.url, script)["result"] == [
        "timeout",
        "after 0.05",
        "timeout",
        "after 0",
        "timeout",
        "after 0.1",
    ]


def test_send_from_another_thread_while_blocked_in_recv(ws_server: WebsocketsServer) -> None:
    """One thread only sends (small and large messages), the other only receives."""
    messages: list[str | bytes] = [f"message {i}" for i in range(200)]
    messages += [bytes([i]) * 300_000 for i in range(10)]
    with balrog_connect(ws_server.url + "/echo", max_size=None) as ws:
        if balrog.mode() == "green":
            sender = balrog.spawn(lambda: [ws.send(m) for m in messages])
            got = [ws.recv(timeout=30) for _ in messages]
            balrog.join(sender)
        else:
            thread = threading.Thread(target=lambda: [ws.send(m) for m in messages])
            thread.start()
            got = [ws.recv(timeout=30) for _ in messages]
            thread.join()
    assert got == messages


def test_two_native_receivers_share_the_socket(ws_server: WebsocketsServer, balrog_mode: str) -> None:
    """The Python layer refuses concurrent recv() (ConcurrencyError, tested in
    test_ws_client); below it, a second blocking receiver waits for the first one's reads
    instead of reading the socket too."""
    if balrog_mode == "green":
        pytest.skip("recv_blocking is the blocking path")
    with balrog_connect(ws_server.url + "/echo") as ws:
        native = ws._native
        got: list[Any] = []
        threads = [
            threading.Thread(target=lambda: got.append(native.recv_blocking(30, -1))) for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        balrog.sleep(0.1)
        ws.send("one")
        ws.send("two")
        for thread in threads:
            thread.join()
    assert sorted(got) == ["one", "two"]


_CTRL_C_CHILD = textwrap.dedent(
    """
    import sys
    from balrog.websockets.sync.client import connect

    with connect(sys.argv[1] + "/echo") as ws:
        ws.send("warm-up")
        assert ws.recv() == "warm-up"  # this thread now reads the socket
        print("waiting", flush=True)
        try:
            ws.recv()
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        ws.send("still works")
        print(ws.recv(timeout=10), flush=True)
    """
)


def test_ctrl_c_while_the_caller_reads(ws_server: WebsocketsServer, balrog_mode: str) -> None:
    if balrog_mode == "green":
        pytest.skip("Ctrl-C in green mode is the event loop's (tests/core)")
    out = interrupt_child(_CTRL_C_CHILD, ws_server.url, after=0.3)
    assert out.split() == ["interrupted", "still", "works"]
