"""``Connection.transaction()``: a block in a transaction, nested blocks in savepoints."""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import Enum
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import errors as e
from . import pq
from ._connection_info import connection_summary
from ._identifiers import quote_identifier

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["OutOfOrderTransactionNesting", "Rollback", "Transaction"]

logger = logging.getLogger("psycopg")


class Rollback(Exception):
    """Raise inside a transaction block to roll it back (all blocks, or ``transaction``'s)."""

    __module__ = "psycopg"

    def __init__(self, transaction: Transaction | None = None):
        self.transaction = transaction

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}({self.transaction!r})"


class OutOfOrderTransactionNesting(e.ProgrammingError):
    """A transaction block exited while a block entered after it is still open (``__exit__``
    called by hand in the wrong order): nothing is committed or rolled back."""


class Transaction:
    """A transaction block: BEGIN/COMMIT outermost, SAVEPOINT/RELEASE when nested."""

    __module__ = "psycopg"

    class Status(str, Enum):  # noqa: UP042 (psycopg's base classes: a str mix-in)
        """Where a transaction block is in its life (``Transaction.status``)."""

        NOT_STARTED = "not_started"
        ACTIVE = "active"
        COMMITTED = "committed"
        FAILED = "failed"
        ROLLED_BACK_EXPLICITLY = "rolled_back_explicitly"
        ROLLED_BACK_WITH_ERROR = "rolled_back_with_error"

    def __init__(
        self, connection: Connection, savepoint_name: str | None = None, force_rollback: bool = False
    ):
        self._conn = connection
        self.force_rollback = force_rollback
        self._savepoint_name = savepoint_name or ""
        self._outer_transaction = False
        self.status = self.Status.NOT_STARTED
        # How many blocks were open when this one started: on exit, as many must be again.
        self._stack_index = -1
        # In pipeline mode: the exits of the pipeline levels around the block (see
        # __enter__).
        self._pipeline_exits: tuple[Any, Any] | None = None

    @property
    def connection(self) -> Connection:
        return self._conn

    @property
    def savepoint_name(self) -> str | None:
        return self._savepoint_name  # "" for the outermost block, as psycopg

    def __repr__(self) -> str:
        name = f"{type(self).__module__}.{type(self).__qualname__}"
        savepoint = f"{self._savepoint_name!r} " if self._savepoint_name else ""
        summary = connection_summary(self._conn)
        return f"<{name} {savepoint}({self.status.value}) {summary} at 0x{id(self):x}>"

    def __enter__(self) -> Transaction:
        conn = self._conn
        if conn._pipeline is None:
            return self._enter()
        # In pipeline mode, as psycopg: the block runs inside a pipeline level of its own,
        # within another around BEGIN/COMMIT. Leaving the inner one syncs, so an error of a
        # statement queued in the block reaches the block's exit (which rolls back); the
        # outer one then syncs the COMMIT or ROLLBACK.
        outer = conn.pipeline()
        outer.__enter__()
        try:
            self._enter()
            inner = conn.pipeline()
            inner.__enter__()
        except BaseException as ex:
            outer.__exit__(type(ex), ex, ex.__traceback__)
            raise
        self._pipeline_exits = (outer.__exit__, inner.__exit__)
        return self

    def _enter(self) -> Transaction:
        if self.status != self.Status.NOT_STARTED:
            raise TypeError("transaction blocks can be used only once")
        self.status = self.Status.ACTIVE
        conn = self._conn
        conn._check_connection_ok()
        # BEGIN and SAVEPOINT go together: no other task's statement may come in between.
        with conn.lock:
            self._outer_transaction = conn._native.transaction_status == pq.TransactionStatus.IDLE
            if self._outer_transaction:
                conn._exec_command(conn._begin_statement())
            elif not self._savepoint_name:
                self._savepoint_name = f"_pg3_{conn._num_transactions + 1}"
            if self._savepoint_name:
                conn._exec_command(b"SAVEPOINT " + quote_identifier(self._savepoint_name))
            self._stack_index = conn._num_transactions
            conn._num_transactions += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool:
        exits = self._pipeline_exits
        if exits is None:
            return self._exit(exc_type, exc_val, exc_tb)
        self._pipeline_exits = None
        outer, inner = exits
        # `with outer, self, inner:` unwound: each exit sees what the one inside left.
        try:
            with _Exiting(outer), _Exiting(self._exit), _Exiting(inner):
                if exc_val is not None:
                    raise exc_val
        except BaseException as ex:
            if ex is exc_val:
                return False
            raise
        return exc_val is not None  # swallowed (a Rollback of this block)

    def _exit(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool:
        conn = self._conn
        conn._num_transactions -= 1
        if conn.closed:
            self.status = self.Status.FAILED
            return False
        committing = not exc_val and not self.force_rollback
        if conn._num_transactions != self._stack_index:
            # As psycopg: this error replaces the block's own, so the misuse gets fixed.
            action = "commit" if committing else "rollback"
            raise OutOfOrderTransactionNesting(f"transaction {action} at the wrong nesting level: {self}")
        if committing:
            self.status = self.Status.COMMITTED
            self._commit()
            return False
        explicit = isinstance(exc_val, Rollback) or self.force_rollback
        self.status = self.Status.ROLLED_BACK_EXPLICITLY if explicit else self.Status.ROLLED_BACK_WITH_ERROR
        try:
            return self._rollback(exc_val)
        except Exception as exc2:
            if exc_val is None:
                raise
            logger.warning("error ignored in rollback of %s: %s", self, exc2)
            return False

    def _commit(self) -> None:
        conn = self._conn
        with conn.lock:
            # As psycopg: the savepoint of an outermost block goes with its COMMIT (no
            # RELEASE round trip).
            if self._savepoint_name and not self._outer_transaction:
                conn._exec_command(b"RELEASE " + quote_identifier(self._savepoint_name))
            if self._outer_transaction:
                conn._exec_command(b"COMMIT")

    def _rollback(self, exc_val: BaseException | None) -> bool:
        conn = self._conn
        with conn.lock:
            if self._savepoint_name and not self._outer_transaction:
                name = quote_identifier(self._savepoint_name)
                conn._exec_command(b"ROLLBACK TO " + name)
                conn._exec_command(b"RELEASE " + name)
            if self._outer_transaction:
                conn._exec_command(b"ROLLBACK")
            conn._prepared.clear()  # as psycopg (see Connection.rollback)
            if conn._prepared.flush_all:
                conn._flush_prepared()
        # A Rollback exception ends here if it targets this block (or any block).
        if isinstance(exc_val, Rollback):
            # An AsyncTransaction stands for the sync block it wraps.
            target = getattr(exc_val.transaction, "_tx", exc_val.transaction)
            if target in (self, None):
                return True
        return False


class _Exiting:
    """A context manager already entered: only its exit is left to run."""

    def __init__(self, exit: Callable[..., Any]):
        self._exit = exit

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: Any) -> Any:
        return self._exit(*exc_info)
