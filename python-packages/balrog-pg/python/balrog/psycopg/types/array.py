"""Lists ↔ PostgreSQL arrays (any dimension, NULLs), in text format."""

from __future__ import annotations

import re
from typing import Any

from .. import errors as e
from ..adapt import Buffer, Dumper, Loader, PyFormat, Transformer

__all__ = ["ArrayLoader", "ListDumper", "register_array"]

_NEEDS_QUOTES = re.compile(rb'[\s"\\{},]|^$|^null$', re.IGNORECASE)


def _flat(obj: list[Any]) -> list[Any]:
    out: list[Any] = []
    stack = [iter(obj)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


class ListDumper(Dumper):
    """list → array. The element type comes from the elements (ints: the smallest fitting)."""

    oid = 0
    delimiter = b","

    def __init__(self, cls: type, context: Any = None):
        super().__init__(cls, context)
        self._tx = Transformer.from_context(context)
        self.sub_dumper: Dumper | None = None

    def _representative(self, obj: list[Any]) -> Any:
        items = [x for x in _flat(obj) if x is not None]
        if not items:
            return None
        if all(type(x) is int for x in items):
            lo, hi = min(items), max(items)
            return lo if abs(lo) > abs(hi) else hi
        return items[0]

    def get_key(self, obj: list[Any], format: PyFormat) -> Any:
        item = self._representative(obj)
        if item is None:
            return (list,)
        sub = self._tx.get_dumper(item, format)
        return (list, type(sub), sub.oid)

    def upgrade(self, obj: list[Any], format: PyFormat) -> Dumper:
        item = self._representative(obj)
        dumper = type(self)(self.cls, self._tx)
        if item is None:
            return dumper
        sub = self._tx.get_dumper(item, PyFormat.TEXT if format == PyFormat.AUTO else format)
        dumper.sub_dumper = sub
        # Elements of unknown type (str) leave the array's type to the server, as psycopg.
        info = self._tx.adapters.types.get(sub.oid) if sub.oid else None
        dumper.oid = info.array_oid if info is not None and info.array_oid else 0
        if info is not None:
            dumper.delimiter = info.delimiter.encode()
        return dumper

    def dump(self, obj: list[Any]) -> bytes:
        parts: list[bytes] = []
        self._dump_into(obj, parts)
        return b"".join(parts)

    def _dump_into(self, obj: list[Any], parts: list[bytes]) -> None:
        parts.append(b"{")
        first = True
        for item in obj:
            if not first:
                parts.append(self.delimiter)
            first = False
            if isinstance(item, list):
                self._dump_into(item, parts)
            elif item is None:
                parts.append(b"NULL")
            else:
                dumper = self.sub_dumper
                if dumper is None or type(item) is not dumper.cls:
                    dumper = self._tx.get_dumper(item, PyFormat.TEXT)
                value = bytes(dumper.dump(item) or b"")
                if b"\x00" in value:
                    raise e.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
                if _NEEDS_QUOTES.search(value):
                    value = b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
                parts.append(value)
        parts.append(b"}")


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
        from ._native import session_timezone

        spec = self._tx.loader_spec(self.base_oid)
        tz, utc = session_timezone(self.connection)
        return _pg.decode_value(("array", spec, self.delimiter), bytes(data), tz, utc)  # type: ignore[no-any-return]


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


def _global_adapters() -> Any:
    from ..postgres import adapters

    return adapters


def register_default_adapters(context: Any) -> None:
    context.adapters.register_dumper(list, ListDumper)
    from .._typeinfo import BUILTIN_MULTIRANGES, BUILTIN_RANGES, BUILTIN_TYPES, TypeInfo

    for name, oid, array_oid, regtype, delim in BUILTIN_TYPES:
        register_array(TypeInfo(name, oid, array_oid, regtype=regtype, delimiter=delim), context)
    # Arrays of the builtin ranges and multiranges load as lists of Range / Multirange.
    for name, oid, array_oid, *_ in (*BUILTIN_RANGES, *BUILTIN_MULTIRANGES):
        register_array(TypeInfo(name, oid, array_oid), context)
