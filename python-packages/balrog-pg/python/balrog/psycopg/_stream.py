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


def stream_rows(cursor: BaseCursor, query: Any, params: Any, size: int) -> Iterator[Any]:
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
            stream = cursor._wait(
                conn._native.stream(pgq.query, pgq.types, pgq.params or [], pgq.formats or [])
            )
        except e.Error as exc:
            e._locate(exc, pgq.query, conn.info.encoding)
            raise
        try:
            while (batch := _next_batch(cursor, stream, size, pgq.query)) is not None:
                cursor._set_results([batch])
                for row in batch.fetch(0, batch.ntuples, cursor._maker_arg):
                    cursor._pos += 1
                    yield row
            if not stream.returns_rows:
                raise e.ProgrammingError("the operation in stream() didn't produce a result")
        finally:
            if not stream.finished:
                # Closed early: cancel what the server is still sending, keep the connection.
                conn._recover_after_interrupt()


def _next_batch(cursor: BaseCursor, stream: Any, size: int, query: bytes) -> Any:
    try:
        return cursor._wait(stream.next(size))
    except e.Error as exc:
        e._locate(exc, query, cursor._conn.info.encoding)
        raise
