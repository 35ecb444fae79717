"""psycopg_pool's ``AsyncConnectionPool`` and ``AsyncNullConnectionPool``, over balrog's
sync pools.

The sync pool does the work (its workers open connections in threads; a green task
waiting for a connection suspends only itself); every method that may wait runs as a
green task on the running loop (``balrog.green_call``). Connections are handed out as
``AsyncConnection`` objects (one per pooled connection, so the same object comes back),
and the ``configure``/``check``/``reset`` callbacks are coroutine functions taking one, as
psycopg_pool's: from a green task they run on its loop, from a pool worker thread on a
private one (``balrog.hide``).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from time import monotonic
from types import TracebackType
from typing import Any, Generic, TypeVar

from balrog import green_call, hide
from balrog.psycopg import Connection
from balrog.psycopg.connection_async import AsyncConnection

from .null_pool import NullConnectionPool
from .pool import ConnectionPool

__all__ = ["AsyncConnectionPool", "AsyncNullConnectionPool"]

ACT = TypeVar("ACT", bound=AsyncConnection[Any])
AsyncConnectionCB = Callable[[Any], Awaitable[None]]
AsyncConnectFailedCB = Callable[[Any], Awaitable[None] | None]


def _sync_param(param: Any) -> Any:
    """``conninfo``/``kwargs`` for the sync pool: a callable may be a coroutine function,
    as psycopg_pool's async pool allows (awaited on a private loop by the worker thread
    that connects, ``balrog.hide``)."""
    if not callable(param):
        return param

    def call() -> Any:
        result = param()
        if inspect.isawaitable(result):

            async def finish() -> Any:
                return await result

            return hide(finish)()
        return result

    return call


class AsyncConnectionPool(Generic[ACT]):
    """A pool of ``AsyncConnection`` (psycopg_pool's ``AsyncConnectionPool`` API)."""

    __module__ = "psycopg_pool"
    _sync_pool_class: type[ConnectionPool[Any]] = ConnectionPool

    def __init__(
        self,
        conninfo: str | Callable[[], str] | Callable[[], Awaitable[str]] = "",
        *,
        connection_class: type[ACT] = AsyncConnection,  # type: ignore[assignment]
        kwargs: dict[str, Any]
        | Callable[[], dict[str, Any]]
        | Callable[[], Awaitable[dict[str, Any]]]
        | None = None,
        min_size: int = 4,
        max_size: int | None = None,
        open: bool | None = None,
        configure: AsyncConnectionCB | None = None,
        check: AsyncConnectionCB | None = None,
        reset: AsyncConnectionCB | None = None,
        name: str | None = None,
        close_returns: bool = False,
        timeout: float = 30.0,
        max_waiting: int = 0,
        max_lifetime: float = 60 * 60.0,
        max_idle: float = 10 * 60.0,
        reconnect_timeout: float = 5 * 60.0,
        reconnect_failed: AsyncConnectFailedCB | None = None,
        num_workers: int = 3,
    ) -> None:
        self.connection_class = connection_class
        # As given (the sync pool holds them made callable from a worker thread).
        self._conninfo, self._kwargs = conninfo, kwargs
        self._configure, self._check, self._reset = configure, check, reset
        self._reconnect_failed = reconnect_failed
        self._sync_pool = self._sync_pool_class(
            _sync_param(conninfo),
            connection_class=Connection,
            kwargs=_sync_param(kwargs),
            min_size=min_size,
            max_size=max_size,
            open=False,
            configure=self._sync_callback(configure),
            check=self._sync_callback(check),
            reset=self._sync_callback(reset),
            name=name,
            close_returns=close_returns,
            timeout=timeout,
            max_waiting=max_waiting,
            max_lifetime=max_lifetime,
            max_idle=max_idle,
            reconnect_timeout=reconnect_timeout,
            reconnect_failed=self._sync_failed_callback(reconnect_failed),
            num_workers=num_workers,
        )
        if open:
            self._warn_open_async(stacklevel=3)
        self._open_implicit = open is None
        if self._open_implicit or open:
            # Opening starts the sync pool's worker threads: nothing to wait for here.
            self._sync_pool.open(wait=False)

    def _warn_open_async(self, stacklevel: int) -> None:
        warnings.warn(
            f"opening the async pool {type(self).__name__} in the constructor"
            " is deprecated and will not be supported anymore in a future"
            " release. Please use `await pool.open()`, or use the pool as context"
            f" manager using: `async with {type(self).__name__}(...) as pool: `...",
            RuntimeWarning,
            stacklevel=stacklevel,
        )

    def _check_open_implicit(self) -> None:
        # As psycopg_pool: a pool opened because `open` was not given warns when first
        # used (not as a context manager, which clears the flag).
        if self._open_implicit:
            self._open_implicit = False
            self._warn_open_async(stacklevel=4)

    # -- the async face of sync connections and callbacks ------------------------------------

    def _wrap(self, connection: Any) -> ACT:
        wrapper = getattr(connection, "_balrog_async", None)
        if wrapper is None:
            wrapper = connection._balrog_async = self.connection_class(connection)
        return wrapper  # type: ignore[no-any-return]

    def _sync_callback(self, callback: AsyncConnectionCB | None) -> Callable[[Any], None] | None:
        if callback is None:
            return None

        def run(connection: Any) -> None:
            hide(callback)(self._wrap(connection))

        return run

    def _sync_failed_callback(self, callback: AsyncConnectFailedCB | None) -> Callable[[Any], None] | None:
        if callback is None:
            return None

        async def call(pool: AsyncConnectionPool[ACT]) -> None:
            result = callback(pool)
            if result is not None:
                await result

        return lambda _sync_pool: hide(call)(self)

    # -- what the sync pool knows -----------------------------------------------------------

    def __repr__(self) -> str:
        return f"<{self.__class__.__module__}.{self.__class__.__name__} {self.name!r} at 0x{id(self):x}>"

    def __getattr__(self, name: str) -> Any:
        # name, conninfo, kwargs, timeout, max_waiting, max_lifetime, max_idle, ...
        return getattr(self._sync_pool, name)

    @property
    def conninfo(self) -> Any:
        return self._conninfo

    @conninfo.setter
    def conninfo(self, value: Any) -> None:
        self._conninfo = value
        self._sync_pool.conninfo = _sync_param(value)

    @property
    def kwargs(self) -> Any:
        return self._kwargs

    @kwargs.setter
    def kwargs(self, value: Any) -> None:
        self._kwargs = value
        self._sync_pool.kwargs = _sync_param(value)

    @property
    def min_size(self) -> int:
        return self._sync_pool.min_size

    @property
    def max_size(self) -> int:
        return self._sync_pool.max_size

    @property
    def closed(self) -> bool:
        return self._sync_pool.closed

    def get_stats(self) -> dict[str, int]:
        return self._sync_pool.get_stats()

    def pop_stats(self) -> dict[str, int]:
        return self._sync_pool.pop_stats()

    # -- life -------------------------------------------------------------------------------

    async def open(self, wait: bool = False, timeout: float = 30.0) -> None:
        await green_call(self._sync_pool.open, wait, timeout)

    async def wait(self, timeout: float = 30.0) -> None:
        self._check_open_implicit()
        await green_call(self._sync_pool.wait, timeout)

    async def close(self, timeout: float = 5.0) -> None:
        await green_call(self._sync_pool.close, timeout)

    async def __aenter__(self) -> AsyncConnectionPool[ACT]:
        self._open_implicit = False
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- connections ------------------------------------------------------------------------

    @asynccontextmanager
    async def connection(self, timeout: float | None = None) -> AsyncIterator[ACT]:
        """``async with pool.connection() as conn:`` a connection, given back at the end."""
        connection = await self.getconn(timeout)
        t0 = monotonic()
        try:
            # The connection's own exit: commit, or roll back on an error (not close).
            async with connection:
                yield connection
        finally:
            await self.putconn(connection)
            self._sync_pool._stats[self._sync_pool._USAGE_MS] += int(1000.0 * (monotonic() - t0))

    async def getconn(self, timeout: float | None = None) -> ACT:
        self._check_open_implicit()
        conn = self._wrap(await green_call(self._sync_pool.getconn, timeout))
        # As psycopg_pool: a connection out of the pool knows it (`_pool`), one in it does
        # not. SQLAlchemy's pattern relies on it: a `close()` that gives the connection
        # back while `_pool` is set, and closes for real otherwise.
        conn._pool = self
        return conn

    async def putconn(self, conn: ACT) -> None:
        sync = getattr(conn, "_sync", None)
        if sync is None or getattr(conn, "_pool", None) is not self:
            # The sync pool's check and message (not from this pool, or already returned).
            await green_call(self._sync_pool.putconn, sync if sync is not None else conn)
            return
        conn._pool = None
        try:
            await green_call(self._sync_pool.putconn, sync)
        except BaseException:
            conn._pool = self
            raise

    async def resize(self, min_size: int, max_size: int | None = None) -> None:
        await green_call(self._sync_pool.resize, min_size, max_size)

    async def check(self) -> None:
        await green_call(self._sync_pool.check)

    async def drain(self) -> None:
        await green_call(self._sync_pool.drain)

    @staticmethod
    async def check_connection(conn: AsyncConnection[Any]) -> None:
        """Raise if ``conn`` does not work (an empty query round trip); usable as ``check``."""
        await green_call(ConnectionPool.check_connection, conn._sync)


class AsyncNullConnectionPool(AsyncConnectionPool[ACT]):
    """psycopg_pool's ``AsyncNullConnectionPool``: no idle connections kept."""

    __module__ = "psycopg_pool"
    _sync_pool_class = NullConnectionPool

    def __init__(self, conninfo: str | Callable[[], str] = "", *, min_size: int = 0, **kwargs: Any) -> None:
        super().__init__(conninfo, min_size=min_size, **kwargs)
