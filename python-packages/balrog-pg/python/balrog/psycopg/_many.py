"""``executemany`` rows encoded and sent a chunk at a time.

The server runs the first rows while the next chunk is still being encoded in this thread
(on two CPUs the two overlap, as asyncpg's do through its event loop), and at most one
chunk's encoded parameters are held at a time. The rows form one request with a single
Sync at the end (balrog-pg's ``many.rs``), which gives psycopg's pipeline semantics: in
autocommit mode a server error rolls back every row of the call, while rows sent before
one that cannot be adapted still run (psycopg leaves its pipeline block with a sync). A
call interrupted between chunks (Ctrl-C, a cancelled task) commits none of its rows: the
recovery fails the request before its Sync. The statement is prepared as psycopg
prepares executemany's: one per parameter types, under ``prepare_threshold`` and
``prepared_max``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from .. import _pg
from . import errors as e
from ._interrupts import INTERRUPTED

__all__ = ["send_many"]

logger = logging.getLogger("psycopg")

# Small first chunks get the server going soon; larger ones later keep native calls few.
FIRST_CHUNK = 256
MAX_CHUNK = 4096


class RowEncoding(NamedTuple):
    """What ``encode_many`` needs for every chunk of one call."""

    width: int
    fmts: tuple[int, ...]
    maps: list[Any]
    fallback: Callable[..., Any]
    # Turns a chunk of rows into sequences of values in placeholder order.
    to_sequences: Callable[[list[Any]], list[Any]]


def chunk_bounds(count: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of each chunk of ``count`` rows."""
    start, size = 0, FIRST_CHUNK
    while start < count:
        stop = min(count, start + size)
        yield start, stop
        start, size = stop, min(size * 2, MAX_CHUNK)


def send_many(
    cursor: Any,
    query: bytes,
    rows: list[Any],
    encoding: RowEncoding,
    bad_row: Callable[[int], None],
    returning: bool,
    result_format: int = 0,
) -> Any:
    """Run ``query`` once per row; the answer of the native ``many`` op's last chunk.

    ``bad_row(index)`` raises the error psycopg gives for a row of the wrong shape.
    The caller holds the connection's lock.
    """
    conn = cursor._conn
    native = conn._native
    manager = conn._prepared
    width, fmts, maps, fallback, to_sequences = encoding
    summarize = not returning
    count = len(rows)
    parsed: list[int] | None = None  # the types of the unnamed statement last parsed
    new_names: list[tuple[_Statement, str]] = []
    closed: list[str] = []  # statements evicted from the cache, closed in this request
    first = True
    try:
        for start, stop in chunk_bounds(count):
            chunk, convert_error = _converted(to_sequences, rows[start:stop])
            bad, error, batches = _pg.encode_many(chunk, width, fmts, maps, fallback)
            if bad is None and convert_error is not None:
                bad, error = len(chunk), convert_error
            for batch in batches:
                last = bad is None and stop == count and batch is batches[-1]
                types = batch.types
                # Prepared as psycopg does (one statement per parameter types), unless
                # prepared statements are off.
                statement = _Statement(query, types)
                decision = manager.decide(statement, True)
                if decision is None:
                    name, parse, deallocate = "", types != parsed, ()
                    parsed = types
                else:
                    name, parse, deallocate = decision
                    closed.extend(deallocate)
                    if parse:
                        # Filed at once, so that rows of these types in a later chunk
                        # reuse it; taken back below if the request fails.
                        manager.prepared(statement, name)
                        new_names.append((statement, name))
                op = native.many(
                    query, name, parse, types, batch, batch.formats, returning, summarize, first, last,
                    deallocate, result_format,
                )  # fmt: skip
                first = False
                answer = cursor._wait(op)
                if last:
                    return answer
            if bad is not None:
                # The rows before it were sent: they run, as in psycopg (_end_unsynced).
                if error is not None:
                    raise error
                bad_row(start + bad)
    except BaseException as ex:
        if native.unsynced:
            _end_unsynced(conn, ex)
        if new_names or closed:
            # A server error skips the rest of the request, Close messages included.
            manager.forget_unconfirmed(new_names, closed)
        raise
    raise AssertionError("executemany ended without its last chunk")  # pragma: no cover


def _converted(
    to_sequences: Callable[[list[Any]], list[Any]], rows: list[Any]
) -> tuple[list[Any], Exception | None]:
    """``to_sequences(rows)``; if a row fails, the rows before it and the row's error."""
    try:
        return to_sequences(rows), None
    except Exception:
        pass
    done: list[Any] = []
    for row in rows:
        try:
            done.extend(to_sequences([row]))
        except Exception as ex:
            return done, ex
    raise AssertionError("a chunk failed to convert but none of its rows did")  # pragma: no cover


class _Statement:
    """The key the prepared-statement cache files a statement under (query and types)."""

    __slots__ = ("query", "types")

    def __init__(self, query: bytes, types: list[int]):
        self.query = query
        self.types = types


def _end_unsynced(conn: Any, ex: BaseException) -> None:
    """The rows stopped half way, some of them sent: end the request so that the
    connection is usable again."""
    if isinstance(ex, INTERRUPTED):
        # Ctrl-C or a cancelled task between two chunks: as an interrupted wait.
        conn._recover_after_interrupt()
        return
    # A row that cannot be adapted: the rows before it run, as in psycopg.
    try:
        conn._wait(conn._native.many_sync(True))
    except e.Error as sync_error:
        logger.warning("error ignored ending executemany after %r: %s", ex, sync_error)
