"""hstore ↔ dict[str, str | None] (``register_hstore`` after ``TypeInfo.fetch(conn, "hstore")``)."""

from __future__ import annotations

import re
import struct
from typing import Any

from .. import errors as e
from .._encodings import wire_codec
from ..adapt import Buffer, Dumper, Loader
from ..pq import Format

__all__ = ["HstoreBinaryDumper", "HstoreBinaryLoader", "HstoreDumper", "HstoreLoader", "register_hstore"]

_INT4 = struct.Struct("!i")

_PAIR = re.compile(
    r"""
    "((?:[^"\\]|\\.)*)"            # key
    \s*=>\s*
    (?:NULL|"((?:[^"\\]|\\.)*)")   # value
    (?:\s*,\s*|$)
    """,
    re.VERBOSE,
)
_UNESCAPE = re.compile(r"\\(.)")


class HstoreLoader(Loader):
    def load(self, data: Buffer) -> dict[str, str | None]:
        text = bytes(data).decode()
        out: dict[str, str | None] = {}
        pos = 0
        while pos < len(text):
            m = _PAIR.match(text, pos)
            if m is None:
                raise e.DataError(f"error parsing hstore pair at char {pos}")
            key = _UNESCAPE.sub(r"\1", m.group(1))
            value = m.group(2)
            out[key] = None if value is None else _UNESCAPE.sub(r"\1", value)
            pos = m.end()
        return out


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class HstoreDumper(Dumper):
    def dump(self, obj: dict[str, str | None]) -> bytes:
        if not obj:
            return b""
        items = []
        for k, v in obj.items():
            if not isinstance(k, str):
                raise e.DataError(f"hstore keys can only be strings, got {k!r}")
            items.append(f"{_quote(k)}=>{'NULL' if v is None else _quote(str(v))}")
        data = ", ".join(items).encode()
        if b"\x00" in data:
            raise e.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
        return data


class HstoreBinaryDumper(Dumper):
    """dict → hstore's binary form (``hstore_send``): the pair count, then each key and
    value as a length (-1: NULL) and its bytes in the client encoding."""

    format = Format.BINARY

    def dump(self, obj: dict[str, str | None]) -> bytes:
        # Binary parameters go to the server as they are: strings in the client encoding.
        codec = wire_codec(self.connection)
        parts = [_INT4.pack(len(obj))]
        for key, value in obj.items():
            if not isinstance(key, str):
                raise e.DataError(f"hstore keys can only be strings, got {key!r}")
            raw = key.encode(codec)
            parts += (_INT4.pack(len(raw)), raw)
            if value is None:
                parts.append(_INT4.pack(-1))
            else:
                raw = str(value).encode(codec)
                parts += (_INT4.pack(len(raw)), raw)
        return b"".join(parts)


class HstoreBinaryLoader(Loader):
    """hstore's binary form → dict (the inverse of :class:`HstoreBinaryDumper`)."""

    format = Format.BINARY

    def __init__(self, oid: int, context: Any = None):
        super().__init__(oid, context)
        # The strings come in the client encoding (the wire layer doesn't know hstore).
        self._codec = wire_codec(self.connection)

    def load(self, data: Buffer) -> dict[str, str | None]:
        raw = bytes(data)
        codec = self._codec
        try:
            (count,), pos = _INT4.unpack_from(raw, 0), 4
            out: dict[str, str | None] = {}
            for _ in range(count):
                (size,) = _INT4.unpack_from(raw, pos)
                key = raw[pos + 4 : pos + 4 + size].decode(codec)
                pos += 4 + size
                (size,) = _INT4.unpack_from(raw, pos)
                pos += 4
                if size < 0:
                    out[key] = None
                else:
                    out[key] = raw[pos : pos + size].decode(codec)
                    pos += size
        except (struct.error, UnicodeDecodeError) as ex:
            raise e.DataError(f"bad hstore binary data: {ex}") from None
        return out


def _make_hstore_binary_dumper(oid: int) -> type[HstoreBinaryDumper]:
    """A binary hstore dumper for the hstore type's oid in one database."""
    return type("HstoreBinaryDumper", (HstoreBinaryDumper,), {"oid": oid})


def register_hstore(info: Any, context: Any = None) -> None:
    """Load hstore values as dicts and dump dicts as hstore, globally or on ``context``."""
    if info is None:
        raise TypeError("no info passed. Is the 'hstore' extension loaded?")
    if context is not None:
        adapters = context.adapters
    else:
        from ..postgres import adapters
    info.register(context)
    dumper = type("HstoreDumper", (HstoreDumper,), {"oid": info.oid})
    loader = type("HstoreLoader", (HstoreLoader,), {})
    # Binary first: the dumper registered last serves %s, and psycopg's is the text one.
    adapters.register_dumper(dict, _make_hstore_binary_dumper(info.oid))
    adapters.register_dumper(dict, dumper)
    adapters.register_loader(info.oid, loader)
    adapters.register_loader(info.oid, HstoreBinaryLoader)
