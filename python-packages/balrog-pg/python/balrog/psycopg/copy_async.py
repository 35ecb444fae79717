"""psycopg's ``AsyncCopy`` and async writers, over balrog's sync ``Copy`` (see
cursor_async.py).

An async writer given to ``acur.copy(writer=...)`` or ``AsyncCopy(acur, writer=...)`` is
handed to the sync Copy as a sync writer: ``AsyncLibpqWriter`` as the cursor's own
``LibpqWriter`` (the native path), any other ``AsyncWriter`` through an adapter that awaits
its coroutines on the loop from the green task the Copy runs in (``balrog.hide``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from balrog import green_call, hide

from .copy import Copy, LibpqWriter, Writer

if TYPE_CHECKING:
    from .cursor_async import AsyncCursor

__all__ = ["AsyncCopy", "AsyncLibpqWriter", "AsyncQueuedLibpqWriter", "AsyncWriter"]


class AsyncWriter(ABC):
    """Where ``AsyncCopy`` sends the COPY FROM data it formats (psycopg's ``AsyncWriter``)."""

    @abstractmethod
    async def write(self, data: bytes | bytearray | memoryview) -> None:
        """Take a chunk of COPY data."""

    async def finish(self, exc: BaseException | None = None) -> None:  # noqa: B027 - optional hook
        """The COPY is over (``exc``: the error that ended it, if any)."""


class AsyncLibpqWriter(AsyncWriter):
    """Writes to the cursor's connection (the default)."""

    def __init__(self, cursor: AsyncCursor[Any]):
        self.cursor = cursor
        self.connection = cursor.connection
        self._sync = LibpqWriter(cursor._cur)

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        await green_call(self._sync.write, data)

    async def finish(self, exc: BaseException | None = None) -> None:
        await green_call(self._sync.finish, exc)


class AsyncQueuedLibpqWriter(AsyncLibpqWriter):
    """psycopg's writer that sends from a worker task; balrog's native side already
    overlaps sending with formatting, so this is the same writer."""


class _AwaitingWriter(Writer):
    """A user's ``AsyncWriter`` seen by the sync Copy (which runs in a green task)."""

    def __init__(self, writer: AsyncWriter):
        self._writer = writer

    def write(self, data: bytes | bytearray | memoryview) -> None:
        hide(self._writer.write)(data)

    def finish(self, exc: BaseException | None = None) -> None:
        hide(self._writer.finish)(exc)


def sync_writer(writer: Any) -> Any:
    """The sync Copy's writer for what an async caller gave (None: the default)."""
    if isinstance(writer, AsyncLibpqWriter):
        return writer._sync
    if isinstance(writer, AsyncWriter):
        return _AwaitingWriter(writer)
    return writer


class AsyncCopy:
    """The object of ``async with cursor.copy(...) as copy``: each call that may send or
    receive runs the sync Copy's as a green task."""

    __module__ = "psycopg"

    def __init__(
        self, cursor: AsyncCursor[Any], *, binary: bool | None = None, writer: AsyncWriter | None = None
    ):
        # Made directly, as psycopg's (e.g. with a writer to a file, no COPY statement).
        self.cursor = cursor
        self._copy = Copy(cursor._cur, binary=binary, writer=sync_writer(writer))
        self._writer = writer

    @classmethod
    def _over(cls, cursor: AsyncCursor[Any], copy: Copy, writer: AsyncWriter | None) -> AsyncCopy:
        """The async face of a sync Copy that ``cursor.copy()`` started."""
        self = cls.__new__(cls)
        self.cursor = cursor
        self._copy = copy
        self._writer = writer
        return self

    async def __aenter__(self) -> AsyncCopy:
        await green_call(self._copy.__enter__)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await green_call(self._copy.__exit__, exc_type, exc_val, exc_tb)

    @property
    def writer(self) -> AsyncWriter:
        """The writer given, or the connection's own (``AsyncLibpqWriter``)."""
        if self._writer is None:
            self._writer = AsyncLibpqWriter(self.cursor)
        return self._writer

    @property
    def connection(self) -> Any:
        return self.cursor.connection

    def __repr__(self) -> str:
        return repr(self._copy).replace("Copy", "AsyncCopy", 1)

    def set_types(self, types: Sequence[int | str]) -> None:
        self._copy.set_types(types)

    async def write(self, buffer: bytes | bytearray | memoryview | str) -> None:
        await green_call(self._copy.write, buffer)

    async def write_row(self, row: Sequence[Any]) -> None:
        await green_call(self._copy.write_row, row)

    async def read(self) -> memoryview:
        return await green_call(self._copy.read)

    async def __aiter__(self) -> AsyncIterator[memoryview]:
        while data := await self.read():
            yield data

    async def read_row(self) -> tuple[Any, ...] | None:
        return await green_call(self._copy.read_row)

    async def rows(self) -> AsyncIterator[tuple[Any, ...]]:
        while (row := await self.read_row()) is not None:
            yield row

    async def finish(self, exc: BaseException | None = None) -> None:
        await green_call(self._copy.finish, exc)
