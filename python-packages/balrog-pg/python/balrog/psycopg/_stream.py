"""``Cursor.stream()``: rows yielded while the server is still sending the result.

The native ``PgStream`` (crates/balrog-pg/src/stream.rs) reads a batch of DataRows per op
and leaves the connection ACTIVE in between; only the current batch is in memory. The
connection lock is held until the stream ends, as psycopg does. If the generator is closed
early (``break``, an exception in the consumer, garbage collection), the statement still
running is cancelled and its answers read, the same recovery an interrupted wait gets, so
the connection stays usable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import errors as e

if TYPE_CHECKING:
    from .cursor import BaseCursor

__all__ = ["stream_rows"]


def stream_rows(
    cursor: BaseCursor, query: Any, params: Any, size: int, binary: bool | None = None
) -> Iterator[Any]:
    """Execute ``query`` and yield its rows as they arrive (psycopg's ``Cursor.stream``)."""
    if size < 1:
        raise ValueError("size must be >= 1")
    conn = cursor._conn
    cursor._check_closed()
    if getattr(conn, "_pipeline", None) is not None:
        raise e.ProgrammingError("stream() cannot be used in pipeline mode")
    cursor._reset_for_execute()
    pgq = cursor._convert_query(query, params)
    cursor._query = pgq
    with conn.lock:
        conn._start_query()
        try:
            # A ClientCursor's query has its parameters merged in: none to send (its
            # ClientQuery has no types or formats).
            types = getattr(pgq, "types", None) or []
            params = (pgq.params or []) if types else []
            formats = getattr(pgq, "formats", None) or []
            fmt = cursor._results_format(binary)
            stream = cursor._wait(conn._native.stream(pgq.query, types, params, formats, fmt))
        except e.Error as exc:
            e._locate(exc, pgq.query)
            raise
        try:
            cursor._stream_size = size
            while (batch := _next_batch(cursor, stream, size, pgq.query)) is not None:
                cursor._set_results([batch])
                cursor._stream_batch = batch
                yield from _batch_rows(cursor, batch, size)
            if not stream.returns_rows:
                raise e.ProgrammingError("the operation in stream() didn't produce a result")
        finally:
            if not stream.finished:
                # Closed early: cancel what the server is still sending, keep the connection.
                conn._recover_after_interrupt()


def _batch_rows(cursor: BaseCursor, batch: Any, size: int) -> Iterator[Any]:
    # Decoded a batch at a time; a row_factory changed between two rows applies from the
    # next row on (as in psycopg, which makes each row when it is asked for).
    maker = cursor._maker_arg
    count = batch.ntuples
    rows = batch.fetch(0, count, maker)
    start = 0
    native = cursor._conn._native
    for index in range(count):
        # A batch holds every row already received (fewer reads): psycopg's chunks of
        # ``size`` rows show only in that closing the connection stops at a chunk's end.
        if index % size == 0 and index and native.closed:
            raise e.OperationalError("the connection is closed")
        if cursor._maker_arg is not maker:
            maker = cursor._maker_arg
            rows, start = batch.fetch(index, count, maker), index
        cursor._pos += 1
        yield rows[index - start]


def _next_batch(cursor: BaseCursor, stream: Any, size: int, query: bytes) -> Any:
    if cursor._conn._native.closed:
        # Closed by the consumer between two batches: what the server still sends is lost.
        raise e.OperationalError("the connection is closed")
    try:
        return cursor._wait(stream.next(size))
    except e.Error as exc:
        e._locate(exc, query)
        raise
