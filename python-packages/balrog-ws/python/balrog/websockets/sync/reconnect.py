"""``reconnect()``: websockets' sync client that connects again when the connection fails.

::

    for websocket in reconnect(uri):
        try:
            ...
        except ConnectionClosed:
            continue

A failed attempt that ``process_exception`` calls transient is retried after the next
``reconnect_delays`` delay; any other error is raised. Each connection is closed when its
loop iteration ends. The waits between attempts are balrog sleeps: in a green task they
suspend only that task.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Generator, Iterator
from types import TracebackType
from typing import Any

from balrog._tasks import sleep

from ..client import backoff, process_exception
from .client import ClientConnection, connect

__all__ = ["reconnect", "unix_reconnect"]


class reconnect:  # websockets' name (it is used like a function)
    """Like :func:`connect`, as a context manager for one connection or an endless
    iterator of connections (see the module doc)."""

    def __init__(
        self,
        uri: str,
        *,
        process_exception: Callable[[Exception], Exception | None] = process_exception,
        reconnect_delays: Callable[[], Generator[float]] = backoff,
        logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.uri = uri
        self.process_exception = process_exception
        self.reconnect_delays = reconnect_delays
        self.logger = logger if logger is not None else logging.getLogger("websockets.client")
        self.connect_kwargs = dict(kwargs, logger=logger)

    def connect(self) -> ClientConnection:
        """One connection attempt, following redirects (what :func:`connect` does)."""
        return connect(self.uri, **self.connect_kwargs)

    def __enter__(self) -> ClientConnection:
        if hasattr(self, "connection"):
            raise RuntimeError("connect() isn't reentrant")
        self.connection = self.connect()
        return self.connection.__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        exc_traceback: TracebackType | None,
    ) -> None:
        try:
            self.connection.__exit__(exc_type, exc_value, exc_traceback)
        finally:
            del self.connection

    def __iter__(self) -> Iterator[ClientConnection]:
        delays: Generator[float] | None = None
        while True:
            try:
                with self as connection:
                    yield connection
            except Exception as exc:
                # "Return an exception or None"; raising one is taken as returning it.
                try:
                    verdict = self.process_exception(exc)
                except Exception as raised:
                    verdict = raised
                if verdict is exc:
                    raise
                if verdict is not None:
                    raise verdict from exc
                if delays is None:
                    delays = self.reconnect_delays()
                delay = next(delays)
                self.logger.info(
                    "connect failed; reconnecting in %.1f seconds: %s",
                    delay,
                    traceback.format_exception_only(exc)[0].strip(),
                )
                sleep(delay)
            else:
                delays = None  # it worked: the next failure starts the backoff again


def unix_reconnect(path: Any = None, uri: str | None = None, **kwargs: Any) -> reconnect:
    """:func:`reconnect` over a Unix socket (``uri`` defaults to ``ws://localhost/``, or
    ``wss://localhost/`` with ``ssl``)."""
    sock = kwargs.get("sock")
    if path is None and sock is None:
        raise ValueError("missing path argument")
    if path is not None and sock is not None:
        raise ValueError("path is incompatible with sock")
    if uri is None:
        secure = kwargs.get("ssl") is not None or kwargs.get("ssl_context") is not None
        uri = "wss://localhost/" if secure else "ws://localhost/"
    return reconnect(uri=uri, unix=True, path=path, **kwargs)
