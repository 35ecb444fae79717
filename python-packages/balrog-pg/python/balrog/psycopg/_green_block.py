"""A sync context manager used from async code: ``async with green_block(cm, wrap)``.

The async facades (connection_async.py, cursor_async.py) hand out async blocks over the
sync ones (transactions, pipelines, COPY): entering and leaving do I/O, so each runs as a
green task; the block gets ``wrap(what the sync block entered)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Any, TypeVar

from balrog import green_call

__all__ = ["green_block"]

W = TypeVar("W")


@asynccontextmanager
async def green_block(manager: AbstractContextManager[Any], wrap: Callable[[Any], W]) -> AsyncIterator[W]:
    entered = await green_call(manager.__enter__)
    try:
        yield wrap(entered)
    except BaseException as ex:
        # The sync block's exit decides, as under `with`: a transaction swallows its
        # `Rollback`, everything else goes on.
        if not await green_call(manager.__exit__, type(ex), ex, ex.__traceback__):
            raise
    else:
        await green_call(manager.__exit__, None, None, None)
