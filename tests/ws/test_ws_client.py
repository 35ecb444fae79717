"""Differential tests: the same calls through websockets' sync client and through
balrog.websockets against the same local servers, outcomes compared."""

from __future__ import annotations

import json
import logging
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
import websockets.exceptions as wse
import websockets.sync.client as ws_client

import balrog
import balrog.websockets as bws
from balrog.websockets.sync.client import connect as balrog_connect

from .servers import RawServer, WebsocketsServer

pytestmark = pytest.mark.both_modes

Script = Callable[[Callable[..., Any], str], Any]


def describe(exc: BaseException) -> dict[str, Any]:
    """What must match between websockets and balrog for an exception."""
    out: dict[str, Any] = {"type": type(exc).__name__}
    for side in ("rcvd", "sent"):
        close = getattr(exc, side, None)
        if close is not None:
            out[side] = (int(close.code), close.reason)
    if hasattr(exc, "rcvd_then_sent"):
        out["rcvd_then_sent"] = exc.rcvd_then_sent
    response = getattr(exc, "response", None)
    if response is not None:
        out["status"] = response.status_code
        out["body"] = response.body
    return out


def outcome(connect: Callable[..., Any], url: str, script: Script) -> dict[str, Any]:
    try:
        return {"result": script(connect, url)}
    except Exception as exc:
        return describe(exc)


def same(url: str, script: Script, *, ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    theirs = outcome(ws_client.connect, url, script)
    ours = outcome(balrog_connect, url, script)
    for key in ignore:
        theirs.pop(key, None)
        ours.pop(key, None)
    assert ours == theirs
    return ours


def test_echo_text_binary_and_fragments(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/echo") as ws:
            out = []
            for message in ["hello", b"\x00\xff", "é" * 1000, b"z" * 70000, ["frag", "ments"], [b"a", b"b"]]:
                ws.send(message)
                out.append(ws.recv())
            ws.send("as bytes")
            out.append(ws.recv(decode=False))
            ws.send(b"as text")
            out.append(ws.recv(decode=True))
            ws.send("text frame", text=False)
            out.append(ws.recv())
            ws.send(b"binary as text", text=True)
            out.append(ws.recv())
            return out, ws.close_code

    result = same(ws_server.url, script)
    assert result["result"][0][0] == "hello"


@pytest.mark.parametrize("compression", [None, "deflate"])
def test_compression_negotiation(ws_server: WebsocketsServer, compression: str | None) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/echo", compression=compression) as ws:
            ext = ws.response.headers.get("Sec-WebSocket-Extensions")
            messages = ["x" * 50000, "hello", ["a", "b", "c"], "hello again", b"\x01" * 100000]
            got = []
            for m in messages:
                ws.send(m)
                got.append(ws.recv())
            return ext is not None, got

    same(ws_server.url, script)


def test_server_close_codes(ws_server: WebsocketsServer) -> None:
    for code in (1000, 1001, 1011, 4000, 3001):

        def script(connect: Callable[..., Any], url: str, code: int = code) -> Any:
            with connect(f"{url}/close/{code}") as ws:
                try:
                    ws.recv()
                finally:
                    assert ws.close_code == code
                    assert ws.close_reason == "bye"

        result = same(ws_server.url, script)
        assert result["rcvd"] == (code, "bye")


def test_messages_before_close_are_delivered(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/send-then-close") as ws:
            return list(ws), ws.close_code, str(ws.state)

    assert same(ws_server.url, script)["result"][0] == ["a", b"b"]


def test_client_close_then_recv_and_send(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        ws = connect(url + "/echo", legacy=True)
        ws.close(1001, "leaving")
        ws.close()  # idempotent
        errors = []
        for action in (ws.recv, lambda: ws.send("late")):
            try:
                action()
            except Exception as exc:
                errors.append(describe(exc))
        return errors, ws.close_code, ws.close_reason

    result = same(ws_server.url, script)
    assert result["result"][0][0]["type"] == "ConnectionClosedOK"


def test_close_with_error_code(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        ws = connect(url + "/echo", legacy=True)
        ws.close(4321, "custom")
        ws.recv()

    assert same(ws_server.url, script)["type"] == "ConnectionClosedError"


def test_context_manager_error_closes_with_1011(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        holder = []
        try:
            with connect(url + "/echo") as ws:
                holder.append(ws)
                raise KeyError("boom")
        except KeyError:
            pass
        return holder[0].close_code, str(holder[0].state)

    same(ws_server.url, script)


def test_subprotocols_and_headers(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/subprotocol", subprotocols=["superchat", "chat"]) as ws:
            first = (ws.subprotocol, ws.recv())
        with connect(
            url + "/headers?x=1",
            additional_headers={"X-Token": "abc"},
            origin="http://example.test",
            user_agent_header="agent/1.0",
            compression=None,
        ) as ws:
            info = json.loads(ws.recv())
            headers = info["headers"]
            for volatile in ("sec-websocket-key", "host"):
                headers.pop(volatile)
            return first, info["path"], headers, ws.request.path

    same(ws_server.url, script)


def test_handshake_rejections(ws_server: WebsocketsServer) -> None:
    for status in (400, 403, 404, 500, 503):

        def script(connect: Callable[..., Any], url: str, status: int = status) -> Any:
            connect(f"{url}/reject/{status}")

        result = same(ws_server.url, script)
        assert result["type"] == "InvalidStatus"
        assert result["status"] == status


def test_redirect_is_followed(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/redirect") as ws:
            ws.send("after redirect")
            return ws.recv()

    assert same(ws_server.url, script)["result"] == "after redirect"


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1/",
        "ws://",
        "ws://127.0.0.1/#frag",
        "ws://user@127.0.0.1/",
        "ws://127.0.0.1:99999/",
        "foo",
    ],
)
def test_invalid_uris(uri: str) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        connect(url)

    result = same(uri, script)
    assert result["type"] in ("InvalidURI", "ValueError")


def test_connection_refused() -> None:
    from support.net import free_port

    url = f"ws://127.0.0.1:{free_port()}/"

    def script(connect: Callable[..., Any], url: str) -> Any:
        connect(url, open_timeout=5)

    assert same(url, script)["type"] == "ConnectionRefusedError"


def test_recv_timeout(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/silent") as ws:
            for timeout in (0, 0.05):
                try:
                    ws.recv(timeout=timeout)
                except TimeoutError as exc:
                    assert type(exc) is TimeoutError
            return str(ws.state)

    same(ws_server.url, script)


def test_ping_pong(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/echo") as ws:
            waited = ws.ping().wait(5)
            explicit = ws.ping(b"data").wait(5)
            ws.pong(b"unsolicited")
            ws.send("still alive")
            return waited, explicit, ws.recv(), ws.latency > 0

    same(ws_server.url, script)


def test_duplicate_ping_payload(raw_server: RawServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/no-pong", ping_interval=None, close_timeout=1) as ws:
            first = ws.ping(b"same")
            try:
                ws.ping(b"same")
            finally:
                assert not first.wait(0.01)

    assert same(raw_server.url, script)["type"] == "ConcurrencyError"


def test_fragmented_messages_and_streaming(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/fragments") as ws:
            whole = ws.recv()
            pieces = list(ws.recv_streaming())
            return whole, pieces

    result = same(ws_server.url, script)
    assert result["result"][0] == "fragmented"


def test_max_size(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/big/5000", max_size=1000) as ws:
            ws.recv()

    result = same(ws_server.url, script)
    assert result["type"] == "ConnectionClosedError"
    assert result["sent"][0] == 1009


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/invalid-utf8", 1007),
        ("/reserved-bits", 1002),
        ("/bad-opcode", 1002),
        ("/unexpected-continuation", 1002),
        ("/bad-close-code", 1002),
        ("/masked", 1002),
    ],
)
def test_protocol_violations(raw_server: RawServer, path: str, code: int) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + path, close_timeout=2) as ws:
            ws.recv()

    # The wording of a close reason may differ; the exception, codes and order must not.
    theirs = outcome(ws_client.connect, raw_server.url, script)
    ours = outcome(balrog_connect, raw_server.url, script)
    assert ours["type"] == theirs["type"] == "ConnectionClosedError"
    assert ours["sent"][0] == theirs["sent"][0] == code
    assert ours.get("rcvd") == theirs.get("rcvd")


def test_oversized_frame_from_raw_server(raw_server: RawServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/big-frame", max_size=1000, close_timeout=2) as ws:
            ws.recv()

    result = same(raw_server.url, script)
    assert result["sent"] == (1009, "frame with 2000 bytes exceeds limit of 1000 bytes")


@pytest.mark.parametrize("path", ["/reset", "/eof"])
def test_abrupt_end(raw_server: RawServer, path: str) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + path) as ws:
            try:
                ws.recv()
            finally:
                assert ws.close_code == 1006

    result = same(raw_server.url, script)
    assert result == {"type": "ConnectionClosedError", "rcvd_then_sent": None}


@pytest.mark.parametrize("path", ["/garbage-response", "/bad-accept"])
def test_bad_handshake_response(raw_server: RawServer, path: str) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        connect(url + path)

    result = same(raw_server.url, script)
    assert result["type"] in ("InvalidMessage", "InvalidHeaderValue")


def test_keepalive_timeout(raw_server: RawServer) -> None:
    """A peer that stops answering pings: close 1011 'keepalive ping timeout'."""

    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/no-pong", ping_interval=0.05, ping_timeout=0.1, close_timeout=1) as ws:
            ws.recv()

    result = same(raw_server.url, script)
    assert result["sent"] == (1011, "keepalive ping timeout")


def test_exception_hierarchy_matches_websockets() -> None:
    for name in wse.__all__:
        ours = getattr(bws.exceptions, name, None)
        if ours is None:
            continue
        theirs = getattr(wse, name)
        our_bases = [c.__name__ for c in ours.__mro__]
        their_bases = [c.__name__ for c in theirs.__mro__ if c.__module__ != "websockets.exceptions" or True]
        assert our_bases == their_bases, name


def test_attributes(ws_server: WebsocketsServer) -> None:
    with balrog_connect(ws_server.url + "/echo") as ws:
        assert ws.remote_address[0] == "127.0.0.1"
        assert ws.local_address[0] == "127.0.0.1"
        assert ws.state == bws.State.OPEN
        assert ws.response.status_code == 101
        assert ws.request.headers["Upgrade"] == "websocket"
        assert ws.id.version == 4
    assert ws.state == bws.State.CLOSED


@pytest.mark.parametrize("after_a_read", [False, True])
def test_concurrent_recv_is_refused(ws_server: WebsocketsServer, after_a_read: bool) -> None:
    """Also once a blocking recv() has made this thread the socket's reader."""
    with balrog_connect(ws_server.url + "/echo") as ws:
        if after_a_read:
            ws.send("first")
            assert ws.recv(timeout=10) == "first"
        results: list[str] = []
        if balrog.mode() == "green":
            task = balrog.spawn(ws.recv)
            balrog.sleep(0.05)
        else:
            thread = threading.Thread(target=lambda: results.append(ws.recv()))
            thread.start()
            balrog.sleep(0.05)
        with pytest.raises(bws.ConcurrencyError):
            ws.recv(timeout=0)
        ws.send("unblock")
        if balrog.mode() == "green":
            results.append(balrog.join(task))
        else:
            thread.join()
        assert results == ["unblock"]


def test_open_timeout(raw_server: RawServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        connect(url + "/hang", open_timeout=0.2)

    assert same(raw_server.url, script)["type"] == "TimeoutError"


def test_close_from_another_thread_wakes_recv(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/silent") as ws:
            closer = threading.Timer(0.1, ws.close)
            closer.start()
            try:
                ws.recv(timeout=10)
            finally:
                closer.join()

    assert same(ws_server.url, script)["type"] == "ConnectionClosedOK"


def test_control_frames_too_long(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/echo") as ws:
            errors = []
            for action in (
                lambda: ws.ping(b"p" * 126),
                lambda: ws.pong(b"p" * 126),
                lambda: ws.close(1000, "r" * 124),
            ):
                try:
                    action()
                except Exception as exc:
                    errors.append(describe(exc))
            ws.send("still open")
            return errors, ws.recv()

    result = same(ws_server.url, script)
    assert [e["type"] for e in result["result"][0]] == ["ProtocolError"] * 3


@pytest.mark.parametrize("compression", [None, "deflate"])
def test_large_messages_masked_in_chunks(ws_server: WebsocketsServer, compression: str | None) -> None:
    """Payloads over the writer's 128 KiB chunk: whole, fragmented, str and bytes, with a
    ping in between (it must not land inside a frame still being written)."""

    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/echo", compression=compression, max_size=None) as ws:
            text = "".join(chr(0x41 + i % 26) for i in range(1_000_003))
            blob = bytes(range(256)) * 1200 + b"tail"
            ws.send(text)
            pong = ws.ping()
            ws.send([blob, blob[::-1], b"end"])
            ws.send(bytearray(blob))
            got = [ws.recv(), ws.recv(), ws.recv()]
            return pong.wait(5), got[0] == text, got[1] == blob + blob[::-1] + b"end", got[2] == blob

    assert same(ws_server.url, script) == {"result": (True, True, True, True)}


def words(exc: BaseException) -> tuple[str, str, str | None, str | None]:
    """An exception as a user reads it: class, message, and the cause's."""
    cause = exc.__cause__
    return (
        type(exc).__name__,
        str(exc),
        None if cause is None else type(cause).__name__,
        None if cause is None else str(cause),
    )


@pytest.mark.parametrize("path", ["/garbage-response", "/smtp-response"])
def test_bad_handshake_response_words(raw_server: RawServer, path: str) -> None:
    # The parser's complaint travels as __cause__, in websockets' words.
    def script(connect: Callable[..., Any], url: str) -> Any:
        try:
            connect(url + path)
        except Exception as exc:
            return words(exc)
        return None

    assert same(raw_server.url, script)["result"][0] == "InvalidMessage"


def test_timeout_messages(ws_server: WebsocketsServer, raw_server: RawServer) -> None:
    def receiving(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/silent") as ws:
            try:
                ws.recv(timeout=0.1)
            except TimeoutError as exc:
                return str(exc)
        return None

    def opening(connect: Callable[..., Any], url: str) -> Any:
        try:
            connect(url + "/hang", open_timeout=0.2)
        except TimeoutError as exc:
            return str(exc)
        return None

    assert same(ws_server.url, receiving)["result"] == "timed out in 0.1s"
    assert same(raw_server.url, opening)["result"] == "timed out while waiting for handshake response"

    def polling(connect: Callable[..., Any], url: str) -> Any:
        # recv(timeout=0) polls: websockets words it with its deadline's time left.
        with connect(url + "/silent") as ws:
            out = []
            for timeout in (0, -1, 0.0):
                try:
                    ws.recv(timeout=timeout)
                except TimeoutError as exc:
                    out.append(str(exc))
            return out

    assert same(ws_server.url, polling)["result"] == [
        "timed out in -0.0s",
        "timed out in -1.0s",
        "timed out in -0.0s",
    ]


@pytest.mark.parametrize("subprotocols", ["chat", ["chat", "bad token"], [b"chat"], 42])
def test_subprotocols_are_validated(ws_server: WebsocketsServer, subprotocols: Any) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        try:
            connect(url + "/echo", subprotocols=subprotocols)
        except Exception as exc:
            return words(exc)[:2]
        return None

    assert same(ws_server.url, script)["result"][0] in ("TypeError", "ValueError")


def test_close_timeout_is_read_when_closing(raw_server: RawServer) -> None:
    # websockets reads the attribute in close(): raised after connect, it lets a slow
    # peer's close frame arrive (1000), where the connect-time 0.2 s would give up (1006).
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/slow-close", close_timeout=0.2, compression=None) as ws:
            ws.close_timeout = 2
            ws.close()
            return ws.close_code

    assert same(raw_server.url, script)["result"] == 1000


def test_logger_names_the_connection(ws_server: WebsocketsServer) -> None:
    # As websockets: the connection's logger is an adapter whose records carry it.
    import logging

    def script(connect: Callable[..., Any], url: str) -> Any:
        seen: list[Any] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                seen.append(getattr(record, "websocket", None))

        logger = logging.getLogger(f"test.ws.{id(seen)}")
        logger.addHandler(Keep())
        logger.setLevel(logging.INFO)
        with connect(url + "/echo", logger=logger) as ws:
            ws.logger.info("hello")
            return [type(ws.logger).__name__, len(seen), seen[0] == ws]

    assert same(ws_server.url, script)["result"] == ["LoggerAdapter", 1, True]


def test_close_timeout_is_the_cause_of_the_later_error(raw_server: RawServer) -> None:
    # The peer answers the close frame after 0.5 s; close_timeout 0.2 s gives up first.
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/slow-close", close_timeout=0.2, compression=None) as ws:
            ws.close()
            try:
                ws.recv()
            except Exception as exc:
                return words(exc)
        return None

    result = same(raw_server.url, script)["result"]
    assert result[2:] == ("TimeoutError", "timed out while closing connection")


@pytest.mark.parametrize("streaming", [False, True])
def test_undecodable_message_fails_the_connection(ws_server_plain: WebsocketsServer, streaming: bool) -> None:
    # recv(decode=True) of a binary message that is not UTF-8: websockets fails the
    # connection with 1007 and ignores the server's close frame ("no close frame received").
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/echo") as ws:
            ws.send(b"ok\xff")
            try:
                if streaming:
                    list(ws.recv_streaming(decode=True))
                else:
                    ws.recv(decode=True)
            except Exception as exc:
                return (*words(exc), describe(exc), ws.state.name)
        return None

    result = same(ws_server_plain.url, script)["result"]
    assert result[:2] == (
        "ConnectionClosedError",
        "sent 1007 (invalid frame payload data) invalid start byte at position 2; no close frame received",
    )


@pytest.mark.parametrize("message", ["a\ud800", ["a", "\ud800"]], ids=["str", "fragments"])
def test_str_without_utf8_form_drops_the_connection(ws_server_plain: WebsocketsServer, message: Any) -> None:
    # websockets treats the UnicodeEncodeError as an unexpected internal error: logged, the
    # TCP connection dropped without a close frame, ConnectionClosedError caused by it.
    def script(connect: Callable[..., Any], url: str) -> Any:
        records: list[str] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                records.append(f"{record.levelname} {record.getMessage()} {record.exc_info is not None}")

        logger = logging.getLogger(f"test.ws.surrogate.{id(records)}")
        logger.addHandler(Keep())
        with connect(url + "/echo", logger=logger) as ws:
            try:
                ws.send(message)
            except Exception as exc:
                return (*words(exc)[:3], describe(exc), records)
        return None

    result = same(ws_server_plain.url, script)["result"]
    assert result[:3] == ("ConnectionClosedError", "no close frame received or sent", "UnicodeEncodeError")
    assert result[4] == ["ERROR unexpected internal error True"]


@pytest.mark.parametrize(
    "headers",
    [{"X-A": "a\nb"}, {"X-A": "a\r\nX-Injected: 1"}, {"X-A": "€"}, {"X-A": "a\x00"}, {"X-A": "tab\tand é"}],
)
def test_header_values_are_checked_before_sending(ws_server: WebsocketsServer, headers: Any) -> None:
    # websockets refuses header values with control characters (or beyond Latin-1) before
    # anything is sent: no header injection through additional_headers or origin.
    def script(connect: Callable[..., Any], url: str) -> Any:
        try:
            with connect(url + "/headers", additional_headers=headers) as ws:
                return json.loads(ws.recv())["headers"].get("x-a")
        except Exception as exc:
            return words(exc)

    same(ws_server.url, script)


def test_origin_is_checked_before_sending(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        try:
            with connect(url + "/echo", origin="http://a\r\nX-Injected: 1"):
                return "connected"
        except Exception as exc:
            return words(exc)

    assert same(ws_server.url, script)["result"][:2] == (
        "InvalidHeaderValue",
        "invalid Origin header: http://a\r\nX-Injected: 1",
    )


def test_wss_to_a_plain_server_is_an_ssl_eof_error(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        try:
            with connect(url.replace("ws://", "wss://") + "/echo", open_timeout=5):
                return "connected"
        except Exception as exc:
            # Python's message ends with OpenSSL's source position, "(_ssl.c:1006)".
            return (type(exc).__name__, exc.errno, str(exc).split(" (_ssl.c")[0])  # type: ignore[attr-defined]

    assert same(ws_server.url, script)["result"] == (
        "SSLEOFError",
        8,
        "[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol",
    )


CREDENTIALS = {
    "Authorization": "Bearer s3cret",
    "Cookie": "sid=1",
    "Proxy-Authorization": "Basic eDp5",
    "X-Keep": "1",
}


@pytest.mark.parametrize("cross_origin", [True, False])
def test_credentials_do_not_follow_a_redirect_to_another_origin(
    ws_server: WebsocketsServer, ws_server_plain: WebsocketsServer, cross_origin: bool
) -> None:
    target = (ws_server_plain.url if cross_origin else ws_server.url) + "/headers"

    def script(connect: Callable[..., Any], url: str) -> Any:
        hop = url + "/redirect-to/" + urllib.parse.quote(target, safe="")
        with connect(hop, additional_headers=CREDENTIALS) as ws:
            headers = json.loads(ws.recv())["headers"]
        return sorted(name for name in headers if name in {k.lower() for k in CREDENTIALS})

    sent = same(ws_server.url, script)["result"]
    assert sent == (
        ["x-keep"] if cross_origin else ["authorization", "cookie", "proxy-authorization", "x-keep"]
    )


def test_legacy_false_returns_a_reconnecting_connect(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        attempt = connect(url + "/echo", legacy=False)
        seen = []
        for ws in attempt:  # one connection per iteration
            ws.send("hi")
            seen.append(ws.recv())
            ws.close()
            if len(seen) == 2:
                break
        with connect(url + "/echo", legacy=False) as ws:
            ws.send("again")
            seen.append(ws.recv())
        return type(attempt).__name__, seen

    assert same(ws_server.url, script)["result"] == ("reconnect", ["hi", "hi", "again"])


def test_socket_options_go_to_create_connection(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        out = []
        with connect(url + "/echo", source_address=("127.0.0.1", 0)) as ws:
            ws.send("x")
            out.append(ws.recv())
        for options in ({"address": ("127.0.0.1", 1)}, {"no_such_option": 1}):
            try:
                with connect(url + "/echo", open_timeout=3, **options):
                    out.append("connected")
            except Exception as exc:
                out.append(type(exc).__name__)
        return out

    assert same(ws_server.url, script)["result"] == ["x", "ConnectionRefusedError", "TypeError"]


def test_empty_subprotocol_header_is_invalid(raw_server: RawServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        try:
            with connect(url + "/empty-subprotocol", subprotocols=["chat"]):
                return "connected"
        except Exception as exc:
            return type(exc).__name__

    assert same(raw_server.url, script)["result"] == "InvalidHeaderFormat"


def test_max_queue_zero_still_closes_cleanly(ws_server: WebsocketsServer) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/echo", max_queue=0, close_timeout=3) as ws:
            ws.send("x")
            got = ws.recv()
        return got, ws.close_code

    assert same(ws_server.url, script)["result"] == ("x", 1000)


def test_legacy_exception_names_and_attributes(ws_server: WebsocketsServer) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for name in ("TooManyFragments", "InvalidStatusCode", "AbortHandshake", "RedirectHandshake"):
            theirs = getattr(wse, name)
            ours = getattr(bws.exceptions, name)
            assert [c.__name__ for c in ours.__mro__] == [c.__name__ for c in theirs.__mro__], name
        assert str(bws.exceptions.InvalidStatusCode(403, {})) == str(wse.InvalidStatusCode(403, {}))
        assert str(bws.exceptions.RedirectHandshake("ws://x/")) == str(wse.RedirectHandshake("ws://x/"))
        assert str(bws.exceptions.TooManyFragments(4096)) == str(wse.TooManyFragments(4096))

    def script(connect: Callable[..., Any], url: str) -> Any:
        # ConnectionClosed.code / .reason: deprecated in websockets, still there.
        with connect(url + "/close/4001") as ws:
            try:
                ws.recv()
            except Exception as exc:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    return exc.code, exc.reason, [w.category.__name__ for w in caught]
        return None

    assert same(ws_server.url, script)["result"] == (
        4001,
        "bye",
        ["DeprecationWarning", "DeprecationWarning"],
    )


@pytest.mark.parametrize("how", ["break", "close"])
def test_recv_streaming_left_half_way(ws_server: WebsocketsServer, how: str) -> None:
    def script(connect: Callable[..., Any], url: str) -> Any:
        with connect(url + "/fragments") as ws:  # the server sends "frag", "ment", "ed"
            frames = ws.recv_streaming()
            first = next(frames)
            if how == "close":
                frames.close()
            else:
                del frames
            try:
                return first, ws.recv(timeout=2)
            except Exception as exc:
                return first, type(exc).__name__

    assert same(ws_server.url, script)["result"] == ("frag", "ConcurrencyError")
