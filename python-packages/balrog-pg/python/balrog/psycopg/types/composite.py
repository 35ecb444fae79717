"""Composite types: anonymous records → tuples of str; registered ones → Python objects."""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any

from .. import errors as e
from .._typeinfo import CompositeInfo
from ..adapt import Buffer, Dumper, Loader, PyFormat, Transformer

__all__ = ["CompositeInfo", "RecordLoader", "TupleDumper", "register_composite"]


def parse_record(data: bytes) -> list[bytes | None]:
    """Split ``(a,"b c",)`` into its raw fields (None for NULL)."""
    if data[:1] != b"(" or data[-1:] != b")":
        raise e.DataError(f"can't parse record: {data!r}")
    body = data[1:-1]
    fields: list[bytes | None] = []
    i, n = 0, len(body)
    while True:
        if i >= n or body[i : i + 1] == b",":
            fields.append(None)
            i += 1
            if i > n:
                break
            continue
        buf = bytearray()
        quoted_any = False
        while i < n:
            c = body[i : i + 1]
            if c == b'"':
                quoted_any = True
                i += 1
                while i < n:
                    c = body[i : i + 1]
                    if c == b"\\" and i + 1 < n:
                        buf += body[i + 1 : i + 2]
                        i += 2
                    elif c == b'"':
                        if body[i + 1 : i + 2] == b'"':
                            buf += b'"'
                            i += 2
                        else:
                            i += 1
                            break
                    else:
                        buf += c
                        i += 1
            elif c == b",":
                break
            elif c == b"\\" and i + 1 < n:
                buf += body[i + 1 : i + 2]
                i += 2
            else:
                buf += c
                i += 1
        fields.append(bytes(buf) if buf or quoted_any else b"")
        i += 1
        if i > n:
            break
    return fields


class RecordLoader(Loader):
    """An anonymous record: a tuple of strings (psycopg's behaviour)."""

    def load(self, data: Buffer) -> tuple[Any, ...]:
        return tuple(None if f is None else f.decode() for f in parse_record(bytes(data)))


class CompositeLoader(Loader):
    """A registered composite: fields loaded by their types, then ``factory(*fields)``."""

    field_types: Sequence[int] = ()
    factory: Callable[..., Any] = tuple

    def __init__(self, oid: int, context: Any = None):
        super().__init__(oid, context)
        self._tx = Transformer.from_context(context)

    def load(self, data: Buffer) -> Any:
        raw = parse_record(bytes(data))
        values = self._tx.load_sequence(raw, self.field_types)
        return type(self).factory(*values)


# What record_in would misread unquoted: delimiters, quotes, backslashes, blanks (ASCII
# whitespace, as record_out decides).
_FIELD_NEEDS_QUOTES = re.compile(rb'[(),"\\\s]')


def _quote_field(value: bytes) -> bytes:
    if not value or _FIELD_NEEDS_QUOTES.search(value):
        return b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'""') + b'"'
    return value


class TupleDumper(Dumper):
    """A tuple → an anonymous record literal (the server casts it to the column's type).

    Of unknown type, as psycopg: the server cannot read input of type ``record``, so the
    literal carries no cast and the context gives the type.
    """

    oid = 0

    def __init__(self, cls: type, context: Any = None):
        super().__init__(cls, context)
        self._tx = Transformer.from_context(context)

    def dump(self, obj: tuple[Any, ...]) -> bytes:
        parts = []
        for item in obj:
            if item is None:
                parts.append(b"")
                continue
            value = self._tx.get_dumper(item, PyFormat.TEXT).dump(item)
            # A dumper may turn a value into NULL: an empty field, unlike "" (empty text).
            parts.append(b"" if value is None else _quote_field(bytes(value)))
        return b"(" + b",".join(parts) + b")"


def register_composite(
    info: CompositeInfo, context: Any = None, factory: Callable[..., Any] | None = None
) -> None:
    """Load ``info``'s type into ``factory`` instances (a namedtuple by default), and dump them."""
    if info is None:
        raise TypeError("no info passed. Is the requested composite available?")
    info.register(context)
    if factory is None:
        factory = namedtuple(info.name, info.field_names)  # type: ignore[misc]
    info.python_type = factory  # type: ignore[assignment]
    adapters = context.adapters if context is not None else _global_adapters()
    loader = type(
        f"{info.name.title()}Loader",
        (CompositeLoader,),
        {"field_types": info.field_types, "factory": staticmethod(factory)},
    )
    adapters.register_loader(info.oid, loader)
    if isinstance(factory, type):
        dumper = type(f"{info.name.title()}Dumper", (TupleDumper,), {"oid": info.oid})
        adapters.register_dumper(factory, dumper)


def _global_adapters() -> Any:
    from ..postgres import adapters

    return adapters


def register_default_adapters(context: Any) -> None:
    context.adapters.register_loader(2249, RecordLoader)
    context.adapters.register_dumper(tuple, TupleDumper)
