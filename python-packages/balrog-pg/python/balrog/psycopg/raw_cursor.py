"""Raw-query cursors: the query goes as written, with PostgreSQL's ``$1, $2`` placeholders.

psycopg's ``RawCursor`` and ``RawServerCursor``: no ``%s`` conversion (a ``%`` is just a
character), parameters in a sequence, each dumped as for ``%s``.
"""

from __future__ import annotations

from ._queries import RawQuery
from .cursor import Cursor
from .rows import Row
from .server_cursor import ServerCursor

__all__ = ["RawCursor", "RawCursorMixin", "RawServerCursor"]


class RawCursorMixin:
    """Makes a cursor class send its queries raw."""

    _query_class = RawQuery


class RawCursor(RawCursorMixin, Cursor[Row]):
    """A client cursor with server-side binding and ``$n`` placeholders."""

    __module__ = "psycopg"


class RawServerCursor(RawCursorMixin, ServerCursor[Row]):
    """A server-side (named) cursor with ``$n`` placeholders."""

    __module__ = "psycopg"
