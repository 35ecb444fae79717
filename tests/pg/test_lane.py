"""The cursor's native path (balrog-pg lane.rs): a prepared query run again in blocking mode.

Each session below runs with psycopg and with balrog, and every step's outcome (rows,
rowcount, status, description, transaction status, the cursor's query, errors, notices)
must be the same. The sessions are made to cross every point where the lane has to step
aside: another query, parameters of other types, a NULL, an error, notices, DDL and
DEALLOCATE ALL, evictions from the prepared-statement cache, a transaction to BEGIN, a row
factory or a loader changed after the lane was armed, the threshold turned off. In blocking
mode the lane must also have run most of the executes (`Lane.runs`); in green mode never.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row as pg_dict_row

import balrog.psycopg as bp
from balrog.psycopg.rows import dict_row as bp_dict_row

pytestmark = pytest.mark.both_modes

Step = Callable[[Any, Any, Any], Any]


def _outcome(module: Any, conn: Any, cur: Any, query: Any, params: Any, show_query: bool) -> tuple[Any, ...]:
    try:
        cur.execute(query, params)
    except module.Error as exc:
        shown = _shown(cur) if show_query else None
        return ("error", type(exc).__name__, exc.sqlstate, str(exc).splitlines()[0], _status(conn), shown)
    if cur.description is not None:
        rows = cur.fetchall()
    else:
        try:
            rows = cur.fetchall()
        except module.ProgrammingError as exc:  # a command without rows
            rows = ("no rows", str(exc))
    description = [(c.name, c.type_code) for c in cur.description or ()]
    shown = _shown(cur) if show_query else None
    return ("ok", rows, cur.rowcount, cur.statusmessage, description, _status(conn), shown)


def _shown(cur: Any) -> Any:
    """The cursor's `_query`: psycopg's shows none once the statement runs prepared."""
    return None if cur._query is None else cur._query.query


def _status(conn: Any) -> str:
    return conn.info.transaction_status.name


def _session(
    module: Any, conninfo: str, body: Callable[..., None], autocommit: bool = True
) -> tuple[Any, int]:
    """(the outcomes of ``body``, the executes balrog's lanes ran)."""
    conn = module.connect(conninfo, autocommit=autocommit)
    out: list[Any] = []
    notices: list[str] = []
    conn.add_notice_handler(lambda diag: notices.append(diag.message_primary))
    cursors: list[Any] = []

    def cursor() -> Any:
        cur = conn.cursor()
        cursors.append(cur)
        return cur

    def run(cur: Any, query: Any, params: Any = None, show_query: bool = True) -> None:
        out.append(_outcome(module, conn, cur, query, params, show_query))

    try:
        body(module, conn, cursor, run)
        out.append(("notices", notices))
    finally:
        conn.close()
    runs = sum(cur._lane.runs for cur in cursors if getattr(cur, "_lane", None) is not None)
    return out, runs


def _compare(pg_cluster: Any, balrog_mode: str, body: Callable[..., None], autocommit: bool = True) -> int:
    expected, _ = _session(psycopg, pg_cluster.conninfo, body, autocommit)
    got, runs = _session(bp, pg_cluster.conninfo, body, autocommit)
    assert got == expected
    if balrog_mode == "green":
        assert runs == 0  # blocking mode only
    return runs


def test_repeated_queries_with_and_without_parameters(pg_cluster, balrog_mode):
    def body(m: Any, conn: Any, cursor: Any, run: Any) -> None:
        cur = cursor()
        for _ in range(12):
            run(cur, "select 1")
        for i in range(12):
            run(cur, "select %s::int, %s::text, %s", (i, "x" * i, 2.5))
        # Other types for the same text: a NULL (unknown type), an int beyond int2, a str
        # where an int was: each its own prepared statement, as psycopg keys them.
        for params in [(None, "a", 1.0), (70000, "b", 1.0), (3, "c", 1.0), ("7", "d", 1.0), (4, "e", 1.0)]:
            run(cur, "select %s::int, %s::text, %s", params)
        for i in range(8):
            run(cur, "select %(a)s::int + %(b)s::int", {"a": i, "b": 1})  # named: the Python path
        run(cur, "select 1")

    runs = _compare(pg_cluster, balrog_mode, body)
    if balrog_mode == "blocking":
        assert runs >= 12


def test_commands_without_rows(pg_cluster, balrog_mode):
    def body(m: Any, conn: Any, cursor: Any, run: Any) -> None:
        cursor().execute("create temp table lane_ins (a int primary key, b text)")
        cur = cursor()
        for i in range(12):
            run(cur, "insert into lane_ins values (%s, %s)", (i, str(i)))
        run(cur, "insert into lane_ins values (%s, %s)", (3, "dup"))  # unique_violation
        for i in range(10):
            run(cur, "update lane_ins set b = %s where a > %s", ("u", i * 2))
        for i in range(8):
            run(cur, "delete from lane_ins where a = %s", (i,))
        run(cur, "select count(*) from lane_ins")

    runs = _compare(pg_cluster, balrog_mode, body)
    if balrog_mode == "blocking":
        assert runs >= 12


def test_errors_notices_and_the_connection_lock(pg_cluster, balrog_mode):
    def body(m: Any, conn: Any, cursor: Any, run: Any) -> None:
        setup = cursor()
        setup.execute(
            "create or replace function pg_temp.lane_notice(n int) returns int language plpgsql"
            " as $$ begin raise notice 'lane %', n; return n; end $$"
        )
        cur = cursor()
        for i in range(1, 10):
            run(cur, "select 10 / %s", (i,))
        run(cur, "select 10 / %s", (0,))  # division_by_zero from the prepared statement
        run(cur, "select 10 / %s", (5,))
        for i in range(10):
            run(cur, "select pg_temp.lane_notice(%s)", (i,))
        # The lock is free after an error and after each query: another thread can use it.
        done: list[Any] = []
        t = threading.Thread(target=lambda: done.append(conn.execute("select 2").fetchone()))
        t.start()
        t.join(30)
        run(cur, "select 10 / %s", (2,))
        assert done == [(2,)]
        assert not conn.lock.locked() if hasattr(conn.lock, "locked") else True

    runs = _compare(pg_cluster, balrog_mode, body)
    if balrog_mode == "blocking":
        assert runs >= 5


def test_ddl_deallocate_and_evictions(pg_cluster, balrog_mode):
    def body(m: Any, conn: Any, cursor: Any, run: Any) -> None:
        other = cursor()
        other.execute("create temp table lane_t (a int)")
        other.execute("insert into lane_t values (1), (2)")
        cur = cursor()
        for _ in range(8):
            run(cur, "select * from lane_t order by a")
        other.execute("alter table lane_t add column b text default 'x'")
        for _ in range(4):
            run(cur, "select * from lane_t order by a")
        other.execute("deallocate all")
        for _ in range(4):
            run(cur, "select * from lane_t order by a")
        other.execute("discard plans")
        for _ in range(4):
            run(cur, "select * from lane_t order by a")
        # One statement at most in the cache: two cursors' statements evict each other.
        # (Which runs are prepared differs here: psycopg trims its cache past prepared_max
        # only when a query it has not counted yet comes; docs/pg.md.)
        conn.prepared_max = 1
        first, second = cursor(), cursor()
        for i in range(10):
            run(first, "select %s::int * 2", (i,), show_query=False)
            run(second, "select %s::int * 3", (i,), show_query=False)
        for i in range(10):
            run(first, "select %s::int * 2", (i,), show_query=False)
        conn.prepare_threshold = None  # no more prepared statements
        for i in range(6):
            run(first, "select %s::int * 2", (i,))

    _compare(pg_cluster, balrog_mode, body)


def test_transactions_row_factories_and_loaders(pg_cluster, balrog_mode):
    def body(m: Any, conn: Any, cursor: Any, run: Any) -> None:
        cur = cursor()
        for _ in range(8):
            run(cur, "select 1")
        conn.commit()  # IDLE: the next execute sends BEGIN first
        for _ in range(4):
            run(cur, "select 1")
            conn.commit()
        for i in range(8):
            run(cur, "select %s::int", (i,))
        run(cur, "select %s::int / 0", (1,))  # INERROR: the next ones fail as in psycopg
        run(cur, "select %s::int", (1,))
        conn.rollback()
        run(cur, "select %s::int", (2,))
        cur.row_factory = pg_dict_row if m is psycopg else bp_dict_row
        for i in range(3):
            run(cur, "select %s::int as n", (i,))
        cur.row_factory = m.rows.tuple_row
        for i in range(8):
            run(cur, "select %s::int as n", (i,))

        class Doubled(m.adapt.Loader):
            def load(self, data: Any) -> Any:
                return int(bytes(data)) * 2

        cur.adapters.register_loader("int4", Doubled)
        for i in range(3):
            run(cur, "select %s::int as n", (i,))
        conn.commit()

    runs = _compare(pg_cluster, balrog_mode, body, autocommit=False)
    if balrog_mode == "blocking":
        assert runs >= 4


def test_a_query_waiting_for_the_lock_takes_the_ordinary_path(pg_cluster, balrog_mode):
    if balrog_mode == "green":
        pytest.skip("a thread holding the lock against a green task: test_conn_lock.py")
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)
    cur = conn.cursor()
    for _ in range(8):
        cur.execute("select 1")
    runs = cur._lane.runs
    assert cur._lane.armed == "select 1"
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with conn.lock:
            held.set()
            release.wait(30)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(30)
    timer = threading.Timer(0.2, release.set)
    timer.start()
    cur.execute("select 1")  # waits for the holder, on the ordinary path
    assert release.is_set()
    assert cur.fetchall() == [(1,)]
    assert cur._lane.runs == runs
    t.join(30)
    cur.execute("select 1")
    assert cur._lane.runs == runs + 1
    conn.close()


def test_ctrl_c_inside_the_lane_leaves_the_connection_usable(pg_cluster, balrog_mode):
    if balrog_mode == "green":
        pytest.skip("the lane runs in blocking mode only")
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)
    cur = conn.cursor()
    for _ in range(8):
        cur.execute("select pg_sleep(%s)", (0,))
    runs = cur._lane.runs

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    started = time.monotonic()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(KeyboardInterrupt):
            cur.execute("select pg_sleep(%s)", (20,))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 10  # the statement was cancelled, not waited for
    assert cur._lane.runs == runs + 1
    assert not conn.lock.locked()
    with pytest.raises(bp.ProgrammingError):
        cur.fetchall()  # a failed execute leaves no result, as psycopg
    assert conn.info.transaction_status == bp.pq.TransactionStatus.IDLE
    cur.execute("select pg_sleep(%s), 1", (0,))
    assert cur.fetchall()[0][1] == 1
    conn.close()
