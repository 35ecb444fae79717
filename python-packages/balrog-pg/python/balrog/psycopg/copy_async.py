"""psycopg's ``AsyncCopy``, over balrog's sync ``Copy`` (see cursor_async.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from balrog import green_call

if TYPE_CHECKING:
    from .copy import Copy
    from .cursor_async import AsyncCursor

__all__ = ["AsyncCopy"]


class AsyncCopy:
    """The object of ``async with cursor.copy(...) as copy``: each call that may send or
    receive runs the sync Copy's as a green task."""

    __module__ = "psycopg"

    def __init__(self, cursor: AsyncCursor[Any], copy: Copy):
        self.cursor = cursor
        self._copy = copy

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
