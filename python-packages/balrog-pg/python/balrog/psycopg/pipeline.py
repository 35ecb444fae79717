"""``Connection.pipeline()``: statements queued and sent together (psycopg's pipeline mode).

Inside the block, ``execute``/``executemany`` queue their statements instead of running
them. A flush sends the whole queue in one write — Parse/Bind/Describe/Execute per
statement, one Sync (crates/balrog-pg/src/pipeline.rs) — and hands each cursor its result.

Flushes happen where psycopg has results delivered:

* sync points: ``sync()``, entering a nested block with statements queued, leaving a
  block, and every transaction command (implicit BEGIN, ``commit()``, ``rollback()``,
  ``transaction()``'s BEGIN/SAVEPOINT/RELEASE), which psycopg also follows with a sync;
* a fetch on a cursor whose statement is still queued, and ``executemany(returning=True)``.

Errors as psycopg: the first failing statement's error is raised at the flush; the server
skips the statements after it (in autocommit mode the whole batch is one implicit
transaction, rolled back); their cursors get no result. After an error delivered by a
fetch, statements issued before the next sync point are not sent and that sync raises
``PipelineAborted``.

Statements are prepared by psycopg's rules (``prepare=True``, or past
``prepare_threshold`` executions), decided when they are queued: a statement queued after
one that prepares it uses the name without a Parse of its own. A Parse that did not run
(its statement failed, or was skipped after a failure) is forgotten again.

Differences from psycopg (libpq sends a Flush, not a Sync, for a fetch): a fetch ends the
implicit transaction of the statements sent so far in autocommit mode.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import errors as e
from . import pq
from ._connection_info import connection_summary
from ._queries import ClientQuery

if TYPE_CHECKING:
    from .connection import Connection
    from .cursor import BaseCursor

__all__ = ["Pipeline", "pipeline_block"]

logger = logging.getLogger("psycopg")


@dataclass
class _ManyGroup:
    """The statements one ``executemany`` queued: results go to its cursor together."""

    cursor: BaseCursor
    returning: bool
    expected: int = 0
    results: list[Any] = field(default_factory=list)


@dataclass
class _Queued:
    """One statement waiting for the next flush."""

    query: bytes
    types: list[int]
    params: Any
    formats: list[int]
    cursor: BaseCursor | None = None
    # 1: the rows in binary format.
    result_format: int = 0
    group: _ManyGroup | None = None
    # Issued after an error was delivered and before a sync point: never sent.
    aborted: bool = False
    # The prepared statement ("" for the unnamed one), whether this entry Parses it, and
    # the evicted statements it Closes first.
    name: str = ""
    parse: bool = True
    deallocate: tuple[str, ...] = ()


class Pipeline:
    """The queue of a connection in pipeline mode (one per connection, nesting counts)."""

    __module__ = "psycopg"

    def __init__(self, conn: Connection):
        self._conn = conn
        self.level = 0
        self._queue: list[_Queued] = []
        self._aborted = False

    def __repr__(self) -> str:
        cls = f"{type(self).__module__}.{type(self).__qualname__}"
        return f"<{cls} {connection_summary(self._conn)} at 0x{id(self):x}>"

    @property
    def status(self) -> pq.PipelineStatus:
        if not self.level:
            return pq.PipelineStatus.OFF
        return pq.PipelineStatus.ABORTED if self._aborted else pq.PipelineStatus.ON

    @classmethod
    def is_supported(cls) -> bool:
        return True

    # -- the block --------------------------------------------------------------------------

    def __enter__(self) -> Pipeline:
        with self._conn.lock:
            if self.level and self._queue:
                # A nested block starts from a clean state (psycopg syncs here too).
                self._flush(sync_point=True)
            self.level += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        try:
            if self._conn.closed:
                # As psycopg, whose exit syncs: a connection closed in the block fails it.
                raise e.OperationalError("the connection is closed")
            with self._conn.lock:
                self._flush(sync_point=True)
        except Exception as exc2:
            # Don't clobber an exception raised in the block with this one.
            if exc_val is not None:
                logger.warning("error ignored terminating %r: %s", self, exc2)
            else:
                raise exc2.with_traceback(None) from None
        finally:
            self.level -= 1

    def sync(self) -> None:
        """Send the queued statements and deliver their results (raises the first error)."""
        with self._conn.lock:
            self._flush(sync_point=True)

    # -- what cursors and the connection call -----------------------------------------------

    def queue_execute(
        self, cursor: BaseCursor, pgq: Any, fmt: int = 0, prepare: bool | None = None
    ) -> BaseCursor:
        """``cursor.execute()`` in pipeline mode: queue the converted query."""
        with self._conn.lock:
            self._conn._start_query()  # BEGIN is a sync point, as psycopg
        _clear_results(cursor)
        entry = _entry(pgq, cursor=cursor, aborted=self._aborted, result_format=fmt)
        self._queue.append(self._prepared(entry, pgq, prepare))
        return cursor

    def _prepared(self, entry: _Queued, pgq: Any, prepare: bool | None) -> _Queued:
        """Apply the connection's prepare decision to ``entry`` (as ``Cursor._send``; a
        ClientCursor's statements, literals merged in, are never prepared)."""
        if entry.aborted or type(pgq) is ClientQuery:
            return entry
        manager = self._conn._prepared
        decision = manager.decide(pgq, prepare)
        if decision is not None:
            entry.name, entry.parse, entry.deallocate = decision
            if entry.parse:
                # Filed now, so the next statements of this queue use the name; forgotten
                # again if its Parse does not run (`_forget_unrun`).
                manager.prepared(pgq, entry.name)
        return entry

    def queue_many(self, cursor: BaseCursor, query: Any, params_seq: Iterable[Any], returning: bool) -> None:
        """``cursor.executemany()`` in pipeline mode: one queued statement per row."""
        with self._conn.lock:
            self._conn._start_query()
        _clear_results(cursor)
        if not returning:
            cursor._rowcount = 0
        group = _ManyGroup(cursor, returning)
        for params in params_seq:
            pgq = cursor._convert_query(query, params)
            if group.expected == 0:
                cursor._query = pgq
            group.expected += 1
            entry = _entry(
                pgq, cursor=cursor, group=group, aborted=self._aborted, result_format=cursor.format
            )
            self._queue.append(self._prepared(entry, pgq, None))
        if returning and group.expected:
            # psycopg fetches right away when the rows are asked for.
            with self._conn.lock:
                self._flush(sync_point=False)

    def command(self, command: bytes) -> None:
        """A transaction command (BEGIN, COMMIT, SAVEPOINT...): queued, then a sync point."""
        with self._conn.lock:
            if self._queue:
                # What came before runs in its own batch: a BEGIN must not adopt it.
                self._flush(sync_point=True)
            self._queue.append(_Queued(command, [], [], []))
            self._flush(sync_point=True)

    def fetch_for(self, cursor: BaseCursor) -> None:
        """Before a fetch: if ``cursor``'s statement is still queued, flush."""
        if any(entry.cursor is cursor for entry in self._queue):
            with self._conn.lock:
                self._flush(sync_point=False)

    # -- the round trip ---------------------------------------------------------------------

    def _flush(self, *, sync_point: bool) -> None:
        queue, self._queue = self._queue, []
        live = [entry for entry in queue if not entry.aborted]
        first_error: BaseException | None = None
        self._forget_unrun([entry for entry in queue if entry.aborted])
        if live:
            conn = self._conn
            statements = [
                (q.query, q.types, q.params, q.formats, q.result_format, q.name, q.parse, list(q.deallocate))
                for q in live
            ]
            try:
                results, error = conn._wait(conn._native.pipeline(statements))
            except BaseException:
                self._forget_unrun(live)  # whatever the server got to is unknown
                raise
            finally:
                if conn._native.has_pending:
                    conn._dispatch_pending()
            # The failed statement and those the server skipped after it.
            self._forget_unrun(live[len(results) :])
            for entry, result in zip(live, results, strict=False):
                _deliver(entry, result)
            if len(results) < len(live):
                # The statement at len(results) failed; the server skipped the others.
                if error is not None:
                    e._locate(error, live[len(results)].query)
                first_error = error if error is not None else e.PipelineAborted("pipeline aborted")
        if first_error is None and len(live) < len(queue):
            first_error = e.PipelineAborted("pipeline aborted")
        # After a sync point the server runs statements again; after an error delivered to
        # a fetch, psycopg's pipeline stays aborted until the next sync point.
        self._aborted = False if sync_point else first_error is not None
        if first_error is not None:
            raise first_error

    def _forget_unrun(self, entries: list[_Queued]) -> None:
        """Statements that may not have run: their Parse is forgotten, and the statements
        they were to Close are closed with a later Parse."""
        unconfirmed = [(entry, entry.name) for entry in entries if entry.name and entry.parse]
        closed = [name for entry in entries for name in entry.deallocate]
        if unconfirmed or closed:
            self._conn._prepared.forget_unconfirmed(unconfirmed, closed)


def _entry(pgq: Any, **kwargs: Any) -> _Queued:
    if type(pgq) is ClientQuery:
        # A ClientCursor's statement: the values are in the query text already (its
        # `params` are the caller's objects, kept for `_query.params`).
        return _Queued(pgq.query, [], [], [], **kwargs)
    # params: an encoded native ``Params`` or a list of bytes/None, passed through as is.
    params = pgq.params if pgq.params is not None else []
    return _Queued(pgq.query, list(pgq.types or []), params, list(pgq.formats or []), **kwargs)


def _clear_results(cursor: BaseCursor) -> None:
    # Until the flush the cursor has no result (psycopg: pgresult None, rowcount -1).
    cursor._results = []
    cursor._pgresult = None
    cursor._rowcount = -1
    cursor._many_status = None


def _deliver(entry: _Queued, result: Any) -> None:
    group = entry.group
    if group is not None:
        group.results.append(result)
        if len(group.results) == group.expected:
            group.cursor._finish_many(group.results, group.returning)
    elif entry.cursor is not None:
        entry.cursor._set_results([result])


@contextmanager
def pipeline_block(conn: Connection) -> Iterator[Pipeline]:
    """``conn.pipeline()``: the connection's pipeline, created by the outermost block."""
    conn._check_connection_ok()
    pipeline = conn._pipeline
    if pipeline is None:
        pipeline = conn._pipeline = Pipeline(conn)
    try:
        with pipeline:
            yield pipeline
    finally:
        if pipeline.level == 0:
            conn._pipeline = None
