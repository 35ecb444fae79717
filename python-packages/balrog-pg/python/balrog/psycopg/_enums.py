"""Enums psycopg defines itself (not libpq's): IsolationLevel, PyFormat, Wait, Ready."""

from __future__ import annotations

from enum import Enum, IntEnum
from selectors import EVENT_READ, EVENT_WRITE

from . import pq

__all__ = ["IsolationLevel", "PyFormat", "Ready", "Wait"]


class Wait(IntEnum):
    """What a connection waits for on its socket."""

    R = EVENT_READ
    W = EVENT_WRITE
    RW = EVENT_READ | EVENT_WRITE


class Ready(IntEnum):
    """What a socket is ready for."""

    NONE = 0
    R = EVENT_READ
    W = EVENT_WRITE
    RW = EVENT_READ | EVENT_WRITE


class PyFormat(str, Enum):  # noqa: UP042 - str() and format() as psycopg, not StrEnum's
    """The format wanted for a query argument: ``%s`` (auto), ``%t`` (text), ``%b`` (binary)."""

    __module__ = "balrog.psycopg.adapt"

    AUTO = "s"
    TEXT = "t"
    BINARY = "b"

    @classmethod
    def from_pq(cls, fmt: pq.Format) -> PyFormat:
        return _PQ_TO_PY[fmt]

    @classmethod
    def as_pq(cls, fmt: PyFormat) -> pq.Format:
        return _PY_TO_PQ[fmt]


class IsolationLevel(IntEnum):
    """The isolation level of a transaction (values as in psycopg: 1 to 4)."""

    __module__ = "balrog.psycopg"

    READ_UNCOMMITTED = 1
    READ_COMMITTED = 2
    REPEATABLE_READ = 3
    SERIALIZABLE = 4


_PY_TO_PQ = {PyFormat.TEXT: pq.Format.TEXT, PyFormat.BINARY: pq.Format.BINARY}
_PQ_TO_PY = {pq.Format.TEXT: PyFormat.TEXT, pq.Format.BINARY: PyFormat.BINARY}
