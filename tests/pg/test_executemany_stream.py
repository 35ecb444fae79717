"""executemany sends its rows a chunk at a time (balrog.psycopg._many, balrog-pg many.rs):
results across chunk boundaries, parameter types that change between chunks, and a call
stopped between two chunks (Ctrl-C, a cancelled green task, the server gone) leaving the
connection as psycopg would."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import balrog
import balrog.psycopg as bp
from balrog.psycopg._many import FIRST_CHUNK, chunk_bounds

# Far enough to span several chunks of every size.
ROWS = 12_000


def test_chunk_bounds_cover_every_row_once():
    for count in (0, 1, FIRST_CHUNK - 1, FIRST_CHUNK, FIRST_CHUNK + 1, ROWS, 100_003):
        bounds = list(chunk_bounds(count))
        assert [i for start, stop in bounds for i in range(start, stop)] == list(range(count))


def _returning_run(mod: Any, conninfo: str) -> tuple[list[Any], int, list[Any]]:
    with mod.connect(conninfo, autocommit=True) as conn:
        conn.execute("drop table if exists em_ret; create table em_ret (id serial, v numeric)")
        cur = conn.cursor()
        # Values grow from int2 through int4 to int8 and numeric: the parameter types change
        # in the middle of chunks (each change is a new Parse in the same request).
        values = [30_000 + i for i in range(ROWS // 2)]
        values += [2**31 - ROWS // 4 + i for i in range(ROWS // 4)]
        values += [2**63 - 10 + i for i in range(ROWS - len(values))]
        query = "insert into em_ret (v) values (%s) returning id, v"
        cur.executemany(query, [(v,) for v in values], returning=True)
        first_rowcount = cur.rowcount
        returned = []
        while True:
            returned.extend(cur.fetchall())
            if not cur.nextset():
                break
        stored = conn.execute("select id, v from em_ret order by id").fetchall()
        return returned, first_rowcount, stored


@pytest.mark.both_modes
def test_returning_across_chunks_and_type_changes(pg_cluster):
    got = _returning_run(bp, pg_cluster.conninfo)
    want = _returning_run(psycopg, pg_cluster.conninfo)
    assert got == want
    assert len(got[0]) == ROWS


@pytest.mark.both_modes
def test_rowcount_and_status_without_returning(pg_cluster):
    def run(mod: Any) -> tuple[int, str | None, int]:
        with mod.connect(pg_cluster.conninfo) as conn:
            conn.execute("create temp table em_plain (a int8, b text)")
            cur = conn.cursor()
            cur.executemany("insert into em_plain values (%s, %s)", ((i, f"r{i}") for i in range(ROWS)))
            count = conn.execute("select count(*) from em_plain").fetchone()[0]
            return cur.rowcount, cur.statusmessage, count

    assert run(bp) == run(psycopg) == (ROWS, "INSERT 0 1", ROWS)


def _prepared_run(mod: Any, conninfo: str, **options: Any) -> list[Any]:
    seen = []
    with mod.connect(conninfo) as conn:
        for name, value in options.items():
            setattr(conn, name, value)
        conn.execute("create temp table em_prep (a int8, b text)")
        cur = conn.cursor()

        def statements() -> list[Any]:
            query = "select name, statement, parameter_types::text from pg_prepared_statements order by name"
            return conn.execute(query).fetchall()

        # Rows whose parameter types change (int2, int8, int2 again) across chunk boundaries.
        rows = [(i, "x") for i in range(ROWS)] + [(2**40 + i, None) for i in range(3000)] + [(1, "y")] * 500
        cur.executemany("insert into em_prep values (%s, %s)", rows)
        seen.append(statements())
        cur.execute("insert into em_prep values (%s, %s)", (5, "z"))
        seen.append(statements())
        seen.append(conn.execute("select count(*), sum(a) from em_prep").fetchone())
    return seen


@pytest.mark.parametrize("options", [{}, {"prepare_threshold": None}])
def test_prepared_statements_as_psycopg(pg_cluster, options):
    # psycopg prepares executemany's statement (one per parameter types), unless prepared
    # statements are off, and later executes reuse it.
    got = _prepared_run(bp, pg_cluster.conninfo, **options)
    want = _prepared_run(psycopg, pg_cluster.conninfo, **options)
    assert got == want


def test_prepared_max_evicts_within_one_executemany(pg_cluster):
    # With prepared_max=1 each change of parameter types evicts the previous statement.
    # psycopg deallocates it once the Parse's answer has come back, which may be after the
    # executemany (seen both ways): compare the data and the cache bound, not the timing.
    got = _prepared_run(bp, pg_cluster.conninfo, prepared_max=1)
    want = _prepared_run(psycopg, pg_cluster.conninfo, prepared_max=1)
    assert got[2] == want[2]
    assert [len(statements) for statements in got[:2]] == [1, 1]
    assert got[1][0][2] == "{smallint,text}"


@pytest.mark.parametrize("at", [1, 300, 5000])
def test_mapping_row_missing_a_key_mid_chunk(pg_cluster, at):
    def run(mod: Any) -> tuple[str, int]:
        with mod.connect(pg_cluster.conninfo, autocommit=True) as conn:
            conn.execute("drop table if exists em_map; create table em_map (a int8)")
            rows: list[dict[str, Any]] = [{"a": i} for i in range(6000)]
            rows[at] = {"b": 1}
            with pytest.raises(mod.ProgrammingError) as caught:
                conn.cursor().executemany("insert into em_map values (%(a)s)", rows)
            return str(caught.value), conn.execute("select count(*) from em_map").fetchone()[0]

    assert run(bp) == run(psycopg) == (run(psycopg)[0], at)


class Tick(int):
    """An int whose dumper calls a hook when it meets a chosen value."""


def _register_tick(conn: Any, at: int, hook: Callable[[], None]) -> None:
    class TickDumper(bp.adapt.Dumper):
        oid = bp.adapters.types["int8"].oid

        def dump(self, obj: Any) -> bytes:
            if obj == at:
                hook()
            return str(int(obj)).encode()

    conn.adapters.register_dumper(Tick, TickDumper)


def test_ctrl_c_between_chunks_keeps_the_connection(pg_cluster):
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        conn.execute("drop table if exists em_int; create table em_int (a int8)")

        def interrupt() -> None:
            raise KeyboardInterrupt

        _register_tick(conn, 3000, interrupt)
        with pytest.raises(KeyboardInterrupt):
            conn.cursor().executemany("insert into em_int values (%s)", [(Tick(i),) for i in range(ROWS)])
        assert not conn.closed
        assert conn.info.transaction_status == bp.pq.TransactionStatus.IDLE
        assert not conn._native.unsynced
        # Rows 0..2999 were sent without their Sync: the interrupted request is failed
        # before its Sync, so none of them commit (and none after the interrupt went out).
        assert conn.execute("select count(*) from em_int").fetchone() == (0,)
        assert conn.execute("select 42").fetchone() == (42,)


def test_green_task_cancelled_between_chunks(pg_cluster):
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)
    conn.execute("drop table if exists em_green; create table em_green (a int8)")
    reached = asyncio.Event()
    _register_tick(conn, 3000, reached.set)
    rows = [(Tick(i),) for i in range(200_000)]

    async def main() -> str:
        executemany = balrog.green(conn.cursor().executemany)
        task = asyncio.create_task(executemany("insert into em_green values (%s)", rows))
        await reached.wait()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return "CancelledError"
        return "finished"

    assert asyncio.run(main()) == "CancelledError"
    assert not conn.closed
    assert conn.info.transaction_status == bp.pq.TransactionStatus.IDLE
    assert conn.execute("select 7").fetchone() == (7,)
    # Cancelled between chunks, the request is failed before its Sync (nothing commits);
    # cancelled in the last wait, after the Sync went out, the cancel request may come too
    # late and every row commits. Never a part of them.
    assert conn.execute("select count(*) from em_green").fetchone()[0] in (0, 200_000)
    conn.close()


@pytest.mark.parametrize("lib", ["psycopg", "balrog"])
def test_server_gone_between_chunks(pg_cluster, lib):
    mod = psycopg if lib == "psycopg" else bp
    with mod.connect(pg_cluster.conninfo, autocommit=True) as conn:
        conn.execute("drop table if exists em_gone; create table em_gone (a int8)")
        pid = conn.info.backend_pid

        def terminate() -> None:
            with psycopg.connect(pg_cluster.conninfo, autocommit=True) as killer:
                killer.execute("select pg_terminate_backend(%s)", [pid])

        rows: list[Any] = [(i,) for i in range(ROWS)]
        if lib == "balrog":
            _register_tick(conn, 3000, terminate)
            rows = [(Tick(i),) for i in range(ROWS)]
        else:
            # psycopg dumps as it goes: the same hook through a psycopg dumper.
            class TickDumper(psycopg.adapt.Dumper):
                oid = psycopg.adapters.types["int8"].oid

                def dump(self, obj: Any) -> bytes:
                    if obj == 3000:
                        terminate()
                    return str(int(obj)).encode()

            conn.adapters.register_dumper(Tick, TickDumper)
            rows = [(Tick(i),) for i in range(ROWS)]
        with pytest.raises(mod.OperationalError):
            conn.cursor().executemany("insert into em_gone values (%s)", rows)
        assert conn.closed


@pytest.mark.both_modes
def test_next_operation_ends_an_abandoned_request(pg_cluster):
    # A chunk sent without its last (as an executemany stopped without recovery, e.g. an
    # op abandoned by a bridge wait timeout): the next statement on the connection fails
    # the open request before its Sync, reads its answers, and runs normally.
    from balrog._bridge import wait

    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        conn.execute("drop table if exists em_left; create table em_left (a int8)")
        native = conn._native
        rows = [[str(i).encode()] for i in range(1000)]
        query = b"insert into em_left values ($1)"
        wait(native.many(query, "", True, [20], rows, [0], False, True, True, False))
        assert native.unsynced
        assert conn.execute("select 42").fetchone() == (42,)
        assert not native.unsynced
        assert conn.info.transaction_status == bp.pq.TransactionStatus.IDLE
        assert conn.execute("select count(*) from em_left").fetchone() == (0,)
