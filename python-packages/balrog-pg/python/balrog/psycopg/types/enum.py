"""Enums: PostgreSQL enum values ↔ Python ``enum.Enum`` members (by name)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from ... import _pg
from .. import errors as e
from .._encodings import foreign_encoding, wire_codec
from .._typeinfo import EnumInfo
from ..adapt import Buffer, Dumper, Loader
from ..pq import Format

__all__ = ["EnumBinaryDumper", "EnumDumper", "EnumInfo", "EnumLoader", "register_enum"]


class EnumLoader(Loader):
    enum: type[Enum] | None = None
    _load_map: dict[bytes, Any] = {}

    def __init__(self, oid: int, context: Any = None):
        super().__init__(oid, context)
        # Binary labels come in the client encoding (the wire layer converts only the
        # types it knows); text ones were converted to UTF-8 already.
        self._recode = foreign_encoding(self.connection) if self.format == Format.BINARY else None

    def load(self, data: Buffer) -> Any:
        key = bytes(data)
        if self._recode is not None:
            key = _pg.binary_to_utf8(self._recode, 25, key)
        try:
            return self._load_map[key]
        except KeyError:
            name = self.enum.__qualname__ if self.enum else "enum"
            label = key.decode(_encoding(self.connection), "replace")
            raise e.DataError(f"bad member for enum {name}: {label!r}") from None


class EnumDumper(Dumper):
    """A Python Enum member → its name (unknown type unless registered)."""

    _dump_map: dict[Any, bytes] = {}

    def dump(self, obj: Enum) -> bytes:
        value = self._dump_map.get(obj)
        if value is None:
            value = obj.name.encode(_encoding(self.connection))
        if self.format == Format.BINARY:
            # Binary parameters go to the server as they are: in the client encoding.
            codec = wire_codec(self.connection)
            if codec != "utf-8":
                value = value.decode().encode(codec)
        return value


# A mapping member → label, or (member, label) pairs (a member may have several labels:
# all of them load as the member, the last one is what it dumps as).
EnumMapping = Mapping[Any, str] | Sequence[tuple[Any, str]] | None


def register_enum(
    info: EnumInfo,
    context: Any = None,
    enum: type[Enum] | None = None,
    *,
    mapping: EnumMapping = None,
) -> None:
    """Load ``info``'s labels as members of ``enum`` (matched by name, or as ``mapping``
    says), and dump its members as them. Without ``enum``, one is made from the labels
    (the same class for the same name and labels, as psycopg's)."""
    if not info:
        raise TypeError("no info passed. Is the requested enum available?")
    if enum is None:
        enum = _enum_for(info.name, tuple(info.labels))
    info.enum = enum
    adapters = context.adapters if context is not None else _global_adapters()
    info.register(context)
    encoding = _encoding(getattr(context, "connection", None))
    pairs = list(mapping.items()) if isinstance(mapping, Mapping) else list(mapping or ())
    load_map: dict[bytes, Any] = {}
    for label in info.labels:
        # Labels without a member of that name are tolerated: a DataError if one comes.
        member = enum.__members__.get(label)
        if member is not None:
            load_map[label.encode(encoding)] = member
    dump_map: dict[Any, bytes] = {member: member.name.encode(encoding) for member in enum}
    for member, label in pairs:
        load_map[label.encode(encoding)] = member
        dump_map[member] = label.encode(encoding)
    # The binary format of an enum is its label, as the text one. Binary registered last,
    # as psycopg: parameters go in binary (Cursor), literals in text (ClientCursor).
    for suffix, fmt in (("", Format.TEXT), ("Binary", Format.BINARY)):
        loader = {"enum": enum, "_load_map": load_map, "format": fmt}
        adapters.register_loader(info.oid, type(f"{info.name.title()}{suffix}Loader", (EnumLoader,), loader))
        dumper = {"oid": info.oid, "_dump_map": dump_map, "format": fmt}
        adapters.register_dumper(enum, type(f"{enum.__name__}{suffix}Dumper", (EnumDumper,), dumper))


@functools.cache
def _enum_for(name: str, labels: tuple[str, ...]) -> type[Enum]:
    return Enum(name.title(), labels, module=__name__)  # type: ignore[return-value]


def _encoding(connection: Any) -> str:
    """The codec of labels as the loaders see them and the dumpers make them: UTF-8 in
    every client encoding (the native layer converts on the wire)."""
    return "utf-8"


def _global_adapters() -> Any:
    from ..postgres import adapters

    return adapters


class EnumBinaryDumper(EnumDumper):
    """A Python Enum member → its name, for ``%b`` (an enum's binary form is its label)."""

    format = Format.BINARY


def register_default_adapters(context: Any) -> None:
    # Binary first, text last (what %s uses), as psycopg registers them.
    context.adapters.register_dumper(Enum, EnumBinaryDumper)
    context.adapters.register_dumper(Enum, EnumDumper)
