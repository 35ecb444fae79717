"""Which statements to prepare (psycopg's ``prepare_threshold`` / ``prepared_max`` rules)."""

from __future__ import annotations

import re
import sys
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

__all__ = ["PrepareManager"]

Key = tuple[bytes, tuple[int, ...]]

# Command tags after which psycopg forgets its prepared statements (and deallocates them).
_INVALIDATES = re.compile(r"(?:DROP|ALTER|ROLLBACK|DISCARD ALL|DEALLOCATE ALL)\b").match


class PrepareManager:
    """Counts executions per (query, parameter types); prepares past the threshold."""

    def __init__(self, prepare_threshold: int | None = 5, prepared_max: int | None = 100):
        self.prepare_threshold = prepare_threshold
        self.prepared_max = prepared_max
        self._counts: OrderedDict[Key, int] = OrderedDict()
        self._names: OrderedDict[Key, str] = OrderedDict()
        # The statement at the end of ``_names`` (most recently used): running it again
        # leaves the LRU order as it is, without a move_to_end.
        self._last: str | None = None
        self._next = 0
        # Names forgotten by clear() but still allocated on the server.
        self._stale: list[str] = []
        # Set by clear() when the server still holds statements: the connection runs
        # DEALLOCATE ALL right after the command that cleared (psycopg's order, so
        # pg_prepared_statements agrees) when it can; else `_stale` is closed with the
        # next statement prepared.
        self.flush_all = False

    def prepared_name(self, pgq: Any) -> str | None:
        """The name ``pgq`` is prepared under, if it is (then it is the most recently used)."""
        types = pgq.types
        key = (pgq.query, tuple(types) if types else ())
        name = self._names.get(key)
        if name is not None and name is not self._last:
            self._names.move_to_end(key)
            self._last = name
        return name

    def decide(self, pgq: Any, prepare: bool | None) -> tuple[str, bool, tuple[str, ...]] | None:
        """None to run ``pgq`` (a PostgresQuery) unprepared; else (statement name, parse
        it now, names to deallocate)."""
        if prepare is False or self.prepare_threshold is None:
            return None
        types = pgq.types
        key = (pgq.query, tuple(types) if types else ())
        name = self._names.get(key)
        if name is not None:
            if name is not self._last:
                self._names.move_to_end(key)
                self._last = name
            return name, False, ()
        # prepared_max: sys.maxsize for "no limit" (psycopg's storage of None).
        limit = self.prepared_max if self.prepared_max is not None else sys.maxsize
        count = self._counts.get(key)
        if not prepare and (count or 0) < self.prepare_threshold:
            if count is None:
                # psycopg's rotation: a query counted for the first time pushes out the
                # least recently run one past `prepared_max` (one at a time), so with a
                # small cache queries taking turns may never reach the threshold.
                self._counts[key] = 1
                if len(self._counts) > limit:
                    self._counts.popitem(last=False)
            else:
                self._counts[key] = count + 1
                self._counts.move_to_end(key)
            return None
        # Statements forgotten by clear() go first (and once).
        evicted, self._stale = self._stale, []
        self.flush_all = False
        # Kept within prepared_max. (psycopg trims its cache only when a query it has not
        # counted yet is run, so statements prepared from the counts can take it past
        # prepared_max: docs/pg.md, "Missing / fragile".)
        while self._names and len(self._names) >= limit:
            evicted.append(self._names.popitem(last=False)[1])
        if self._last in evicted:
            # `_last` always names a prepared statement: a cursor's lane (lane.rs) runs
            # its statement while it is `_last`.
            self._last = None
        name = f"_pg3_{self._next}"
        self._next += 1
        return name, True, tuple(evicted)

    def prepared(self, pgq: Any, name: str) -> None:
        """The statement ``name`` (for ``pgq``) now exists on the server."""
        types = pgq.types
        key = (pgq.query, tuple(types) if types else ())
        self._counts.pop(key, None)
        self._names[key] = name
        self._last = name

    def forget_unconfirmed(self, statements: Iterable[tuple[Any, str]], closed: Iterable[str] = ()) -> None:
        """After a request that failed: ``(pgq, name)`` pairs it filed by ``prepared`` and
        the names it closed. Whether the server got to those Parse and Close messages is
        not known, so the statements are forgotten here and closed (again) with the next
        statement prepared (closing a statement that does not exist is not an error)."""
        self._stale.extend(closed)
        for pgq, name in statements:
            types = pgq.types
            key = (pgq.query, tuple(types) if types else ())
            if self._names.get(key) == name:
                del self._names[key]
                if self._last == name:
                    self._last = None
            self._stale.append(name)

    def not_preparable(self, pgq: Any) -> None:
        """``pgq`` gave several results (several statements): the server cannot prepare it,
        so its executions stop counting towards the threshold (psycopg's rule)."""
        types = pgq.types
        self._counts.pop((pgq.query, tuple(types) if types else ()), None)

    def check_command(self, status: Any) -> None:
        """Forget the prepared statements after a command that may make them wrong or drop
        them, as psycopg does: DDL (a statement prepared before ALTER TABLE fails with
        "cached plan must not change result type"), ROLLBACK, DISCARD ALL, DEALLOCATE ALL."""
        if not status or not self._names:
            return
        if status in ("DISCARD ALL", "DEALLOCATE ALL"):
            self.clear(on_server=False)
        elif _INVALIDATES(status):
            self.clear()

    def clear(self, on_server: bool = True) -> None:
        """Forget every statement; those still on the server (``on_server``) are left to the
        connection's ``_flush_prepared`` (see ``flush_all``)."""
        if on_server and self._names:
            self._stale.extend(self._names.values())
            self.flush_all = True
        self._counts.clear()
        self._names.clear()
        self._last = None
