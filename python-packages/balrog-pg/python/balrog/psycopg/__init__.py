"""balrog.psycopg: a psycopg 3 compatible PostgreSQL driver on tokio.

``import balrog.psycopg as psycopg``: the same API, blocking in threads (GIL released) and
suspending only the green task inside ``balrog`` green tasks.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import adapt, errors, postgres, pq, rows, types, version

# balrog's own additions, re-exported but not psycopg names (so not in __all__; they
# raise balrog.ForeignModuleError once the real psycopg is imported):
# ``install_as_psycopg()`` makes ``import psycopg`` give this module, for libraries
# (SQLAlchemy's dialect) that import psycopg by name.
from ._alias import install_as_psycopg as install_as_psycopg
from ._alias import installed_as_psycopg as installed_as_psycopg
from ._capabilities import Capabilities, capabilities
from ._column import Column
from ._connection_info import ConnectionInfo
from ._enums import IsolationLevel
from ._notify import Notify
from ._tpc import Xid
from .client_cursor import ClientCursor
from .connection import BaseConnection, Connection
from .connection_async import AsyncConnection
from .copy import Copy
from .copy_async import AsyncCopy
from .cursor import BaseCursor, Cursor
from .cursor_async import (
    AsyncClientCursor,
    AsyncCursor,
    AsyncRawCursor,
    AsyncRawServerCursor,
    AsyncServerCursor,
)
from .dbapi20 import (
    BINARY,
    DATETIME,
    NUMBER,
    ROWID,
    STRING,
    Binary,
    Date,
    DateFromTicks,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
    apilevel,
    paramstyle,
    threadsafety,
)
from .errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)
from .pipeline import Pipeline
from .pipeline_async import AsyncPipeline
from .postgres import adapters
from .raw_cursor import RawCursor, RawServerCursor
from .server_cursor import ServerCursor
from .transaction import Rollback, Transaction
from .transaction_async import AsyncTransaction

# The psycopg release whose behaviour balrog.psycopg follows (Django checks >= 3.1.8).
__version__ = version.__version__

__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
    "AsyncClientCursor",
    "AsyncConnection",
    "AsyncCopy",
    "AsyncCursor",
    "AsyncPipeline",
    "AsyncRawCursor",
    "AsyncRawServerCursor",
    "AsyncServerCursor",
    "AsyncTransaction",
    "BaseConnection",
    "BaseCursor",
    "Binary",
    "Capabilities",
    "ClientCursor",
    "Column",
    "Connection",
    "ConnectionInfo",
    "Copy",
    "Cursor",
    "DataError",
    "DatabaseError",
    "Date",
    "DateFromTicks",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "IsolationLevel",
    "NotSupportedError",
    "Notify",
    "OperationalError",
    "Pipeline",
    "ProgrammingError",
    "RawCursor",
    "RawServerCursor",
    "Rollback",
    "ServerCursor",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
    "Transaction",
    "Warning",
    "Xid",
    "adapt",
    "adapters",
    "apilevel",
    "capabilities",
    "connect",
    "errors",
    "paramstyle",
    "postgres",
    "pq",
    "rows",
    "threadsafety",
    "types",
]

connect = Connection.connect


def __getattr__(name: str) -> Any:
    # ``psycopg.sql`` is reachable after ``import psycopg``, as in psycopg.
    if name in ("sql", "conninfo"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
