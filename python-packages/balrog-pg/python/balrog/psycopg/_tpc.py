"""Two-phase commit: ``Xid``, the DB-API transaction identifier, and PostgreSQL's ids for it.

PostgreSQL names a prepared transaction with one string; the DB-API (XA) uses a triple
(format id, global transaction id, branch qualifier). As psycopg (and pgjdbc, so that the
two can recover each other's transactions), a triple becomes
``"<format_id>_<base64 gtrid>_<base64 bqual>"``; any other string is kept as it is, as the
gtrid of an "unparsed" Xid whose format_id and bqual are None.
"""

from __future__ import annotations

import binascii
import datetime as dt
import re
from base64 import b64decode, b64encode
from dataclasses import dataclass, replace

__all__ = ["Xid"]

_TRIPLE = re.compile(r"^(\d+)_([^_]*)_([^_]*)$")
# XA limits on the parts of a triple.
_MAX_PART = 64
_MAX_FORMAT_ID = 0x80000000


@dataclass(frozen=True)
class Xid:
    """A two-phase commit transaction id; unpacks as ``(format_id, gtrid, bqual)``.

    Those returned by ``Connection.tpc_recover()`` also say when the transaction was
    prepared, by whom, in which database.
    """

    format_id: int | None
    gtrid: str
    bqual: str | None
    prepared: dt.datetime | None = None
    owner: str | None = None
    database: str | None = None

    @classmethod
    def from_string(cls, s: str) -> Xid:
        """The Xid a PostgreSQL transaction id stands for: a triple if it is one of ours,
        else an unparsed Xid holding the string."""
        match = _TRIPLE.match(s)
        if match is not None:
            try:
                gtrid = b64decode(match.group(2)).decode()
                bqual = b64decode(match.group(3)).decode()
                return cls.from_parts(int(match.group(1)), gtrid, bqual)
            except (ValueError, TypeError, binascii.Error):
                pass  # looked like a triple but is not one: keep the string
        return cls(None, s, None)

    @classmethod
    def from_parts(cls, format_id: int | None, gtrid: str, bqual: str | None) -> Xid:
        """A checked Xid: a triple within XA's limits.

        Without a format_id, psycopg 3.3 refuses a None bqual and takes any other (its test
        is the other way round from its message); kept as is, so that code written against
        psycopg behaves the same here.
        """
        if format_id is None:
            if bqual is None:
                raise TypeError("if format_id is None, bqual must be None too")
            return cls(None, gtrid, bqual)
        if bqual is None:
            raise TypeError("if format_id is specified, bqual must be too")
        if not 0 <= format_id < _MAX_FORMAT_ID:
            raise ValueError("format_id must be a non-negative 32-bit integer")
        if len(bqual) > _MAX_PART:
            raise ValueError("bqual must be not longer than 64 chars")
        if len(gtrid) > _MAX_PART:
            raise ValueError("gtrid must be not longer than 64 chars")
        return cls(format_id, gtrid, bqual)

    def __str__(self) -> str:
        """The PostgreSQL transaction id (``PREPARE TRANSACTION`` takes it)."""
        if self.format_id is None or self.bqual is None:
            return self.gtrid
        gtrid = b64encode(self.gtrid.encode()).decode()
        bqual = b64encode(self.bqual.encode()).decode()
        return f"{self.format_id}_{gtrid}_{bqual}"

    def __len__(self) -> int:
        return 3

    def __getitem__(self, index: int) -> int | str | None:
        return (self.format_id, self.gtrid, self.bqual)[index]

    @classmethod
    def _from_record(cls, gid: str, prepared: dt.datetime, owner: str, database: str) -> Xid:
        """A row of ``pg_prepared_xacts`` (``tpc_recover``)."""
        return replace(cls.from_string(gid), prepared=prepared, owner=owner, database=database)


# Named as psycopg names it (set after the class: dataclass resolves the annotations in the
# module __module__ names).
Xid.__module__ = "psycopg"

# The query tpc_recover() runs; its columns are _from_record's arguments.
RECOVER_QUERY = "SELECT gid, prepared, owner, database FROM pg_prepared_xacts"
