"""``ServerCursor``: a named cursor (``DECLARE``), rows fetched from the server in batches."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import errors as e
from . import pq
from ._identifiers import quote_identifier
from ._queries import RawQuery, query_bytes
from .cursor import TUPLES_OK, Cursor
from .rows import Row, tuple_row

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["ServerCursor"]

_IDLE = pq.TransactionStatus.IDLE
_INTRANS = pq.TransactionStatus.INTRANS


class ServerCursor(Cursor[Row]):
    """A server-side cursor: ``DECLARE name CURSOR FOR query``, then ``FETCH``."""

    __module__ = "psycopg"

    def __init__(
        self,
        connection: Connection,
        name: str,
        *,
        row_factory: Any = None,
        scrollable: bool | None = None,
        withhold: bool = False,
    ):
        super().__init__(connection, row_factory=row_factory)
        self._name = name
        self._scrollable = scrollable
        self._withhold = withhold
        self._described = False
        # The rows' format from the last execute (psycopg: text for a cursor not executed
        # here, e.g. one declared elsewhere and fetched by name).
        self._result_format = pq.Format.TEXT
        self.itersize: int = 100
        # The page iteration reads from (FETCH FORWARD itersize) and the next row's index in
        # it: rows come one by one, so rownumber follows the loop as in psycopg.
        self._iter_rows: list[Any] | None = None
        self._page_pos = 0
        # The result of the last FETCH (what statusmessage does not report).
        self._fetched: Any = None

    def __del__(self) -> None:
        # As psycopg: the cursor stays open on the server until its transaction ends (for
        # ever with WITH HOLD), so forgetting close() deserves a warning.
        if getattr(self, "_closed", True):
            return
        # Named after the class the user holds (an async cursor wraps this one).
        shown = getattr(self, "_public_class", None) or type(self)
        warnings.warn(
            f"<{shown.__module__}.{shown.__qualname__} object at 0x{id(self):x}>"
            " was deleted while still open."
            " Please use 'with' or '.close()' to close the cursor properly",
            ResourceWarning,
            stacklevel=1,
        )

    def __repr__(self) -> str:
        # The name as the second word, as psycopg's.
        parts = super().__repr__().split(None, 1)
        return " ".join([parts[0], repr(self._name), *parts[1:]])

    @property
    def name(self) -> str:
        return self._name

    @property
    def scrollable(self) -> bool | None:
        return self._scrollable

    @property
    def withhold(self) -> bool:
        return self._withhold

    @property
    def rownumber(self) -> int | None:
        # As psycopg: a position while the cursor shows the describe of its DECLARE or the
        # rows of a FETCH; None before execute, after a failed one and after close().
        res = self._pgresult
        if res is None:
            return None
        return self._pos if res.status == TUPLES_OK or res.command_status is None else None

    @property
    def statusmessage(self) -> str | None:
        # psycopg keeps the status of the describe that follows DECLARE (none) and does not
        # update it per FETCH: a named cursor reports no "FETCH n".
        if self._pgresult is not None and self._pgresult is self._fetched:
            return None
        return super().statusmessage

    def _declare(self, query: Any, params: Any) -> bytes:
        ident = quote_identifier(self._name)
        parts = [b"DECLARE ", ident]
        if self._scrollable is not None:
            parts.append(b" SCROLL" if self._scrollable else b" NO SCROLL")
        parts.append(b" CURSOR")
        if self._withhold:
            parts.append(b" WITH HOLD")
        parts.append(b" FOR ")
        head = b"".join(parts)
        if params is not None and self._query_class is not RawQuery:
            head = head.replace(b"%", b"%%")  # the name is text, not a placeholder
        return head + query_bytes(query, self._transformer())

    def execute(
        self, query: Any, params: Any = None, *, binary: bool | None = None, **kwargs: Any
    ) -> ServerCursor:
        """Declare the cursor for ``query``; rows come with the fetch methods."""
        if kwargs:  # psycopg's server cursors take no `prepare`
            raise TypeError(f"keyword not supported: {next(iter(kwargs))}")
        if self._conn._pipeline is not None:
            raise e.NotSupportedError("server-side cursors not supported in pipeline mode")
        self._check_usable()
        if self._described:
            self._close_on_server()
            self._described = False
        self._reset_for_execute()
        self._iter_rows = None
        # As psycopg: no result from here until the cursor is described (a failed execute
        # leaves none).
        self._clear_results()
        try:
            pgq = self._convert_query(self._declare(query, params), params)
        except Exception:
            # psycopg sends its BEGIN before adapting the parameters.
            self._conn._begin_before_failing()
            raise
        self._query = pgq
        with self._conn.lock:  # BEGIN, DECLARE and the describe go together
            self._conn._start_query()
            # Extended protocol, as psycopg: "DECLARE c CURSOR FOR select 1; select 2" is
            # refused by the server instead of running the second statement.
            self._send(pgq, prepare=False, force_extended=True)
            self._result_format = self._results_format(binary)
            self._describe()
        return self

    def executemany(self, query: Any, params_seq: Iterable[Any], *, returning: bool = True) -> None:
        raise e.NotSupportedError("executemany not supported on server-side cursors")

    def _fetch_command(self, how: bytes) -> Any:
        fetch = b"FETCH " + how + b" FROM " + quote_identifier(self._name)
        native = self._conn._native
        with self._conn.lock:
            if self._result_format:  # binary rows: the extended protocol
                results = self._wait(native.extended(fetch, "", True, [], [], [], self._result_format))
            else:
                results = self._wait(native.simple(fetch))
        res = results[-1]
        self._results = [res]
        self._fetched = res
        # Every FETCH has the columns the describe gave: psycopg calls the row factory once
        # per execute (and when it is set), not per fetch, and keeps its maker.
        pos, count = self._pos, self._rowcount
        maker, arg, factory = self._make_row, self._maker_arg, self._row_factory
        self._row_factory = tuple_row
        try:
            self._select_result(0)
        finally:
            self._row_factory = factory
        self._make_row, self._maker_arg = maker, arg
        self._pos, self._rowcount = pos, count
        return res

    def _describe(self) -> None:
        """The cursor's columns, from a Describe of the portal DECLARE made (as psycopg: a
        result of status COMMAND_OK, without a command tag nor rows); makes the row maker.
        A cursor that does not exist is the server's ``portal "name" does not exist``."""
        self._results = self._wait(self._conn._native.describe_portal(self._name.encode()))
        self._select_result(0)
        self._described = True
        self._rowcount = -1
        self._pos = 0
        self._iter_rows = None

    def _check_usable(self) -> None:
        # psycopg asks the connection first: with both closed, the connection is reported.
        self._conn._check_connection_ok()
        if self._closed:
            raise e.InterfaceError("the cursor is closed")

    def _check_declared(self) -> None:
        self._check_usable()
        if not self._described:
            self._steal()

    def _steal(self) -> None:
        """Fetching from a cursor this object did not declare: one declared by SQL (a
        function returning a refcursor, a DECLARE run elsewhere) under this name. As
        psycopg, describe it and read it from where it is."""
        with self._conn.lock:
            self._conn._start_query()
            self._clear_results()
            self._describe()

    def _take(self, how: bytes) -> list[Any]:
        res = self._fetch_command(how)
        rows = res.fetch(0, res.ntuples, self._maker_arg)
        self._pos += len(rows)
        # rowcount stays -1: psycopg 3.3's server cursors do not count what they fetch.
        return rows  # type: ignore[no-any-return]

    def fetchone(self) -> Any:
        self._check_declared()
        rows = self._take(b"FORWARD 1")
        return rows[0] if rows else None

    def fetchmany(self, size: int = 0) -> list[Any]:
        self._check_declared()
        return self._take(b"FORWARD %d" % (size or self.arraysize))

    def fetchall(self) -> list[Any]:
        self._check_declared()
        return self._take(b"FORWARD ALL")

    def __iter__(self) -> ServerCursor[Row]:
        return self

    def __next__(self) -> Row:
        rows = self._iter_rows
        # A new page when none was read yet, or when the last one was full (more may follow).
        if rows is None or self._page_pos >= len(rows) >= self.itersize:
            self._check_declared()
            rows = self._iter_rows = self._take(b"FORWARD %d" % self.itersize)
            self._pos -= len(rows)  # counted row by row below
            self._page_pos = 0
        if self._page_pos >= len(rows):
            raise StopIteration("no more records to return")
        row = rows[self._page_pos]
        self._page_pos += 1
        self._pos += 1
        return row  # type: ignore[no-any-return]

    def scroll(self, value: int, mode: str = "relative") -> None:
        self._check_usable()
        if mode not in ("relative", "absolute"):
            raise ValueError(f"bad mode: {mode}. It should be 'relative' or 'absolute'")
        # As psycopg, a plain MOVE: a cursor not declared here is described by the first
        # fetch (a missing one is the server's `cursor "x" does not exist`, without a BEGIN).
        if mode == "relative":
            how = b"RELATIVE %d" % value
            newpos = self._pos + value
        else:
            how = b"ABSOLUTE %d" % value
            newpos = value
        with self._conn.lock:
            self._wait(self._conn._native.simple(b"MOVE " + how + b" FROM " + quote_identifier(self._name)))
        # The page being iterated stays (psycopg's behaviour): a loop resumes from it.
        self._pos = newpos

    def close(self) -> None:
        if self._closed:
            return
        try:
            if not self._conn.closed:
                self._close_on_server()
        finally:
            super().close()

    def _close_on_server(self) -> None:
        status = self._conn._native.transaction_status
        if status not in (_IDLE, _INTRANS):
            return
        if not self._withhold and status == _IDLE:
            return
        if not self._described:
            # Not declared here (a cursor declared by SQL, opened by name): closed if the
            # server has one of that name, as psycopg does.
            from .sql import Literal

            name = Literal(self._name)._utf8(self._conn)
            exists = self._conn._exec_command(b"SELECT 1 FROM pg_catalog.pg_cursors WHERE name = " + name)
            if exists is None or not exists.ntuples:
                return
        self._conn._exec_command(b"CLOSE " + quote_identifier(self._name))
