"""Reading ``COPY ... TO STDOUT (FORMAT BINARY)`` data: the PGCOPY stream split into rows,
values decoded by the types given to ``Copy.set_types`` (bytes without them, as the wire
holds them)."""

from __future__ import annotations

import datetime as dt
import json
import struct
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from . import errors as e

__all__ = ["parse_binary_rows"]

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_PG_EPOCH = dt.datetime(2000, 1, 1)
_PG_EPOCH_UTC = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_PG_EPOCH_DATE = dt.date(2000, 1, 1)

_i16 = struct.Struct("!h").unpack_from
_i32 = struct.Struct("!i").unpack_from


def _numeric(data: bytes) -> Decimal:
    ndigits, weight, sign, dscale = struct.unpack_from("!hhHH", data)
    if sign == 0xC000:
        return Decimal("NaN")
    if sign == 0xD000:
        return Decimal("Infinity")
    if sign == 0xF000:
        return Decimal("-Infinity")
    digits = struct.unpack_from(f"!{ndigits}H", data, 8)
    value = 0
    for d in digits:
        value = value * 10000 + d
    # The digits stand for value * 10 ** exponent; rebuild the coefficient at the scale
    # the server gave (dscale), exactly, whatever the decimal context's precision.
    exponent = -4 * (ndigits - 1 - weight)
    shift = exponent + dscale
    coefficient = value * 10**shift if shift >= 0 else value // 10**-shift
    return Decimal((1 if sign == 0x4000 else 0, tuple(int(c) for c in str(coefficient)), -dscale))


def _decoders(tz: dt.tzinfo, utc: bool, codec: str | None = "utf-8") -> dict[int, Callable[[bytes], Any]]:
    def timestamptz(data: bytes) -> dt.datetime:
        value = _PG_EPOCH_UTC + dt.timedelta(microseconds=struct.unpack("!q", data)[0])
        return value if utc else value.astimezone(tz)

    def interval(data: bytes) -> dt.timedelta:
        micros, days, months = struct.unpack("!qii", data)
        return dt.timedelta(days=days + months * 30, microseconds=micros)

    def text(data: bytes) -> str | bytes:
        # No codec (SQL_ASCII): the bytes as stored, as psycopg returns them.
        return data.decode(codec) if codec is not None else bytes(data)

    return {
        16: lambda d: d != b"\x00",
        17: bytes,
        20: lambda d: struct.unpack("!q", d)[0],
        21: lambda d: struct.unpack("!h", d)[0],
        23: lambda d: struct.unpack("!i", d)[0],
        26: lambda d: struct.unpack("!I", d)[0],
        700: lambda d: struct.unpack("!f", d)[0],
        701: lambda d: struct.unpack("!d", d)[0],
        25: text,
        1043: text,
        1042: text,
        19: text,
        114: json.loads,
        3802: lambda d: json.loads(d[1:]),
        1082: lambda d: _PG_EPOCH_DATE + dt.timedelta(days=struct.unpack("!i", d)[0]),
        1083: lambda d: (dt.datetime.min + dt.timedelta(microseconds=struct.unpack("!q", d)[0])).time(),
        1114: lambda d: _PG_EPOCH + dt.timedelta(microseconds=struct.unpack("!q", d)[0]),
        1184: timestamptz,
        1186: interval,
        1700: _numeric,
        2950: lambda d: uuid.UUID(bytes=d),
    }


def _array_decoder(decoders: dict[int, Callable[[bytes], Any]]) -> Callable[[bytes], list[Any]]:
    """``array_send``'s format → nested lists: dimensions, then the elements (each with its
    length, -1 for NULL), decoded by the element type the header names."""

    def array(data: bytes) -> list[Any]:
        ndim, _has_null, element_oid = struct.unpack_from("!iiI", data)
        if ndim <= 0:
            return []
        dims = [_i32(data, 12 + 8 * i)[0] for i in range(ndim)]
        decode = decoders.get(element_oid, bytes)
        pos = 12 + 8 * ndim

        def level(depth: int) -> list[Any]:
            nonlocal pos
            items: list[Any] = []
            for _ in range(dims[depth]):
                if depth + 1 < ndim:
                    items.append(level(depth + 1))
                    continue
                size = _i32(data, pos)[0]
                pos += 4
                if size < 0:
                    items.append(None)
                else:
                    items.append(decode(data[pos : pos + size]))
                    pos += size
            return items

        return level(0)

    return array


def parse_binary_rows(
    data: bytes,
    specs: Any,
    oids: Sequence[int] | None,
    tz: dt.tzinfo,
    utc: bool,
    array_oids: frozenset[int] = frozenset(),
    codec: str | None = "utf-8",
) -> tuple[list[tuple[Any, ...]], int]:
    """The complete rows at the start of ``data`` and how many bytes they took
    (``array_oids``: which of ``oids`` are array types; ``codec``: the client encoding's,
    which text values are in, None to keep them as bytes)."""
    pos = 0
    if data.startswith(SIGNATURE):
        if len(data) < 19:
            return [], 0
        pos = 19 + _i32(data, 15)[0]
    decoders = _decoders(tz, utc, codec)
    array = _array_decoder(decoders)
    funcs = [array if oid in array_oids else decoders.get(oid, bytes) for oid in oids] if oids else []
    rows: list[tuple[Any, ...]] = []
    end = len(data)
    while pos + 2 <= end:
        start = pos
        count = _i16(data, pos)[0]
        pos += 2
        if count == -1:  # trailer
            return rows, pos
        values: list[Any] = []
        for i in range(count):
            if pos + 4 > end:
                return rows, start
            size = _i32(data, pos)[0]
            pos += 4
            if size < 0:
                values.append(None)
                continue
            if pos + size > end:
                return rows, start
            raw = data[pos : pos + size]
            pos += size
            try:
                values.append(funcs[i](raw) if i < len(funcs) else raw)
            except (struct.error, ValueError, OverflowError) as ex:
                raise e.DataError(f"can't load binary COPY value: {ex}") from None
        rows.append(tuple(values))
    return rows, pos
