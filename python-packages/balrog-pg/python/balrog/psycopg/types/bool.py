"""bool adaptation."""

from __future__ import annotations

from typing import Any

from ..adapt import Dumper
from ._native import NativeBinaryLoader, NativeLoader

__all__ = ["BoolDumper", "BoolLoader"]


class BoolDumper(Dumper):
    oid = 16
    _balrog_enc = 20

    def dump(self, obj: bool) -> bytes:
        return b"t" if obj else b"f"

    def quote(self, obj: bool) -> bytes:
        return b"true" if obj else b"false"


class BoolLoader(NativeLoader):
    _balrog_dec = 16


class BoolBinaryLoader(NativeBinaryLoader):
    _balrog_dec = 16


def register_default_adapters(context: Any) -> None:
    context.adapters.register_dumper(bool, BoolDumper)
    context.adapters.register_loader(16, BoolLoader)
    context.adapters.register_loader(16, BoolBinaryLoader)


# psycopg keeps the binary dumpers next to the text ones; balrog's live in ``_binary`` (one
# module for every %b dumper), found here on first use.
_BINARY_DUMPERS = frozenset({"BoolBinaryDumper"})


def __getattr__(name: str) -> object:
    if name in _BINARY_DUMPERS:
        from . import _binary

        return getattr(_binary, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
