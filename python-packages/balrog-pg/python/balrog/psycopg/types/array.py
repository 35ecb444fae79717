"""Lists ↔ PostgreSQL arrays (any dimension, NULLs): text format, and binary for ``%b``."""

from __future__ import annotations

import functools
import re
import struct
from typing import Any

from .. import errors as e
from .. import pq
from ..adapt import Buffer, Dumper, Loader, PyFormat, Transformer

__all__ = ["ArrayLoader", "ListBinaryDumper", "ListDumper", "register_array"]

_TEXT_ARRAY_OID = 1009
_TEXT_OID = 25


@functools.cache
def _needs_quotes(delimiter: bytes) -> re.Pattern[bytes]:
    """What array_in would misread unquoted (psycopg quotes exactly these).

    The empty string, the word NULL, braces, quotes, backslashes, the delimiter, ASCII
    whitespace, and the Unicode spaces some servers (CockroachDB) strip from unquoted
    elements: U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000 in UTF-8.
    """
    unicode_spaces = rb"\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]|\xe2\x81\x9f|\xe3\x80\x80"
    specials = re.escape(b'"{}\\' + delimiter)
    return re.compile(rb"^$|^null$|[" + specials + rb"\s]|" + unicode_spaces, re.IGNORECASE)


def _flat_items(obj: list[Any]) -> list[Any]:
    """The non-NULL leaves of a nested list; a list containing itself is refused."""
    items: list[Any] = []
    active: set[int] = set()  # the lists being walked, to catch a recursive one

    def walk(level: list[Any]) -> None:
        if id(level) in active:
            raise e.DataError("cannot dump a recursive list")
        active.add(id(level))
        for item in level:
            if isinstance(item, list):
                walk(item)
            elif item is not None:
                items.append(item)
        active.discard(id(level))

    walk(obj)
    return items


class ListDumper(Dumper):
    """list → array. The element type comes from the elements, chosen as psycopg does:

    one Python type: its last element (ints: the one needing the widest type, so that the
    smallest type fitting them all is used); several types: refused unless they all dump
    to the same PostgreSQL type (IPv4Address and IPv6Address ...). Every element is then
    dumped by that element's dumper.
    """

    oid = 0
    delimiter = b","
    # Set on the dumpers register_array() registers by array oid (get_dumper_by_oid, COPY
    # set_types): the elements then go through the element type's own dumper.
    element_oid = 0

    def __init__(self, cls: type, context: Any = None):
        super().__init__(cls, context)
        self._tx = Transformer.from_context(context)
        self.sub_dumper: Dumper | None = None
        if self.element_oid:
            try:
                by_oid = self._tx.adapters.get_dumper_by_oid(self.element_oid, self.format)
            except e.ProgrammingError:
                pass  # no dumper for the element type: each element by its Python type
            else:
                self.sub_dumper = by_oid(object, self._tx)

    def _representative(self, obj: list[Any], format: PyFormat) -> Any:
        items = _flat_items(obj)
        if not items:
            return None
        last_by_type = {type(item): item for item in items}
        if len(last_by_type) == 1:
            kind, chosen = type(items[-1]), items[-1]
        else:
            oids = {self._tx.get_dumper(item, format).oid for item in last_by_type.values()}
            if len(oids) != 1:
                names = ", ".join(sorted(t.__name__ for t in last_by_type))
                raise e.DataError(f"cannot dump lists of mixed types; got: {names}")
            kind, chosen = last_by_type.popitem()
        if kind is not int:
            return chosen
        # -n-1 needs the same type as n: the largest magnitude, counted that way, decides.
        top, bottom = max(items), min(items)
        return top if bottom >= 0 else max(top, -bottom - 1)

    def get_key(self, obj: list[Any], format: PyFormat) -> Any:
        item = self._representative(obj, format)
        if item is None:
            return (list,)
        sub = self._tx.get_dumper(item, format)
        return (list, type(sub), sub.oid)

    def upgrade(self, obj: list[Any], format: PyFormat) -> Dumper:
        item = self._representative(obj, format)
        dumper = type(self)(self.cls, self._tx)
        if item is None:
            return dumper
        sub = self._tx.get_dumper(item, PyFormat.TEXT)
        dumper.sub_dumper = sub
        if sub.oid:
            # A type the registry does not know is sent as text[], as psycopg.
            info = self._tx.adapters.types.get(sub.oid)
            dumper.oid = (info.array_oid if info is not None else 0) or _TEXT_ARRAY_OID
            if info is not None:
                dumper.delimiter = info.delimiter.encode()
        else:
            # Elements of unknown type (str) leave the array's type to the server.
            dumper.oid = 0
        return dumper

    def dump(self, obj: list[Any]) -> bytes:
        parts: list[bytes] = []
        self._dump_into(obj, parts, _needs_quotes(self.delimiter))
        return b"".join(parts)

    def _dump_into(self, obj: list[Any], parts: list[bytes], needs_quotes: re.Pattern[bytes]) -> None:
        if not obj:
            parts.append(b"{}")
            return
        parts.append(b"{")
        for item in obj:
            if isinstance(item, list):
                self._dump_into(item, parts, needs_quotes)
            elif item is None:
                parts.append(b"NULL")
            else:
                dumper = self.sub_dumper or self._tx.get_dumper(item, PyFormat.TEXT)
                value = dumper.dump(item)
                if value is None:
                    parts.append(b"NULL")
                else:
                    value = bytes(value)
                    if b"\x00" in value:
                        raise e.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
                    if needs_quotes.search(value):
                        value = b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
                    parts.append(value)
            parts.append(self.delimiter)
        parts[-1] = b"}"


class ListBinaryDumper(ListDumper):
    """list → array in PostgreSQL's binary format (``%b``): dimensions, a NULL flag and the
    element type up front, then each element's binary form with its length."""

    format = pq.Format.BINARY

    def upgrade(self, obj: list[Any], format: PyFormat) -> Dumper:
        item = self._representative(obj, PyFormat.BINARY)
        if item is None:
            # No element tells the type: as psycopg, the text form with no oid, so that the
            # server fits it to the context ('{}' or '{NULL}' become an int4[] just as well).
            return ListDumper(self.cls, self._tx)
        dumper = type(self)(self.cls, self._tx)
        sub = self._tx.get_dumper(item, PyFormat.BINARY)
        dumper.sub_dumper = sub
        info = self._tx.adapters.types.get(sub.oid) if sub.oid else None
        dumper.oid = (info.array_oid if info is not None else 0) or _TEXT_ARRAY_OID
        return dumper

    def dump(self, obj: list[Any]) -> bytes:
        if not isinstance(obj, list):
            # (a COPY column pinned to an array type): an empty array would lose the value.
            raise TypeError(f"{type(self).__name__} cannot dump {type(obj).__name__}: a list is expected")
        dims: list[int] = []
        level: Any = obj
        while isinstance(level, list):
            dims.append(len(level))
            if not level:
                break
            level = level[0]
        if dims == [0]:
            dims = []
        elements: list[bytes] = []
        has_null = self._dump_binary(obj, dims, 0, elements) if dims else False
        element_oid = self.element_oid or (self.sub_dumper.oid if self.sub_dumper is not None else _TEXT_OID)
        head = [struct.pack("!iiI", len(dims), int(has_null), element_oid)]
        head.extend(struct.pack("!ii", size, 1) for size in dims)
        return b"".join(head + elements)

    def _dump_binary(self, obj: list[Any], dims: list[int], depth: int, out: list[bytes]) -> bool:
        if depth >= len(dims) or len(obj) != dims[depth]:
            raise e.DataError("nested lists have inconsistent lengths")
        has_null = False
        for item in obj:
            if depth + 1 < len(dims):
                if not isinstance(item, list):
                    raise e.DataError("nested lists have inconsistent depths")
                has_null |= self._dump_binary(item, dims, depth + 1, out)
                continue
            if isinstance(item, list):
                raise e.DataError("nested lists have inconsistent depths")
            value = None
            if item is not None:
                dumper = self.sub_dumper or self._tx.get_dumper(item, PyFormat.BINARY)
                value = dumper.dump(item)
            if value is None:
                out.append(b"\xff\xff\xff\xff")  # length -1: NULL
                has_null = True
            else:
                value = bytes(value)
                out.append(struct.pack("!i", len(value)) + value)
        return has_null


class ArrayLoader(Loader):
    """Array of ``base_oid`` elements; the driver parses it natively when it can."""

    base_oid: int = 0
    delimiter: str = ","
    _balrog_array = True

    def __init__(self, oid: int, context: Any = None):
        super().__init__(oid, context)
        self._tx = Transformer.from_context(context)

    def load(self, data: Buffer) -> list[Any]:
        from ... import _pg
        from .._encodings import is_sql_ascii
        from ._native import session_timezone
        from .datetime import _session_styles

        spec = self._tx.loader_spec(self.base_oid, self.format)
        tz, utc = session_timezone(self.connection)
        datestyle, intervalstyle = _session_styles(self.connection)
        return _pg.decode_value(  # type: ignore[no-any-return]
            ("array", spec, self.delimiter),
            bytes(data),
            tz,
            utc,
            datestyle,
            intervalstyle,
            is_sql_ascii(self.connection),
            binary=self.format == pq.Format.BINARY,
        )


class ArrayBinaryLoader(ArrayLoader):
    """Array of ``base_oid`` elements in binary format (array_send's: dimensions, then the
    elements with their lengths)."""

    format = pq.Format.BINARY


def register_array(info: Any, context: Any = None) -> None:
    """Load arrays of ``info``'s type (after its own loader is registered)."""
    if not info.array_oid:
        raise ValueError(f"the type info {info} doesn't describe an array")
    adapters = context.adapters if context is not None else _global_adapters()
    loader = type(
        f"{info.name.title()}{ArrayLoader.__name__}",
        (ArrayLoader,),
        {"base_oid": info.oid, "delimiter": info.delimiter, "_balrog_array": True},
    )
    adapters.register_loader(info.array_oid, loader)
    # One name for every type, as psycopg's (whose single binary loader reads the element
    # type from the value).
    binary_loader = type(
        ArrayBinaryLoader.__name__,
        (ArrayBinaryLoader,),
        {"base_oid": info.oid, "delimiter": info.delimiter, "_balrog_array": True},
    )
    adapters.register_loader(info.array_oid, binary_loader)
    # By oid only, as psycopg: lists into a column typed with COPY's set_types().
    for base in (ListDumper, ListBinaryDumper):
        attributes = {"oid": info.array_oid, "element_oid": info.oid, "delimiter": info.delimiter.encode()}
        adapters.register_dumper(None, type(f"{info.name.title()}{base.__name__}", (base,), attributes))


def _global_adapters() -> Any:
    from ..postgres import adapters

    return adapters


def register_default_adapters(context: Any) -> None:
    context.adapters.register_dumper(list, ListBinaryDumper)  # first: %s stays text
    context.adapters.register_dumper(list, ListDumper)
    from .._typeinfo import BUILTIN_MULTIRANGES, BUILTIN_RANGES, BUILTIN_TYPES, TypeInfo

    for name, oid, array_oid, regtype, delim in BUILTIN_TYPES:
        register_array(TypeInfo(name, oid, array_oid, regtype=regtype, delimiter=delim), context)
    # Arrays of the builtin ranges and multiranges load as lists of Range / Multirange.
    for name, oid, array_oid, *_ in (*BUILTIN_RANGES, *BUILTIN_MULTIRANGES):
        register_array(TypeInfo(name, oid, array_oid), context)
