"""``ClientCursor``: parameters merged into the query text client-side (Django's default).

Queries go through the simple query protocol, so one execute may hold several statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from . import errors as e
from . import pq
from ._encodings import foreign_codec
from ._queries import ClientQuery
from .cursor import BaseCursor, ConnectionType, Cursor, row_count
from .rows import Row

# Between the statements of an executemany batch, sent as one simple query.
_SEPARATOR = b";\n"

__all__ = ["ClientCursor", "ClientCursorMixin"]


class ClientCursorMixin(BaseCursor[ConnectionType, Row]):
    """Client-side binding for any cursor class (Django mixes it into a server cursor)."""

    _query_class = ClientQuery

    def _check_results_format(self, binary: bool | None) -> None:
        if binary or (binary is None and self.format == pq.Format.BINARY):
            raise e.NotSupportedError("client-side cursors don't support binary results")

    def stream(
        self, query: Any, params: Any = None, *, binary: bool | None = None, size: int = 1
    ) -> Iterator[Any]:
        self._check_results_format(binary)
        return super().stream(query, params, binary=binary, size=size)  # type: ignore[misc, no-any-return]

    def mogrify(self, query: Any, params: Any = None) -> str:
        """The query with the parameters merged in, as it would be sent."""
        pgq = self._convert_query(query, params)
        # Query bytes are UTF-8 in every client encoding (converted on the wire).
        text: str = pgq.query.decode()
        codec = foreign_codec(self._conn)
        if codec is not None:
            text.encode(codec)  # as psycopg: UnicodeEncodeError if the session can't hold it
        return text

    def _send(
        self, pgq: Any, prepare: bool | None = None, force_extended: bool = False, fmt: int = 0
    ) -> list[Any]:
        # Text results only (`fmt` is 0: binary ones are refused before).
        native = self._conn._native
        try:
            if force_extended:
                return self._wait(native.extended(pgq.query, "", True, [], [], []))  # type: ignore[no-any-return]
            return self._wait(native.simple(pgq.query))  # type: ignore[no-any-return]
        except e.Error as exc:
            e._locate(exc, pgq.query)
            raise

    def executemany(self, query: Any, params_seq: Iterable[Any], *, returning: bool = False) -> None:
        """Execute once per parameter set: the statements go in one simple-protocol batch."""
        self._check_closed()
        self._check_results_format(None)
        self._reset_for_execute()
        self._clear_results()  # as psycopg, before anything can fail
        tx = self._transformer()
        statements: list[bytes] = []
        last: ClientQuery | None = None
        for params in params_seq:
            pgq = ClientQuery()
            pgq.convert(query, params, tx)
            statements.append(pgq.query)
            last = pgq
        self._query = last
        if not statements:
            self._rowcount = 0
            return
        self._conn._start_query()
        native = self._conn._native
        results: list[Any] = []
        earlier = 0  # without `returning`: the row count of the results not kept
        # Batches of statements, each one round trip. An error's position is made relative
        # to its own statement, as psycopg sends each one alone.
        for i in range(0, len(statements), 1000):
            chunk = statements[i : i + 1000]
            try:
                results.extend(self._wait(native.simple(_SEPARATOR.join(chunk))))
            except e.Error as exc:
                e._locate_in_batch(exc, chunk, _SEPARATOR)
                raise
            if not returning:
                # Only the last result is kept (a million statements, a million objects).
                earlier += row_count(results[:-1])
                del results[:-1]
        self._finish_many(results, returning, earlier)


class ClientCursor(ClientCursorMixin["Connection[Any]", Row], Cursor[Row]):
    """A cursor with client-side binding."""

    __module__ = "psycopg"
