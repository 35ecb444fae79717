"""``Cursor``: server-side parameter binding (psycopg's default cursor).

Results arrive whole (as psycopg's do) and stay in native memory; rows become Python
objects only when fetched, a slice at a time, by the native decoder.
"""

from __future__ import annotations

import datetime as dt
import weakref
from asyncio import _get_running_loop
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from greenlet import getcurrent

from balrog._bridge import GreenTask, wait

from .. import _pg
from . import errors as e
from . import pq
from ._column import Column
from ._connection_info import connection_summary
from ._enums import PyFormat
from ._interrupts import INTERRUPTED as _INTERRUPTED
from ._many import RowEncoding, send_many
from ._queries import PostgresQuery, RawQuery, _check_params, query_bytes, query_plan, raw_params
from .adapt import FORMAT_INDEX, AdaptersMap, Transformer, _registry_version
from .rows import Row, tuple_row

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["BaseCursor", "Cursor"]

# Generic parameters as psycopg's (for annotations such as ``Cursor[DictRow]``).
ConnectionType = TypeVar("ConnectionType")

TUPLES_OK = 2
TEXT = pq.Format.TEXT
BINARY = pq.Format.BINARY
COMMAND_OK = 1
_ITER_CHUNK = 128


class BaseCursor(Generic[ConnectionType, Row]):
    """State and result handling shared by every cursor class."""

    __module__ = "psycopg"
    _query_class: type[Any] = PostgresQuery

    def __init__(self, connection: Connection, *, row_factory: Any = None):
        self._conn = connection
        self._adapters = AdaptersMap(connection.adapters)
        # A loader registered on the cursor applies to the rows not fetched yet, as in
        # psycopg: the map tells the cursor (weakly: no cycle keeps a cursor alive).
        self._adapters._loaders_listener = weakref.ref(self)
        self._row_factory = row_factory if row_factory is not None else connection.row_factory
        self.arraysize = 1
        self.format = pq.Format.TEXT
        # The batch stream() is reading, and its chunk size (see the pgresult property).
        self._stream_batch: Any = None
        self._stream_size = 1
        self._closed = False
        # The native path for a prepared query run again (lane.rs), for cursor classes
        # that keep this class's execute path; made and armed by that path (`_arm_lane`).
        self._lane: Any = None
        self._lane_fits = _lane_fits(type(self))
        # The query the last execute ran by the ordinary path: the lane is armed when the
        # same query comes again (a cursor alternating queries never pays for arming).
        self._lane_candidate: Any = None
        self._reset()

    def _reset(self) -> None:
        self._clear_results()
        self._make_row: Any = None
        self._maker_arg: Any = None
        self._query: Any = None
        self._tx: Transformer | None = None
        self._specs: dict[int, Any] = {}
        # The query object and adapters version the Transformer was made for (execute
        # keeps it for the same query, as psycopg does).
        self._tx_for: Any = None
        self._tx_version = -1

    def __repr__(self) -> str:
        cls = f"{type(self).__module__}.{type(self).__qualname__}"
        if self._closed:
            status = "closed"
        elif self._pgresult is not None:
            status = pq.ExecStatus(self._pgresult.status).name
        else:
            status = "no result"
        return f"<{cls} [{status}] {connection_summary(self._conn)} at 0x{id(self):x}>"

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- properties ---------------------------------------------------------------------------

    @property
    def connection(self) -> Connection:
        return self._conn

    @property
    def adapters(self) -> AdaptersMap:
        return self._adapters

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def row_factory(self) -> Any:
        return self._row_factory

    @row_factory.setter
    def row_factory(self, row_factory: Any) -> None:
        self._row_factory = row_factory
        if self._pgresult is not None:
            self._set_maker()

    @property
    def pgresult(self) -> Any:
        res = self._pgresult
        batch = self._stream_batch
        if batch is not None and batch is res:
            # Inside stream(): psycopg's result is the chunk of `size` rows the current row
            # is in, where balrog holds every row received in one batch (made on request:
            # nothing is paid per row).
            size = self._stream_size
            start = max(self._pos - 1, 0) // size * size
            return res.slice(start, start + size)
        return res

    @property
    def description(self) -> list[Column] | None:
        res = self._pgresult
        if res is None or (res.status != TUPLES_OK and not res.nfields):
            return None
        types = self._adapters.types
        out = []
        for name, oid, fmod, fsize, *_ in res.columns():
            info = types.get(oid)
            if info is None:
                out.append(Column(name, oid, fmod, fsize, str(oid)))
            else:
                # An array's modifiers are its elements' (varchar(5)[]: display size 5).
                out.append(Column(name, oid, fmod, fsize, info.get_type_display(oid, fmod), info.oid))
        return out

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def rownumber(self) -> int | None:
        res = self._pgresult
        return self._pos if res is not None and res.status == TUPLES_OK else None

    @property
    def statusmessage(self) -> str | None:
        res = self._pgresult
        return res.command_status if res is not None else self._many_status

    def _results_format(self, binary: bool | None) -> pq.Format:
        """The rows' format for a call's ``binary`` argument, as psycopg decides it: the
        cursor's ``format`` unless the call says."""
        return self.format if binary is None else BINARY if binary else TEXT

    def _check_results_format(self, binary: bool | None) -> None:
        """Binary results asked for (``binary=True`` or ``format``): fine here (they are
        read as text and converted); a client-side cursor refuses them (client_cursor.py)."""

    def setinputsizes(self, sizes: Sequence[Any]) -> None:
        """DB-API: a hint about parameter sizes; unused, as in psycopg."""

    def setoutputsize(self, size: Any, column: int | None = None) -> None:
        """DB-API: a hint about large result columns; unused, as in psycopg."""

    @property
    def lastrowid(self) -> int | None:
        return None

    # -- helpers ------------------------------------------------------------------------------

    def _check_closed(self) -> None:
        if self._closed:
            raise e.InterfaceError("the cursor is closed")
        self._conn._check_connection_ok()

    def _transformer(self) -> Transformer:
        tx = self._tx
        if tx is None:
            tx = self._tx = Transformer(self)
        return tx

    def _convert_query(self, query: Any, params: Any = None) -> Any:
        if type(query) is str and self._query_class is PostgresQuery:
            plan = self._conn._plans.get(query)
            if plan is None:
                plan = self._conn._plan_for(query)
            # Every slot is set below, so PostgresQuery.__init__ (a Python frame) is skipped.
            pgq = _new_query(PostgresQuery)
            if params is None:
                pgq.query = plan[0]  # nothing to adapt: no Transformer needed
                pgq.params = None
                pgq.types = []
                pgq.formats = []
                return pgq
            derived = plan[1]
            if derived is None:  # placeholders are parsed only once there are parameters
                derived = plan[1] = query_plan(plan[0])
            _, dollar, positional = derived
            if positional is not None and type(params) in (tuple, list) and len(params) == positional[0]:
                # The common case in one native call (what PostgresQuery.convert does, with
                # Transformer.encode_params and AdaptersMap.native_encoders' fast path inlined).
                tx = self._tx
                if tx is None:
                    tx = self._transformer()
                cached = self._adapters._encoders
                if cached is not None and cached[0] == _registry_version[0]:
                    encoders = cached[1]
                else:
                    encoders = self._adapters.native_encoders()
                encoded = _encode_params(params, positional[1], encoders, tx.dump_one)
                pgq.query = dollar
                pgq.params = encoded
                pgq.types = encoded.types
                pgq.formats = encoded.formats
                return pgq
            pgq.params = None
            pgq.types = []
            pgq.formats = []
        else:
            pgq = self._query_class()
        pgq.convert(query, params, self._transformer())
        return pgq

    def _wait(self, op: Any) -> Any:
        conn = self._conn
        try:
            # The connection's wait cancels the statement if Ctrl-C / a cancelled green task
            # interrupts it, and keeps the connection usable.
            return conn._wait(op)
        finally:
            if conn._native.has_pending:
                conn._dispatch_pending()

    def _send(
        self, pgq: Any, prepare: bool | None = None, force_extended: bool = False, fmt: int = 0
    ) -> list[Any]:
        """Run one converted query; the list of its results (``fmt`` 1: rows in binary)."""
        conn = self._conn
        native = conn._native
        manager = conn._prepared
        params = pgq.params
        if manager.prepare_threshold is None and not prepare:
            decision = None
        elif prepare is None and (
            # PrepareManager.prepared_name inlined: its lookup, and the LRU update when
            # this is not the statement run last (the common case of a repeated query).
            (name := manager._names.get((pgq.query, tuple(pgq.types) if pgq.types else ()))) is not None
        ):
            if name is not manager._last:
                manager.prepared_name(pgq)
            decision = (name, False, ())
        else:
            decision = manager.decide(pgq, prepare)
        if decision is None:
            # Binary results need the extended protocol, as in psycopg (the simple one
            # returns text).
            if params is None and not force_extended and not fmt:
                op = native.simple(pgq.query)
            elif params is None or type(params) is _Params:
                op = (
                    native.run(pgq.query, "", True, params, None, fmt)
                    if fmt
                    else native.run(pgq.query, "", True, params)
                )
            else:
                op = native.extended(pgq.query, "", True, pgq.types, params, pgq.formats or [], fmt)
        else:
            # psycopg's cursor shows no `_query` for a prepared statement's run (it sets
            # `_query` only where it sends the query itself).
            self._query = None
            name, parse, deallocate = decision
            if params is None or type(params) is _Params:
                # The result format only when binary: an argument less to convert on the
                # path of every repeated (prepared) query.
                if fmt:
                    op = native.run(pgq.query, name, parse, params, deallocate or None, fmt)
                else:
                    op = native.run(pgq.query, name, parse, params, deallocate or None)
            else:
                formats = pgq.formats or []
                op = native.extended(pgq.query, name, parse, pgq.types, params, formats, fmt, deallocate)
        # conn._wait and self._wait, inlined: this is every execute's path.
        try:
            # balrog._bridge.wait's blocking case inlined (a plain thread, no event loop);
            # green tasks and loop threads go through it.
            if type(getcurrent()) is not GreenTask and _get_running_loop() is None:
                results = op.wait()
            else:
                results = wait(op)
        except _INTERRUPTED:
            # Ctrl-C / a cancelled green task: cancel the statement, keep the connection usable.
            conn._recover_after_interrupt()
            raise
        except e.Error as exc:
            # libpq knows the text of what it parses, not of a prepared statement it runs.
            if decision is None or decision[1]:
                e._locate(exc, pgq.query)
            conn._last_error = exc
            raise
        finally:
            if native.has_pending:
                conn._dispatch_pending()
        conn._last_error = None
        if decision is not None and decision[1]:
            manager.prepared(pgq, decision[0])
        elif len(results) > 1 and decision is None:
            manager.not_preparable(pgq)
        return results  # type: ignore[no-any-return]

    def _set_results(self, results: list[Any]) -> None:
        self._results = results
        self._iresult = 0
        self._many_status = None
        # After DISCARD or DEALLOCATE, the server's prepared statements may be gone.
        if self._select_result(0):
            self._conn._prepared.check_command(results[0].command_status)
        if len(results) > 1:
            for res in results[1:]:
                if res.drops_prepared:
                    self._conn._prepared.check_command(res.command_status)

    def _select_result(self, i: int) -> bool:
        """Position the cursor on result ``i``; true if that result's command may have
        dropped or outdated prepared statements (DISCARD, DEALLOCATE, DROP, ALTER, ROLLBACK)."""
        res = self._results[i] if i < len(self._results) else None
        self._pgresult = res
        self._rows_result = None
        self._pos = 0
        if res is None:
            self._rowcount = -1
            return False
        status, ntuples, tuples, oids, drops, binary = res.summary()
        if status == TUPLES_OK:
            self._rows_result = res
            self._rowcount = ntuples if tuples is None else tuples
            # Loader choices made of native decoders only are shared by every cursor on
            # these adapters (keyed by the row's type oids); others hold this cursor's
            # loader instances and live as long as the execute.
            cached = self._adapters._specs  # AdaptersMap.native_specs(), its fast path inlined
            if cached is not None and cached[0] == _registry_version[0]:
                shared = cached[1]
            else:
                shared = self._adapters.native_specs()
            # Binary rows have their own loaders (psycopg's *BinaryLoader classes).
            key = (oids, BINARY) if binary else oids
            choice = shared.get(key)
            if choice is None:
                choice = self._loader_choice(oids, shared, BINARY if binary else TEXT)
            loaders, built = choice
            if built is not None:
                res.use_loaders(built)
            else:
                tz, utc = self._conn._timezone()
                res.set_loaders(loaders, tz, utc)
        else:
            self._rowcount = tuples if tuples is not None else -1
        factory = self._row_factory
        if factory is tuple_row:  # the default: rows stay the decoder's tuples
            self._make_row = tuple
            self._maker_arg = None
        else:
            self._set_maker()
        return drops  # type: ignore[no-any-return]

    def _loaders_changed(self) -> None:
        """A loader was registered on this cursor's adapters: the loader choices made are
        stale. The fetch methods' fast path checks ``_rows_result``, so clearing it sends
        the next fetch to ``_reload_loaders``."""
        self._rows_result = None
        self._tx = None
        self._specs = {}
        self._tx_for = None

    def _reload_loaders(self, res: Any) -> None:
        index = next((i for i, r in enumerate(self._results) if r is res), None)
        if index is None:  # not a result this cursor selected: nothing to redo
            self._rows_result = res
            return
        pos, rowcount = self._pos, self._rowcount
        self._select_result(index)
        self._pos, self._rowcount = pos, rowcount

    def _loader_choice(
        self, oids: tuple[int, ...], shared: dict[Any, Any], fmt: pq.Format = TEXT
    ) -> tuple[list[Any], Any]:
        """(loader specs, a prebuilt native LoaderSet or None) for a row of types ``oids`` in
        format ``fmt``; kept in ``shared`` when the specs are all native decoders."""
        tx = self._transformer()
        specs = self._specs
        loaders = []
        for oid in oids:
            key = oid if fmt == TEXT else (oid, fmt)
            spec = specs.get(key)
            if spec is None:
                spec = specs[key] = tx.loader_spec(oid, fmt)
            loaders.append(spec)
        if not all(_is_native_spec(s) for s in loaders):
            return (loaders, None)  # Python loaders: built per execute, with the zone
        if len(shared) > 1000:
            shared.clear()
        # Only tz-aware decoders need the session zone (looked up per execute); the others
        # are built once for every execute.
        needs_tz = any(_needs_tz(s) for s in loaders)
        choice = shared[(oids, fmt) if fmt else oids] = (
            loaders,
            None if needs_tz else _pg.LoaderSet(loaders, _UTC, True),
        )
        return choice

    def _set_maker(self) -> None:
        maker = self._row_factory(self)
        self._make_row = maker
        self._maker_arg = None if maker is tuple else maker

    def _check_result_for_fetch(self) -> Any:
        if self._closed:
            raise e.InterfaceError("the cursor is closed")
        if self._conn._pipeline is not None:  # results still queued: flush (pipeline.py)
            self._conn._pipeline.fetch_for(self)
        res = self._pgresult
        if res is None:
            raise e.ProgrammingError("no result available")
        if res.status == TUPLES_OK:
            if res is not self._rows_result:  # loaders registered since (_loaders_changed)
                self._reload_loaders(res)
            return res
        # psycopg's words: the command's status, or else the result's (EMPTY_QUERY, COPY_OUT).
        status = res.command_status
        detail = f"command status: {status}" if status else f"result status: {pq.ExecStatus(res.status).name}"
        raise e.ProgrammingError(f"the last operation didn't produce records ({detail})")

    # -- execution ----------------------------------------------------------------------------

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Any:
        """Execute a query; the cursor is positioned on its (first) result."""
        lane = self._lane
        if (
            lane is not None
            and prepare is None
            and binary is None
            and not self._closed
            and not self.format
            and self._row_factory is tuple_row
        ):
            conn = self._conn
            if conn._pipeline is None:
                try:
                    answer = lane.execute(query, params, conn._prepared._last, conn._autocommit)
                except BaseException as exc:  # raised with the connection lock held
                    self._lane_failed(query, params, exc)
                    raise
                if answer is not None:  # the query ran; the lock is held
                    # Position the cursor as the ordinary path would have, then release the
                    # lock (inlined: this is the lane's whole Python side).
                    results, res, rows_result, rowcount, pending = answer
                    try:
                        if pending:
                            conn._dispatch_pending()
                        conn._last_error = None
                        self._query = None  # as psycopg's, for a prepared statement's run
                        if res is not None:  # _set_results' and _select_result's work here
                            self._results = results
                            self._iresult = 0
                            self._many_status = None
                            self._pgresult = res
                            self._rows_result = rows_result
                            self._pos = 0
                            self._rowcount = rowcount
                            self._make_row = tuple
                            self._maker_arg = None
                        else:
                            self._set_results(results)
                            if conn._prepared.flush_all:
                                conn._flush_prepared()
                    except BaseException:
                        self._clear_results()
                        raise
                    finally:
                        conn.lock.release()
                    return self
        # The hottest path of the driver: _check_closed and the lock's context manager are
        # inlined (each Python call counts against a ~20 µs round trip).
        if self._closed:
            raise e.InterfaceError("the cursor is closed")
        fmt = 0
        if binary or self.format:
            self._check_results_format(binary)
            fmt = self._results_format(binary)
        conn = self._conn
        if conn._native.closed:
            raise e.OperationalError("the connection is closed")
        # The same query object again (a loop, a literal): keep the Transformer and its
        # loader choices, as psycopg does, unless an adapter was registered meanwhile.
        if self._tx_for is not query or self._tx_version != _registry_version[0]:
            self._tx = None
            self._specs = {}
            self._tx_for = query
            self._tx_version = _registry_version[0]
        if params is None and type(query) is str and self._query_class is PostgresQuery:
            # _convert_query's first case, inlined: a query without parameters. Every slot
            # is set here, so PostgresQuery.__init__ (one more Python frame) is skipped.
            plan = conn._plans.get(query)
            if plan is None:
                plan = conn._plan_for(query)
            pgq = plan[2]
            if pgq is None:  # made once per query text and connection (nothing changes it)
                pgq = plan[2] = _new_query(PostgresQuery)
                pgq.query = plan[0]
                pgq.params = None
                pgq.types = []
                pgq.formats = []
        else:
            try:
                pgq = self._convert_query(query, params)
            except BaseException as exc:
                self._clear_results()  # psycopg resets the cursor before adapting
                if isinstance(exc, Exception):
                    conn._begin_before_failing()
                raise
        self._query = pgq
        if conn._pipeline is not None:  # queued until the next sync (pipeline.py)
            return conn._pipeline.queue_execute(self, pgq, fmt, prepare)
        lock = conn.lock
        lock.acquire()  # the implicit BEGIN and the query go together
        try:
            if not conn._autocommit:
                conn._start_query()
            self._set_results(self._send(pgq, prepare, False, fmt))
            if conn._prepared.flush_all:  # after DDL, ROLLBACK, DISCARD
                conn._flush_prepared()
        except BaseException:
            self._clear_results()  # as psycopg: a failed execute leaves no result behind
            raise
        finally:
            lock.release()
        if self._lane_fits and prepare is None and not fmt:
            if query is self._lane_candidate or (type(query) is str and query == self._lane_candidate):
                self._arm_lane(query, params, pgq)
            else:
                self._lane_candidate = query
        return self

    # -- the native path (lane.rs) ----------------------------------------------------------

    def _lane_failed(self, query: Any, params: Any, exc: BaseException) -> None:
        """What the ordinary path does when a query fails, for one the lane ran: the lock
        is still held, released here."""
        conn = self._conn
        try:
            self._query = None  # as psycopg's, for a prepared statement's run
            if isinstance(exc, _INTERRUPTED):
                conn._recover_after_interrupt()
            elif isinstance(exc, e.Error):
                conn._last_error = exc
            if conn._native.has_pending:
                conn._dispatch_pending()
        finally:
            self._clear_results()
            conn.lock.release()

    def _arm_lane(self, query: Any, params: Any, pgq: Any) -> None:
        """Arm the lane for ``query`` if what just ran it is the lane's steady state: a
        prepared statement (the manager's most recent), one result (text rows decoded by
        native loaders, or a command without rows), parameters (if any) encoded by the
        builtin dumpers, tuple rows."""
        lane = self._lane
        if lane is not None and lane.armed is query:
            return
        conn = self._conn
        manager = conn._prepared
        name = manager._last
        if (
            name is None
            or type(query) is not str
            or self._query_class is not PostgresQuery
            or self._row_factory is not tuple_row
            or conn._pipeline is not None
            or self.format
        ):
            return
        types = tuple(pgq.types) if pgq.types else ()
        if manager._names.get((pgq.query, types)) is not name:
            return
        if len(self._results) != 1 or self._pgresult is not self._results[0]:
            return
        status, _, _, oids, drops, binary = self._pgresult.summary()
        if drops or binary:
            return
        if status == TUPLES_OK:
            cached = self._adapters._specs
            if cached is None or cached[0] != _registry_version[0]:
                return
            choice = cached[1].get(oids)
            if choice is None or choice[1] is None:  # loaders needing the session zone, or Python ones
                return
            loaders = choice[1]
        elif status == COMMAND_OK:  # an INSERT, UPDATE, DELETE...
            loaders = None
        else:
            return
        if params is None:
            width, fmts, encoders = 0, (), []
        else:
            plan = conn._plans.get(query)
            derived = plan[1] if plan is not None else None
            if derived is None or derived[2] is None:
                return
            width, fmts = derived[2]
            encoders_cache = self._adapters._encoders
            if (
                type(params) not in (tuple, list)
                or len(params) != width
                or encoders_cache is None
                or encoders_cache[0] != _registry_version[0]
            ):
                return
            encoders = encoders_cache[1]
        if lane is None:
            lane = self._lane = _pg.Lane(conn._native, conn.lock)
        lane.arm(query, name, types, width, fmts, encoders, self._pgresult, loaders, _registry_version[0])

    def _clear_results(self) -> None:
        """No result: what psycopg's cursor shows from the start of an execute until its
        results arrive (and after it fails)."""
        self._results: list[Any] = []
        self._iresult = 0
        self._pos = 0
        self._pgresult: Any = None
        # The current result when it has rows to fetch (status TUPLES_OK), else None: the
        # fetch methods compare it with _pgresult instead of asking the native result.
        self._rows_result: Any = None
        self._rowcount = -1
        # After an executemany without `returning`: the last statement's status (psycopg
        # keeps no result then, only its statusmessage).
        self._many_status: str | None = None

    def _reset_for_execute(self) -> None:
        self._tx = None
        self._specs = {}
        self._tx_for = None
        self._many_status = None

    def executemany(self, query: Any, params_seq: Iterable[Any], *, returning: bool = False) -> None:
        """Execute a query once per parameter set, pipelined in one round trip."""
        self._check_closed()
        self._reset_for_execute()
        if self._conn._pipeline is not None:  # queued until the next sync (pipeline.py)
            return self._conn._pipeline.queue_many(self, query, params_seq, returning)
        self._clear_results()  # as psycopg, before anything can fail
        tx = self._transformer()
        raw = query_bytes(query, tx)
        raw_query = self._query_class is RawQuery
        parts, _, plan = (None, b"", None) if raw_query else query_plan(raw)
        rows = params_seq if type(params_seq) is list else list(params_seq)
        if not rows:
            self._query = None
            self._rowcount = 0
            self._conn._begin_before_failing()  # psycopg's BEGIN goes out all the same
            return
        # The first row through the ordinary path: its errors, and cursor._query.
        first = RawQuery() if raw_query else PostgresQuery()
        try:
            first.convert(raw, rows[0], tx)
        except Exception:
            self._conn._begin_before_failing()
            raise
        self._query = first
        # The rows as sequences of `width` values, for the native encoder: converted a
        # chunk at a time by _many.py, so that the first chunk goes out sooner.
        to_sequences: Callable[[list[Any]], list[Any]]
        if parts is None:
            # A raw query: each row a sequence, its values in placeholder order.
            width = len(raw_params(rows[0]))
            fmts = (FORMAT_INDEX[PyFormat.AUTO],) * width

            def to_sequences(chunk: list[Any]) -> list[Any]:
                return [raw_params(r) for r in chunk]

        else:
            if plan is not None:
                width, fmts = plan
            else:
                values, formats, _ = _check_params(parts, rows[0])
                width, fmts = len(values), tuple(FORMAT_INDEX[f] for f in formats)
            sequence = (tuple, list) if plan is not None else ()

            def to_sequences(chunk: list[Any]) -> list[Any]:
                return [r if type(r) in sequence else _check_params(parts, r)[0] for r in chunk]

        def bad_row(index: int) -> None:
            if parts is not None:
                _check_params(parts, rows[index])  # raises the error psycopg gives for this row
            raise e.ProgrammingError(f"bad parameters at row {index}")

        encoding = RowEncoding(width, fmts, self._adapters.native_encoders(), tx.dump_one, to_sequences)
        with self._conn.lock:
            self._conn._start_query()
            try:
                answer = send_many(self, first.query, rows, encoding, bad_row, returning, self.format)
            except e.Error as exc:
                e._locate(exc, first.query)
                # psycopg runs executemany in a pipeline, whose final sync leaves libpq's
                # error message empty.
                self._conn._last_error = None
                raise
        # Without `returning` only the last result is kept, with the others' row count
        # (a million INSERTs must not become a million result objects).
        if returning:
            results, earlier = answer, 0
        else:
            earlier, results = answer
        self._finish_many(results, returning, earlier)

    def _finish_many(self, results: list[Any], returning: bool, earlier: int = 0) -> None:
        """Position the cursor after an executemany; ``earlier``: the row count of results
        not kept."""
        total = earlier + row_count(results)
        if returning:
            # rowcount is the first result's, as psycopg's (nextset moves it on).
            self._results = results
            self._select_result(0)
            return
        self._results = []
        self._pgresult = None
        self._rows_result = None
        self._many_status = results[-1].command_status if results else None
        self._rowcount = total

    def nextset(self) -> bool | None:
        """Move to the next result of a multi-statement execute (or executemany returning)."""
        # No closed check, as in psycopg: a closed cursor has no results (None).
        if self._iresult + 1 < len(self._results):
            self._iresult += 1
            self._select_result(self._iresult)
            return True
        return None

    def results(self) -> Iterator[Any]:
        """Iterate over the results of a multi-statement execute, positioned on each."""
        if self._pgresult is not None:
            while True:
                yield self
                if not self.nextset():
                    break

    def stream(
        self, query: Any, params: Any = None, *, binary: bool | None = None, size: int = 1
    ) -> Iterator[Any]:
        """Execute and yield the rows as the server sends them (see _stream.py)."""
        from ._stream import stream_rows

        return stream_rows(self, query, params, size, binary)

    def set_result(self, index: int) -> Any:
        if not -len(self._results) <= index < len(self._results):
            raise IndexError(f"index {index} out of range: {len(self._results)} result(s) available")
        if index < 0:
            index += len(self._results)
        self._iresult = index
        self._select_result(index)
        return self

    # -- fetch --------------------------------------------------------------------------------

    def fetchone(self) -> Any:
        res = self._pgresult
        if res is None or res is not self._rows_result or self._closed or self._conn._pipeline is not None:
            res = self._check_result_for_fetch()  # raises, or flushes a pipeline
        if self._pos < res.ntuples:
            row = res.fetch_one(self._pos, self._maker_arg)
            self._pos += 1
            return row
        return None

    def fetchmany(self, size: int = 0) -> list[Any]:
        res = self._check_result_for_fetch()
        if not size:
            size = self.arraysize
        start = self._pos
        stop = min(start + size, res.ntuples)
        rows = res.fetch(start, stop, self._maker_arg)
        self._pos = stop
        return rows  # type: ignore[no-any-return]

    def fetchall(self) -> list[Any]:
        res = self._pgresult
        if res is None or res is not self._rows_result or self._closed or self._conn._pipeline is not None:
            res = self._check_result_for_fetch()  # raises, or flushes a pipeline
        rows = res.fetch(self._pos, None, self._maker_arg)  # stop None: to the last row
        self._pos += len(rows)
        return rows  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[Any]:
        res = self._check_result_for_fetch()
        while self._pos < res.ntuples:
            stop = min(self._pos + _ITER_CHUNK, res.ntuples)
            rows = res.fetch(self._pos, stop, self._maker_arg)
            for row in rows:
                self._pos += 1
                yield row
            if self._pgresult is not res:
                return

    def __next__(self) -> Any:
        """The next row (``next(cursor)``); StopIteration after the last one."""
        res = self._check_result_for_fetch()
        if self._pos < res.ntuples:
            row = res.fetch_one(self._pos, self._maker_arg)
            self._pos += 1
            return row
        raise StopIteration("no more records to return")

    def scroll(self, value: int, mode: str = "relative") -> None:
        res = self._check_result_for_fetch()
        if mode == "relative":
            newpos = self._pos + value
        elif mode == "absolute":
            newpos = value
        else:
            raise ValueError(f"bad mode: {mode}. It should be 'relative' or 'absolute'")
        if not 0 <= newpos < res.ntuples:
            raise IndexError("position out of bound")
        self._pos = newpos

    def close(self) -> None:
        self._close()

    def _close(self) -> None:
        # As psycopg: no result, rowcount -1 and no statusmessage once closed (the last
        # query stays, for looking into an error). psycopg's non-blocking part of closing,
        # which its async cursors share: SQLAlchemy's asyncio dialect calls it on them.
        self._closed = True
        self._clear_results()

    # -- copy ---------------------------------------------------------------------------------

    def copy(self, statement: Any, params: Any = None, *, writer: Any = None) -> Any:
        """``with cur.copy("COPY ... FROM STDIN") as copy: copy.write_row(...)``."""
        self._check_closed()
        if self._conn._pipeline is not None:
            # A COPY would leave the pipeline's queue behind the copy data, as psycopg forbids.
            raise e.NotSupportedError("COPY cannot be used in pipeline mode")
        self._reset_for_execute()
        # As psycopg: parameters are merged only when there are some (with `[]` a `%%` in
        # the statement stays as it is).
        if params:
            from ._queries import ClientQuery

            pgq: Any = ClientQuery()
            pgq.convert(statement, params, self._transformer())
        else:
            pgq = PostgresQuery()
            pgq.convert(statement, None, self._transformer())
        self._query = pgq
        # As psycopg: the connection is this block's until it ends (Copy.finish releases):
        # another thread or task waits instead of meeting a connection in COPY mode.
        lock = self._conn.lock
        lock.hold_for_block()
        try:
            return self._start_copy(pgq, writer)
        except BaseException:
            lock.release()
            raise

    def _start_copy(self, pgq: Any, writer: Any) -> Any:
        from .copy import Copy

        self._conn._start_query()
        try:
            results = self._wait(self._conn._native.simple(pgq.query, True))
        except e.Error as exc:
            e._locate(exc, pgq.query)
            raise
        res = results[-1] if results else None
        if res is None or res.status not in (3, 4):
            # As psycopg: the statement ran, but the cursor keeps no result of it.
            self._clear_results()
            status = pq.ExecStatus(res.status).name if res is not None else "EMPTY_QUERY"
            raise e.ProgrammingError(
                "copy() should be used only with COPY ... TO STDOUT or COPY ... FROM STDIN"
                f" statements, got {status}"
            )
        self._results = results
        self._pgresult = res
        self._rowcount = -1  # until the COPY ends well and its command tag counts the rows
        if len(results) > 1:
            # "select 1; copy ...": refused as psycopg's, with the COPY ended first (psycopg
            # leaves the connection stuck in it).
            self._end_copy(res.status == 4)
            raise e.ProgrammingError("COPY cannot be mixed with other operations")
        copy = Copy(self, writer=writer)
        copy._holds_lock = True
        return copy

    def _end_copy(self, copy_in: bool) -> None:
        native = self._conn._native
        if copy_in:
            try:
                self._wait(native.copy_end("COPY mixed with other operations"))
            except e.QueryCanceled:  # type: ignore[attr-defined]
                pass  # the expected answer to a CopyFail
            return
        while self._wait(native.copy_read()) is not None:
            pass


class Cursor(BaseCursor["Connection[Any]", Row]):
    """The default cursor: server-side binding, results fetched whole."""

    __module__ = "psycopg"


_LANE_KEEPS = ("execute", "_send", "_convert_query", "_set_results", "_select_result", "_query_class")
_lane_classes: dict[type, bool] = {}


def _lane_fits(cls: type) -> bool:
    """Whether cursors of ``cls`` may use the native path (lane.rs): their class keeps
    the execute path it stands for (ClientCursor, ServerCursor, RawCursor and subclasses
    overriding it take the ordinary path)."""
    fits = _lane_classes.get(cls)
    if fits is None:
        fits = _lane_classes[cls] = all(getattr(cls, n) is getattr(BaseCursor, n) for n in _LANE_KEEPS)
    return fits


_pg.Lane._configure(getcurrent, GreenTask, _get_running_loop, _registry_version)

_UTC = dt.UTC
_Params = _pg.Params
_encode_params = _pg.encode_params
_new_query = object.__new__
# Native decoders whose result depends on the session TimeZone: timestamptz, timetz, their
# arrays, ranges and multiranges.
_TZ_OIDS = frozenset({1184, 1266, 1185, 1270, 3910, 3911, 4534})


def row_count(results: list[Any]) -> int:
    """The rows the commands of ``results`` report, added up (those reporting none: 0)."""
    total = 0
    for res in results:
        n = res.command_tuples
        if n is not None:
            total += n
    return total


def _needs_tz(spec: Any) -> bool:
    if type(spec) is int:
        return spec in _TZ_OIDS
    return type(spec) is not tuple or _needs_tz(spec[1])


def _is_native_spec(spec: Any) -> bool:
    # An oid (a native decoder) or ("array"|"range"|..., native spec, ...): no Python loader.
    if type(spec) is int:
        return True
    return type(spec) is tuple and _is_native_spec(spec[1])


def _as_sequence(values: Any) -> Sequence[Any]:
    return values if isinstance(values, Sequence) else list(values)
