"""``Connection``: a plain Python class over the native ``balrog._pg.PgConn``.

Every I/O call goes through ``balrog._bridge.wait``: it blocks with the GIL released in a
thread, and suspends only the green task inside one.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Generic

from balrog._bridge import hide, mode, wait

from .. import _pg
from . import errors as e
from . import pq
from ._conn_lock import ConnectionLock
from ._connection_info import (
    ConnectionInfo,
    connection_summary,
    timezone_from_name,
    visible_transaction_status,
)
from ._encodings import startup_encoding
from ._enums import IsolationLevel
from ._interrupts import INTERRUPTED as _INTERRUPTED
from ._notify import Notify
from ._prepare import PrepareManager
from ._session_attrs import check_options, check_session
from ._tpc import RECOVER_QUERY as TPC_RECOVER_QUERY
from ._tpc import Xid
from .adapt import AdaptersMap
from .cursor import Cursor
from .rows import Row, args_row
from .transaction import Transaction

__all__ = ["Connection", "Notify"]

logger = logging.getLogger("psycopg")

_IDLE = pq.TransactionStatus.IDLE
_INTRANS = pq.TransactionStatus.INTRANS
_INERROR = pq.TransactionStatus.INERROR
_ACTIVE = pq.TransactionStatus.ACTIVE

# The libpq keywords that become startup parameters of the session.
_STARTUP_KEYS = ("application_name", "options", "replication")
# The TLS settings the native side reads besides sslmode (see crates/balrog-pg/src/tls.rs).
_SSL_KEYS = ("sslrootcert", "sslcert", "sslkey", "sslsni")


def _native_connect_args(params: dict[str, str], timeout: float | None = None) -> tuple[Any, ...]:
    """The effective parameters, in the shape ``balrog._pg.connect_op`` takes; ``timeout``:
    seconds for the attempt."""
    from .conninfo import default_host

    hosts = params["host"].split(",") if "host" in params else [default_host()]
    hostaddrs = [h for h in params.get("hostaddr", "").split(",")] if params.get("hostaddr") else []
    ports: list[int] = []
    for p in params.get("port", "").split(","):
        p = p.strip()
        if p:
            try:
                ports.append(int(p))
            except ValueError:
                raise e.OperationalError(
                    f'invalid integer value "{p}" for connection option "port"'
                ) from None
    startup: list[tuple[str, str]] = []
    for key in _STARTUP_KEYS:
        if params.get(key):
            startup.append((key, params[key]))
    if not params.get("application_name") and params.get("fallback_application_name"):
        startup.append(("application_name", params["fallback_application_name"]))
    startup.append(("client_encoding", startup_encoding(params.get("client_encoding"))))
    return (
        hosts,
        hostaddrs,
        ports,
        params.get("user", ""),
        params.get("password"),
        params.get("dbname", ""),
        timeout,
        startup,
        params.get("sslmode", "prefer"),
        [(key, params[key]) for key in _SSL_KEYS if params.get(key)],
        params.get("channel_binding") or os.environ.get("PGCHANNELBINDING", ""),
        params.get("require_auth") or os.environ.get("PGREQUIREAUTH", ""),
    )


def _connection_attempts(params: dict[str, Any]) -> list[dict[str, Any]]:
    """psycopg's attempts: one per host and resolved address. A green task resolves host
    names on the event loop's resolver (as psycopg's async connect), so the loop does not
    wait for the system's resolver; blocking code calls it directly (as psycopg's sync one)."""
    from .conninfo import conninfo_attempts, conninfo_attempts_async, lookup_needed

    if mode() == "green" and lookup_needed(params):
        return hide(conninfo_attempts_async)(params)
    return conninfo_attempts(params)


class BaseConnection(Generic[Row]):
    """What psycopg's sync and async connections share; balrog's one Connection class
    serves both uses (``isinstance(conn, psycopg.BaseConnection)`` holds)."""

    __module__ = "psycopg"


class Connection(BaseConnection[Row]):
    """A connection to a PostgreSQL database (psycopg's ``Connection`` API)."""

    __module__ = "psycopg"

    cursor_factory: type[Cursor]
    server_cursor_factory: type[Any]
    row_factory: Any

    # The DB-API's optional extension: the exception classes on the connection.
    Warning = e.Warning
    Error = e.Error
    InterfaceError = e.InterfaceError
    DatabaseError = e.DatabaseError
    DataError = e.DataError
    OperationalError = e.OperationalError
    IntegrityError = e.IntegrityError
    InternalError = e.InternalError
    ProgrammingError = e.ProgrammingError
    NotSupportedError = e.NotSupportedError

    def __init__(
        self,
        native: Any,
        params: dict[str, str],
        *,
        autocommit: bool = False,
        prepare_threshold: int | None = 5,
        context: Any = None,
        row_factory: Any = None,
        cursor_factory: type[Cursor] | None = None,
    ):
        from .postgres import adapters as global_adapters
        from .rows import tuple_row
        from .server_cursor import ServerCursor

        self._native = native
        # One operation at a time, as psycopg's ``Connection.lock`` (green-aware here).
        self.lock = ConnectionLock()
        self._autocommit = bool(autocommit)
        self._isolation_level: IsolationLevel | None = None
        self._read_only: bool | None = None
        self._deferrable: bool | None = None
        base = context.adapters if context is not None else global_adapters
        self._adapters = AdaptersMap(base)
        self.row_factory = row_factory if row_factory is not None else tuple_row
        self.cursor_factory = cursor_factory if cursor_factory is not None else Cursor
        self.server_cursor_factory = ServerCursor
        self._prepared = PrepareManager(prepare_threshold)
        # The error of the last command, for info.error_message (libpq's PQerrorMessage:
        # kept until the next command succeeds).
        self._last_error: BaseException | None = None
        self.info = ConnectionInfo(self, params)
        self._notice_handlers: list[Callable[[e.Diagnostic], None]] = []
        self._notify_handlers: list[Callable[[Notify], None]] = []
        self._notifies_backlog: deque[Notify] = deque(maxlen=100_000)
        # notifies() generators running (they take every notification, handlers or not).
        self._notifies_running = 0
        self._num_transactions = 0
        # The two-phase transaction in progress: (its id, prepared yet).
        self._tpc: tuple[Xid, bool] | None = None
        self._closed_by_user = False
        self.pgconn = _PGconnShim(self)
        # The open ``pipeline()`` block, if any (pipeline.py).
        self._pipeline: Any = None
        # Per query text: [its UTF-8 bytes, query_plan() of them or None until needed]
        # (cursor._convert_query; a repeated query does no encoding or lookup by bytes).
        self._plans: dict[str, list[Any]] = {}

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        conninfo: str = "",
        *,
        autocommit: bool = False,
        prepare_threshold: int | None = 5,
        context: Any = None,
        row_factory: Any = None,
        cursor_factory: type[Cursor] | None = None,
        **kwargs: Any,
    ) -> Connection:
        """Connect to a database server and return a new Connection.

        As psycopg: one attempt per host (and per address a host name resolves to), each
        with the whole timeout; if all fail, the error of the last, listing every failure.
        """
        from .conninfo import conninfo_to_dict, timeout_from_conninfo

        params = conninfo_to_dict(conninfo, **kwargs)
        timeout = timeout_from_conninfo(params)
        options = {
            "autocommit": autocommit,
            "prepare_threshold": prepare_threshold,
            "context": context,
            "row_factory": row_factory,
            "cursor_factory": cursor_factory,
        }
        errors: list[tuple[e.Error, str]] = []
        for attempt in _connection_attempts(params):
            descr = "host: {!r}, port: {!r}, hostaddr: {!r}".format(
                attempt.get("host"), attempt.get("port"), attempt.get("hostaddr")
            )
            logger.debug("connection attempt: %s", descr)
            try:
                conn = cls._connect_one(attempt, timeout, options)
            except e.Error as ex:
                logger.debug("connection failed: %s: %s", descr, ex)
                errors.append((ex, descr))
            else:
                logger.debug("connection succeeded: %s", descr)
                return conn
        last = errors[-1][0]
        if len(errors) == 1:
            raise last.with_traceback(None)
        lines = [str(last), "Multiple connection attempts failed. All failures were:"]
        lines.extend(f"- {descr}: {error}" for error, descr in errors)
        raise type(last)("\n".join(lines), pgconn=last.pgconn).with_traceback(None)

    @classmethod
    def _connect_one(cls, attempt: dict[str, Any], timeout: int, options: dict[str, Any]) -> Connection:
        """One attempt: the parameters as libpq reads them, checked as libpq checks them."""
        from .conninfo import conninfo_to_dict, make_conninfo, resolve_params

        # psycopg hands libpq this string: an unknown keyword fails here, per attempt.
        given = conninfo_to_dict(make_conninfo("", **attempt))
        effective, passfile = resolve_params(given)
        check_options(effective)
        args = _native_connect_args(effective, float(timeout))
        native = wait(_pg.connect_op(*args, password_file=passfile))
        conn = cls(native, effective, **options)
        check_session(conn, effective)
        conn._dispatch_pending()
        return conn

    def __repr__(self) -> str:
        cls = f"{type(self).__module__}.{type(self).__qualname__}"
        return f"<{cls} {connection_summary(self)} at 0x{id(self):x}>"

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        if self.closed:
            return
        if exc_type:
            try:
                self.rollback()
            except Exception as exc2:
                logger.warning("error ignored in rollback on %s: %s", self, exc2)
        else:
            self.commit()
        if not getattr(self, "_pool", None):
            self.close()

    def __del__(self) -> None:
        native = getattr(self, "_native", None)
        if native is not None and not native.closed:
            # No I/O in a finalizer: dropping the native object closes the socket.
            native.forget()

    # -- state ----------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return bool(self._native.closed)

    @property
    def broken(self) -> bool:
        return bool(self._native.broken)

    @property
    def adapters(self) -> AdaptersMap:
        return self._adapters

    @property
    def connection(self) -> Connection:
        return self

    @property
    def autocommit(self) -> bool:
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        self._check_intrans("autocommit")
        self._autocommit = bool(value)

    def set_autocommit(self, value: bool) -> None:
        self.autocommit = value

    @property
    def isolation_level(self) -> IsolationLevel | None:
        return self._isolation_level

    @isolation_level.setter
    def isolation_level(self, value: IsolationLevel | int | None) -> None:
        self._check_intrans("isolation_level")
        self._isolation_level = IsolationLevel(value) if value is not None else None

    def set_isolation_level(self, value: IsolationLevel | int | None) -> None:
        self.isolation_level = value

    @property
    def read_only(self) -> bool | None:
        return self._read_only

    @read_only.setter
    def read_only(self, value: bool | None) -> None:
        self._check_intrans("read_only")
        self._read_only = bool(value) if value is not None else None

    def set_read_only(self, value: bool | None) -> None:
        self.read_only = value

    @property
    def deferrable(self) -> bool | None:
        return self._deferrable

    @deferrable.setter
    def deferrable(self, value: bool | None) -> None:
        self._check_intrans("deferrable")
        self._deferrable = bool(value) if value is not None else None

    def set_deferrable(self, value: bool | None) -> None:
        self.deferrable = value

    @property
    def prepare_threshold(self) -> int | None:
        return self._prepared.prepare_threshold

    @prepare_threshold.setter
    def prepare_threshold(self, value: int | None) -> None:
        self._prepared.prepare_threshold = value
        # Cursors' lanes run a statement only while it is the manager's `_last` (lane.rs):
        # with no threshold, psycopg stops using prepared statements.
        self._prepared._last = None

    @property
    def prepared_max(self) -> int | None:
        value = self._prepared.prepared_max
        return None if value == sys.maxsize else value

    @prepared_max.setter
    def prepared_max(self, value: int | None) -> None:
        # None: no limit, kept as sys.maxsize (what psycopg's manager holds).
        self._prepared.prepared_max = sys.maxsize if value is None else value

    def _check_intrans(self, attribute: str) -> None:
        self._check_connection_ok()  # psycopg: a closed connection's options cannot change
        status = self._native.transaction_status
        if status != _IDLE:
            if self._num_transactions:
                raise e.ProgrammingError(
                    f"can't change {attribute!r} now: connection.transaction() context in progress"
                )
            name = pq.TransactionStatus(status).name
            message = f"can't change {attribute!r} now: connection in transaction status {name}"
            raise e.ProgrammingError(message)

    def _check_connection_ok(self) -> None:
        if self._native.closed:
            raise e.OperationalError("the connection is closed")

    def _plan_for(self, query: str) -> list[Any]:
        plans = self._plans
        if len(plans) >= 1000:
            plans.clear()
        # [text as bytes, placeholders (query_plan, parsed once there are parameters),
        # the query without parameters (cursor.execute's, shared: nothing changes it)]
        plan = plans[query] = [query.encode(), None, None]
        return plan

    def _timezone(self) -> tuple[Any, bool]:
        return timezone_from_name(self._native.parameter_status("TimeZone"))

    # -- transactions ---------------------------------------------------------------------

    def _begin_statement(self) -> bytes:
        parts = [b"BEGIN"]
        if self._isolation_level is not None:
            parts.append(b"ISOLATION LEVEL " + self._isolation_level.name.replace("_", " ").encode())
        if self._read_only is not None:
            parts.append(b"READ ONLY" if self._read_only else b"READ WRITE")
        if self._deferrable is not None:
            parts.append(b"DEFERRABLE" if self._deferrable else b"NOT DEFERRABLE")
        return b" ".join(parts)

    def _start_query(self) -> None:
        """Open a transaction first if the connection is not in autocommit mode."""
        if self._autocommit:
            return
        if self._native.transaction_status != _IDLE:
            return
        self._exec_command(self._begin_statement())

    def _begin_before_failing(self) -> None:
        """psycopg sends its BEGIN before it adapts a query's parameters: a query that then
        fails to adapt (or an executemany of no rows) still leaves the connection INTRANS.
        Best effort: the caller's error is the one reported."""
        if self._autocommit or self._pipeline is not None or self._native.closed:
            return
        try:
            with self.lock:
                self._start_query()
        except Exception:
            pass

    def _exec_command(self, command: bytes) -> Any:
        """Run a statement without parameters (simple protocol); return the last result."""
        self._check_connection_ok()
        if self._pipeline is not None:  # a sync point in pipeline mode, as psycopg
            return self._pipeline.command(command)
        with self.lock:
            try:
                results = self._wait(self._native.simple(command))
            finally:
                if self._native.has_pending:
                    self._dispatch_pending()
        return results[-1] if results else None

    def _flush_prepared(self) -> None:
        """DEALLOCATE ALL after a command that made the prepared statements stale (DDL,
        ROLLBACK, DISCARD), run at once as psycopg runs it; the caller holds the lock.

        In a pipeline or a failed transaction the statements stay in the prepare manager's
        list instead and are closed with the next statement prepared.
        """
        manager = self._prepared
        manager.flush_all = False
        if self._pipeline is not None or self._native.transaction_status == _INERROR:
            return
        try:
            self._wait(self._native.simple(b"DEALLOCATE ALL"))
        finally:
            if self._native.has_pending:
                self._dispatch_pending()
        manager._stale.clear()

    def _wait(self, op: Any) -> Any:
        """Wait for a native op; if the wait is interrupted, leave the connection usable."""
        try:
            result = wait(op)
        except _INTERRUPTED:
            self._recover_after_interrupt()
            raise
        except e.Error as ex:
            self._last_error = ex
            raise
        self._last_error = None
        return result

    def _recover_after_interrupt(self) -> None:
        """Cancel the statement an interrupted wait left running and read its answers.

        As psycopg: the connection stays usable (INERROR inside a transaction, IDLE in
        autocommit); if the server does not end the statement within 5 seconds, or the
        recovery is interrupted too, the connection is closed.
        """
        native = self._native
        if native.closed or native.transaction_status != _ACTIVE:
            return
        try:
            wait(native.recover(5.0))
        except BaseException as ex:
            logger.warning("query cancellation failed (%s): closing connection", type(ex).__name__)
            native.forget()
            if not isinstance(ex, Exception):
                raise

    def commit(self) -> None:
        """Commit the current transaction."""
        self._check_connection_ok()
        self._end_transaction(
            b"COMMIT",
            "Explicit commit() forbidden within a Transaction context. "
            "(Transaction will be automatically committed on successful exit from context.)",
        )

    def rollback(self) -> None:
        """Roll back the current transaction."""
        if self.closed:
            raise e.OperationalError("the connection is closed")
        self._end_transaction(
            b"ROLLBACK",
            "Explicit rollback() forbidden within a Transaction context. "
            "(Either raise Rollback() or allow an exception to propagate out of the context.)",
        )

    def _end_transaction(self, command: bytes, inside_transaction_block: str) -> None:
        # Checked under the lock, as psycopg does: another task's transaction() block on a
        # shared connection ends before this task may look.
        with self.lock:
            if self._num_transactions:
                raise e.ProgrammingError(inside_transaction_block)
            if self._tpc is not None:
                verb = "commit" if command == b"COMMIT" else "rollback"
                raise e.ProgrammingError(f"{verb}() cannot be used during a two-phase transaction")
            if command == b"ROLLBACK" and self._pipeline is not None:
                # As psycopg: a sync first, out of a "pipeline aborted" state.
                self._pipeline.sync()
            if self._native.transaction_status == _IDLE:
                return
            self._exec_command(command)
            if command == b"ROLLBACK":
                # As psycopg: what was rolled back may have changed the tables the prepared
                # statements read.
                self._prepared.clear()
                if self._prepared.flush_all:
                    self._flush_prepared()

    def transaction(self, savepoint_name: str | None = None, force_rollback: bool = False) -> Transaction:
        """A block run in a transaction (a savepoint when nested)."""
        return Transaction(self, savepoint_name, force_rollback)

    def close(self) -> None:
        """Close the connection (no error if it is already closed or broken).

        The socket and the connection's runtime are released here, not when the object is
        garbage collected: a closed connection holds no file descriptor.
        """
        if not self._native.closed:
            pool = getattr(self, "_pool", None)
            if pool is not None and getattr(pool, "close_returns", False):
                # A pool made with close_returns=True: close() gives the connection back
                # (code written for plain connections then works with a pool unchanged).
                pool.putconn(self)
                return
            self._closed_by_user = True
        try:
            wait(self._native.close())
        except Exception:
            self._native.forget()

    # -- queries --------------------------------------------------------------------------

    def cursor(
        self,
        name: str = "",
        *,
        binary: bool = False,
        row_factory: Any = None,
        scrollable: bool | None = None,
        withhold: bool = False,
    ) -> Any:
        """A new cursor; with a ``name``, a server-side cursor."""
        self._check_connection_ok()
        if name:
            cur = self.server_cursor_factory(
                self,
                name,
                row_factory=row_factory or self.row_factory,
                scrollable=scrollable,
                withhold=withhold,
            )
        else:
            cur = self.cursor_factory(self, row_factory=row_factory or self.row_factory)
        if binary:
            cur.format = pq.Format.BINARY
        return cur

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool = False
    ) -> Cursor:
        """Execute a query on a new cursor and return it."""
        cur = self.cursor()
        if binary:
            cur.format = pq.Format.BINARY
        return cur.execute(query, params, prepare=prepare)

    def pipeline(self) -> Any:
        """A pipeline block: statements are queued and sent together at each sync."""
        from .pipeline import pipeline_block

        return pipeline_block(self)

    # -- cancel ---------------------------------------------------------------------------

    def cancel(self) -> None:
        """Ask the server to cancel the query running on this connection."""
        if self.closed:
            return
        if self._tpc is not None and self._tpc[1]:
            raise e.ProgrammingError("cancel() cannot be used with a prepared two-phase transaction")
        wait(self._native.cancel())

    def cancel_safe(self, *, timeout: float = 30.0) -> None:
        """Like cancel() (the request is sent on its own connection, never blocking forever)."""
        self.cancel()

    # -- notices and notifications ----------------------------------------------------------

    def add_notice_handler(self, callback: Callable[[e.Diagnostic], None]) -> None:
        self._notice_handlers.append(callback)

    def remove_notice_handler(self, callback: Callable[[e.Diagnostic], None]) -> None:
        self._notice_handlers.remove(callback)

    def add_notify_handler(self, callback: Callable[[Notify], None]) -> None:
        self._notify_handlers.append(callback)

    def remove_notify_handler(self, callback: Callable[[Notify], None]) -> None:
        self._notify_handlers.remove(callback)

    def _dispatch_pending(self) -> None:
        native = self._native
        for fields in native.take_notices():
            diag = e.Diagnostic(_diag_info(dict(fields)))
            for handler in list(self._notice_handlers):
                try:
                    handler(diag)
                except Exception as ex:
                    logger.exception("error processing notice callback '%s': %s", handler, ex)
        for pid, channel, payload in native.take_notifies():
            n = Notify(channel, payload, pid)
            # As psycopg: with handlers, a notification received outside notifies() goes
            # to them only; notifies() sees everything that arrives while it runs.
            if not self._notify_handlers or self._notifies_running:
                self._notifies_backlog.append(n)
            for nhandler in list(self._notify_handlers):
                nhandler(n)

    def notifies(self, *, timeout: float | None = None, stop_after: int | None = None) -> Iterator[Notify]:
        """Yield notifications as they arrive (LISTEN first); stop after a timeout or a count."""

        if self._notify_handlers:
            warnings.warn(
                "using 'notifies()' together with notifies handlers on the same connection is not"
                " reliable. Please use only one of these methods",
                RuntimeWarning,
                stacklevel=2,
            )
        self._notifies_running += 1
        try:
            yield from self._notifies(timeout, stop_after)
        finally:
            self._notifies_running -= 1

    def _notifies(self, timeout: float | None, stop_after: int | None) -> Iterator[Notify]:
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        count = 0
        while True:
            self._check_connection_ok()
            self._dispatch_pending()
            # A batch (what one read brought) is given whole, then stop_after is checked: as
            # psycopg, a transaction's several NOTIFYs all come even with stop_after=1.
            while self._notifies_backlog:
                yield self._notifies_backlog.popleft()
                count += 1
            if stop_after is not None and count >= stop_after:
                return
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if remaining == 0.0 and deadline is not None and not self._native.has_pending:
                return
            try:
                with self.lock:
                    got = self._wait(self._native.wait_notifies(remaining))
            finally:
                self._dispatch_pending()
            if not got and not self._notifies_backlog:
                return

    # -- two-phase commit (the DB-API's tpc_* methods, with psycopg's checks and messages) ---

    def xid(self, format_id: int, gtrid: str, bqual: str) -> Xid:
        """A transaction id for the ``tpc_*`` methods (XA's format id, global transaction id
        and branch qualifier)."""
        return Xid.from_parts(format_id, gtrid, bqual)

    def tpc_begin(self, xid: Xid | str) -> None:
        """Begin a two-phase transaction with the id ``xid``."""
        with self.lock:
            if not isinstance(xid, Xid):
                xid = Xid.from_string(xid)
            status = self._native.transaction_status
            if status != _IDLE:
                name = pq.TransactionStatus(status).name
                raise e.ProgrammingError(f"can't start two-phase transaction: connection in status {name}")
            if self._autocommit:
                raise e.ProgrammingError("can't use two-phase transactions in autocommit mode")
            self._tpc = (xid, False)
            self._exec_command(self._begin_statement())

    def tpc_prepare(self) -> None:
        """The first phase: ``PREPARE TRANSACTION``; the transaction leaves the session."""
        with self.lock:
            if self._tpc is None:
                raise e.ProgrammingError("'tpc_prepare()' must be called inside a two-phase transaction")
            xid, prepared = self._tpc
            if prepared:
                raise e.ProgrammingError(
                    "'tpc_prepare()' cannot be used during a prepared two-phase transaction"
                )
            self._tpc = (xid, True)
            try:
                self._exec_command(b"PREPARE TRANSACTION " + self._tpc_literal(xid))
            except e.ObjectNotInPrerequisiteState as ex:
                # The server has max_prepared_transactions = 0.
                raise e.NotSupportedError(str(ex)) from None

    def tpc_commit(self, xid: Xid | str | None = None) -> None:
        """Commit a prepared two-phase transaction: this connection's (one phase, if not
        prepared yet), or with ``xid`` one prepared elsewhere (outside a two-phase one)."""
        self._tpc_finish(b"COMMIT", xid)

    def tpc_rollback(self, xid: Xid | str | None = None) -> None:
        """Roll back a two-phase transaction (see :meth:`tpc_commit`)."""
        self._tpc_finish(b"ROLLBACK", xid)

    def _tpc_finish(self, action: bytes, xid: Xid | str | None) -> None:
        name = f"tpc_{action.decode().lower()}()"
        with self.lock:
            if xid is None:
                if self._tpc is None:
                    raise e.ProgrammingError(
                        f"{name} without xid must must be called inside a two-phase transaction"
                    )
                xid = self._tpc[0]
            else:
                if self._tpc is not None:
                    raise e.ProgrammingError(
                        f"{name} with xid must must be called outside a two-phase transaction"
                    )
                if not isinstance(xid, Xid):
                    xid = Xid.from_string(xid)
            one_phase = self._tpc is not None and not self._tpc[1]
        if one_phase:
            # Not prepared: an ordinary commit or rollback ends it.
            self._tpc = None
            self.commit() if action == b"COMMIT" else self.rollback()
            return
        with self.lock:
            self._exec_command(action + b" PREPARED " + self._tpc_literal(xid))
            self._tpc = None

    def tpc_recover(self) -> list[Xid]:
        """The transactions prepared on the server (``pg_prepared_xacts``), as Xids."""
        status = self.info.transaction_status
        with self.cursor(row_factory=args_row(Xid._from_record)) as cur:
            cur.execute(TPC_RECOVER_QUERY)
            found: list[Xid] = cur.fetchall()
        # Leave the connection as it was found (the query began a transaction).
        idle, intrans = pq.TransactionStatus.IDLE, pq.TransactionStatus.INTRANS
        if status == idle and self.info.transaction_status == intrans:
            self.rollback()
        return found

    def _tpc_literal(self, xid: Xid) -> bytes:
        from .sql import Literal

        return Literal(str(xid))._utf8(self)

    def fileno(self) -> int:
        """The socket's file descriptor, for select()/poll(): readable when the server sent
        something (a notification, say), which the next balrog call on the connection reads."""
        return self.pgconn.socket


def _diag_info(fields: dict[str, str]) -> dict[int, str]:
    from .errors import _FIELD_BY_CODE  # type: ignore[attr-defined]

    out: dict[int, str] = {}
    for code, value in fields.items():
        field = _FIELD_BY_CODE.get(code)
        if field is not None:
            out[field] = value
    return out


class _PGconnShim:
    """The few ``pgconn`` attributes code outside psycopg reads."""

    def __init__(self, conn: Connection):
        self._conn = conn

    @property
    def transaction_status(self) -> pq.TransactionStatus:
        return visible_transaction_status(self._conn)

    @property
    def status(self) -> pq.ConnStatus:
        return pq.ConnStatus.BAD if self._conn.closed else pq.ConnStatus.OK

    @property
    def socket(self) -> int:
        fd: int = self._conn._native.socket
        if fd < 0:
            closed = self._conn._native.closed and not self._conn._native.broken
            raise e.OperationalError("the connection is closed" if closed else "the connection is lost")
        return fd

    # libpq's connection parameters, as bytes (OperationalError once closed, as libpq's
    # calls on a finished connection).
    @property
    def db(self) -> bytes:
        return self._conn.info.dbname.encode()

    @property
    def host(self) -> bytes:
        return self._conn.info.host.encode()

    @property
    def hostaddr(self) -> bytes:
        return self._conn.info.hostaddr.encode()

    @property
    def user(self) -> bytes:
        return self._conn.info.user.encode()

    @property
    def password(self) -> bytes:
        return self._conn.info.password.encode()

    @property
    def options(self) -> bytes:
        return self._conn.info.options.encode()

    @property
    def port(self) -> bytes:
        return str(self._conn.info.port).encode()

    @property
    def ssl_in_use(self) -> bool:
        return bool(self._conn._native.ssl_in_use)

    @property
    def backend_pid(self) -> int:
        return self._conn._native.backend_pid  # type: ignore[no-any-return]

    def parameter_status(self, name: bytes) -> bytes | None:
        value = self._conn._native.parameter_status(name.decode())
        return value.encode() if value is not None else None

    @property
    def server_version(self) -> int:
        return self._conn.info.server_version

    @property
    def error_message(self) -> bytes:
        return self._conn.info.error_message.encode()

    def finish(self) -> None:
        """libpq's PQfinish: the session ends under the connection (which then finds
        itself closed, as psycopg's does)."""
        try:
            wait(self._conn._native.close())
        except Exception:
            self._conn._native.forget()

    def exec_(self, command: bytes) -> Any:
        """libpq's PQexec, for code (and tests) that drive the session behind psycopg's back:
        ``command`` through the simple protocol, its last result; an SQL error comes back as
        a result with status FATAL_ERROR, not raised. A COPY is left started, as libpq
        leaves it (the connection is ACTIVE until it ends)."""
        conn = self._conn
        with conn.lock:
            try:
                results = conn._wait(conn._native.simple(command, True))
            except e.Error as ex:
                if isinstance(ex, e.OperationalError) and conn.closed:
                    raise
                e._locate(ex, command)  # libpq's message quotes the line, as psycopg's
                return _FailedResult(ex, conn.info.error_message)
            finally:
                if not conn.closed and conn._native.has_pending:
                    conn._dispatch_pending()
        return results[-1] if results else None


class _FailedResult:
    """What ``exec_`` returns for a command the server refused (libpq's error PGresult)."""

    status = pq.ExecStatus.FATAL_ERROR
    ntuples = 0
    nfields = 0

    def __init__(self, error: e.Error, message: str):
        self._error = error
        self.error_message = message.encode()

    def error_field(self, code: int) -> bytes | None:
        from .errors import DiagnosticField

        value = self._error.diag._field(DiagnosticField(code))
        return value.encode() if value is not None else None
