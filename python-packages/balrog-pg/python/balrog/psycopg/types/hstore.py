"""hstore ↔ dict[str, str | None] (``register_hstore`` after ``TypeInfo.fetch(conn, "hstore")``)."""

from __future__ import annotations

import re
from typing import Any

from .. import errors as e
from ..adapt import Buffer, Dumper, Loader

__all__ = ["HstoreDumper", "HstoreLoader", "register_hstore"]

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
    adapters.register_dumper(dict, dumper)
    adapters.register_loader(info.oid, loader)
