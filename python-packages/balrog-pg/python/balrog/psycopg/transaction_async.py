"""psycopg's ``AsyncTransaction``, over balrog's sync ``Transaction``."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from balrog import green_call

from .transaction import Transaction

if TYPE_CHECKING:
    from .connection_async import AsyncConnection

__all__ = ["AsyncTransaction"]


class AsyncTransaction:
    """``async with conn.transaction() as tx`` (or ``AsyncTransaction(conn, ...)``, as in
    psycopg): the block's savepoint name, status and connection; BEGIN/SAVEPOINT and
    COMMIT/RELEASE/ROLLBACK are the sync Transaction's, run as green tasks."""

    __module__ = "psycopg"
    Status = Transaction.Status

    def __init__(
        self,
        connection: AsyncConnection[Any],
        savepoint_name: str | Transaction | None = None,
        force_rollback: bool = False,
    ):
        self._aconn = connection
        # psycopg's arguments, or the sync block AsyncConnection.transaction() made.
        if isinstance(savepoint_name, Transaction):
            self._tx = savepoint_name
        else:
            self._tx = connection._sync.transaction(savepoint_name, force_rollback)

    async def __aenter__(self) -> AsyncTransaction:
        await green_call(self._tx.__enter__)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool:
        # The sync block's exit decides, as under `with`: it swallows its `Rollback`.
        return bool(await green_call(self._tx.__exit__, exc_type, exc_val, exc_tb))

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
