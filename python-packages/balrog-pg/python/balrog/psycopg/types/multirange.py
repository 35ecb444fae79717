"""Multiranges (PostgreSQL 14+): ``Multirange``, a mutable sequence of ``Range``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableSequence
from typing import Any, TypeVar, overload

from .. import errors as e
from .._typeinfo import MultirangeInfo
from ..adapt import PyFormat, RecursiveDumper, RecursiveLoader
from .range import DumpFunc, LoadFunc, Range, dump_range_text, load_range_text

__all__ = [
    "Multirange",
    "MultirangeDumper",
    "MultirangeInfo",
    "MultirangeLoader",
    "dump_multirange_text",
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
        return (_rebuild, (list(self._ranges),))


def _rebuild(ranges: list[Range[Any]]) -> Multirange[Any]:
    return Multirange(ranges)


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


# -- adapters ---------------------------------------------------------------------------------

# Builtin multirange types: oid -> subtype oid.
_BUILTIN_MULTIRANGES = {4451: 23, 4536: 20, 4532: 1700, 4535: 1082, 4533: 1114, 4534: 1184}


def _representative(obj: Multirange[Any]) -> Any:
    for item in obj:
        if item.lower is not None:
            return item.lower
        if item.upper is not None:
            return item.upper
    return None


class MultirangeDumper(RecursiveDumper):
    """Multirange dumper, text format; upgrades to the multirange type of the bounds."""

    def __init__(self, cls: type, context: Any = None) -> None:
        super().__init__(cls, context)
        self.sub_dumper: Any = None

    def get_key(self, obj: Multirange[Any], format: PyFormat) -> Any:
        item = _representative(obj)
        if item is None:
            return (self.cls,)
        return (self.cls, self._tx.get_dumper(item, PyFormat.TEXT).get_key(item, format))

    def upgrade(self, obj: Multirange[Any], format: PyFormat) -> MultirangeDumper:
        item = _representative(obj)
        if item is None:
            return self
        dumper = type(self)(self.cls, self._tx)
        dumper.sub_dumper = self._tx.get_dumper(item, PyFormat.TEXT)
        if type(item) is int:
            dumper.oid = 0  # int4 vs int8: let the server infer it, as for ranges
            return dumper
        sub_oid = dumper.sub_dumper.oid or (25 if isinstance(item, str) else 0)
        info = self._tx.adapters.types.get_by_subtype(MultirangeInfo, sub_oid)
        dumper.oid = info.oid if info else 0
        return dumper

    def dump(self, obj: Multirange[Any]) -> bytes | None:
        sub = self.sub_dumper
        if sub is None:
            item = _representative(obj)
            if item is None:
                return dump_multirange_text(obj, _no_bounds)
            sub = self._tx.get_dumper(item, PyFormat.TEXT)
        return dump_multirange_text(obj, sub.dump)


def _no_bounds(obj: Any) -> bytes:
    raise e.InternalError("trying to dump a range element without information")


class MultirangeLoader(RecursiveLoader):
    """Multirange loader, text format; bounds are loaded by the subtype's loader."""

    subtype_oid: int = 0

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        self._load_bound = self._tx.get_loader(self.subtype_oid, self.format).load

    def load(self, data: Any) -> Multirange[Any]:
        return load_multirange_text(data, self._load_bound)


def register_multirange(info: Any, context: Any = None) -> None:
    """Load values of the multirange type described by ``info`` (a MultirangeInfo)."""
    if not info:
        raise TypeError("no info passed. Is the requested multirange available?")
    if context is not None:
        adapters = context.adapters
    else:
        from ..postgres import adapters
    info.register(context)
    loader = type(
        f"{info.name.title()}Loader",
        (MultirangeLoader,),
        {"subtype_oid": info.subtype_oid, "__module__": __name__},
    )
    adapters.register_loader(info.oid, loader)


def register_default_adapters(context: Any) -> None:
    adapters = context.adapters
    adapters.register_dumper(Multirange, MultirangeDumper)
    for oid, subtype in _BUILTIN_MULTIRANGES.items():
        adapters.register_loader(
            oid,
            type("MultirangeLoader", (MultirangeLoader,), {"subtype_oid": subtype, "__module__": __name__}),
        )
