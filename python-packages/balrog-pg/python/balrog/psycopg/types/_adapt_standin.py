"""Minimal Dumper/Loader bases for the type modules while ``balrog.psycopg.adapt`` is absent.

They follow psycopg's protocol (constructor arguments, ``oid``, ``format``, ``quote``,
``get_key``, ``upgrade``), enough for the value classes and their dumpers to be used by
``sql.Literal`` and by tests; the real bases live in ``balrog.psycopg.adapt``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from .._enums import PyFormat
from ..pq import Format

__all__ = ["Dumper", "Loader", "PyFormat"]


class Dumper(ABC):
    oid: int = 0
    format: Format = Format.TEXT

    def __init__(self, cls: type, context: Any = None) -> None:
        self.cls = cls
        self.connection = getattr(context, "connection", None) if context is not None else None

    @abstractmethod
    def dump(self, obj: Any) -> Any: ...

    def quote(self, obj: Any) -> bytes:
        from .._sql_literal import quote_string

        value = self.dump(obj)
        return b"NULL" if value is None else quote_string(bytes(value))

    def get_key(self, obj: Any, format: PyFormat) -> Any:
        return self.cls

    def upgrade(self, obj: Any, format: PyFormat) -> Dumper:
        return self


class Loader(ABC):
    format: Format = Format.TEXT

    def __init__(self, oid: int, context: Any = None) -> None:
        self.oid = oid
        self.connection = getattr(context, "connection", None) if context is not None else None

    @abstractmethod
    def load(self, data: Any) -> Any: ...
