"""Dates, times, timestamps and intervals."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ... import _pg
from .. import errors as e
from ..adapt import Buffer, Dumper, PyFormat
from ._native import NativeBinaryLoader, NativeLoader

__all__ = [
    "DateDumper",
    "DateLoader",
    "DatetimeDumper",
    "DatetimeNoTzDumper",
    "IntervalLoader",
    "TimeDumper",
    "TimeLoader",
    "TimeTzDumper",
    "TimedeltaDumper",
    "TimestampLoader",
    "TimestamptzLoader",
    "TimetzLoader",
]


class DateDumper(Dumper):
    oid = 1082
    _balrog_enc = 60

    def dump(self, obj: dt.date) -> bytes:
        # str(), as psycopg: the same as isoformat() unless a subclass writes its own.
        return str(obj).encode()


class _BaseTimeDumper(Dumper):
    def dump(self, obj: dt.time) -> bytes:
        return str(obj).encode()


class TimeDumper(_BaseTimeDumper):
    """time: ``time`` when naive, ``timetz`` when it has a tzinfo."""

    oid = 1083
    _balrog_enc = 61

    def get_key(self, obj: dt.time, format: PyFormat) -> Any:
        return TimeDumper if obj.tzinfo is None else TimeTzDumper

    def upgrade(self, obj: dt.time, format: PyFormat) -> Dumper:
        if obj.tzinfo is None:
            return self
        return TimeTzDumper(self.cls, self.connection)


class TimeTzDumper(_BaseTimeDumper):
    oid = 1266
    _balrog_enc = 62

    def dump(self, obj: dt.time) -> bytes:
        # A zone with rules (ZoneInfo) has no offset without a date: refuse, as psycopg,
        # rather than send a time the server would read in the session's TimeZone.
        if obj.utcoffset() is None:
            raise e.DataError(f"cannot calculate the offset of tzinfo '{obj.tzinfo}' without a date")
        return super().dump(obj)


class _BaseDatetimeDumper(Dumper):
    def dump(self, obj: dt.datetime) -> bytes:
        # str() uses a space separator, as psycopg writes it.
        return str(obj).encode()


class DatetimeDumper(_BaseDatetimeDumper):
    """datetime: ``timestamptz`` when aware, ``timestamp`` when naive."""

    oid = 1184
    _balrog_enc = 63

    def get_key(self, obj: dt.datetime, format: PyFormat) -> Any:
        return DatetimeDumper if obj.tzinfo is not None else DatetimeNoTzDumper

    def upgrade(self, obj: dt.datetime, format: PyFormat) -> Dumper:
        if obj.tzinfo is not None:
            return self
        return DatetimeNoTzDumper(self.cls, self.connection)


class DatetimeNoTzDumper(_BaseDatetimeDumper):
    oid = 1114
    _balrog_enc = 64


class TimedeltaDumper(Dumper):
    oid = 1186
    _balrog_enc = 65

    def __init__(self, cls: type, context: Any = None):
        super().__init__(cls, context)
        self._sql_standard = _interval_style(self.connection) == "sql_standard"

    def dump(self, obj: dt.timedelta) -> bytes:
        if self._sql_standard:
            # With IntervalStyle sql_standard a leading minus applies to every field
            # ("-1 day 0:00:05" would be -1 day -5 s): give each field its own sign.
            return b"%+d day %+d second %+d microsecond" % (obj.days, obj.seconds, obj.microseconds)
        # "1 day, 0:00:03" is read fine by PostgreSQL without the comma, and it's documented so.
        return str(obj).replace(",", "").encode()


def _interval_style(connection: Any) -> str:
    if connection is None:
        return ""
    try:
        return connection.info.parameter_status("IntervalStyle") or ""
    except Exception:  # a closed or exotic connection: the default style
        return ""


def _session_styles(connection: Any) -> tuple[str | None, str | None]:
    """The connection's DateStyle and IntervalStyle, as the server last reported them."""
    if connection is None:
        return None, None
    try:
        status = connection.info.parameter_status
        return status("DateStyle"), status("IntervalStyle")
    except Exception:  # a closed or exotic connection: the defaults
        return None, None


class _StyledLoader(NativeLoader):
    """A native loader whose text depends on the session's DateStyle / IntervalStyle.

    Results fetched by a cursor are decoded in the styles the server reported when their
    rows arrived; ``load()`` called directly (a subclass's ``super().load``, a composite's
    field) uses the styles of the loader's connection when it was created, as psycopg does.
    """

    def __init__(self, oid: int, context: Any = None):
        super().__init__(oid, context)
        self._datestyle, self._intervalstyle = _session_styles(self.connection)

    def load(self, data: Buffer) -> Any:
        if type(data) is not bytes:
            data = bytes(data)
        return _pg.decode_value(self._spec, data, self._tz, self._utc, self._datestyle, self._intervalstyle)


class DateLoader(_StyledLoader):
    _balrog_dec = 1082


class TimeLoader(NativeLoader):
    _balrog_dec = 1083


class TimetzLoader(NativeLoader):
    _balrog_dec = 1266


class TimestampLoader(_StyledLoader):
    _balrog_dec = 1114


class TimestamptzLoader(_StyledLoader):
    """timestamptz → aware datetime in the connection's TimeZone."""

    _balrog_dec = 1184


class IntervalLoader(_StyledLoader):
    _balrog_dec = 1186


# Binary values don't depend on DateStyle or IntervalStyle.


class DateBinaryLoader(NativeBinaryLoader):
    _balrog_dec = 1082


class TimeBinaryLoader(NativeBinaryLoader):
    _balrog_dec = 1083


class TimetzBinaryLoader(NativeBinaryLoader):
    _balrog_dec = 1266


class TimestampBinaryLoader(NativeBinaryLoader):
    _balrog_dec = 1114


class TimestamptzBinaryLoader(NativeBinaryLoader):
    """timestamptz → aware datetime in the connection's TimeZone."""

    _balrog_dec = 1184


class IntervalBinaryLoader(NativeBinaryLoader):
    _balrog_dec = 1186


def register_default_adapters(context: Any) -> None:
    adapters = context.adapters
    adapters.register_dumper(dt.date, DateDumper)
    adapters.register_dumper(dt.time, TimeDumper)
    adapters.register_dumper(dt.datetime, DatetimeDumper)
    adapters.register_dumper(dt.timedelta, TimedeltaDumper)
    adapters.register_loader(1082, DateLoader)
    adapters.register_loader(1083, TimeLoader)
    adapters.register_loader(1266, TimetzLoader)
    adapters.register_loader(1114, TimestampLoader)
    adapters.register_loader(1184, TimestamptzLoader)
    adapters.register_loader(1186, IntervalLoader)
    adapters.register_loader(1082, DateBinaryLoader)
    adapters.register_loader(1083, TimeBinaryLoader)
    adapters.register_loader(1266, TimetzBinaryLoader)
    adapters.register_loader(1114, TimestampBinaryLoader)
    adapters.register_loader(1184, TimestamptzBinaryLoader)
    adapters.register_loader(1186, IntervalBinaryLoader)
