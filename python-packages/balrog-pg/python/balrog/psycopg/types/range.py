"""Ranges: the ``Range`` value class, its text/binary wire forms, dumpers and loaders.

``Range.__module__`` is ``psycopg.types.range``, as in psycopg: Django's migration writer
serialises ranges by their module and repr. Pickling still goes through this module.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from .. import errors as e
from .._typeinfo import RangeInfo
from ..adapt import PyFormat, RecursiveDumper, RecursiveLoader
from ..pq import Format

__all__ = [
    "BaseRangeDumper",
    "BaseRangeLoader",
    "DateRange",
    "DateRangeBinaryDumper",
    "DateRangeBinaryLoader",
    "DateRangeDumper",
    "DateRangeLoader",
    "Int4Range",
    "Int4RangeBinaryDumper",
    "Int4RangeBinaryLoader",
    "Int4RangeDumper",
    "Int4RangeLoader",
    "Int8Range",
    "Int8RangeBinaryDumper",
    "Int8RangeBinaryLoader",
    "Int8RangeDumper",
    "Int8RangeLoader",
    "NumericRange",
    "NumericRangeBinaryDumper",
    "NumericRangeBinaryLoader",
    "NumericRangeDumper",
    "NumericRangeLoader",
    "Range",
    "RangeBinaryDumper",
    "RangeBinaryLoader",
    "RangeDumper",
    "RangeInfo",
    "RangeLoader",
    "TimestampRange",
    "TimestampRangeBinaryDumper",
    "TimestampRangeBinaryLoader",
    "TimestampRangeDumper",
    "TimestampRangeLoader",
    "TimestampTZRangeBinaryLoader",
    "TimestampTZRangeLoader",
    "TimestamptzRange",
    "TimestamptzRangeBinaryDumper",
    "TimestamptzRangeDumper",
    "dump_range_binary",
    "dump_range_text",
    "fail_dump",
    "load_range_binary",
    "load_range_text",
    "make_bound_dump",
    "register_range",
]

T = TypeVar("T")

_PUBLIC_MODULE = "psycopg.types.range"
_VALID_BOUNDS = ("[)", "(]", "()", "[]")


class Range(Generic[T]):
    """A PostgreSQL range: ``Range(lower, upper, bounds="[)", empty=False)``.

    ``None`` bounds are unbounded (infinite); ``bounds`` is two characters telling whether
    the lower and upper bounds are included.
    """

    __module__ = _PUBLIC_MODULE
    __slots__ = ("_bounds", "_lower", "_upper")

    def __init__(
        self, lower: T | None = None, upper: T | None = None, bounds: str = "[)", empty: bool = False
    ):
        if empty:
            self._lower = self._upper = None
            self._bounds = ""
            return
        if bounds not in _VALID_BOUNDS:
            raise ValueError(f"bound flags not valid: {bounds!r}")
        self._lower = lower
        self._upper = upper
        # An infinite bound is never included.
        if lower is None and bounds[0] == "[":
            bounds = "(" + bounds[1]
        if upper is None and bounds[1] == "]":
            bounds = bounds[0] + ")"
        self._bounds = bounds

    def __repr__(self) -> str:
        if not self._bounds:
            return f"{self.__class__.__name__}(empty=True)"
        return f"{self.__class__.__name__}({self._lower!r}, {self._upper!r}, {self._bounds!r})"

    def __str__(self) -> str:
        if not self._bounds:
            return "empty"
        return f"{self._bounds[0]}{self._lower}, {self._upper}{self._bounds[1]}"

    @property
    def lower(self) -> T | None:
        """The lower bound; None if empty or unbounded."""
        return self._lower

    @property
    def upper(self) -> T | None:
        """The upper bound; None if empty or unbounded."""
        return self._upper

    @property
    def bounds(self) -> str:
        """The bounds string: two characters among "[", "(", "]", ")"; "" if empty."""
        return self._bounds

    @property
    def isempty(self) -> bool:
        return not self._bounds

    @property
    def lower_inf(self) -> bool:
        return bool(self._bounds) and self._lower is None

    @property
    def upper_inf(self) -> bool:
        return bool(self._bounds) and self._upper is None

    @property
    def lower_inc(self) -> bool:
        return bool(self._bounds) and self._lower is not None and self._bounds[0] == "["

    @property
    def upper_inc(self) -> bool:
        return bool(self._bounds) and self._upper is not None and self._bounds[1] == "]"

    def __contains__(self, x: T) -> bool:
        if not self._bounds:
            return False
        lower: Any = self._lower
        upper: Any = self._upper
        if lower is not None and (x < lower if self._bounds[0] == "[" else x <= lower):
            return False
        return not (upper is not None and (x > upper if self._bounds[1] == "]" else x >= upper))

    def __bool__(self) -> bool:
        return bool(self._bounds)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Range):
            return False
        return self._lower == other._lower and self._upper == other._upper and self._bounds == other._bounds

    def __hash__(self) -> int:
        return hash((self._lower, self._upper, self._bounds))

    # Ordering is arbitrary, as PostgreSQL says of its own, but stable: by lower, then
    # upper, then bounds, with None (unbounded) first.
    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Range):
            return NotImplemented
        for mine, theirs in (
            (self._lower, other._lower),
            (self._upper, other._upper),
            (self._bounds, other._bounds),
        ):
            if mine == theirs:
                continue
            if mine is None:
                return True
            if theirs is None:
                return False
            return bool(mine < theirs)  # type: ignore[operator]
        return False

    def __le__(self, other: object) -> bool:
        return self == other or self < other

    def __gt__(self, other: object) -> bool:
        if isinstance(other, Range):
            return other < self
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        return self == other or self > other

    def __getstate__(self) -> dict[str, Any]:
        return {slot: getattr(self, slot) for slot in self.__slots__ if hasattr(self, slot)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for slot, value in state.items():
            setattr(self, slot, value)

    def __reduce__(self) -> tuple[Any, ...]:
        # By default pickle would look the class up by __module__ (psycopg's name); the
        # classes of this module are rebuilt through a function of the real module.
        cls = type(self)
        if _BY_NAME.get(cls.__name__) is cls:
            return (_rebuild, (cls.__name__, self.__getstate__()))
        return (_rebuild_class, (cls, self.__getstate__()))


# Subclasses naming the subtype (needed by binary COPY, where the type must be known).
class Int4Range(Range[int]):
    __module__ = _PUBLIC_MODULE


class Int8Range(Range[int]):
    __module__ = _PUBLIC_MODULE


class NumericRange(Range[Decimal]):
    __module__ = _PUBLIC_MODULE


class DateRange(Range[date]):
    __module__ = _PUBLIC_MODULE


class TimestampRange(Range[datetime]):
    __module__ = _PUBLIC_MODULE


class TimestamptzRange(Range[datetime]):
    __module__ = _PUBLIC_MODULE


_BY_NAME: dict[str, type[Range[Any]]] = {
    cls.__name__: cls
    for cls in (Range, Int4Range, Int8Range, NumericRange, DateRange, TimestampRange, TimestamptzRange)
}


def _rebuild(name: str, state: dict[str, Any]) -> Range[Any]:
    return _rebuild_class(_BY_NAME[name], state)


def _rebuild_class(cls: type[Range[Any]], state: dict[str, Any]) -> Range[Any]:
    obj = cls.__new__(cls)
    obj.__setstate__(state)
    return obj


# -- text form: "[1,5)", "(,\"a b\"]", "empty" ------------------------------------------------

DumpFunc = Callable[[Any], Any]
LoadFunc = Callable[[bytes], Any]

_NEEDS_QUOTES = frozenset(b'",\\()[] \t\n\r\v\f')


def _quote_bound(data: bytes) -> bytes:
    if not data:
        return b'""'
    if any(byte in _NEEDS_QUOTES for byte in data):
        return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'""') + b'"'
    return data


def dump_range_text(obj: Range[Any], dump: DumpFunc) -> bytes:
    """The text form of a range, bounds dumped by ``dump`` (returning bytes or None)."""
    if obj.isempty:
        return b"empty"
    parts = [b"[" if obj.lower_inc else b"("]
    if obj.lower is not None and (data := dump(obj.lower)) is not None:
        parts.append(_quote_bound(bytes(data)))
    parts.append(b",")
    if obj.upper is not None and (data := dump(obj.upper)) is not None:
        parts.append(_quote_bound(bytes(data)))
    parts.append(b"]" if obj.upper_inc else b")")
    return b"".join(parts)


def load_range_text(data: bytes | bytearray | memoryview, load: LoadFunc) -> tuple[Range[Any], int]:
    """Parse a range's text form; returns the range and how many bytes it took.

    Follows PostgreSQL's range_in: bounds may be quoted ("" is a quote inside quotes) and
    backslash escapes anything; an unquoted empty bound is infinite.
    """
    text = bytes(data)
    if text[:5].lower() == b"empty":
        return Range(empty=True), 5
    if not text or text[0] not in b"[(":
        raise e.DataError(f"failed to parse range: '{text.decode('utf8', 'replace')}'")
    lower, pos = _read_bound(text, 1, b",")
    upper, pos = _read_bound(text, pos + 1, b")]")
    if pos >= len(text):
        raise e.DataError(f"failed to parse range: '{text.decode('utf8', 'replace')}'")
    bounds = chr(text[0]) + chr(text[pos])
    low = load(lower) if lower is not None else None
    high = load(upper) if upper is not None else None
    return Range(low, high, bounds), pos + 1


def _read_bound(text: bytes, pos: int, stops: bytes) -> tuple[bytes | None, int]:
    """One bound starting at ``pos``: its bytes (None if infinite) and the stop's position."""
    out = bytearray()
    quoted_any = False
    in_quotes = False
    size = len(text)
    while pos < size:
        byte = text[pos]
        if in_quotes:
            if byte == 0x22:  # "
                if pos + 1 < size and text[pos + 1] == 0x22:
                    out.append(0x22)
                    pos += 2
                    continue
                in_quotes = False
            elif byte == 0x5C and pos + 1 < size:  # backslash
                out.append(text[pos + 1])
                pos += 2
                continue
            else:
                out.append(byte)
        elif byte in stops:
            break
        elif byte == 0x22:
            in_quotes = quoted_any = True
        elif byte == 0x5C and pos + 1 < size:
            out.append(text[pos + 1])
            pos += 2
            continue
        else:
            out.append(byte)
        pos += 1
    if pos >= size:
        raise e.DataError(f"failed to parse range: '{text.decode('utf8', 'replace')}'")
    if not out and not quoted_any:
        return None, pos
    return bytes(out), pos


# -- binary form ------------------------------------------------------------------------------

RANGE_EMPTY = 0x01
RANGE_LB_INC = 0x02
RANGE_UB_INC = 0x04
RANGE_LB_INF = 0x08
RANGE_UB_INF = 0x10

_LEN = struct.Struct("!i")


def dump_range_binary(obj: Range[Any], dump: DumpFunc) -> bytes:
    """The binary form: a flags byte, then each finite bound as (int32 length, data)."""
    if not obj:
        return bytes([RANGE_EMPTY])
    head = (RANGE_LB_INC if obj.lower_inc else 0) | (RANGE_UB_INC if obj.upper_inc else 0)
    out = bytearray(1)
    for bound, infinite in ((obj.lower, RANGE_LB_INF), (obj.upper, RANGE_UB_INF)):
        data = dump(bound) if bound is not None else None
        if data is None:
            head |= infinite
        else:
            out += _LEN.pack(len(data))
            out += data
    out[0] = head
    return bytes(out)


def load_range_binary(data: bytes | bytearray | memoryview, load: LoadFunc) -> Range[Any]:
    view = bytes(data)
    head = view[0]
    if head & RANGE_EMPTY:
        return Range(empty=True)
    bounds = ("[" if head & RANGE_LB_INC else "(") + ("]" if head & RANGE_UB_INC else ")")
    pos = 1
    values: list[Any] = []
    for infinite in (RANGE_LB_INF, RANGE_UB_INF):
        if head & infinite:
            values.append(None)
            continue
        (length,) = _LEN.unpack_from(view, pos)
        pos += 4
        values.append(load(view[pos : pos + length]))
        pos += length
    return Range(values[0], values[1], bounds)


# -- adapters ---------------------------------------------------------------------------------

_INVALID_OID = 0
_TEXT_OID = 25
_TIMESTAMP_OID = 1114
_TIMESTAMPTZ_OID = 1184


class BaseRangeDumper(RecursiveDumper):
    """Dumps a Range; a generic ``Range`` upgrades to the range type of its bounds."""

    # Set by subclasses dumping a known range type (Int4Range ...).
    subtype_oid = _INVALID_OID

    def __init__(self, cls: type, context: Any = None) -> None:
        super().__init__(cls, context)
        self.sub_dumper: Any = None
        self._adapt_format = PyFormat.from_pq(self.format)
        self._dump_bound: DumpFunc | None = None
        if self.subtype_oid != _INVALID_OID:
            # A known subtype: dump bounds with its dumper, whatever their Python value
            # (a small int would otherwise pick int2).
            self._dump_bound = make_bound_dump(self._tx, self.subtype_oid, self.format)

    def get_key(self, obj: Range[Any], format: PyFormat) -> Any:
        if self.cls is not Range:
            return self.cls
        item = _representative(obj)
        if item is None:
            return (self.cls,)
        sub = self._tx.get_dumper(item, self._adapt_format)
        return (self.cls, sub.get_key(item, format))

    def upgrade(self, obj: Range[Any], format: PyFormat) -> BaseRangeDumper:
        if self.cls is not Range:
            return self
        item = _representative(obj)
        if item is None:
            return self
        if type(item) is int:
            # PostgreSQL will not cast int4range to int8range: send text of unknown type.
            int_dumper: BaseRangeDumper = RangeDumper(self.cls, self._tx)
            int_dumper.sub_dumper = self._tx.get_dumper(item, PyFormat.TEXT)
            int_dumper.oid = _INVALID_OID
            return int_dumper
        dumper = type(self)(self.cls, self._tx)
        sub_oid = self._tx.get_dumper(item, format).oid  # the bounds' type names the range's
        if sub_oid == _INVALID_OID and isinstance(item, str):
            sub_oid = _TEXT_OID  # str dumps as unknown; a range of text is still a range
        dumper.oid = self._range_oid(sub_oid)
        # The bounds are dumped in the range dumper's own format (psycopg's RangeDumper.dump):
        # under %s a date's dumper is the binary one, its text range needs the text one.
        dumper.sub_dumper = self._tx.get_dumper(item, dumper._adapt_format)
        return dumper

    def _range_oid(self, sub_oid: int) -> int:
        info = self._tx.adapters.types.get_by_subtype(RangeInfo, sub_oid)
        return info.oid if info else _INVALID_OID

    def _bound_dumper(self, obj: Range[Any]) -> DumpFunc:
        if self._dump_bound is not None:
            return self._dump_bound
        if self.sub_dumper is not None:
            return self.sub_dumper.dump  # type: ignore[no-any-return]
        item = _representative(obj)
        if item is not None:
            return self._tx.get_dumper(item, self._adapt_format).dump  # type: ignore[no-any-return]
        return _fail_dump


def _representative(obj: Range[Any]) -> Any:
    return obj.lower if obj.lower is not None else obj.upper


def fail_dump(obj: Any) -> bytes:
    """The bound dumper of a range whose bounds are all infinite: never called."""
    raise e.InternalError("trying to dump a range element without information")


_fail_dump = fail_dump


def make_bound_dump(tx: Any, subtype_oid: int, format: Format) -> DumpFunc:
    """The function dumping the bounds of a range (or multirange) whose subtype is known,
    whatever the Python type of the bound.

    In binary a datetime cannot be sent as the other timestamp type for the server to cast,
    so it is converted as the server would convert its text: a timestamp drops the zone, a
    timestamptz reads a naive value in the session's TimeZone.
    """
    dump = tx.adapters.get_dumper_by_oid(subtype_oid, format)(object, tx).dump
    if format != Format.BINARY or subtype_oid not in (_TIMESTAMP_OID, _TIMESTAMPTZ_OID):
        return dump  # type: ignore[no-any-return]
    if subtype_oid == _TIMESTAMP_OID:

        def dump_naive(item: Any) -> Any:
            if isinstance(item, datetime) and item.tzinfo is not None:
                item = item.replace(tzinfo=None)
            return dump(item)

        return dump_naive

    conn = tx.connection

    def dump_aware(item: Any) -> Any:
        if isinstance(item, datetime) and item.tzinfo is None:
            item = item.replace(tzinfo=_session_tz(conn))
        return dump(item)

    return dump_aware


def _session_tz(conn: Any) -> Any:
    if conn is not None:
        try:
            return conn._timezone()[0]
        except Exception:  # a closed or broken connection: as with no connection
            pass
    return UTC


class RangeDumper(BaseRangeDumper):
    """Range dumper, text format; upgrades to the range type of the bounds."""

    def dump(self, obj: Range[Any]) -> bytes | None:
        return dump_range_text(obj, self._bound_dumper(obj))


class RangeBinaryDumper(BaseRangeDumper):
    """Range dumper, binary format."""

    format = Format.BINARY

    def dump(self, obj: Range[Any]) -> bytes | None:
        return dump_range_binary(obj, self._bound_dumper(obj))


class BaseRangeLoader(RecursiveLoader, Generic[T]):
    """Loads a range whose bounds are of type ``subtype_oid`` (set by subclasses)."""

    subtype_oid: int = _INVALID_OID

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        self._load_bound = self._tx.get_loader(self.subtype_oid, self.format).load


class RangeLoader(BaseRangeLoader[T]):
    """Range loader, text format."""

    def load(self, data: Any) -> Range[T]:
        return load_range_text(data, self._load_bound)[0]


class RangeBinaryLoader(BaseRangeLoader[T]):
    """Range loader, binary format."""

    format = Format.BINARY

    def load(self, data: Any) -> Range[T]:
        return load_range_binary(data, self._load_bound)


def register_range(info: Any, context: Any = None) -> None:
    """Load values of the range type described by ``info`` (a RangeInfo) as Range."""
    if not info:
        raise TypeError("no info passed. Is the requested range available?")
    adapters = context.adapters if context is not None else _global_adapters()
    info.register(context)
    text_loader = type(
        f"{info.name.title()}Loader",
        (RangeLoader,),
        {"subtype_oid": info.subtype_oid, "__module__": __name__},
    )
    binary_loader = type(
        f"{info.name.title()}BinaryLoader",
        (RangeBinaryLoader,),
        {"subtype_oid": info.subtype_oid, "__module__": __name__},
    )
    adapters.register_loader(info.oid, text_loader)
    adapters.register_loader(info.oid, binary_loader)


def _global_adapters() -> Any:
    from ..postgres import adapters

    return adapters


# -- dumpers and loaders of the builtin range types --------------------------------------------


class Int4RangeDumper(RangeDumper):
    oid = 3904
    subtype_oid = 23


class Int4RangeBinaryDumper(RangeBinaryDumper):
    oid = 3904
    subtype_oid = 23


class Int8RangeDumper(RangeDumper):
    oid = 3926
    subtype_oid = 20


class Int8RangeBinaryDumper(RangeBinaryDumper):
    oid = 3926
    subtype_oid = 20


class NumericRangeDumper(RangeDumper):
    oid = 3906
    subtype_oid = 1700


class NumericRangeBinaryDumper(RangeBinaryDumper):
    oid = 3906
    subtype_oid = 1700


class DateRangeDumper(RangeDumper):
    oid = 3912
    subtype_oid = 1082


class DateRangeBinaryDumper(RangeBinaryDumper):
    oid = 3912
    subtype_oid = 1082


class TimestampRangeDumper(RangeDumper):
    oid = 3908
    subtype_oid = _TIMESTAMP_OID


class TimestampRangeBinaryDumper(RangeBinaryDumper):
    oid = 3908
    subtype_oid = _TIMESTAMP_OID


class TimestamptzRangeDumper(RangeDumper):
    oid = 3910
    subtype_oid = _TIMESTAMPTZ_OID


class TimestamptzRangeBinaryDumper(RangeBinaryDumper):
    oid = 3910
    subtype_oid = _TIMESTAMPTZ_OID


class Int4RangeLoader(RangeLoader[int]):
    subtype_oid = 23


class Int4RangeBinaryLoader(RangeBinaryLoader[int]):
    subtype_oid = 23


class Int8RangeLoader(RangeLoader[int]):
    subtype_oid = 20


class Int8RangeBinaryLoader(RangeBinaryLoader[int]):
    subtype_oid = 20


class NumericRangeLoader(RangeLoader[Decimal]):
    subtype_oid = 1700


class NumericRangeBinaryLoader(RangeBinaryLoader[Decimal]):
    subtype_oid = 1700


class DateRangeLoader(RangeLoader[date]):
    subtype_oid = 1082


class DateRangeBinaryLoader(RangeBinaryLoader[date]):
    subtype_oid = 1082


class TimestampRangeLoader(RangeLoader[datetime]):
    subtype_oid = _TIMESTAMP_OID


class TimestampRangeBinaryLoader(RangeBinaryLoader[datetime]):
    subtype_oid = _TIMESTAMP_OID


class TimestampTZRangeLoader(RangeLoader[datetime]):
    subtype_oid = _TIMESTAMPTZ_OID


class TimestampTZRangeBinaryLoader(RangeBinaryLoader[datetime]):
    subtype_oid = _TIMESTAMPTZ_OID


_WRAPPER_DUMPERS: tuple[tuple[type, type, type], ...] = (
    (Int4Range, Int4RangeDumper, Int4RangeBinaryDumper),
    (Int8Range, Int8RangeDumper, Int8RangeBinaryDumper),
    (NumericRange, NumericRangeDumper, NumericRangeBinaryDumper),
    (DateRange, DateRangeDumper, DateRangeBinaryDumper),
    (TimestampRange, TimestampRangeDumper, TimestampRangeBinaryDumper),
    (TimestamptzRange, TimestamptzRangeDumper, TimestamptzRangeBinaryDumper),
)

_BUILTIN_LOADERS: tuple[tuple[int, type, type], ...] = (
    (3904, Int4RangeLoader, Int4RangeBinaryLoader),
    (3926, Int8RangeLoader, Int8RangeBinaryLoader),
    (3906, NumericRangeLoader, NumericRangeBinaryLoader),
    (3912, DateRangeLoader, DateRangeBinaryLoader),
    (3908, TimestampRangeLoader, TimestampRangeBinaryLoader),
    (3910, TimestampTZRangeLoader, TimestampTZRangeBinaryLoader),
)


def register_default_adapters(context: Any) -> None:
    adapters = context.adapters
    # Binary first, text last: the later registration also serves %s, text in balrog.
    adapters.register_dumper(Range, RangeBinaryDumper)
    adapters.register_dumper(Range, RangeDumper)
    for cls, text, binary in _WRAPPER_DUMPERS:
        adapters.register_dumper(cls, binary)
        adapters.register_dumper(cls, text)
    for oid, text_loader, binary_loader in _BUILTIN_LOADERS:
        adapters.register_loader(oid, text_loader)
        adapters.register_loader(oid, binary_loader)
    # The wrappers' bounds are dumped by their subtype's oid, so these must be what the oids
    # find: a naive datetime's text dumper is otherwise only reached through the upgrade of
    # the datetime one, and numeric's would be IntNumeric's (registered last), which refuses
    # a Decimal. Registered here, after the numeric and datetime modules.
    from .datetime import DatetimeNoTzDumper
    from .numeric import DecimalDumper

    adapters.register_dumper(None, DatetimeNoTzDumper)
    adapters.register_dumper(None, DecimalDumper)
