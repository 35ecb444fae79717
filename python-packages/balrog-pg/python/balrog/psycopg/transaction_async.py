"""psycopg's ``AsyncTransaction``, over balrog's sync ``Transaction``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .transaction import Transaction

if TYPE_CHECKING:
    from .connection_async import AsyncConnection

__all__ = ["AsyncTransaction"]


class AsyncTransaction:
    """What ``async with conn.transaction() as tx`` gives: the block's savepoint name,
    status and connection; BEGIN/SAVEPOINT and COMMIT/RELEASE/ROLLBACK are the sync
    Transaction's, run as green tasks by ``AsyncConnection.transaction``."""

    __module__ = "psycopg"
    Status = Transaction.Status

    def __init__(self, connection: AsyncConnection[Any], transaction: Transaction):
        self._aconn = connection
        self._tx = transaction

    @property
    def connection(self) -> AsyncConnection[Any]:
        return self._aconn

    @property
    def savepoint_name(self) -> str | None:
        return self._tx.savepoint_name

    @property
    def status(self) -> Transaction.Status:
        return self._tx.status

    @property
    def force_rollback(self) -> bool:
        return self._tx.force_rollback

    def __repr__(self) -> str:
        return repr(self._tx).replace("Transaction", "AsyncTransaction", 1)
