"""Binary dumpers of the builtin types: what ``%b`` placeholders send.

psycopg dumps every builtin type in PostgreSQL's binary wire format when asked (``%b``).
Where psycopg's ``%s`` sends binary (numbers, bools, dates and times, intervals, UUIDs,
addresses) they are registered after the text dumpers and win AUTO
(``register_auto_adapters``); the others before, so that ``%s`` keeps text for them
(``register_default_adapters``). Most are encoded in Rust (``_balrog_enc``, balrog-pg's
``encode_binary.rs``); the others only through ``dump`` here.

The formats are PostgreSQL's ``*send`` functions: big-endian integers and IEEE floats,
dates as days and times as microseconds since 2000-01-01, intervals as (microseconds, days,
months), numerics as base-10000 digit groups, inet/cidr as (family, bits, is-cidr, length,
address).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import operator
import struct
import uuid
from decimal import Decimal
from typing import Any

from .. import errors as e
from ..adapt import Dumper, PyFormat
from ..pq import Format
from .numeric import Float4, Float8, Int2, Int4, Int8, IntNumeric, Oid

__all__ = ["register_default_adapters"]

_PG_EPOCH_DATE = dt.date(2000, 1, 1)
_PG_EPOCH_ORDINAL = _PG_EPOCH_DATE.toordinal()
_PG_EPOCH = dt.datetime(2000, 1, 1)
_PG_EPOCH_UTC = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class _BinaryDumper(Dumper):
    format = Format.BINARY


# -- numbers --------------------------------------------------------------------------------


def _packer(fmt: str, oid: int, name: str, native: int, cls_name: str = "") -> type[_BinaryDumper]:
    pack = struct.Struct(fmt).pack

    def dump(self: Dumper, obj: Any) -> bytes:
        try:
            return pack(obj)
        except struct.error:
            # A value of the wrong kind raises psycopg's TypeError, with CPython's own
            # message (its C dumpers convert with the same C-API calls); an integer out of
            # range is a DataError (psycopg's int2/int4 dumpers truncate it silently).
            if name.startswith("float"):
                math.isnan(obj)  # TypeError: must be real number, not str
            elif name != "oid":
                operator.index(obj)  # TypeError: 'float' object cannot be interpreted as an integer
            raise e.DataError(f"{obj!r} does not fit in {name}") from None
        except OverflowError:
            if name != "float4":
                raise
            # A double beyond float4's range: infinity, as psycopg's C dumper narrows it.
            return pack(math.copysign(math.inf, obj))

    # __module__ given: type() under ABCMeta would otherwise say "abc".
    attrs = {"oid": oid, "dump": dump, "__module__": __name__, "_balrog_enc": native}
    return type(cls_name or f"{name.title()}BinaryDumper", (_BinaryDumper,), attrs)


# The last argument: the native encoder's code (balrog-pg encode.rs `code`).
Int2BinaryDumper = _packer("!h", 21, "int2", 8)
Int4BinaryDumper = _packer("!i", 23, "int4", 9)
Int8BinaryDumper = _packer("!q", 20, "int8", 12)
OidBinaryDumper = _packer("!I", 26, "oid", 13)
FloatBinaryDumper = _packer("!d", 701, "float8", 14, "FloatBinaryDumper")
Float4BinaryDumper = _packer("!f", 700, "float4", 15)


_NUMERIC_HEAD = struct.Struct("!HhHH")
_NUMERIC_NAN = _NUMERIC_HEAD.pack(0, 0, 0xC000, 0)
_NUMERIC_POS_INF = _NUMERIC_HEAD.pack(0, 0, 0xD000, 0)
_NUMERIC_NEG_INF = _NUMERIC_HEAD.pack(0, 0, 0xF000, 0)


def numeric_binary(value: Decimal | int) -> bytes:
    """``numeric_send``: sign, display scale and base-10000 digit groups around the point."""
    if not isinstance(value, Decimal):
        # An int, or any integer-like value (a numpy integer through COPY's set_types).
        value = Decimal(operator.index(value))
    if value.is_nan():
        return _NUMERIC_NAN
    if value.is_infinite():
        return _NUMERIC_NEG_INF if value.is_signed() else _NUMERIC_POS_INF
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    if exponent >= 0:
        whole, fraction = text + "0" * exponent, ""
    else:
        text = text.rjust(-exponent + 1, "0")
        whole, fraction = text[:exponent], text[exponent:]
    # Whole part padded on the left and fraction on the right to groups of four digits.
    whole = whole.rjust(-(-len(whole) // 4) * 4, "0")
    fraction = fraction.ljust(-(-len(fraction) // 4) * 4, "0")
    groups = [int(whole[i : i + 4]) for i in range(0, len(whole), 4)]
    weight = len(groups) - 1
    groups += [int(fraction[i : i + 4]) for i in range(0, len(fraction), 4)]
    while groups and groups[0] == 0:  # leading zero groups only lower the weight
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    head = _NUMERIC_HEAD.pack(len(groups), weight, 0x4000 if sign else 0, max(0, -exponent))
    return head + struct.pack(f"!{len(groups)}H", *groups)


class DecimalBinaryDumper(_BinaryDumper):
    oid = 1700

    def dump(self, obj: Any) -> bytes:
        return numeric_binary(obj)


class IntNumericBinaryDumper(DecimalBinaryDumper):
    pass


class IntBinaryDumper(_BinaryDumper):
    """Python int: int2, int4, int8 or numeric, the smallest that holds the value (as the
    text IntDumper). Its own oid is 0, as psycopg's: the upgraded dumper gives the type."""

    oid = 0
    _balrog_enc = 7

    def dump(self, obj: Any) -> bytes:
        return self.upgrade(obj, PyFormat.BINARY).dump(obj)  # type: ignore[return-value]

    def get_key(self, obj: int, format: PyFormat) -> Any:
        if -32768 <= obj <= 32767:
            return Int2BinaryDumper
        if -2147483648 <= obj <= 2147483647:
            return Int4BinaryDumper
        if -9223372036854775808 <= obj <= 9223372036854775807:
            return Int8BinaryDumper
        return IntNumericBinaryDumper

    def upgrade(self, obj: int, format: PyFormat) -> Dumper:
        return self.get_key(obj, format)(self.cls, self.connection)  # type: ignore[no-any-return]


class BoolBinaryDumper(_BinaryDumper):
    oid = 16
    _balrog_enc = 21

    def dump(self, obj: Any) -> bytes:
        return b"\x01" if obj else b"\x00"


# -- dates and times ------------------------------------------------------------------------

_pack_int4 = struct.Struct("!i").pack
_pack_int8 = struct.Struct("!q").pack
_pack_timetz = struct.Struct("!qi").pack
_pack_interval = struct.Struct("!qii").pack


def _micros(delta: dt.timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


class DateBinaryDumper(_BinaryDumper):
    oid = 1082
    _balrog_enc = 66

    def dump(self, obj: Any) -> bytes:
        # By ordinal, as psycopg: a datetime gives its date.
        try:
            ordinal = obj.toordinal()
        except AttributeError:
            raise TypeError(f"date expected, got {type(obj).__name__!r}") from None
        return _pack_int4(ordinal - _PG_EPOCH_ORDINAL)


class TimeBinaryDumper(_BinaryDumper):
    oid = 1083
    _balrog_enc = 67  # naive and aware times alike (the native encoder picks the type)

    def dump(self, obj: Any) -> bytes:
        return _pack_int8(((obj.hour * 60 + obj.minute) * 60 + obj.second) * 1_000_000 + obj.microsecond)

    def get_key(self, obj: dt.time, format: PyFormat) -> Any:
        return TimeBinaryDumper if obj.tzinfo is None else TimeTzBinaryDumper

    def upgrade(self, obj: dt.time, format: PyFormat) -> Dumper:
        return self.get_key(obj, format)(self.cls, self.connection)  # type: ignore[no-any-return]


class TimeTzBinaryDumper(_BinaryDumper):
    oid = 1266

    def dump(self, obj: Any) -> bytes:
        micros = ((obj.hour * 60 + obj.minute) * 60 + obj.second) * 1_000_000 + obj.microsecond
        offset = obj.utcoffset()
        if offset is None:
            raise e.DataError(f"cannot calculate the offset of tzinfo '{obj.tzinfo}' without a date")
        # PostgreSQL counts the zone in seconds west of UTC.
        return _pack_timetz(micros, -int(offset.total_seconds()))


class DatetimeBinaryDumper(_BinaryDumper):
    oid = 1184
    _balrog_enc = 68  # naive and aware datetimes alike (the native encoder picks the type)

    def dump(self, obj: Any) -> bytes:
        return _pack_int8(_micros(obj - _PG_EPOCH_UTC))

    def get_key(self, obj: dt.datetime, format: PyFormat) -> Any:
        return DatetimeBinaryDumper if obj.tzinfo is not None else DatetimeNoTzBinaryDumper

    def upgrade(self, obj: dt.datetime, format: PyFormat) -> Dumper:
        return self.get_key(obj, format)(self.cls, self.connection)  # type: ignore[no-any-return]


class DatetimeNoTzBinaryDumper(_BinaryDumper):
    oid = 1114

    def dump(self, obj: Any) -> bytes:
        return _pack_int8(_micros(obj - _PG_EPOCH))


class TimedeltaBinaryDumper(_BinaryDumper):
    oid = 1186
    _balrog_enc = 69

    def dump(self, obj: Any) -> bytes:
        return _pack_interval(obj.seconds * 1_000_000 + obj.microseconds, obj.days, 0)


# -- uuid, inet/cidr ----------------------------------------------------------------------------


class UUIDBinaryDumper(_BinaryDumper):
    oid = 2950
    _balrog_enc = 71

    def dump(self, obj: Any) -> bytes:
        return obj.bytes  # type: ignore[no-any-return]


_AF_INET, _AF_INET6 = 2, 3  # PostgreSQL's own family codes (utils/inet.h)


def _inet_binary(address: Any, bits: int, is_cidr: bool) -> bytes:
    packed = address.packed
    family = _AF_INET if address.version == 4 else _AF_INET6
    return bytes((family, bits, int(is_cidr), len(packed))) + packed


class InetBinaryDumper(_BinaryDumper):
    """Addresses and interfaces → inet."""

    oid = 869

    def dump(self, obj: Any) -> bytes:
        if isinstance(obj, ipaddress.IPv4Interface | ipaddress.IPv6Interface):
            return _inet_binary(obj.ip, obj.network.prefixlen, False)
        return _inet_binary(obj, obj.max_prefixlen, False)


class NetworkBinaryDumper(_BinaryDumper):
    """Networks → cidr."""

    oid = 650

    def dump(self, obj: Any) -> bytes:
        return _inet_binary(obj.network_address, obj.prefixlen, True)


def register_default_adapters(context: Any) -> None:
    """Before the text modules: the binary dumpers of the types whose ``%s`` stays text in
    psycopg (the text dumper, registered later, wins AUTO), and those reached by oid only."""
    adapters = context.adapters
    adapters.register_dumper(IntNumeric, IntNumericBinaryDumper)
    adapters.register_dumper(Decimal, DecimalBinaryDumper)
    # Reached by oid only (COPY's set_types, the bounds of a TimestampRange ...): for values
    # they are the upgrades of the datetime and time dumpers.
    adapters.register_dumper(None, DatetimeNoTzBinaryDumper)
    adapters.register_dumper(None, TimeTzBinaryDumper)


def register_auto_adapters(context: Any) -> None:
    """After the text modules: the binary dumpers psycopg's ``%s`` picks (registered last,
    they win AUTO, as in psycopg, which registers each type's binary dumper after its text
    one)."""
    adapters = context.adapters
    for cls, dumper in (
        (int, IntBinaryDumper),
        (Int2, Int2BinaryDumper),
        (Int4, Int4BinaryDumper),
        (Int8, Int8BinaryDumper),
        (Oid, OidBinaryDumper),
        (float, FloatBinaryDumper),
        (Float4, Float4BinaryDumper),
        (Float8, FloatBinaryDumper),
        (bool, BoolBinaryDumper),
        (dt.date, DateBinaryDumper),
        (dt.time, TimeBinaryDumper),
        (dt.datetime, DatetimeBinaryDumper),
        (dt.timedelta, TimedeltaBinaryDumper),
        (uuid.UUID, UUIDBinaryDumper),
        (ipaddress.IPv4Address, InetBinaryDumper),
        (ipaddress.IPv6Address, InetBinaryDumper),
        (ipaddress.IPv4Interface, InetBinaryDumper),
        (ipaddress.IPv6Interface, InetBinaryDumper),
        (ipaddress.IPv4Network, NetworkBinaryDumper),
        (ipaddress.IPv6Network, NetworkBinaryDumper),
    ):
        adapters.register_dumper(cls, dumper)
