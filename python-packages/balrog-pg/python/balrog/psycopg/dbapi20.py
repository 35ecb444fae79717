"""PEP 249 module-level objects: type objects, ``Binary`` and the date/time constructors."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
    "Binary",
    "DBAPITypeObject",
    "Date",
    "DateFromTicks",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
    "apilevel",
    "paramstyle",
    "register_dbapi20_adapters",
    "threadsafety",
]

apilevel = "2.0"
threadsafety = 2  # threads may share the module and connections, not cursors
paramstyle = "pyformat"

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Type OIDs of PostgreSQL's builtin types (pg_type.dat), for the type objects.
_BYTEA, _TEXT, _VARCHAR, _BPCHAR, _OID = 17, 25, 1043, 1042, 26
_INT2, _INT4, _INT8, _FLOAT4, _FLOAT8, _NUMERIC = 21, 23, 20, 700, 701, 1700
_DATE, _TIME, _TIMETZ, _TIMESTAMP, _TIMESTAMPTZ, _INTERVAL = 1082, 1083, 1266, 1114, 1184, 1186


class DBAPITypeObject:
    """Compares equal to the type OIDs (``Column.type_code``) of one PEP 249 category."""

    def __init__(self, name: str, oids: Sequence[int]) -> None:
        self.name = name
        self.values = tuple(oids)

    def __repr__(self) -> str:
        return f"psycopg.{self.name}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, int):
            return other in self.values
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, int):
            return other not in self.values
        return NotImplemented


BINARY = DBAPITypeObject("BINARY", (_BYTEA,))
DATETIME = DBAPITypeObject("DATETIME", (_TIMESTAMP, _TIMESTAMPTZ, _DATE, _TIME, _TIMETZ, _INTERVAL))
NUMBER = DBAPITypeObject("NUMBER", (_INT2, _INT4, _INT8, _FLOAT4, _FLOAT8, _NUMERIC))
ROWID = DBAPITypeObject("ROWID", (_OID,))
STRING = DBAPITypeObject("STRING", (_TEXT, _VARCHAR, _BPCHAR))


class Binary:
    """Marks a bytes-like object to be sent as ``bytea``."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __bytes__(self) -> bytes:
        # Lets every bytes dumper (text, binary, client-side literal quoting) take a
        # Binary wherever it takes bytes.
        return bytes(self.obj)

    def __repr__(self) -> str:
        shown = repr(self.obj)
        if len(shown) > 40:
            shown = f"{shown[:35]} ... ({len(shown)} byteschars)"
        return f"{self.__class__.__name__}({shown})"


def Date(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, day)


def DateFromTicks(ticks: float) -> dt.date:
    return TimestampFromTicks(ticks).date()


def Time(hour: int, minute: int, second: int) -> dt.time:
    return dt.time(hour, minute, second)


def TimeFromTicks(ticks: float) -> dt.time:
    return TimestampFromTicks(ticks).time()


def Timestamp(year: int, month: int, day: int, hour: int, minute: int, second: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second)


def TimestampFromTicks(ticks: float) -> dt.datetime:
    """An aware datetime in UTC (psycopg's choice, unlike ``datetime.fromtimestamp``)."""
    return EPOCH + dt.timedelta(seconds=ticks)


def register_dbapi20_adapters(context: Any) -> None:
    """Register the dumpers of :class:`Binary` (also the default for the bytea OID)."""
    text_dumper, binary_dumper = _binary_dumpers()
    adapters = context.adapters
    adapters.register_dumper(Binary, text_dumper)
    adapters.register_dumper(Binary, binary_dumper)
    adapters.register_dumper(None, text_dumper)
    adapters.register_dumper(None, binary_dumper)


@functools.cache
def _binary_dumpers() -> tuple[type, type]:
    # Built on first use: the bytes dumpers live in the driver's types.string, which
    # imports the adaptation machinery this module must not depend on at import time.
    from .types.string import BytesBinaryDumper, BytesDumper

    class BinaryTextDumper(BytesDumper):  # type: ignore[misc, valid-type]
        def dump(self, obj: Any) -> Any:
            return super().dump(obj.obj if isinstance(obj, Binary) else obj)

    class BinaryBinaryDumper(BytesBinaryDumper):  # type: ignore[misc, valid-type]
        def dump(self, obj: Any) -> Any:
            return super().dump(obj.obj if isinstance(obj, Binary) else obj)

    return BinaryTextDumper, BinaryBinaryDumper
