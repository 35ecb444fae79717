"""psycopg's async cursors, over balrog's sync ones.

Each async cursor wraps the sync cursor of the same kind; every call that may do I/O runs
it as a green task on the running loop (``balrog.green_call``), so it suspends the
awaiting coroutine and nothing else. Calls that cannot do I/O (reading the rows of a
plain cursor, ``nextset``, properties) go straight to the sync cursor.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any, Generic

from balrog import green_call, hide

from ._conn_lock import HOLDER
from ._green_block import green_block
from .client_cursor import ClientCursor
from .copy_async import AsyncCopy, sync_writer
from .cursor import Cursor
from .raw_cursor import RawCursor, RawCursorMixin, RawServerCursor
from .rows import Row
from .server_cursor import ServerCursor

if TYPE_CHECKING:
    from .connection_async import AsyncConnection

__all__ = [
    "AsyncClientCursor",
    "AsyncCursor",
    "AsyncRawCursor",
    "AsyncRawServerCursor",
    "AsyncServerCursor",
]

_END = object()

# Attributes assigned on the async cursor that belong to the sync one.
_SETTABLE = frozenset({"arraysize", "format", "itersize"})


class AsyncCursor(Generic[Row]):
    """psycopg's ``AsyncCursor``: server-side binding, results fetched whole."""

    __module__ = "psycopg"
    _sync_class: type[Any] = Cursor

    def __init__(self, connection: AsyncConnection[Any], *, row_factory: Any = None):
        object.__setattr__(self, "_aconn", connection)
        object.__setattr__(self, "_cur", self._sync_class(connection._sync, row_factory=row_factory))

    @classmethod
    def _wrapping(cls, connection: AsyncConnection[Any], cursor: Any) -> AsyncCursor[Any]:
        self = cls.__new__(cls)
        object.__setattr__(self, "_aconn", connection)
        object.__setattr__(self, "_cur", cursor)
        return self

    # -- what the sync cursor holds ---------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        # pgresult, query, params, format, arraysize, lastrowid, itersize...
        if name in ("_cur", "_aconn"):
            raise AttributeError(name)  # not constructed (yet): no recursion
        return getattr(self._cur, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SETTABLE:
            setattr(self._cur, name, value)
        else:
            object.__setattr__(self, name, value)

    @property
    def connection(self) -> AsyncConnection[Any]:
        return self._aconn

    @property
    def adapters(self) -> Any:
        return self._cur.adapters

    @property
    def closed(self) -> bool:
        return self._cur.closed  # type: ignore[no-any-return]

    @property
    def description(self) -> Any:
        return self._cur.description

    @property
    def row_factory(self) -> Any:
        return self._cur.row_factory

    @row_factory.setter
    def row_factory(self, value: Any) -> None:
        self._cur.row_factory = value

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount  # type: ignore[no-any-return]

    @property
    def rownumber(self) -> int | None:
        return self._cur.rownumber  # type: ignore[no-any-return]

    @property
    def statusmessage(self) -> str | None:
        return self._cur.statusmessage  # type: ignore[no-any-return]

    def setinputsizes(self, sizes: Any) -> None:
        self._cur.setinputsizes(sizes)

    def setoutputsize(self, size: Any, column: int | None = None) -> None:
        self._cur.setoutputsize(size, column)

    def __repr__(self) -> str:
        return repr(self._cur).replace(type(self._cur).__qualname__, type(self).__qualname__, 1)

    async def __aenter__(self) -> AsyncCursor[Row]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- queries ----------------------------------------------------------------------------

    async def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> AsyncCursor[Row]:
        await green_call(self._cur.execute, query, params, prepare=prepare, binary=binary)
        return self

    async def executemany(self, query: Any, params_seq: Iterable[Any], *, returning: bool = False) -> None:
        await green_call(self._cur.executemany, query, params_seq, returning=returning)

    async def stream(
        self, query: Any, params: Any = None, *, binary: bool | None = None, size: int = 1
    ) -> AsyncIterator[Row]:
        # The sync generator holds the connection's lock from its first row to its last,
        # and that lock belongs to a green task: one green task runs it whole. It makes
        # each row when asked for it (a row factory changed between rows applies to the
        # next one, a connection closed between rows stops the stream, as psycopg's).
        asks: asyncio.Queue[bool] = asyncio.Queue()
        answers: asyncio.Queue[Any] = asyncio.Queue()

        def produce() -> None:
            rows = self._cur.stream(query, params, binary=binary, size=size)
            ask, answer = hide(asks.get), hide(answers.put)
            try:
                while ask():
                    try:
                        row = next(rows, _END)
                    except BaseException as ex:
                        answer((None, ex))
                        return
                    answer((row, None))
                    if row is _END:
                        return
            finally:
                # Left early: the generator's own cleanup reads what is left.
                rows.close()

        producer = asyncio.ensure_future(green_call(produce))
        try:
            while True:
                asks.put_nowait(True)
                answer = asyncio.ensure_future(answers.get())
                await asyncio.wait([answer, producer], return_when=asyncio.FIRST_COMPLETED)
                if not answer.done():
                    # The producer ended without an answer (the stream could not start).
                    answer.cancel()
                    producer.result()
                    return
                row, error = answer.result()
                if error is not None:
                    raise error
                if row is _END:
                    break
                yield row
            await producer
        finally:
            if not producer.done():
                asks.put_nowait(False)
                await producer

    def nextset(self) -> bool | None:
        return self._cur.nextset()  # type: ignore[no-any-return]

    async def results(self) -> AsyncIterator[AsyncCursor[Row]]:
        for _ in self._cur.results():
            yield self

    async def set_result(self, index: int) -> AsyncCursor[Row]:
        self._cur.set_result(index)
        return self

    # -- fetch ------------------------------------------------------------------------------

    def _io(self) -> bool:
        # A plain cursor's rows are here already, except in a pipeline (a fetch may sync it).
        return self._aconn._sync._pipeline is not None

    async def fetchone(self) -> Row | None:
        if self._io():
            return await green_call(self._cur.fetchone)  # type: ignore[no-any-return]
        return self._cur.fetchone()  # type: ignore[no-any-return]

    async def fetchmany(self, size: int = 0) -> list[Row]:
        if self._io():
            return await green_call(self._cur.fetchmany, size)  # type: ignore[no-any-return]
        return self._cur.fetchmany(size)  # type: ignore[no-any-return]

    async def fetchall(self) -> list[Row]:
        if self._io():
            return await green_call(self._cur.fetchall)  # type: ignore[no-any-return]
        return self._cur.fetchall()  # type: ignore[no-any-return]

    async def __aiter__(self) -> AsyncIterator[Row]:
        while (row := await self._next_or_end()) is not _END:
            yield row

    async def __anext__(self) -> Row:
        row = await self._next_or_end()
        if row is _END:
            raise StopAsyncIteration
        return row  # type: ignore[no-any-return]

    async def _next_or_end(self) -> Any:
        # The sync cursor's next(): a row (even one a row factory made None), or the end.
        if self._io():
            return await green_call(next, self._cur, _END)
        return next(self._cur, _END)

    async def scroll(self, value: int, mode: str = "relative") -> None:
        await green_call(self._cur.scroll, value, mode)

    async def close(self) -> None:
        await green_call(self._cur.close)

    # -- copy -------------------------------------------------------------------------------

    @asynccontextmanager
    async def copy(
        self, statement: Any, params: Any = None, *, writer: Any = None
    ) -> AsyncIterator[AsyncCopy]:
        """``async with cur.copy("COPY ...") as copy:``, as psycopg's."""
        # The block holds the connection's lock across its awaits (each a green task of its
        # own): for this task's holder, as psycopg's async lock (_conn_lock.py).
        token = HOLDER.set(object())
        try:
            copy = await green_call(self._cur.copy, statement, params, writer=sync_writer(writer))
            wrap = lambda entered: AsyncCopy._over(self, entered, writer)  # noqa: E731
            async with green_block(copy, wrap) as async_copy:
                yield async_copy
        finally:
            with suppress(ValueError):  # a generator finalised in another context
                HOLDER.reset(token)


class AsyncClientCursor(AsyncCursor[Row]):
    """psycopg's ``AsyncClientCursor``: parameters merged client-side."""

    __module__ = "psycopg"
    _sync_class = ClientCursor

    def mogrify(self, query: Any, params: Any = None) -> str:
        return self._cur.mogrify(query, params)  # type: ignore[no-any-return]


class AsyncRawCursor(RawCursorMixin, AsyncCursor[Row]):
    """psycopg's ``AsyncRawCursor``: ``$1`` placeholders."""

    __module__ = "psycopg"
    _sync_class = RawCursor


class AsyncServerCursor(AsyncCursor[Row]):
    """psycopg's ``AsyncServerCursor``: a named cursor on the server, read by FETCH."""

    __module__ = "psycopg"
    _sync_class = ServerCursor

    def __init__(
        self,
        connection: AsyncConnection[Any],
        name: str,
        *,
        row_factory: Any = None,
        scrollable: bool | None = None,
        withhold: bool = False,
    ):
        cursor = self._sync_class(
            connection._sync, name, row_factory=row_factory, scrollable=scrollable, withhold=withhold
        )
        cursor._public_class = type(self)
        object.__setattr__(self, "_aconn", connection)
        object.__setattr__(self, "_cur", cursor)

    @property
    def name(self) -> str:
        return self._cur.name  # type: ignore[no-any-return]

    @property
    def scrollable(self) -> bool | None:
        return self._cur.scrollable  # type: ignore[no-any-return]

    @property
    def withhold(self) -> bool:
        return self._cur.withhold  # type: ignore[no-any-return]

    def _io(self) -> bool:
        return True  # every fetch is a FETCH

    async def execute(  # type: ignore[override]
        self, query: Any, params: Any = None, *, binary: bool | None = None, **kwargs: Any
    ) -> AsyncServerCursor[Row]:
        # The sync cursor's signature: no `prepare` (a TypeError, as psycopg).
        await green_call(self._cur.execute, query, params, binary=binary, **kwargs)
        return self

    async def executemany(self, query: Any, params_seq: Iterable[Any], *, returning: bool = True) -> None:
        await green_call(self._cur.executemany, query, params_seq, returning=returning)

    async def _next_or_end(self) -> Any:
        # The sync cursor's iteration (pages of `itersize` rows, rownumber row by row): a
        # green call only when the next row needs a FETCH.
        cur = self._cur
        rows = cur._iter_rows
        if rows is not None and cur._page_pos < len(rows):
            return next(cur)
        return await green_call(next, cur, _END)


class AsyncRawServerCursor(RawCursorMixin, AsyncServerCursor[Row]):
    """psycopg's ``AsyncRawServerCursor``."""

    __module__ = "psycopg"
    _sync_class = RawServerCursor
