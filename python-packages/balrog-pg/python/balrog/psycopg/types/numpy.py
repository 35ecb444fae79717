"""numpy scalars as query parameters (``numpy.int8`` ... ``numpy.float64``, ``numpy.bool_``).

As psycopg 3.3: the PostgreSQL type is chosen from the numpy type alone, never from the value
(an ``int8`` is ``int2``, an unsigned type goes to the next wider signed type, ``uint64`` to
``numeric``; ``float16``/``float32`` are ``float4``). The dumpers are registered by dotted
name ("numpy.int8"), so numpy is never imported here: they are found only once the user has
numpy values to send.
"""

from __future__ import annotations

import struct
from typing import Any

from .. import errors as e
from ..adapt import Dumper
from ..pq import Format
from ._binary import numeric_binary
from .numeric import _SPECIAL_FLOATS

__all__ = [
    "NPBoolBinaryDumper",
    "NPBoolDumper",
    "NPFloat4BinaryDumper",
    "NPFloat4Dumper",
    "NPFloat8BinaryDumper",
    "NPFloat8Dumper",
    "NPInt16BinaryDumper",
    "NPInt16Dumper",
    "NPInt32BinaryDumper",
    "NPInt32Dumper",
    "NPInt64BinaryDumper",
    "NPInt64Dumper",
    "NPNumericBinaryDumper",
    "NPNumericDumper",
    "register_default_adapters",
]


# -- text -----------------------------------------------------------------------------------


class _NPIntDumper(Dumper):
    def dump(self, obj: Any) -> bytes:
        return str(int(obj)).encode()

    def quote(self, obj: Any) -> bytes:
        value = self.dump(obj)
        # A leading space keeps "1-%s" with a negative value from becoming a "--" comment.
        return b" " + value if value.startswith(b"-") else value


class NPInt16Dumper(_NPIntDumper):
    oid = 21


class NPInt32Dumper(_NPIntDumper):
    oid = 23


class NPInt64Dumper(_NPIntDumper):
    oid = 20


class NPNumericDumper(_NPIntDumper):
    oid = 1700


class _NPFloatDumper(Dumper):
    def dump(self, obj: Any) -> bytes:
        # The exact value as a double, as psycopg's C dumper sends it: a float16 3.14 is
        # "3.140625" (float4 then rounds a float32's digits back to the same value).
        return float.__repr__(float(obj)).encode()

    def quote(self, obj: Any) -> bytes:
        value = self.dump(obj)
        special = _SPECIAL_FLOATS.get(value)
        if special is not None:
            return special
        return b" " + value if value.startswith(b"-") else value


class NPFloat4Dumper(_NPFloatDumper):
    oid = 700


class NPFloat8Dumper(_NPFloatDumper):
    oid = 701


class NPBoolDumper(Dumper):
    oid = 16

    def dump(self, obj: Any) -> bytes:
        return b"t" if obj else b"f"

    def quote(self, obj: Any) -> bytes:
        return b"true" if obj else b"false"


# -- binary ---------------------------------------------------------------------------------


def _int_packer(fmt: str, oid: int, name: str, pgtype: str) -> type[Dumper]:
    pack = struct.Struct(fmt).pack

    def dump(self: Dumper, obj: Any) -> bytes:
        try:
            return pack(int(obj))
        except struct.error:
            raise e.DataError(f"{obj!r} does not fit in {pgtype}") from None

    return type(name, (Dumper,), {"oid": oid, "format": Format.BINARY, "dump": dump, "__module__": __name__})


NPInt16BinaryDumper = _int_packer("!h", 21, "NPInt16BinaryDumper", "int2")
NPInt32BinaryDumper = _int_packer("!i", 23, "NPInt32BinaryDumper", "int4")
NPInt64BinaryDumper = _int_packer("!q", 20, "NPInt64BinaryDumper", "int8")


class NPNumericBinaryDumper(Dumper):
    oid = 1700
    format = Format.BINARY

    def dump(self, obj: Any) -> bytes:
        return numeric_binary(int(obj))


_pack_float4 = struct.Struct("!f").pack
_pack_float8 = struct.Struct("!d").pack


class NPFloat4BinaryDumper(Dumper):
    oid = 700
    format = Format.BINARY

    def dump(self, obj: Any) -> bytes:
        return _pack_float4(float(obj))


class NPFloat8BinaryDumper(Dumper):
    oid = 701
    format = Format.BINARY

    def dump(self, obj: Any) -> bytes:
        return _pack_float8(float(obj))


class NPBoolBinaryDumper(Dumper):
    oid = 16
    format = Format.BINARY

    def dump(self, obj: Any) -> bytes:
        return b"\x01" if obj else b"\x00"


# numpy type name -> (text dumper, binary dumper). "bool" is numpy 2's name of bool_,
# "bool_" numpy 1's; longlong/ulonglong are distinct classes from int64/uint64 on LP64.
_BY_NAME: dict[str, tuple[type[Dumper], type[Dumper]]] = {
    "int8": (NPInt16Dumper, NPInt16BinaryDumper),
    "int16": (NPInt16Dumper, NPInt16BinaryDumper),
    "int32": (NPInt32Dumper, NPInt32BinaryDumper),
    "int64": (NPInt64Dumper, NPInt64BinaryDumper),
    "longlong": (NPInt64Dumper, NPInt64BinaryDumper),
    "uint8": (NPInt16Dumper, NPInt16BinaryDumper),
    "uint16": (NPInt32Dumper, NPInt32BinaryDumper),
    "uint32": (NPInt64Dumper, NPInt64BinaryDumper),
    "uint64": (NPNumericDumper, NPNumericBinaryDumper),
    "ulonglong": (NPNumericDumper, NPNumericBinaryDumper),
    "float16": (NPFloat4Dumper, NPFloat4BinaryDumper),
    "float32": (NPFloat4Dumper, NPFloat4BinaryDumper),
    "float64": (NPFloat8Dumper, NPFloat8BinaryDumper),
    "bool": (NPBoolDumper, NPBoolBinaryDumper),
    "bool_": (NPBoolDumper, NPBoolBinaryDumper),
}


def register_default_adapters(context: Any) -> None:
    adapters = context.adapters
    for name, (text, binary) in _BY_NAME.items():
        # Binary first: the one registered last also serves %s, and %s is text in balrog.
        adapters.register_dumper(f"numpy.{name}", binary)
        adapters.register_dumper(f"numpy.{name}", text)
