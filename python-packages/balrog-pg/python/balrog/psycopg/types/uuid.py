"""UUID adaptation."""

from __future__ import annotations

import uuid
from typing import Any

from ..adapt import Dumper
from ._native import NativeLoader

__all__ = ["UUIDDumper", "UUIDLoader"]


class UUIDDumper(Dumper):
    oid = 2950
    _balrog_enc = 70

    def dump(self, obj: uuid.UUID) -> bytes:
        return obj.hex.encode()


class UUIDLoader(NativeLoader):
    _balrog_dec = 2950


def register_default_adapters(context: Any) -> None:
    context.adapters.register_dumper(uuid.UUID, UUIDDumper)
    context.adapters.register_loader(2950, UUIDLoader)
