"""Multiranges (PostgreSQL 14+): ``Multirange``, a mutable sequence of ``Range``, its
subclasses naming a builtin multirange type (``Int4Multirange`` ...), their text and binary
wire forms, dumpers and loaders."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, MutableSequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar, overload

from .. import errors as e
from .._typeinfo import MultirangeInfo
from ..adapt import PyFormat, RecursiveDumper, RecursiveLoader
from ..pq import Format
from .range import (
    DumpFunc,
    LoadFunc,
    Range,
    dump_range_binary,
    dump_range_text,
    fail_dump,
    load_range_binary,
    load_range_text,
    make_bound_dump,
)

__all__ = [
    "BaseMultirangeDumper",
    "BaseMultirangeLoader",
    "DateMultirange",
    "DateMultirangeBinaryDumper",
    "DateMultirangeBinaryLoader",
    "DateMultirangeDumper",
    "DateMultirangeLoader",
    "Int4Multirange",
    "Int4MultirangeBinaryDumper",
    "Int4MultirangeBinaryLoader",
    "Int4MultirangeDumper",
    "Int4MultirangeLoader",
    "Int8Multirange",
    "Int8MultirangeBinaryDumper",
    "Int8MultirangeBinaryLoader",
    "Int8MultirangeDumper",
    "Int8MultirangeLoader",
    "Multirange",
    "MultirangeBinaryDumper",
    "MultirangeBinaryLoader",
    "MultirangeDumper",
    "MultirangeInfo",
    "MultirangeLoader",
    "NumericMultirange",
    "NumericMultirangeBinaryDumper",
    "NumericMultirangeBinaryLoader",
    "NumericMultirangeDumper",
    "NumericMultirangeLoader",
    "TimestampMultirange",
    "TimestampMultirangeBinaryDumper",
    "TimestampMultirangeBinaryLoader",
    "TimestampMultirangeDumper",
    "TimestampMultirangeLoader",
    "TimestampTZMultirangeBinaryLoader",
    "TimestampTZMultirangeLoader",
    "TimestamptzMultirange",
    "TimestamptzMultirangeBinaryDumper",
    "TimestamptzMultirangeDumper",
    "dump_multirange_binary",
    "dump_multirange_text",
    "load_multirange_binary",
    "load_multirange_text",
    "register_multirange",
]

T = TypeVar("T")


class Multirange(MutableSequence[Range[T]]):
    """A list of ranges; only Range items are accepted."""

    __module__ = "psycopg.types.multirange"

    def __init__(self, items: Iterable[Range[T]] = ()) -> None:
        self._ranges: list[Range[T]] = list(map(self._check_type, items))

    def _check_type(self, item: Any) -> Range[Any]:
        if not isinstance(item, Range):
            raise TypeError(f"Multirange is a sequence of Range, got {type(item).__name__}")
        return item

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self._ranges!r})"

    def __str__(self) -> str:
        return f"{{{', '.join(map(str, self._ranges))}}}"

    @overload
    def __getitem__(self, index: int) -> Range[T]: ...
    @overload
    def __getitem__(self, index: slice) -> Multirange[T]: ...

    def __getitem__(self, index: int | slice) -> Range[T] | Multirange[T]:
        if isinstance(index, slice):
            return Multirange(self._ranges[index])
        return self._ranges[index]

    def __len__(self) -> int:
        return len(self._ranges)

    @overload
    def __setitem__(self, index: int, value: Range[T]) -> None: ...
    @overload
    def __setitem__(self, index: slice, value: Iterable[Range[T]]) -> None: ...

    def __setitem__(self, index: int | slice, value: Any) -> None:
        if isinstance(index, slice):
            if not isinstance(value, Iterable):
                raise TypeError("can only assign an iterable")
            self._ranges[index] = map(self._check_type, value)
        else:
            self._ranges[index] = self._check_type(value)

    def __delitem__(self, index: int | slice) -> None:
        del self._ranges[index]

    def insert(self, index: int, value: Range[T]) -> None:
        self._ranges.insert(index, self._check_type(value))

    def __iter__(self) -> Iterator[Range[T]]:
        return iter(self._ranges)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Multirange):
            return False
        return self._ranges == other._ranges

    # Like psycopg: ordered by their ranges, unhashable (mutable).
    __hash__ = None  # type: ignore[assignment]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Multirange):
            return NotImplemented
        return self._ranges < other._ranges

    def __le__(self, other: object) -> bool:
        return self == other or self < other

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Multirange):
            return NotImplemented
        return self._ranges > other._ranges

    def __ge__(self, other: object) -> bool:
        return self == other or self > other

    def __reduce__(self) -> tuple[Any, ...]:
        # As Range: pickle would look the class up by __module__ (psycopg's name).
        cls = type(self)
        if _BY_NAME.get(cls.__name__) is cls:
            return (_rebuild, (list(self._ranges), cls.__name__))
        return (_rebuild_class, (cls, list(self._ranges)))


_MODULE = "psycopg.types.multirange"


# Subclasses naming the subtype (needed by binary COPY, where the type must be known).
class Int4Multirange(Multirange[int]):
    __module__ = _MODULE


class Int8Multirange(Multirange[int]):
    __module__ = _MODULE


class NumericMultirange(Multirange[Decimal]):
    __module__ = _MODULE


class DateMultirange(Multirange[date]):
    __module__ = _MODULE


class TimestampMultirange(Multirange[datetime]):
    __module__ = _MODULE


class TimestamptzMultirange(Multirange[datetime]):
    __module__ = _MODULE


_BY_NAME: dict[str, type[Multirange[Any]]] = {
    cls.__name__: cls
    for cls in (
        Multirange,
        Int4Multirange,
        Int8Multirange,
        NumericMultirange,
        DateMultirange,
        TimestampMultirange,
        TimestamptzMultirange,
    )
}


def _rebuild(ranges: list[Range[Any]], name: str = "Multirange") -> Multirange[Any]:
    return _BY_NAME[name](ranges)


def _rebuild_class(cls: type[Multirange[Any]], ranges: list[Range[Any]]) -> Multirange[Any]:
    return cls(ranges)


def load_multirange_text(data: bytes | bytearray | memoryview, load: LoadFunc) -> Multirange[Any]:
    """Parse ``{[1,3), [5,7)}`` (the text form of a multirange)."""
    text = bytes(data)
    if not text or text[0] != 0x7B or text[-1] != 0x7D:
        raise e.DataError(f"malformed multirange starting with: {text[:1]!r}")
    result: Multirange[Any] = Multirange()
    pos = 1
    end = len(text) - 1
    while pos < end:
        if text[pos] in b" ,":
            pos += 1
            continue
        item, used = load_range_text(text[pos:end], load)
        result.append(item)
        pos += used
    return result


def dump_multirange_text(obj: Multirange[Any], dump: DumpFunc) -> bytes:
    return b"{" + b",".join(dump_range_text(item, dump) for item in obj) + b"}"


_LEN = struct.Struct("!i")


def dump_multirange_binary(obj: Multirange[Any], dump: DumpFunc) -> bytes:
    """``multirange_send``: the number of ranges, then each range as (int32 length, data)."""
    out = bytearray(_LEN.pack(len(obj)))
    for item in obj:
        data = dump_range_binary(item, dump)
        out += _LEN.pack(len(data))
        out += data
    return bytes(out)


def load_multirange_binary(data: bytes | bytearray | memoryview, load: LoadFunc) -> Multirange[Any]:
    view = bytes(data)
    (count,) = _LEN.unpack_from(view, 0)
    pos = 4
    result: Multirange[Any] = Multirange()
    for _ in range(count):
        (length,) = _LEN.unpack_from(view, pos)
        pos += 4
        result.append(load_range_binary(view[pos : pos + length], load))
        pos += length
    return result


# -- adapters ---------------------------------------------------------------------------------

_INVALID_OID = 0
_TEXT_OID = 25


def _representative(obj: Multirange[Any]) -> Any:
    for item in obj:
        if item.lower is not None:
            return item.lower
        if item.upper is not None:
            return item.upper
    return None


class BaseMultirangeDumper(RecursiveDumper):
    """Dumps a Multirange; a generic ``Multirange`` upgrades to the multirange type of its
    bounds, a subclass naming a builtin type (``Int4Multirange`` ...) dumps as that type."""

    # Set by the dumpers of a known multirange type.
    subtype_oid = _INVALID_OID

    def __init__(self, cls: type, context: Any = None) -> None:
        super().__init__(cls, context)
        self.sub_dumper: Any = None
        self._adapt_format = PyFormat.from_pq(self.format)
        self._dump_bound: DumpFunc | None = None
        if self.subtype_oid != _INVALID_OID:
            self._dump_bound = make_bound_dump(self._tx, self.subtype_oid, self.format)

    def get_key(self, obj: Multirange[Any], format: PyFormat) -> Any:
        if self.cls is not Multirange:
            return self.cls
        item = _representative(obj)
        if item is None:
            return (self.cls,)
        return (self.cls, self._tx.get_dumper(item, self._adapt_format).get_key(item, format))

    def upgrade(self, obj: Multirange[Any], format: PyFormat) -> BaseMultirangeDumper:
        if self.cls is not Multirange:
            return self
        item = _representative(obj)
        if item is None:
            return self
        dumper: BaseMultirangeDumper
        if type(item) is int:
            # int4 vs int8: the server will not cast one multirange to the other, so the
            # value goes as text of unknown type for the server to infer (as for ranges).
            dumper = MultirangeDumper(self.cls, self._tx)
            dumper.sub_dumper = self._tx.get_dumper(item, PyFormat.TEXT)
            dumper.oid = _INVALID_OID
            return dumper
        dumper = type(self)(self.cls, self._tx)
        sub_oid = self._tx.get_dumper(item, format).oid  # the bounds' type names the range's
        if sub_oid == _INVALID_OID and isinstance(item, str):
            sub_oid = _TEXT_OID  # str dumps as unknown; a multirange of text is still one
        info = self._tx.adapters.types.get_by_subtype(MultirangeInfo, sub_oid)
        dumper.oid = info.oid if info else _INVALID_OID
        # Bounds in the dumper's own format, as for ranges (range.py).
        dumper.sub_dumper = self._tx.get_dumper(item, dumper._adapt_format)
        return dumper

    def _bound_dumper(self, obj: Multirange[Any]) -> DumpFunc:
        if self._dump_bound is not None:
            return self._dump_bound
        if self.sub_dumper is not None:
            return self.sub_dumper.dump  # type: ignore[no-any-return]
        item = _representative(obj)
        if item is not None:
            return self._tx.get_dumper(item, self._adapt_format).dump  # type: ignore[no-any-return]
        return fail_dump


class MultirangeDumper(BaseMultirangeDumper):
    """Multirange dumper, text format."""

    def dump(self, obj: Multirange[Any]) -> bytes | None:
        return dump_multirange_text(obj, self._bound_dumper(obj))


class MultirangeBinaryDumper(BaseMultirangeDumper):
    """Multirange dumper, binary format."""

    format = Format.BINARY

    def dump(self, obj: Multirange[Any]) -> bytes | None:
        return dump_multirange_binary(obj, self._bound_dumper(obj))


class BaseMultirangeLoader(RecursiveLoader, Generic[T]):
    """Loads a multirange whose bounds are of type ``subtype_oid`` (set by subclasses)."""

    subtype_oid: int = _INVALID_OID

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        self._load_bound = self._tx.get_loader(self.subtype_oid, self.format).load


class MultirangeLoader(BaseMultirangeLoader[T]):
    """Multirange loader, text format."""

    def load(self, data: Any) -> Multirange[T]:
        return load_multirange_text(data, self._load_bound)


class MultirangeBinaryLoader(BaseMultirangeLoader[T]):
    """Multirange loader, binary format."""

    format = Format.BINARY

    def load(self, data: Any) -> Multirange[T]:
        return load_multirange_binary(data, self._load_bound)


def register_multirange(info: Any, context: Any = None) -> None:
    """Load values of the multirange type described by ``info`` (a MultirangeInfo)."""
    if not info:
        raise TypeError("no info passed. Is the requested multirange available?")
    if context is not None:
        adapters = context.adapters
    else:
        from ..postgres import adapters
    info.register(context)
    attrs = {"subtype_oid": info.subtype_oid, "__module__": __name__}
    adapters.register_loader(info.oid, type(f"{info.name.title()}Loader", (MultirangeLoader,), attrs))
    adapters.register_loader(
        info.oid, type(f"{info.name.title()}BinaryLoader", (MultirangeBinaryLoader,), attrs)
    )


# -- dumpers and loaders of the builtin multirange types ---------------------------------------


class Int4MultirangeDumper(MultirangeDumper):
    oid = 4451
    subtype_oid = 23


class Int4MultirangeBinaryDumper(MultirangeBinaryDumper):
    oid = 4451
    subtype_oid = 23


class Int8MultirangeDumper(MultirangeDumper):
    oid = 4536
    subtype_oid = 20


class Int8MultirangeBinaryDumper(MultirangeBinaryDumper):
    oid = 4536
    subtype_oid = 20


class NumericMultirangeDumper(MultirangeDumper):
    oid = 4532
    subtype_oid = 1700


class NumericMultirangeBinaryDumper(MultirangeBinaryDumper):
    oid = 4532
    subtype_oid = 1700


class DateMultirangeDumper(MultirangeDumper):
    oid = 4535
    subtype_oid = 1082


class DateMultirangeBinaryDumper(MultirangeBinaryDumper):
    oid = 4535
    subtype_oid = 1082


class TimestampMultirangeDumper(MultirangeDumper):
    oid = 4533
    subtype_oid = 1114


class TimestampMultirangeBinaryDumper(MultirangeBinaryDumper):
    oid = 4533
    subtype_oid = 1114


class TimestamptzMultirangeDumper(MultirangeDumper):
    oid = 4534
    subtype_oid = 1184


class TimestamptzMultirangeBinaryDumper(MultirangeBinaryDumper):
    oid = 4534
    subtype_oid = 1184


class Int4MultirangeLoader(MultirangeLoader[int]):
    subtype_oid = 23


class Int4MultirangeBinaryLoader(MultirangeBinaryLoader[int]):
    subtype_oid = 23


class Int8MultirangeLoader(MultirangeLoader[int]):
    subtype_oid = 20


class Int8MultirangeBinaryLoader(MultirangeBinaryLoader[int]):
    subtype_oid = 20


class NumericMultirangeLoader(MultirangeLoader[Decimal]):
    subtype_oid = 1700


class NumericMultirangeBinaryLoader(MultirangeBinaryLoader[Decimal]):
    subtype_oid = 1700


class DateMultirangeLoader(MultirangeLoader[date]):
    subtype_oid = 1082


class DateMultirangeBinaryLoader(MultirangeBinaryLoader[date]):
    subtype_oid = 1082


class TimestampMultirangeLoader(MultirangeLoader[datetime]):
    subtype_oid = 1114


class TimestampMultirangeBinaryLoader(MultirangeBinaryLoader[datetime]):
    subtype_oid = 1114


class TimestampTZMultirangeLoader(MultirangeLoader[datetime]):
    subtype_oid = 1184


class TimestampTZMultirangeBinaryLoader(MultirangeBinaryLoader[datetime]):
    subtype_oid = 1184


_WRAPPER_DUMPERS: tuple[tuple[type, type, type], ...] = (
    (Int4Multirange, Int4MultirangeDumper, Int4MultirangeBinaryDumper),
    (Int8Multirange, Int8MultirangeDumper, Int8MultirangeBinaryDumper),
    (NumericMultirange, NumericMultirangeDumper, NumericMultirangeBinaryDumper),
    (DateMultirange, DateMultirangeDumper, DateMultirangeBinaryDumper),
    (TimestampMultirange, TimestampMultirangeDumper, TimestampMultirangeBinaryDumper),
    (TimestamptzMultirange, TimestamptzMultirangeDumper, TimestamptzMultirangeBinaryDumper),
)

_BUILTIN_LOADERS: tuple[tuple[int, type, type], ...] = (
    (4451, Int4MultirangeLoader, Int4MultirangeBinaryLoader),
    (4536, Int8MultirangeLoader, Int8MultirangeBinaryLoader),
    (4532, NumericMultirangeLoader, NumericMultirangeBinaryLoader),
    (4535, DateMultirangeLoader, DateMultirangeBinaryLoader),
    (4533, TimestampMultirangeLoader, TimestampMultirangeBinaryLoader),
    (4534, TimestampTZMultirangeLoader, TimestampTZMultirangeBinaryLoader),
)


def register_default_adapters(context: Any) -> None:
    adapters = context.adapters
    # Binary first, text last: the later registration also serves %s, text in balrog.
    adapters.register_dumper(Multirange, MultirangeBinaryDumper)
    adapters.register_dumper(Multirange, MultirangeDumper)
    for cls, text, binary in _WRAPPER_DUMPERS:
        adapters.register_dumper(cls, binary)
        adapters.register_dumper(cls, text)
    for oid, text_loader, binary_loader in _BUILTIN_LOADERS:
        adapters.register_loader(oid, text_loader)
        adapters.register_loader(oid, binary_loader)
