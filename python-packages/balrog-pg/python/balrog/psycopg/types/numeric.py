"""Numbers: int, float, Decimal and the wrappers that pin a PostgreSQL type (Int2 ... Float8)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .. import errors as e
from ..adapt import Dumper, PyFormat
from ._native import NativeBinaryLoader, NativeLoader

__all__ = [
    "DecimalDumper",
    "Float4",
    "Float4Dumper",
    "Float8",
    "FloatDumper",
    "FloatLoader",
    "Int2",
    "Int2Dumper",
    "Int4",
    "Int4Dumper",
    "Int8",
    "Int8Dumper",
    "IntDumper",
    "IntLoader",
    "IntNumeric",
    "IntNumericDumper",
    "NumericLoader",
    "Oid",
    "OidDumper",
]


def _int_wrapper(name: str, pgtype: str) -> type[int]:
    """An int subclass whose dumper pins a PostgreSQL type (psycopg's Int2, Int4 ...)."""

    def __new__(cls: type[int], arg: Any = 0) -> int:
        return int.__new__(cls, arg)

    def __str__(self: int) -> str:
        return int.__repr__(self)

    def __repr__(self: int) -> str:
        return f"{type(self).__name__}({int.__repr__(self)})"

    namespace = {
        "__module__": "psycopg.types.numeric",
        "__doc__": f"An int dumped as PostgreSQL ``{pgtype}``.",
        "__slots__": (),
        "__new__": __new__,
        "__str__": __str__,
        "__repr__": __repr__,
    }
    return type(name, (int,), namespace)


Int2 = _int_wrapper("Int2", "int2")
Int4 = _int_wrapper("Int4", "int4")
Int8 = _int_wrapper("Int8", "int8")
IntNumeric = _int_wrapper("IntNumeric", "numeric")
Oid = _int_wrapper("Oid", "oid")


class Float4(float):
    """A float dumped as PostgreSQL ``float4``."""

    __module__ = "psycopg.types.numeric"
    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({super().__repr__()})"

    def __str__(self) -> str:
        return super().__repr__()  # float's own text, not the wrapper's repr


class Float8(float):
    """A float dumped as PostgreSQL ``float8``."""

    __module__ = "psycopg.types.numeric"
    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({super().__repr__()})"

    def __str__(self) -> str:
        return super().__repr__()  # float's own text, not the wrapper's repr


class _IntDumperBase(Dumper):
    def dump(self, obj: Any) -> bytes:
        if not isinstance(obj, int):
            # An array's elements all go through one dumper: [Decimal("NaN"), IntNumeric(0)].
            raise e.DataError(f"integer expected, got {type(obj).__name__!r}")
        return int.__repr__(obj).encode()

    def quote(self, obj: Any) -> bytes:
        value = self.dump(obj)
        # A leading space keeps "1-%s" with -1 from becoming a "--" comment.
        return b" " + value if obj < 0 else value


class Int2Dumper(_IntDumperBase):
    oid = 21
    _balrog_enc = 2


class Int4Dumper(_IntDumperBase):
    oid = 23
    _balrog_enc = 3


class Int8Dumper(_IntDumperBase):
    oid = 20
    _balrog_enc = 4


class IntNumericDumper(_IntDumperBase):
    oid = 1700
    _balrog_enc = 5


class OidDumper(_IntDumperBase):
    oid = 26
    _balrog_enc = 6


class IntDumper(_IntDumperBase):
    """Python int: int2, int4, int8 or numeric, the smallest that holds the value."""

    oid = 20
    _balrog_enc = 1

    def get_key(self, obj: int, format: PyFormat) -> Any:
        if -32768 <= obj <= 32767:
            return Int2Dumper
        if -2147483648 <= obj <= 2147483647:
            return Int4Dumper
        if -9223372036854775808 <= obj <= 9223372036854775807:
            return Int8Dumper
        return IntNumericDumper

    def upgrade(self, obj: int, format: PyFormat) -> Dumper:
        return self.get_key(obj, format)(self.cls, self.connection)  # type: ignore[no-any-return]


_SPECIAL_FLOATS = {b"inf": b"'Infinity'::float8", b"-inf": b"'-Infinity'::float8", b"nan": b"'NaN'::float8"}


class FloatDumper(Dumper):
    oid = 701
    _balrog_enc = 10

    def dump(self, obj: float) -> bytes:
        return float.__repr__(obj).encode()

    def quote(self, obj: float) -> bytes:
        value = self.dump(obj)
        special = _SPECIAL_FLOATS.get(value)
        if special is not None:
            return special
        # By the text, not the value: -0.0 needs the space too ("1-%s" must not make "--").
        return b" " + value if value.startswith(b"-") else value


class Float4Dumper(FloatDumper):
    oid = 700
    _balrog_enc = 11


class DecimalDumper(Dumper):
    oid = 1700
    _balrog_enc = 50

    def dump(self, obj: Decimal) -> bytes:
        if not isinstance(obj, Decimal):
            return str(obj).encode()  # an int in a numeric[] with Decimals
        if obj.is_nan():
            return b"NaN"
        if obj.is_infinite():
            return b"-Infinity" if obj < 0 else b"Infinity"
        return str(obj).encode()

    def quote(self, obj: Decimal) -> bytes:
        value = self.dump(obj)
        if value in (b"NaN", b"Infinity", b"-Infinity"):
            return b"'" + value + b"'::numeric"
        return b" " + value if value.startswith(b"-") else value


class IntLoader(NativeLoader):
    _balrog_dec = 20


class FloatLoader(NativeLoader):
    _balrog_dec = 701


class NumericLoader(NativeLoader):
    _balrog_dec = 1700


class Int2BinaryLoader(NativeBinaryLoader):
    _balrog_dec = 21


class Int4BinaryLoader(NativeBinaryLoader):
    _balrog_dec = 23


class Int8BinaryLoader(NativeBinaryLoader):
    _balrog_dec = 20


class OidBinaryLoader(NativeBinaryLoader):
    _balrog_dec = 26


class Float4BinaryLoader(NativeBinaryLoader):
    _balrog_dec = 700


class Float8BinaryLoader(NativeBinaryLoader):
    _balrog_dec = 701


class NumericBinaryLoader(NativeBinaryLoader):
    _balrog_dec = 1700


def register_default_adapters(context: Any) -> None:
    adapters = context.adapters
    adapters.register_dumper(int, IntDumper)
    adapters.register_dumper(float, FloatDumper)
    adapters.register_dumper(Decimal, DecimalDumper)
    adapters.register_dumper(Int2, Int2Dumper)
    adapters.register_dumper(Int4, Int4Dumper)
    adapters.register_dumper(Int8, Int8Dumper)
    adapters.register_dumper(IntNumeric, IntNumericDumper)
    adapters.register_dumper(Oid, OidDumper)
    adapters.register_dumper(Float4, Float4Dumper)
    adapters.register_dumper(Float8, FloatDumper)
    for oid in (20, 21, 23, 26):
        adapters.register_loader(oid, IntLoader)
    for oid in (700, 701):
        adapters.register_loader(oid, FloatLoader)
    adapters.register_loader(1700, NumericLoader)
    for oid, binary in (
        (21, Int2BinaryLoader),
        (23, Int4BinaryLoader),
        (20, Int8BinaryLoader),
        (26, OidBinaryLoader),
        (700, Float4BinaryLoader),
        (701, Float8BinaryLoader),
        (1700, NumericBinaryLoader),
    ):
        adapters.register_loader(oid, binary)


# psycopg keeps the binary dumpers next to the text ones; balrog's live in ``_binary`` (one
# module for every %b dumper), found here on first use.
_BINARY_DUMPERS = frozenset(
    {
        "Int2BinaryDumper",
        "Int4BinaryDumper",
        "Int8BinaryDumper",
        "OidBinaryDumper",
        "FloatBinaryDumper",
        "Float4BinaryDumper",
        "DecimalBinaryDumper",
        "IntNumericBinaryDumper",
        "IntBinaryDumper",
    }
)


def __getattr__(name: str) -> object:
    if name in _BINARY_DUMPERS:
        from . import _binary

        return getattr(_binary, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
