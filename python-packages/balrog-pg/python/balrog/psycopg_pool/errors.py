"""The pool's exceptions (psycopg_pool's, on balrog.psycopg's OperationalError)."""

from __future__ import annotations

from balrog.psycopg.errors import OperationalError

__all__ = ["PoolClosed", "PoolTimeout", "TooManyRequests"]


class PoolClosed(OperationalError):
    """Attempt to get a connection from a closed pool."""

    __module__ = "balrog.psycopg_pool"


class PoolTimeout(OperationalError):
    """The pool couldn't provide a connection in acceptable time."""

    __module__ = "balrog.psycopg_pool"


class TooManyRequests(OperationalError):
    """Too many requests in the queue waiting for a connection from the pool."""

    __module__ = "balrog.psycopg_pool"
