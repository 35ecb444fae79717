"""Reading ``COPY ... TO STDOUT (FORMAT BINARY)`` data: the PGCOPY stream split into rows,
each value handed to its column's decoder (the binary loaders of the types given to
``Copy.set_types``: copy.py), or kept as bytes, as the wire holds them."""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["parse_binary_rows"]

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"

_i16 = struct.Struct("!h").unpack_from
_i32 = struct.Struct("!i").unpack_from


def parse_binary_rows(
    data: bytes, decoders: Sequence[Callable[[bytes], Any]] | None
) -> tuple[list[tuple[Any, ...]], int]:
    """The complete rows at the start of ``data`` and how many bytes they took; the values
    of column ``i`` go through ``decoders[i]`` (all bytes without decoders)."""
    pos = 0
    if data.startswith(SIGNATURE):
        if len(data) < 19:
            return [], 0
        pos = 19 + _i32(data, 15)[0]
    funcs = decoders or ()
    rows: list[tuple[Any, ...]] = []
    end = len(data)
    while pos + 2 <= end:
        start = pos
        count = _i16(data, pos)[0]
        pos += 2
        if count == -1:  # trailer
            return rows, pos
        values: list[Any] = []
        for i in range(count):
            if pos + 4 > end:
                return rows, start
            size = _i32(data, pos)[0]
            pos += 4
            if size < 0:
                values.append(None)
                continue
            if pos + size > end:
                return rows, start
            raw = data[pos : pos + size]
            pos += size
            values.append(funcs[i](raw) if i < len(funcs) else raw)
        rows.append(tuple(values))
    return rows, pos
