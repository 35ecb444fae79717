"""Enums: PostgreSQL enum values ↔ Python ``enum.Enum`` members (by name)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from .. import errors as e
from .._typeinfo import EnumInfo
from ..adapt import Buffer, Dumper, Loader

__all__ = ["EnumDumper", "EnumInfo", "EnumLoader", "register_enum"]


class EnumLoader(Loader):
    enum: type[Enum] | None = None
    _load_map: dict[bytes, Any] = {}

    def load(self, data: Buffer) -> Any:
        key = bytes(data)
        try:
            return self._load_map[key]
        except KeyError:
            name = self.enum.__name__ if self.enum else "enum"
            raise e.DataError(f"bad member for enum {name}: {key.decode()!r}") from None


class EnumDumper(Dumper):
    """A Python Enum member → its name (unknown type unless registered)."""

    _dump_map: dict[Any, bytes] = {}

    def dump(self, obj: Enum) -> bytes:
        value = self._dump_map.get(obj)
        return value if value is not None else obj.name.encode()


def register_enum(
    info: EnumInfo,
    context: Any = None,
    enum: type[Enum] | None = None,
    *,
    mapping: Mapping[Any, str] | None = None,
) -> None:
    """Load ``info``'s values as members of ``enum`` (made from the labels if not given)."""
    if info is None:
        raise TypeError("no info passed. Is the requested enum available?")
    if enum is None:
        enum = Enum(info.name.title(), info.labels, module=__name__)  # type: ignore[assignment]
    assert enum is not None
    info.enum = enum
    info.register(context)
    dump_map: dict[Any, bytes] = {m: m.name.encode() for m in enum}
    if mapping:
        for member, label in mapping.items():
            dump_map[member] = label.encode()
    load_map = {v: k for k, v in dump_map.items()}
    adapters = context.adapters if context is not None else _global_adapters()
    adapters.register_loader(
        info.oid, type(f"{enum.__name__}Loader", (EnumLoader,), {"enum": enum, "_load_map": load_map})
    )
    adapters.register_dumper(
        enum, type(f"{enum.__name__}Dumper", (EnumDumper,), {"oid": info.oid, "_dump_map": dump_map})
    )


def _global_adapters() -> Any:
    from ..postgres import adapters

    return adapters


def register_default_adapters(context: Any) -> None:
    context.adapters.register_dumper(Enum, EnumDumper)
