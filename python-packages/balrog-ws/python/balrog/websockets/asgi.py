"""Sync-style WebSocket endpoints under any ASGI server.

``def chat(ws): for msg in ws: ws.send(msg.upper())`` runs as a green task: every
``recv``/``send`` suspends only that task while the ASGI server's coroutines run on the
loop. ``endpoint(chat)`` is the ASGI application; ``routing.router`` serves several.

Other code reaches a live connection through a :class:`Registry` (``registry.send(key,
message)``), from another green task on the same loop or from any plain thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import balrog
from balrog import current_green_task

from .datastructures import Headers
from .exceptions import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidState,
)
from .frames import OK_CLOSE_CODES, Close, CloseCode
from .http11 import Request
from .protocol import State

__all__ = ["Registry", "ServerConnection", "endpoint", "registry"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Handler = Callable[..., Any]

logger = logging.getLogger("balrog.websockets.asgi")


async def _receive_within(receive: Receive, timeout: float | None) -> Message:
    if timeout is None:
        return await receive()
    return await asyncio.wait_for(receive(), max(timeout, 0.0))


class ServerConnection:
    """One WebSocket connection of an ASGI server, with the client connection's API where
    ASGI allows it (no ping/pong or fragments: the ASGI server handles those)."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.id = uuid.uuid4()
        self.scope = scope
        self._receive = receive
        self._send = send
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self.state = State.CONNECTING
        self.subprotocol: str | None = None
        headers = Headers()
        for name, value in scope.get("headers", []):
            headers._append(name.decode("latin-1"), value.decode("latin-1"))  # the server parsed them
        path = scope.get("raw_path") or scope.get("path", "/").encode()
        if isinstance(path, bytes):
            path = path.decode("latin-1")
        query = scope.get("query_string", b"")
        self.request = Request(path + ("?" + query.decode("latin-1") if query else ""), headers)
        self.remote_address = tuple(scope["client"]) if scope.get("client") else None
        self.local_address = tuple(scope["server"]) if scope.get("server") else None
        self._rcvd: Close | None = None
        self._sent: Close | None = None
        self._rcvd_then_sent: bool | None = None

    # ---- running coroutines of the ASGI server from sync code ---------------------------

    def _run(self, coro_fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """Await an ASGI callable: suspending the green task on the loop's thread, or from
        any other thread through the loop."""
        if threading.get_ident() == self._thread and current_green_task() is not None:
            return balrog.hide(coro_fn)(*args)
        if threading.get_ident() == self._thread:
            raise RuntimeError("call this from a green task (balrog.green) or from another thread")
        return asyncio.run_coroutine_threadsafe(coro_fn(*args), self._loop).result()

    # ---- handshake ------------------------------------------------------------------------

    def accept(self, subprotocol: str | None = None, headers: Iterable[tuple[str, str]] = ()) -> None:
        """Accept the connection (``endpoint`` does it before calling the handler)."""
        if self.state is not State.CONNECTING:
            raise InvalidState(f"connection is {self.state.name.lower()}")
        event = self._run(self._receive)
        if event["type"] != "websocket.connect":
            self._closed_by_peer(event)
            raise self._close_exc()
        message: dict[str, Any] = {"type": "websocket.accept", "subprotocol": subprotocol}
        extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        if extra:
            message["headers"] = extra
        self._run(self._send, message)
        self.subprotocol = subprotocol
        self.state = State.OPEN

    def reject(self, code: int = 1008, reason: str = "") -> None:
        """Refuse the connection before accepting it (the client gets HTTP 403)."""
        if self.state is State.CONNECTING:
            event = self._run(self._receive)
            if event["type"] == "websocket.connect":
                self._run(self._send, {"type": "websocket.close", "code": code, "reason": reason})
        self.state = State.CLOSED

    # ---- messages -------------------------------------------------------------------------

    def _closed_by_peer(self, event: Message) -> None:
        code = int(event.get("code", CloseCode.ABNORMAL_CLOSURE))
        reason = event.get("reason") or ""
        if self.state is State.OPEN and code != CloseCode.ABNORMAL_CLOSURE:
            self._rcvd = Close(code, reason)
            self._sent = Close(code, reason)
            self._rcvd_then_sent = True
        elif self.state is State.CLOSING and code != CloseCode.ABNORMAL_CLOSURE:
            self._rcvd = Close(code, reason)
            self._rcvd_then_sent = False
        self.state = State.CLOSED

    def _close_exc(self) -> ConnectionClosed:
        ok = (
            self._rcvd is not None
            and self._sent is not None
            and self._rcvd.code in OK_CLOSE_CODES
            and self._sent.code in OK_CLOSE_CODES
        )
        cls = ConnectionClosedOK if ok else ConnectionClosedError
        return cls(self._rcvd, self._sent, self._rcvd_then_sent)

    def recv(self, timeout: float | None = None, decode: bool | None = None) -> str | bytes:
        """Next message; ConnectionClosed once the client is gone; TimeoutError."""
        if self.state is State.CLOSED:
            raise self._close_exc()
        try:
            event = self._run(_receive_within, self._receive, timeout)
        except TimeoutError:
            raise TimeoutError(f"timed out in {timeout:.1f}s") from None  # websockets' words
        kind = event["type"]
        if kind == "websocket.receive":
            text = event.get("text")
            if text is not None:
                return text.encode() if decode is False else text
            data = event.get("bytes") or b""
            return data.decode() if decode else data
        self._closed_by_peer(event)
        raise self._close_exc()

    def __iter__(self) -> Iterator[str | bytes]:
        try:
            while True:
                yield self.recv()
        except ConnectionClosedOK:
            return

    def send(
        self, message: str | bytes | bytearray | memoryview | Iterable[Any], *, text: bool | None = None
    ) -> None:
        """Send a message (an iterable is joined: ASGI has no fragments)."""
        if self.state is not State.OPEN:
            raise self._close_exc()
        if isinstance(message, str):
            event: dict[str, Any] = (
                {"type": "websocket.send", "bytes": message.encode()}
                if text is False
                else {"type": "websocket.send", "text": message}
            )
        elif isinstance(message, (bytes, bytearray, memoryview)):
            data = bytes(message)
            event = (
                {"type": "websocket.send", "text": data.decode()}
                if text
                else {"type": "websocket.send", "bytes": data}
            )
        elif isinstance(message, Iterable) and not isinstance(message, dict):
            chunks = list(message)
            if chunks and all(isinstance(c, str) for c in chunks):
                return self.send("".join(chunks), text=text)
            if all(isinstance(c, (bytes, bytearray, memoryview)) for c in chunks):
                return self.send(b"".join(bytes(c) for c in chunks), text=text)
            raise TypeError("iterable must contain uniform types of bytes or str")
        else:
            raise TypeError("data must be str, bytes, or iterable")
        try:
            self._run(self._send, event)
        except (OSError, RuntimeError) as exc:
            # The ASGI server refuses to send on a connection that went away.
            self.state = State.CLOSED
            raise self._close_exc() from exc
        return None

    def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Close the connection (idempotent)."""
        if self.state is State.OPEN:
            self._sent = Close(int(code), reason)
            self.state = State.CLOSING
            try:
                self._run(self._send, {"type": "websocket.close", "code": int(code), "reason": reason})
            except (OSError, RuntimeError):
                pass
            self._rcvd = Close(int(code), reason)
            self._rcvd_then_sent = False
            self.state = State.CLOSED
        elif self.state is State.CONNECTING:
            self.reject(int(code), reason)

    @property
    def close_code(self) -> int | None:
        if self.state is not State.CLOSED:
            return None
        return self._rcvd.code if self._rcvd else CloseCode.ABNORMAL_CLOSURE

    @property
    def close_reason(self) -> str | None:
        if self.state is not State.CLOSED:
            return None
        return self._rcvd.reason if self._rcvd else ""

    def __repr__(self) -> str:
        return f"<ServerConnection {self.id} {self.request.path} {self.state.name}>"


class Registry:
    """Live server connections by key, so other code can reach them.

    ``with registry.register(ws, f"customer:{id}"):`` inside an endpoint;
    ``registry.send(f"customer:{id}", "Order #42 shipped")`` from a view (green task or
    thread) returns how many connections got it.
    """

    def __init__(self) -> None:
        self._by_key: dict[str, set[ServerConnection]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def register(self, connection: ServerConnection, *keys: str) -> Iterator[ServerConnection]:
        self.add(connection, *keys)
        try:
            yield connection
        finally:
            self.discard(connection, *keys)

    def add(self, connection: ServerConnection, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._by_key.setdefault(key, set()).add(connection)

    def discard(self, connection: ServerConnection, *keys: str) -> None:
        with self._lock:
            for key in keys or list(self._by_key):
                group = self._by_key.get(key)
                if group is not None:
                    group.discard(connection)
                    if not group:
                        del self._by_key[key]

    def get(self, key: str) -> list[ServerConnection]:
        with self._lock:
            return list(self._by_key.get(key, ()))

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._by_key)

    def send(self, key: str, message: str | bytes) -> int:
        """Send to every open connection under ``key``; closed ones are skipped."""
        sent = 0
        for connection in self.get(key):
            try:
                connection.send(message)
            except ConnectionClosed:
                self.discard(connection, key)
                continue
            sent += 1
        return sent


registry = Registry()


def _serve(
    handler: Handler,
    scope: Scope,
    receive: Receive,
    send: Send,
    kwargs: dict[str, Any],
    subprotocols: tuple[str, ...],
) -> None:
    ws = ServerConnection(scope, receive, send)
    offered = [p.strip() for p in scope.get("subprotocols", [])]
    chosen = next((p for p in subprotocols if p in offered), None)
    try:
        ws.accept(chosen)
    except ConnectionClosed:
        return
    try:
        handler(ws, **kwargs)
    except ConnectionClosed:
        pass
    except Exception:
        logger.exception("WebSocket handler failed")
        ws.close(CloseCode.INTERNAL_ERROR)
        return
    ws.close()


def endpoint(handler: Handler | None = None, *, subprotocols: Iterable[str] = ()) -> Any:
    """Turn ``handler(ws, **kwargs)`` into an ASGI application run as a green task.

    Usable as ``endpoint(fn)`` or ``@endpoint(subprotocols=["chat"])``.
    """
    protocols = tuple(subprotocols)

    def wrap(fn: Handler) -> ASGIApp:
        green_serve = balrog.green(_serve)

        async def app(scope: Scope, receive: Receive, send: Send, **kwargs: Any) -> None:
            if scope["type"] != "websocket":
                await _not_websocket(scope, receive, send)
                return
            await green_serve(fn, scope, receive, send, kwargs, protocols)

        app.__wrapped__ = fn  # type: ignore[attr-defined]
        app.__name__ = getattr(fn, "__name__", "endpoint")
        return app

    return wrap(handler) if handler is not None else wrap


async def _not_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        headers = [(b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 404, "headers": headers})
        await send({"type": "http.response.body", "body": b"Not Found"})
    elif scope["type"] == "lifespan":
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
