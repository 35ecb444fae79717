"""balrog.psycopg_pool: psycopg_pool's ConnectionPool and NullConnectionPool for
balrog.psycopg, blocking and green.

``from balrog.psycopg_pool import ConnectionPool``: threads wait for a connection blocking,
green tasks wait suspending only themselves.
"""

from __future__ import annotations

from .errors import PoolClosed, PoolTimeout, TooManyRequests
from .null_pool import NullConnectionPool
from .pool import ConnectionPool
from .pool_async import AsyncConnectionPool, AsyncNullConnectionPool

__version__ = "3.3.3"  # the psycopg_pool release whose behaviour this follows

__all__ = [
    "AsyncConnectionPool",
    "AsyncNullConnectionPool",
    "ConnectionPool",
    "NullConnectionPool",
    "PoolClosed",
    "PoolTimeout",
    "TooManyRequests",
    "__version__",
]
