"""UUID adaptation."""

from __future__ import annotations

import uuid
from typing import Any

from ..adapt import Dumper
from ._native import NativeBinaryLoader, NativeLoader

__all__ = ["UUIDDumper", "UUIDLoader"]


class UUIDDumper(Dumper):
    oid = 2950
    _balrog_enc = 70

    def dump(self, obj: uuid.UUID) -> bytes:
        return obj.hex.encode()


class UUIDLoader(NativeLoader):
    _balrog_dec = 2950


class UUIDBinaryLoader(NativeBinaryLoader):
    _balrog_dec = 2950


def register_default_adapters(context: Any) -> None:
    context.adapters.register_dumper(uuid.UUID, UUIDDumper)
    context.adapters.register_loader(2950, UUIDLoader)
    context.adapters.register_loader(2950, UUIDBinaryLoader)


# psycopg keeps the binary dumpers next to the text ones; balrog's live in ``_binary`` (one
# module for every %b dumper), found here on first use.
_BINARY_DUMPERS = frozenset({"UUIDBinaryDumper"})


def __getattr__(name: str) -> object:
    if name in _BINARY_DUMPERS:
        from . import _binary

        return getattr(_binary, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
