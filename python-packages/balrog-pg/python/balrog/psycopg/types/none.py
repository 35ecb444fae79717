"""``None``: NULL in SQL composition (``sql.Literal(None)``, ``Dumper.quote``).

Parameters never reach this dumper (a None parameter is sent as NULL by the native
encoder); it exists so that code asking the adapters for None's dumper gets one that quotes,
as in psycopg.
"""

from __future__ import annotations

from typing import Any

from ..adapt import Dumper

__all__ = ["NoneDumper", "register_default_adapters"]


class NoneDumper(Dumper):
    """Quotes None as ``NULL``; has no dumped form (NULL travels outside the value)."""

    def dump(self, obj: None) -> bytes | None:
        raise NotImplementedError("NULL is passed to Postgres in other ways")

    def quote(self, obj: None) -> bytes:
        return b"NULL"


def register_default_adapters(context: Any) -> None:
    context.adapters.register_dumper(type(None), NoneDumper)
