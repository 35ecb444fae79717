"""Multiranges (PostgreSQL 14+): ``Multirange``, a mutable sequence of ``Range``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableSequence
from typing import Any, TypeVar, overload

from .. import errors as e
from .range import LoadFunc, Range, load_range_text

__all__ = ["Multirange", "load_multirange_text"]

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
