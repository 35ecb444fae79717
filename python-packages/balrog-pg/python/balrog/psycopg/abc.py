"""The types psycopg's ``psycopg.abc`` names, for annotations in user code.

Code written for psycopg imports ``Buffer``, ``Query``, ``Params``, ``AdaptContext``,
``Dumper``, ``Loader`` and friends from here to annotate its adapters and helpers; the names
must exist at run time even though nothing in balrog checks against them. The protocols
describe what an object must offer; balrog's own classes (``adapt.Dumper``,
``adapt.Loader``, ``adapt.Transformer``) satisfy them.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar, Union

from . import pq, sql
from ._enums import PyFormat, Ready, Wait

if TYPE_CHECKING:
    from .adapt import AdaptersMap
    from .connection import BaseConnection
    from .rows import Row, RowMaker

__all__ = [
    "RV",
    "AdaptContext",
    "Buffer",
    "ConnDict",
    "ConnMapping",
    "ConnParam",
    "ConnectionType",
    "DumpFunc",
    "Dumper",
    "DumperKey",
    "LoadFunc",
    "Loader",
    "NoneType",
    "PQGen",
    "PQGenConn",
    "Params",
    "PipelineCommand",
    "Query",
    "QueryNoTemplate",
    "ReadyFunc",
    "Transformer",
    "WaitFunc",
]

NoneType: type = type(None)

# What a dumper may return and a loader receives.
Buffer: TypeAlias = bytes | bytearray | memoryview

# What execute() accepts as a query, and as its parameters.
QueryNoTemplate: TypeAlias = str | bytes | sql.SQL | sql.Composed
Query: TypeAlias = QueryNoTemplate
Params: TypeAlias = Sequence[Any] | Mapping[str, Any]

ConnectionType = TypeVar("ConnectionType", bound="BaseConnection[Any]")
PipelineCommand: TypeAlias = Callable[[], None]
DumperKey: TypeAlias = Union[type, tuple["DumperKey", ...]]  # noqa: UP007 - recursive
ConnParam: TypeAlias = str | int | None
ConnDict: TypeAlias = dict[str, ConnParam]
ConnMapping: TypeAlias = Mapping[str, ConnParam]

RV = TypeVar("RV")

# psycopg's connection generators, named for annotations only: balrog has no generator
# layer (the native side does the protocol), so nothing here produces them.
PQGenConn: TypeAlias = Generator[tuple[int, Wait], "Ready | int", RV]
PQGen: TypeAlias = Generator[Wait, "Ready | int", RV]

DumpFunc: TypeAlias = Callable[[Any], Buffer | None]
LoadFunc: TypeAlias = Callable[[Buffer], Any]


class WaitFunc(Protocol):
    """A function waiting on a generator's file descriptor (psycopg's ``waiting``)."""

    def __call__(self, gen: PQGen[RV], fileno: int, interval: float | None = None) -> RV: ...


class ReadyFunc(Protocol):
    """A function telling which of the waited-for events happened."""

    def __call__(self, fileno: int, wait: Wait, /) -> Ready | int: ...


class AdaptContext(Protocol):
    """Something with an adapters map: a connection, a cursor, a Transformer, a map."""

    @property
    def adapters(self) -> AdaptersMap: ...

    @property
    def connection(self) -> BaseConnection[Any] | None: ...


class Dumper(Protocol):
    """Converts Python objects of one type to PostgreSQL's text or binary form."""

    format: pq.Format
    oid: int

    def __init__(self, cls: type, context: AdaptContext | None = None): ...

    def dump(self, obj: Any) -> Buffer | None: ...

    def quote(self, obj: Any) -> Buffer: ...

    def get_key(self, obj: Any, format: PyFormat) -> DumperKey: ...

    def upgrade(self, obj: Any, format: PyFormat) -> Dumper: ...


class Loader(Protocol):
    """Converts PostgreSQL's text or binary form of one type to a Python object."""

    format: pq.Format

    def __init__(self, oid: int, context: AdaptContext | None = None): ...

    def load(self, data: Buffer) -> Any: ...


class Transformer(Protocol):
    """Dumps parameters and loads rows for one cursor or one COPY."""

    types: tuple[int, ...] | None
    formats: list[pq.Format] | None

    def __init__(self, context: AdaptContext | None = None): ...

    @classmethod
    def from_context(cls, context: AdaptContext | None) -> Transformer: ...

    @property
    def connection(self) -> BaseConnection[Any] | None: ...

    @property
    def encoding(self) -> str: ...

    @property
    def adapters(self) -> AdaptersMap: ...

    def set_dumper_types(self, types: Sequence[int], format: pq.Format) -> None: ...

    def set_loader_types(self, types: Sequence[int], format: pq.Format) -> None: ...

    def dump_sequence(self, params: Sequence[Any], formats: Sequence[PyFormat]) -> Sequence[Any]: ...

    def as_literal(self, obj: Any) -> bytes: ...

    def get_dumper(self, obj: Any, format: PyFormat) -> Dumper: ...

    def load_rows(self, row0: int, row1: int, make_row: RowMaker[Row]) -> list[Row]: ...

    def load_row(self, row: int, make_row: RowMaker[Row]) -> Row | None: ...

    def load_sequence(self, record: Sequence[Any]) -> tuple[Any, ...]: ...

    def get_loader(self, oid: int, format: pq.Format) -> Loader: ...
