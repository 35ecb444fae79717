"""``reconnect()``: websockets 17's reconnecting sync client, side by side with websockets."""

from __future__ import annotations

import itertools
import socket
from collections.abc import Generator
from typing import Any

import pytest
import websockets.client as ws_client
import websockets.exceptions as ws_exceptions
import websockets.sync.client as ws_sync

import balrog.websockets.client as b_client
import balrog.websockets.exceptions as b_exceptions
import balrog.websockets.sync.client as b_sync

pytestmark = pytest.mark.both_modes

LIBS = [(ws_sync, ws_client, ws_exceptions), (b_sync, b_client, b_exceptions)]


def _no_delays() -> Generator[float]:
    return (0.0 for _ in itertools.count())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # type: ignore[no-any-return]


def test_iterating_reconnects_after_each_close(ws_server):
    # /send-then-close: two messages, then the server closes; the loop connects again.
    def run(sync: Any, exceptions: Any) -> list[Any]:
        seen: list[Any] = []
        for websocket in sync.reconnect(ws_server.url + "/send-then-close", reconnect_delays=_no_delays):
            try:
                while True:
                    seen.append(websocket.recv())
            except exceptions.ConnectionClosed as exc:
                seen.append(type(exc).__name__)
            if len(seen) >= 9:
                break
        return seen

    got, want = run(b_sync, b_exceptions), run(ws_sync, ws_exceptions)
    assert got == want == ["a", b"b", "ConnectionClosedOK"] * 3


@pytest.mark.parametrize(
    "target", ["closed-port", "/reject/503", "/reject/500", "/reject/403", "/reject/404"]
)
def test_retry_or_raise_like_websockets(ws_server, target):
    url = f"ws://127.0.0.1:{_closed_port()}/" if target == "closed-port" else ws_server.url + target

    def run(sync: Any, client: Any) -> list[Any]:
        seen: list[Any] = []

        def judge(exc: Exception) -> Exception | None:
            verdict = client.process_exception(exc)
            seen.append((type(exc).__name__, verdict is None))
            return RuntimeError("enough") if len(seen) == 3 and verdict is None else verdict

        try:
            for _ in sync.reconnect(
                url, process_exception=judge, reconnect_delays=_no_delays, open_timeout=5
            ):
                seen.append("connected")
                break
        except Exception as exc:
            seen.append(
                ("raised", type(exc).__name__, type(exc.__cause__).__name__ if exc.__cause__ else None)
            )
        return seen

    assert run(b_sync, b_client) == run(ws_sync, ws_client)


def test_context_manager_and_reentrancy(ws_server):
    def run(sync: Any) -> list[Any]:
        manager = sync.reconnect(ws_server.url + "/echo")
        with manager as websocket:
            websocket.send("hi")
            seen: list[Any] = [websocket.recv()]
            with pytest.raises(RuntimeError) as info:
                manager.__enter__()
            seen.append(str(info.value))
        return seen

    assert run(b_sync) == run(ws_sync)


def test_backoff_and_arguments_like_websockets(ws_server):
    ours, theirs = b_client.backoff(), ws_client.backoff()
    first_ours, first_theirs = next(ours), next(theirs)
    assert 0 <= first_ours < 5 and 0 <= first_theirs < 5  # random, RFC 6455 7.2.3
    assert list(itertools.islice(ours, 12)) == list(itertools.islice(theirs, 12))
    assert list(itertools.islice(b_client.backoff(0, 1, 4, 2), 1, 6)) == [1, 2, 4, 4, 4]
    for sync in (b_sync, ws_sync):
        with pytest.raises(ValueError, match="missing path argument"):
            sync.unix_reconnect()
