"""Composite types: anonymous records → tuples of str; registered ones → Python objects."""

from __future__ import annotations

import functools
import logging
import re
import struct
from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any

from ... import _pg
from .. import errors as e
from .._encodings import foreign_encoding
from .._typeinfo import CompositeInfo
from ..adapt import Buffer, Dumper, Loader, PyFormat, Transformer
from ..pq import Format
from ..rows import _as_python_identifier

__all__ = ["CompositeBinaryDumper", "CompositeInfo", "RecordLoader", "TupleDumper", "register_composite"]

logger = logging.getLogger("psycopg")


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
    """An anonymous record: a tuple of its fields loaded as text (psycopg's behaviour: the
    fields have no known type), by the text loader of the context (a user's one too)."""

    def __init__(self, oid: int, context: Any = None):
        super().__init__(oid, context)
        from ..pq import Format
        from .string import TextLoader

        loader = Transformer.from_context(context).get_loader(25, Format.TEXT)
        self._load_field = None if type(loader) is TextLoader else loader.load

    def load(self, data: Buffer) -> tuple[Any, ...]:
        raw = bytes(data)
        if raw == b"()":
            # Zero fields, or one NULL: the text form cannot tell; psycopg reads no fields.
            return ()
        load = self._load_field
        if load is None:
            return tuple(None if f is None else f.decode() for f in parse_record(raw))
        return tuple(None if f is None else load(f) for f in parse_record(raw))


class CompositeLoader(Loader):
    """A registered composite: fields loaded by their types, then ``make_object``."""

    info: CompositeInfo

    def __init__(self, oid: int, context: Any = None):
        super().__init__(oid, context)
        self._tx = Transformer.from_context(context)

    def load(self, data: Buffer) -> Any:
        raw = parse_record(bytes(data))
        values = self._tx.load_sequence(raw, self.info.field_types)
        return type(self).make_object(values, self.info)

    @staticmethod
    def make_object(values: Sequence[Any], info: CompositeInfo) -> Any:
        return tuple(values)


_unpack_field_head = struct.Struct("!Ii").unpack_from


def parse_record_binary(data: bytes) -> tuple[list[int], list[bytes | None]]:
    """record_send's format: a field count, then each field's type oid, length (-1 for
    NULL) and value → (the oids, the raw values)."""
    try:
        (count,) = struct.unpack_from("!i", data)
        oids: list[int] = []
        values: list[bytes | None] = []
        pos = 4
        for _ in range(count):
            oid, size = _unpack_field_head(data, pos)
            pos += 8
            oids.append(oid)
            if size < 0:
                values.append(None)
                continue
            if pos + size > len(data):
                raise struct.error("field past the end of the record")
            values.append(data[pos : pos + size])
            pos += size
    except struct.error as ex:
        raise e.DataError(f"can't parse binary record: {ex}") from None
    return oids, values


class RecordBinaryLoader(Loader):
    """An anonymous record in binary: each field carries its type, loaded by that type's
    binary loader (unknown types as bytes, as psycopg)."""

    format = Format.BINARY

    def __init__(self, oid: int, context: Any = None):
        super().__init__(oid, context)
        self._tx = Transformer.from_context(context)
        # A composite's text fields come in the client encoding (the wire layer converts
        # anonymous records only): converted here, field by field as their types say.
        self._recode = foreign_encoding(self.connection) if oid != 2249 else None

    def load(self, data: Buffer) -> tuple[Any, ...]:
        raw = bytes(data)
        if self._recode is not None:
            raw = _pg.binary_to_utf8(self._recode, 2249, raw)
        oids, values = parse_record_binary(raw)
        get_loader = self._tx.get_loader
        return tuple(
            None if v is None else get_loader(oid, Format.BINARY).load(v)
            for v, oid in zip(values, oids, strict=True)
        )


class CompositeBinaryLoader(RecordBinaryLoader):
    """A registered composite in binary: fields loaded by the types the value names, then
    ``make_object``."""

    info: CompositeInfo

    def load(self, data: Buffer) -> Any:
        values = super().load(data)
        return type(self).make_object(values, self.info)

    @staticmethod
    def make_object(values: Sequence[Any], info: CompositeInfo) -> Any:
        return tuple(values)


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


class SequenceDumper(TupleDumper):
    """A registered composite's Python type → its record literal, through ``make_sequence``."""

    info: CompositeInfo

    def dump(self, obj: Any) -> bytes:
        return super().dump(type(self).make_sequence(obj, self.info))

    @staticmethod
    def make_sequence(obj: Any, info: CompositeInfo) -> Sequence[Any]:
        return obj  # type: ignore[no-any-return]


_FIELD_HEAD = struct.Struct("!Ii")  # a field's type oid and length (-1: NULL)


class CompositeBinaryDumper(Dumper):
    """A registered composite's Python type → ``record_recv``'s binary form: the field
    count, then each field's type oid, length and value dumped in binary by its type's
    dumper (what ``%b`` sends, as psycopg's)."""

    format = Format.BINARY
    info: CompositeInfo

    def __init__(self, cls: type, context: Any = None):
        super().__init__(cls, context)
        self._tx = Transformer.from_context(context)
        # (field index, value type) → the dumper of the field's type for such values.
        self._dumpers: dict[tuple[int, type], Dumper] = {}

    def dump(self, obj: Any) -> bytes:
        fields = type(self).make_sequence(obj, self.info)
        types = self.info.field_types
        parts = [struct.pack("!i", len(types))]
        for index, (value, oid) in enumerate(zip(fields, types, strict=False)):
            if value is None:
                parts.append(_FIELD_HEAD.pack(oid, -1))
                continue
            key = (index, type(value))
            dumper = self._dumpers.get(key)
            if dumper is None:
                dcls = self._tx.adapters.get_dumper_by_oid(oid, Format.BINARY)
                dumper = self._dumpers[key] = dcls(type(value), self._tx)
            data = dumper.dump(value)
            if data is None:
                parts.append(_FIELD_HEAD.pack(oid, -1))
            else:
                data = bytes(data)
                parts += (_FIELD_HEAD.pack(oid, len(data)), data)
        return b"".join(parts)

    @staticmethod
    def make_sequence(obj: Any, info: CompositeInfo) -> Sequence[Any]:
        return obj  # type: ignore[no-any-return]


ObjectMaker = Callable[[Sequence[Any], CompositeInfo], Any]
SequenceMaker = Callable[[Any, CompositeInfo], Sequence[Any]]


def register_composite(
    info: CompositeInfo,
    context: Any = None,
    factory: Callable[..., Any] | None = None,
    *,
    make_object: ObjectMaker | None = None,
    make_sequence: SequenceMaker | None = None,
) -> None:
    """Load ``info``'s type with ``factory(*fields)`` (a namedtuple by default), or with
    ``make_object(fields, info)``; dump instances of ``factory`` (when it is a type) as the
    composite, through ``make_sequence(obj, info)`` if the type is not a sequence."""
    if not info:
        raise TypeError("no info passed. Is the requested composite available?")
    info.register(context)
    if not factory:
        factory = _namedtuple_for(info)
    if not make_object:
        make_object = _object_maker(factory)
    adapters = context.adapters if context is not None else _global_adapters()
    loader = type(
        f"{info.name.title()}Loader",
        (CompositeLoader,),
        {"info": info, "make_object": staticmethod(make_object)},
    )
    adapters.register_loader(info.oid, loader)
    binary_loader = type(
        f"{info.name.title()}BinaryLoader",
        (CompositeBinaryLoader,),
        {"info": info, "make_object": staticmethod(make_object)},
    )
    adapters.register_loader(info.oid, binary_loader)
    if isinstance(factory, type):
        if not make_sequence:
            if issubclass(factory, Sequence):
                make_sequence = _as_sequence
            else:
                logger.warning(
                    "the type %r is not a sequence: dumping these objects to the database will"
                    " fail. Please specify a `make_sequence` argument in the"
                    " `register_composite()` call",
                    factory.__name__,
                )
                make_sequence = _not_a_sequence
        attributes = {"oid": info.oid, "info": info, "make_sequence": staticmethod(make_sequence)}
        # Binary first, then text: `%s` keeps the text dumper (the more flexible), `%b`
        # gets the binary one, as psycopg registers them.
        binary = type(f"{factory.__name__}BinaryDumper", (CompositeBinaryDumper,), attributes)
        adapters.register_dumper(factory, binary)
        dumper = type(f"{factory.__name__}Dumper", (SequenceDumper,), attributes)
        adapters.register_dumper(factory, dumper)
        info.python_type = factory
    elif make_sequence:
        raise TypeError(
            f"the factory {getattr(factory, '__name__', factory)!r} is not a type: you cannot"
            " create a dumper by specifying `make_sequence`."
        )


def _namedtuple_for(info: CompositeInfo) -> Callable[..., Any]:
    name = _as_python_identifier(info.name)
    fields = tuple(_as_python_identifier(field) for field in info.field_names)
    try:
        return _namedtuple(name, fields)
    except ValueError as ex:
        raise e.DataError(f"can't create a namedtuple for the composite {info.name!r}: {ex}") from None


@functools.cache
def _namedtuple(name: str, fields: tuple[str, ...]) -> type:
    # One class per shape: the same composite registered on two connections loads equal
    # objects of one type (as psycopg's).
    return namedtuple(name, fields)  # type: ignore[misc]


@functools.cache
def _object_maker(factory: Callable[..., Any]) -> ObjectMaker:
    def make_object(values: Sequence[Any], info: CompositeInfo) -> Any:
        return factory(*values)

    return make_object


def _as_sequence(obj: Any, info: CompositeInfo) -> Sequence[Any]:
    return obj  # type: ignore[no-any-return]


def _not_a_sequence(obj: Any, info: CompositeInfo) -> Sequence[Any]:
    raise TypeError(
        f"{type(obj).__name__!r} objects cannot be dumped without specifying 'make_sequence'"
        " in 'register_composite()'"
    )


def _global_adapters() -> Any:
    from ..postgres import adapters

    return adapters


def register_default_adapters(context: Any) -> None:
    context.adapters.register_loader(2249, RecordLoader)
    context.adapters.register_loader(2249, RecordBinaryLoader)
    context.adapters.register_dumper(tuple, TupleDumper)
