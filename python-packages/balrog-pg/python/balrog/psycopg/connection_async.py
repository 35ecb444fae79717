"""psycopg's ``AsyncConnection``, over balrog's sync ``Connection``.

balrog's answer to asyncio code is green tasks: the sync API, suspending only the task
that waits. For code written against psycopg's async API, this facade gives the same
classes: each method that may do I/O runs the sync connection's as a green task on the
running loop (``balrog.green_call``) and is awaited; the rest delegate directly. Queries
therefore take the same native path as in green mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any

from balrog import allow_blocking, green_call

from . import errors as e
from . import pq
from ._connection_info import ConnectionInfo, connection_summary
from ._enums import IsolationLevel
from ._green_block import green_block
from ._notify import Notify
from ._tpc import Xid
from .adapt import AdaptersMap
from .connection import BaseConnection, Connection
from .cursor_async import AsyncCursor, AsyncServerCursor
from .pipeline_async import AsyncPipeline
from .rows import Row
from .transaction_async import AsyncTransaction

__all__ = ["AsyncConnection"]

_END = object()


def _read_only_message(name: str) -> str:
    return (
        f"'the {name!r} property is read-only on async connections: please use 'await .set_{name}()' instead."
    )


class AsyncConnection(BaseConnection[Row]):
    """A connection to a PostgreSQL database (psycopg's ``AsyncConnection`` API)."""

    __module__ = "psycopg"

    Warning = e.Warning
    Error = e.Error
    InterfaceError = e.InterfaceError
    DatabaseError = e.DatabaseError
    DataError = e.DataError
    OperationalError = e.OperationalError
    IntegrityError = e.IntegrityError
    InternalError = e.InternalError
    ProgrammingError = e.ProgrammingError
    NotSupportedError = e.NotSupportedError

    def __init__(
        self,
        connection: Connection[Any],
        row_factory: Any = None,
        *,
        cursor_factory: type[AsyncCursor[Any]] | None = None,
    ):
        self._sync = connection
        if row_factory is not None:
            connection.row_factory = row_factory
        self.cursor_factory: type[AsyncCursor[Any]] = cursor_factory or AsyncCursor
        self.server_cursor_factory: type[AsyncServerCursor[Any]] = AsyncServerCursor

    @classmethod
    async def connect(
        cls,
        conninfo: str = "",
        *,
        autocommit: bool = False,
        prepare_threshold: int | None = 5,
        context: Any = None,
        row_factory: Any = None,
        cursor_factory: type[AsyncCursor[Any]] | None = None,
        **kwargs: Any,
    ) -> AsyncConnection[Any]:
        """Connect to a database server and return a new AsyncConnection."""
        connection = await green_call(
            Connection.connect,
            conninfo,
            autocommit=autocommit,
            prepare_threshold=prepare_threshold,
            context=context,
            row_factory=row_factory,
            **kwargs,
        )
        return cls(connection, cursor_factory=cursor_factory)

    def __repr__(self) -> str:
        cls = f"{type(self).__module__}.{type(self).__qualname__}"
        return f"<{cls} {connection_summary(self._sync)} at 0x{id(self):x}>"

    async def __aenter__(self) -> AsyncConnection[Row]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        # Commit, or roll back on an error, then close (unless a pool lent it).
        await green_call(self._sync.__exit__, exc_type, exc_val, exc_tb)

    def __getattr__(self, name: str) -> Any:
        # What else the sync connection holds (`lock`, `_pool`, `_prepared`...).
        if name == "_sync":
            raise AttributeError(name)
        return getattr(self._sync, name)

    @property
    def _pipeline(self) -> AsyncPipeline | None:
        pipeline = self._sync._pipeline
        return None if pipeline is None else AsyncPipeline._for(pipeline)

    # -- state ------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._sync.closed

    @property
    def broken(self) -> bool:
        return self._sync.broken

    @property
    def info(self) -> ConnectionInfo:
        return self._sync.info

    @property
    def adapters(self) -> AdaptersMap:
        return self._sync.adapters

    @property
    def connection(self) -> AsyncConnection[Row]:
        return self

    @property
    def pgconn(self) -> Any:
        return self._sync.pgconn

    @property
    def row_factory(self) -> Any:
        return self._sync.row_factory

    @row_factory.setter
    def row_factory(self, value: Any) -> None:
        self._sync.row_factory = value

    @property
    def prepare_threshold(self) -> int | None:
        return self._sync.prepare_threshold

    @prepare_threshold.setter
    def prepare_threshold(self, value: int | None) -> None:
        self._sync.prepare_threshold = value

    @property
    def prepared_max(self) -> int | None:
        return self._sync.prepared_max

    @prepared_max.setter
    def prepared_max(self, value: int | None) -> None:
        self._sync.prepared_max = value

    @property
    def autocommit(self) -> bool:
        return self._sync.autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        raise AttributeError(_read_only_message("autocommit"))

    async def set_autocommit(self, value: bool) -> None:
        await green_call(self._sync.set_autocommit, value)

    @property
    def isolation_level(self) -> IsolationLevel | None:
        return self._sync.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        raise AttributeError(_read_only_message("isolation_level"))

    async def set_isolation_level(self, value: IsolationLevel | int | None) -> None:
        await green_call(self._sync.set_isolation_level, value)

    @property
    def read_only(self) -> bool | None:
        return self._sync.read_only

    @read_only.setter
    def read_only(self, value: Any) -> None:
        raise AttributeError(_read_only_message("read_only"))

    async def set_read_only(self, value: bool | None) -> None:
        await green_call(self._sync.set_read_only, value)

    @property
    def deferrable(self) -> bool | None:
        return self._sync.deferrable

    @deferrable.setter
    def deferrable(self, value: Any) -> None:
        raise AttributeError(_read_only_message("deferrable"))

    async def set_deferrable(self, value: bool | None) -> None:
        await green_call(self._sync.set_deferrable, value)

    def fileno(self) -> int:
        return self._sync.fileno()

    # -- transactions -----------------------------------------------------------------------

    async def commit(self) -> None:
        await green_call(self._sync.commit)

    async def rollback(self) -> None:
        await green_call(self._sync.rollback)

    async def close(self) -> None:
        await green_call(self._sync.close)

    def transaction(
        self, savepoint_name: str | None = None, force_rollback: bool = False
    ) -> AbstractAsyncContextManager[AsyncTransaction]:
        """``async with conn.transaction() as tx:`` BEGIN (or SAVEPOINT) ... COMMIT."""
        return AsyncTransaction(self, savepoint_name, force_rollback)

    # -- queries ----------------------------------------------------------------------------

    def cursor(
        self,
        name: str = "",
        *,
        binary: bool = False,
        row_factory: Any = None,
        scrollable: bool | None = None,
        withhold: bool = False,
    ) -> Any:
        """A new async cursor; with a ``name``, a server-side one."""
        self._sync._check_connection_ok()
        row_factory = row_factory or self.row_factory
        if name:
            cursor = self.server_cursor_factory(
                self, name, row_factory=row_factory, scrollable=scrollable, withhold=withhold
            )
        else:
            cursor = self.cursor_factory(self, row_factory=row_factory)
        if binary:
            cursor.format = pq.Format.BINARY
        return cursor

    async def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool = False
    ) -> AsyncCursor[Row]:
        """Execute a query on a new cursor and return it."""
        cursor = self.cursor()
        if binary:
            cursor.format = pq.Format.BINARY
        return await cursor.execute(query, params, prepare=prepare)  # type: ignore[no-any-return]

    def pipeline(self) -> AbstractAsyncContextManager[AsyncPipeline]:
        """``async with conn.pipeline():`` statements are queued and sent together."""
        return green_block(self._sync.pipeline(), AsyncPipeline._for)

    # -- cancel -----------------------------------------------------------------------------

    def cancel(self) -> None:
        """Ask the server to cancel the running query (a sync call, as psycopg's: the
        request goes on its own short connection)."""
        with allow_blocking():
            self._sync.cancel()

    async def cancel_safe(self, *, timeout: float = 30.0) -> None:
        await green_call(self._sync.cancel_safe, timeout=timeout)

    # -- notices and notifications ------------------------------------------------------------

    def add_notice_handler(self, callback: Callable[[e.Diagnostic], None]) -> None:
        self._sync.add_notice_handler(callback)

    def remove_notice_handler(self, callback: Callable[[e.Diagnostic], None]) -> None:
        self._sync.remove_notice_handler(callback)

    def add_notify_handler(self, callback: Callable[[Notify], None]) -> None:
        self._sync.add_notify_handler(callback)

    def remove_notify_handler(self, callback: Callable[[Notify], None]) -> None:
        self._sync.remove_notify_handler(callback)

    async def notifies(
        self, *, timeout: float | None = None, stop_after: int | None = None
    ) -> AsyncIterator[Notify]:
        """Yield notifications as they arrive; stop after a timeout or a count."""
        notifications = self._sync.notifies(timeout=timeout, stop_after=stop_after)
        try:
            while (item := await green_call(next, notifications, _END)) is not _END:
                yield item
        finally:
            notifications.close()

    # -- two-phase commit -------------------------------------------------------------------

    def xid(self, format_id: int, gtrid: str, bqual: str) -> Xid:
        return self._sync.xid(format_id, gtrid, bqual)

    async def tpc_begin(self, xid: Xid | str) -> None:
        await green_call(self._sync.tpc_begin, xid)

    async def tpc_prepare(self) -> None:
        await green_call(self._sync.tpc_prepare)

    async def tpc_commit(self, xid: Xid | str | None = None) -> None:
        await green_call(self._sync.tpc_commit, xid)

    async def tpc_rollback(self, xid: Xid | str | None = None) -> None:
        await green_call(self._sync.tpc_rollback, xid)

    async def tpc_recover(self) -> list[Xid]:
        return await green_call(self._sync.tpc_recover)
