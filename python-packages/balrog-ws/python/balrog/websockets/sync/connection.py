"""The connection API shared by the client (and by anything built on the native
connection): websockets' ``sync.connection.Connection`` on balrog's bridge.

Every wait goes through ``balrog._bridge.wait``: in a thread it blocks with the GIL
released; in a green task it suspends only that task. A message already queued (or a frame
the socket takes at once) is handled right here without waiting at all. A blocking
``recv`` waits in the native ``recv_blocking`` instead, which reads the socket on the
caller's own thread (no wake-up of a runtime thread per message).
"""

from __future__ import annotations

import codecs
import logging
import uuid
import weakref
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, Literal, NoReturn, overload

from balrog._bridge import mode, wait

from ..exceptions import ConcurrencyError, ConnectionClosed, ConnectionClosedOK, ProtocolError
from ..frames import Close, CloseCode, Opcode
from ..http11 import Request, Response
from ..protocol import State

__all__ = ["Connection", "PongEvent"]

Data = str | bytes
DataLike = str | bytes | bytearray | memoryview

_TEXT = int(Opcode.TEXT)
_BINARY = int(Opcode.BINARY)
_CONT = int(Opcode.CONT)
_PING = int(Opcode.PING)
_PONG = int(Opcode.PONG)

# try_send outcomes (see crates/balrog-ws/src/lib.rs).
_SENT, _PARTLY_SENT = 0, 1


class PongEvent:
    """What ``ping()`` returns: like the ``threading.Event`` of websockets, set when the
    matching pong arrives; ``wait()`` works in threads and in green tasks."""

    __slots__ = ("_native",)

    def __init__(self, native: Any) -> None:
        self._native = native

    def is_set(self) -> bool:
        return bool(self._native.is_set())

    def wait(self, timeout: float | None = None) -> bool:
        if self._native.is_set():
            return True
        return bool(wait(self._native.wait(timeout)))


def _check_control_payload(payload: bytes) -> None:
    # RFC 6455 caps control frames at 125 bytes; websockets refuses to send longer ones.
    if len(payload) > 125:
        raise ProtocolError("control frame too long")


def _decode_flag(decode: bool | None) -> int:
    return -1 if decode is None else int(bool(decode))


class Connection:
    """A WebSocket connection (websockets' sync ``Connection`` API)."""

    def __init__(
        self,
        native: Any,
        *,
        request: Request | None = None,
        response: Response | None = None,
        subprotocol: str | None = None,
        logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
        ping_interval: float | None = None,
        ping_timeout: float | None = None,
        close_timeout: float | None = None,
    ) -> None:
        self._native = native
        self.id: uuid.UUID = uuid.uuid4()
        self.request = request
        self.response = response
        self.subprotocol = subprotocol
        # As websockets: the logger is wrapped so that records name their connection
        # (`record.websocket`), weakly.
        self.logger: logging.Logger | logging.LoggerAdapter[Any] = logging.LoggerAdapter(
            logger or logging.getLogger("websockets.client"), {"websocket": weakref.proxy(self)}
        )
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.close_timeout = close_timeout
        self._receiving = False
        self._sending = False

    # ---- attributes --------------------------------------------------------------------

    #: ``(local, remote)`` as the adopted socket reported them (``sock=``, Unix sockets).
    _addresses: tuple[Any, Any] | None = None

    @property
    def local_address(self) -> Any:
        if self._addresses is not None:
            return self._addresses[0]
        return self._native.local_address

    @property
    def remote_address(self) -> Any:
        if self._addresses is not None:
            return self._addresses[1]
        return self._native.remote_address

    @property
    def latency(self) -> float:
        """Latency measured by the last ping/pong (0 until then)."""
        return float(self._native.latency)

    @property
    def state(self) -> State:
        return State(self._native.state)

    @property
    def close_code(self) -> int | None:
        return self._native.close_code  # type: ignore[no-any-return]

    @property
    def close_reason(self) -> str | None:
        return self._native.close_reason  # type: ignore[no-any-return]

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.close(CloseCode.INTERNAL_ERROR)

    def __iter__(self) -> Iterator[Data]:
        """Yield messages until the connection closes normally."""
        try:
            while True:
                yield self.recv()
        except ConnectionClosedOK:
            return

    # ---- receiving ---------------------------------------------------------------------

    @overload
    def recv(self, timeout: float | None, decode: Literal[True]) -> str: ...
    @overload
    def recv(self, timeout: float | None, decode: Literal[False]) -> bytes: ...
    @overload
    def recv(self, timeout: float | None = None, *, decode: Literal[True]) -> str: ...
    @overload
    def recv(self, timeout: float | None = None, *, decode: Literal[False]) -> bytes: ...
    @overload
    def recv(self, timeout: float | None = None, decode: bool | None = None) -> Data: ...

    def recv(self, timeout: float | None = None, decode: bool | None = None) -> Data:
        """Receive the next message (str for text, bytes for binary; see ``decode``).

        Raises ConnectionClosedOK / ConnectionClosedError once the connection is closed and
        no message is left, TimeoutError when ``timeout`` elapses first.
        """
        if self._receiving:
            raise ConcurrencyError(
                "cannot call recv while another thread is already running recv or recv_streaming"
            )
        flag = _decode_flag(decode)
        try:
            if mode() == "blocking":
                self._receiving = True
                try:
                    message = self._native.recv_blocking(timeout, flag)
                finally:
                    self._receiving = False
            else:
                message = self._native.try_recv(flag)
                if message is None:
                    self._receiving = True
                    try:
                        message = wait(self._native.recv(timeout, flag))
                    finally:
                        self._receiving = False
        except TimeoutError:
            if timeout is not None and timeout <= 0:
                # websockets reports the time its deadline had left, a hair below the
                # timeout given: "timed out in -0.0s" for recv(timeout=0).
                raise TimeoutError(f"timed out in {timeout - 1e-9:.1f}s") from None
            raise
        if decode and type(message) is bytes:
            return self._decode_or_fail(message)
        return message  # type: ignore[no-any-return]

    def _decode_or_fail(self, data: bytes) -> str:
        try:
            return data.decode()
        except UnicodeDecodeError as exc:
            self._fail_undecodable(exc)

    def _fail_unexpected(self, exc: Exception) -> NoReturn:
        """What websockets does with an unexpected error while sending (e.g. a str that has
        no UTF-8 form): log it, drop the TCP connection without a close frame, raise
        ConnectionClosedError ("no close frame received or sent") caused by it."""
        self.logger.error("unexpected internal error", exc_info=exc)
        self._native.abort()
        wait(self._native.wait_closed(self.close_timeout))  # bounded, should abort ever stall
        raise self._native.closed_exc() from exc

    def _fail_undecodable(self, exc: UnicodeDecodeError) -> NoReturn:
        """websockets fails the connection with 1007 when decoding is forced and fails
        (and, failing it, ignores the server's close frame), then raises the closing
        error caused by the decoding one."""
        reason = f"{exc.reason} at position {exc.start}"
        wait(self._native.fail(int(CloseCode.INVALID_DATA), reason, self.close_timeout))
        raise self._native.closed_exc() from exc

    @overload
    def recv_streaming(self, decode: Literal[True]) -> Iterator[str]: ...
    @overload
    def recv_streaming(self, decode: Literal[False]) -> Iterator[bytes]: ...
    @overload
    def recv_streaming(self, decode: bool | None = None) -> Iterator[Data]: ...

    def recv_streaming(self, decode: bool | None = None) -> Iterator[Data]:
        """Receive the next message frame by frame (consume the iterator fully)."""
        if self._receiving:
            raise ConcurrencyError(
                "cannot call recv_streaming while another thread is already running recv or recv_streaming"
            )
        self._receiving = True
        finished = False
        try:
            decoder = None
            while True:
                data, fin, is_text = wait(self._native.recv_fragment(None))
                if (is_text and decode is not False) or (not is_text and decode):
                    if decoder is None:
                        decoder = codecs.getincrementaldecoder("utf-8")()
                    try:
                        text = decoder.decode(data, final=fin)
                    except UnicodeDecodeError as exc:
                        self._fail_undecodable(exc)
                    yield text
                else:
                    yield data
                if fin:
                    finished = True
                    return
        except GeneratorExit:
            raise  # abandoned (see below)
        except BaseException:
            finished = True  # an error ends the message (or the connection) as well
            raise
        finally:
            # Left half way through a message (break, close(), garbage collection): as in
            # websockets, the rest of it is still owed to that reader, and every later
            # recv() or recv_streaming() is refused (ConcurrencyError) rather than handed
            # the remainder as if it were a message of its own.
            self._receiving = not finished

    # ---- sending -----------------------------------------------------------------------

    def _write(self, opcode: int, data: str | bytes, fin: bool) -> None:
        native = self._native
        outcome = native.try_send(opcode, data, fin)
        if outcome == _SENT:
            return
        if outcome == _PARTLY_SENT:
            wait(native.flush())
        else:
            wait(native.send(opcode, data, fin))

    def send(self, message: DataLike | Iterable[DataLike], *, text: bool | None = None) -> None:
        """Send a message: str as text, bytes-like as binary (``text`` overrides), an
        iterable of str or of bytes-like as a fragmented message."""
        if isinstance(message, str):
            try:
                if text is False:
                    self._send_whole(_BINARY, message.encode())
                else:
                    self._send_whole(_TEXT, message)
            except UnicodeEncodeError as exc:  # lone surrogates
                self._fail_unexpected(exc)
        elif isinstance(message, (bytes, bytearray, memoryview)):
            data = message if type(message) is bytes else bytes(message)
            self._send_whole(_TEXT if text else _BINARY, data)
        elif isinstance(message, Mapping):
            raise TypeError("data is a dict-like object")
        elif isinstance(message, Iterable):
            self._send_fragments(message, text)
        else:
            raise TypeError("data must be str, bytes, or iterable")

    def _send_whole(self, opcode: int, data: str | bytes) -> None:
        if self._sending:
            raise ConcurrencyError("cannot call send while another thread is already running send")
        self._write(opcode, data, True)

    def _send_fragments(self, message: Iterable[DataLike], text: bool | None) -> None:
        chunks = iter(message)
        try:
            first = next(chunks)
        except StopIteration:
            return
        if isinstance(first, str):
            kind: type = str
            opcode = _BINARY if text is False else _TEXT
        elif isinstance(first, (bytes, bytearray, memoryview)):
            kind = bytes
            opcode = _TEXT if text else _BINARY
        else:
            raise TypeError("iterable must contain bytes or str")
        if self._sending:
            raise ConcurrencyError("cannot call send while another thread is already running send")
        self._sending = True
        try:
            self._write(opcode, self._chunk(first, opcode), False)
            for chunk in chunks:
                if not isinstance(chunk, (str, bytes, bytearray, memoryview)):
                    raise TypeError("iterable must contain bytes or str")
                if (kind is str) != isinstance(chunk, str):
                    raise TypeError("iterable must contain uniform types")
                self._write(_CONT, self._chunk(chunk, opcode), False)
            self._write(_CONT, b"", True)
        except ConnectionClosed:
            raise
        except UnicodeEncodeError as exc:  # a str fragment with lone surrogates
            self._sending = False
            self._fail_unexpected(exc)
        except Exception:
            # websockets fails the connection when the iterable breaks mid-message.
            self._sending = False
            failing = self._native.fail(
                int(CloseCode.INTERNAL_ERROR), "error in fragmented message", self.close_timeout
            )
            wait(failing)
            raise
        finally:
            self._sending = False

    @staticmethod
    def _chunk(chunk: DataLike, opcode: int) -> str | bytes:
        if isinstance(chunk, str):
            return chunk.encode() if opcode == _BINARY else chunk
        return chunk if type(chunk) is bytes else bytes(chunk)

    def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Perform the closing handshake and wait for the TCP connection to end.

        Idempotent: does nothing once the connection is closed.
        """
        if self._sending:
            code, reason = CloseCode.INTERNAL_ERROR, "close during fragmented message"
        if self._native.state == State.OPEN:
            close = Close(int(code), reason)
            _check_control_payload(close.serialize())
        wait(self._native.close(int(code), reason, self.close_timeout))

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Wait until the connection is closed; False if ``timeout`` elapsed first."""
        return bool(wait(self._native.wait_closed(timeout)))

    def ping(self, data: DataLike | None = None, *, ack_on_close: bool = False) -> PongEvent:
        """Send a ping; the returned event is set when the matching pong arrives."""
        if isinstance(data, str):
            payload: bytes | None = data.encode()
        elif isinstance(data, (bytes, bytearray, memoryview)):
            payload = bytes(data)
        elif data is None:
            payload = None
        else:
            raise TypeError("data must be str or bytes-like")
        if payload is not None:
            _check_control_payload(payload)
        return PongEvent(wait(self._native.ping(payload, ack_on_close)))

    def pong(self, data: DataLike = b"") -> None:
        """Send an unsolicited pong."""
        if isinstance(data, str):
            payload = data.encode()
        elif isinstance(data, (bytes, bytearray, memoryview)):
            payload = bytes(data)
        else:
            raise TypeError("data must be str or bytes-like")
        _check_control_payload(payload)
        self._write(_PONG, payload, True)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.state.name}>"
