"""psycopg's async API (AsyncConnection, AsyncCursor, AsyncCopy, AsyncConnectionPool...)
side by side with psycopg's own, on the same server.

Each scenario is one coroutine run once with ``psycopg`` and once with
``balrog.psycopg``; what it observes (values, exception classes and messages, states)
must be equal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import psycopg_pool
import pytest

import balrog.psycopg as bp
import balrog.psycopg_pool as bpool


def both(scenario: Callable[[Any, str], Awaitable[Any]], dsn: str) -> None:
    expected = asyncio.run(scenario(psycopg, dsn))
    got = asyncio.run(scenario(bp, dsn))
    assert got == expected


async def observe(awaitable: Awaitable[Any]) -> Any:
    try:
        return ("ok", await awaitable)
    except Exception as ex:
        return ("error", type(ex).__name__, str(ex))


def test_queries_and_fetches(pg_cluster) -> None:
    async def scenario(lib: Any, dsn: str) -> list[Any]:
        out: list[Any] = []
        async with await lib.AsyncConnection.connect(dsn) as conn:
            out.append(type(conn).__name__)
            cur = await conn.execute("select generate_series(1, 5) as n, 'x' || generate_series(1, 5)")
            out.append(type(cur).__name__)
            out.append([(c.name, c.type_code) for c in cur.description])
            out.append((cur.rowcount, cur.statusmessage, cur.rownumber))
            out.append(await cur.fetchone())
            out.append(await cur.fetchmany(2))
            out.append(await cur.fetchall())
            cur = conn.cursor()
            await cur.execute("select %s::int + %s, %s::text", (1, 2, "é"))
            out.append([row async for row in cur])
            await cur.executemany("select %s::int * 2", [(1,), (2,), (3,)], returning=True)
            out.append([await c.fetchone() async for c in cur.results()])
            out.append(await observe(conn.execute("select 1/0")))
            out.append(conn.info.transaction_status.name)
            await conn.rollback()
            out.append(await observe(conn.execute("select * from nowhere")))
        out.append(conn.closed)
        return out

    both(scenario, pg_cluster.dsn)


def test_transactions_and_settings(pg_cluster) -> None:
    async def scenario(lib: Any, dsn: str) -> list[Any]:
        out: list[Any] = []
        conn = await lib.AsyncConnection.connect(dsn, autocommit=True)
        try:
            try:
                conn.autocommit = False
            except AttributeError as ex:
                out.append(str(ex))
            await conn.set_isolation_level(lib.IsolationLevel.SERIALIZABLE)
            await conn.set_read_only(False)
            out.append((conn.autocommit, conn.isolation_level, conn.read_only, conn.deferrable))
            await conn.execute("create temporary table t (v int)")
            async with conn.transaction() as tx:
                out.append((type(tx).__name__, tx.savepoint_name))
                await conn.execute("insert into t values (1)")
                async with conn.transaction("inner") as inner:
                    out.append(inner.savepoint_name)
                    await conn.execute("insert into t values (2)")
                    raise lib.Rollback(inner)
            try:
                async with conn.transaction():
                    await conn.execute("insert into t values (3)")
                    raise ValueError("boom")
            except ValueError as ex:
                out.append(str(ex))
            out.append(await (await conn.execute("select v from t order by v")).fetchall())
            await conn.set_autocommit(False)
            await conn.execute("insert into t values (4)")
            out.append(conn.info.transaction_status.name)
            await conn.commit()
            out.append(conn.info.transaction_status.name)
        finally:
            await conn.close()
        return out

    both(scenario, pg_cluster.dsn)


def test_server_cursor_stream_and_factories(pg_cluster) -> None:
    async def scenario(lib: Any, dsn: str) -> list[Any]:
        out: list[Any] = []
        async with await lib.AsyncConnection.connect(dsn, row_factory=lib.rows.dict_row) as conn:
            async with conn.cursor("named", scrollable=True) as cur:
                out.append(type(cur).__name__)
                await cur.execute("select generate_series(1, 250) as n")
                out.append(await cur.fetchone())
                out.append(await cur.fetchmany(3))
                await cur.scroll(-2)
                out.append(await cur.fetchone())
                cur.itersize = 7
                out.append(len([row async for row in cur]))
            cur = conn.cursor(row_factory=lib.rows.tuple_row)
            out.append([row async for row in cur.stream("select generate_series(1, 600)")][-3:])
            out.append(await (await conn.execute("select 1 as one")).fetchone())
        client_cls = lib.AsyncClientCursor
        async with await lib.AsyncConnection.connect(dsn, cursor_factory=client_cls) as conn:
            cur = conn.cursor()
            out.append((type(cur).__name__, cur.mogrify("select %s, %s", ["a'b", 1])))
            await cur.execute("select %s; select 2", ["x"])
            out.append(await cur.fetchall())
        return out

    both(scenario, pg_cluster.dsn)


def test_copy_pipeline_and_notifies(pg_cluster) -> None:
    async def scenario(lib: Any, dsn: str) -> list[Any]:
        out: list[Any] = []
        async with await lib.AsyncConnection.connect(dsn, autocommit=True) as conn:
            await conn.execute("create temporary table t (id int, v text)")
            cur = conn.cursor()
            async with cur.copy("copy t from stdin") as copy:
                out.append(type(copy).__name__)
                await copy.write_row((1, "a"))
                # (psycopg sends write()'s data before rows still in its buffer: order by id)
                await copy.write("2\tb\n")
            out.append(cur.rowcount)
            async with cur.copy("copy (select * from t order by id) to stdout") as copy:
                copy.set_types(["int4", "text"])
                out.append([row async for row in copy.rows()])
            async with cur.copy("copy (select * from t order by id) to stdout") as copy:
                out.append(b"".join([bytes(chunk) async for chunk in copy]))
            async with conn.pipeline() as p:
                out.append(type(p).__name__)
                c1 = await conn.execute("select 1")
                c2 = await conn.execute("select 2")
                await p.sync()
                out.append((await c1.fetchone(), await c2.fetchone()))
            await conn.execute("listen chan")
            await conn.execute("notify chan, 'hello'")
            out.append([(n.channel, n.payload) async for n in conn.notifies(timeout=5, stop_after=1)])
            out.append([n async for n in conn.notifies(timeout=0.1)])
        return out

    both(scenario, pg_cluster.dsn)


def test_cancelled_task_cancels_the_query(pg_cluster) -> None:
    async def scenario(lib: Any, dsn: str) -> list[Any]:
        out: list[Any] = []
        async with await lib.AsyncConnection.connect(dsn, autocommit=True) as conn:
            task = asyncio.ensure_future(conn.execute("select pg_sleep(30)"))
            await asyncio.sleep(0.3)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                out.append("cancelled")
            # The connection is usable again, the query was stopped.
            out.append(await (await conn.execute("select 42")).fetchone())
            # Another task's cancel() stops the query with QueryCanceled.
            running = asyncio.ensure_future(observe(conn.execute("select pg_sleep(30)")))
            await asyncio.sleep(0.3)
            conn.cancel()
            out.append(await running)
        return out

    both(scenario, pg_cluster.dsn)


def test_connection_pool(pg_cluster) -> None:
    async def scenario(lib: Any, dsn: str) -> list[Any]:
        pool_lib = psycopg_pool if lib is psycopg else bpool
        configured: list[str] = []

        async def configure(conn: Any) -> None:
            configured.append(type(conn).__name__)
            await conn.set_autocommit(True)

        out: list[Any] = []
        async with pool_lib.AsyncConnectionPool(
            dsn, min_size=2, max_size=4, configure=configure, open=False
        ) as pool:
            await pool.wait()

            async def task(i: int) -> Any:
                async with pool.connection() as conn:
                    cur = await conn.execute("select %s::int, pg_sleep(0.01)", [i])
                    return (await cur.fetchone())[0], conn.autocommit

            out.append(sorted(await asyncio.gather(*(task(i) for i in range(40)))))
            conn = await pool.getconn()
            out.append(type(conn).__name__)
            await pool.putconn(conn)
            again = await pool.getconn()
            out.append(again is conn)
            await pool.putconn(again)
            stats = pool.get_stats()
            out.append((stats["pool_min"], stats["pool_max"], stats["requests_num"]))
            await pool.check()
            await pool.resize(1, 3)
            out.append((pool.min_size, pool.max_size))
        out.append(pool.closed)
        out.append(set(configured))
        with pytest.raises(pool_lib.PoolClosed):
            await pool.getconn()
        return out

    both(scenario, pg_cluster.dsn)


def test_pool_async_conninfo_kwargs_and_returning_close(pg_cluster) -> None:
    # psycopg_pool's async pool takes coroutine functions for conninfo and kwargs, and a
    # connection knows its pool while checked out (`_pool`): SQLAlchemy's "close returns
    # it to the pool" subclass relies on that.
    async def scenario(lib: Any, dsn: str) -> list[Any]:
        pool_lib = psycopg_pool if lib is psycopg else bpool
        calls = {"conninfo": 0, "kwargs": 0}

        async def conninfo() -> str:
            calls["conninfo"] += 1
            await asyncio.sleep(0)
            return dsn

        async def kwargs() -> dict[str, Any]:
            calls["kwargs"] += 1
            return {"application_name": f"app-{calls['kwargs'] % 2}"}

        class ReturningConnection(lib.AsyncConnection):  # type: ignore[name-defined,misc]
            async def close(self) -> None:
                if pool := getattr(self, "_pool", None):
                    await pool.putconn(self)
                else:
                    await super().close()

        out: list[Any] = []
        async with pool_lib.AsyncConnectionPool(
            conninfo, kwargs=kwargs, connection_class=ReturningConnection, min_size=2, open=False
        ) as pool:
            await pool.wait()
            out.append(dict(calls))
            c1, c2 = await pool.getconn(), await pool.getconn()
            names = [(await (await c.execute("show application_name")).fetchone())[0] for c in (c1, c2)]
            out.append(sorted(names))
            out.append((c1._pool is pool, len(pool._pool)))
            await c1.close()  # given back, not closed
            out.append((c1.closed, c1._pool, len(pool._pool)))
            await pool.putconn(c2)
            with pytest.raises(ValueError):
                await pool.putconn(c2)  # already returned
        out.append((c1.closed, c2.closed))
        return out

    both(scenario, pg_cluster.dsn)


def test_null_pool(pg_cluster) -> None:
    async def scenario(lib: Any, dsn: str) -> list[Any]:
        pool_lib = psycopg_pool if lib is psycopg else bpool
        async with pool_lib.AsyncNullConnectionPool(dsn, max_size=2, open=False) as pool:
            await pool.open()

            async def task(i: int) -> int:
                async with pool.connection() as conn:
                    return (await (await conn.execute("select %s::int", [i])).fetchone())[0]

            return [sorted(await asyncio.gather(*(task(i) for i in range(10)))), pool.get_stats()["pool_max"]]

    both(scenario, pg_cluster.dsn)


def _pool_warnings() -> tuple[list[str], logging.Handler]:
    """Collect psycopg.pool's warnings (balrog's pool logs under psycopg_pool's name)."""
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage().split(":")[0])

    handler = Collect(logging.WARNING)
    logging.getLogger("psycopg.pool").addHandler(handler)
    return records, handler


def test_pool_closed_before_its_jobs_start_makes_no_attempt() -> None:
    # The constructor opens the pool (open=None): psycopg_pool's first connection attempts
    # are tasks of the loop, which never start if the pool is closed before the opener
    # yields. balrog's jobs ran on threads at once and logged failures after close().
    async def scenario(lib: Any, dsn: str) -> list[Any]:
        pool_lib = psycopg_pool if lib is psycopg else bpool
        records, handler = _pool_warnings()
        try:
            async with pool_lib.AsyncConnectionPool("host=127.0.0.1 port=1 connect_timeout=1") as pool:
                with pytest.raises(ValueError):
                    await pool.resize(4, 2)
            at_close = list(records)
            await asyncio.sleep(0.3)
            return [at_close, records, pool.closed]
        finally:
            logging.getLogger("psycopg.pool").removeHandler(handler)

    both(scenario, "")


def test_pool_close_waits_for_a_connection_attempt(pg_cluster) -> None:
    # close() waits (up to its timeout) for the jobs running, as psycopg_pool's waits for
    # its workers: an attempt in flight ends, and logs, before close() returns.
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts, never answers: the attempt lasts its connect_timeout
    port = silent.getsockname()[1]

    async def scenario(lib: Any, dsn: str) -> list[Any]:
        pool_lib = psycopg_pool if lib is psycopg else bpool
        records, handler = _pool_warnings()
        try:
            pool = pool_lib.AsyncConnectionPool(
                f"host=127.0.0.1 port={port} connect_timeout=1", min_size=1, open=False
            )
            await pool.open()
            await asyncio.sleep(0.2)  # the attempt is under way
            await pool.close(timeout=5.0)
            at_close = list(records)
            await asyncio.sleep(0.3)
            return [at_close, records]
        finally:
            logging.getLogger("psycopg.pool").removeHandler(handler)

    try:
        expected = asyncio.run(scenario(psycopg, ""))
        assert expected[0] and all(m.startswith("error connecting in") for m in expected[0])
        got = asyncio.run(scenario(bp, ""))
        assert [len(got[0]), len(got[1])] == [len(expected[0]), len(expected[1])]
    finally:
        silent.close()


def test_async_transaction_class(pg_cluster) -> None:
    # AsyncTransaction made directly, as psycopg allows, and its exit deciding on errors.
    async def scenario(lib: Any, dsn: str) -> list[Any]:
        out: list[Any] = []
        async with await lib.AsyncConnection.connect(dsn) as conn:
            async with lib.AsyncTransaction(conn) as tx:
                out.append((tx.savepoint_name, conn.info.transaction_status))
                async with lib.AsyncTransaction(conn, "inner", force_rollback=True) as inner:
                    await conn.execute("select 1")
                    out.append((inner.savepoint_name, inner.force_rollback))
                async with lib.AsyncTransaction(conn) as inner:
                    raise lib.Rollback(inner)
            out.append((str(tx.status), conn.info.transaction_status))
            tx = conn.transaction()
            out.append(type(await tx.__aenter__()).__name__)
            out.append(await tx.__aexit__(None, None, None))
        return out

    both(scenario, pg_cluster.conninfo)


def test_unclosed_async_server_cursor_warns_by_its_class(pg_cluster) -> None:
    # psycopg warns (ResourceWarning) when a named cursor left open is deleted, naming the
    # class the user holds; right at the `del`, as nothing else keeps it.
    import gc
    import re
    import warnings

    async def scenario(lib: Any, dsn: str) -> list[Any]:
        out: list[Any] = []
        async with await lib.AsyncConnection.connect(dsn) as conn:
            for factory in (lib.AsyncServerCursor, lib.AsyncRawServerCursor):
                conn.server_cursor_factory = factory
                cur = conn.cursor("left_open")
                await cur.execute("select generate_series(1, 3)")
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    del cur
                    gc.collect()
                out.append([(w.category, re.sub(r"0x[0-9a-f]+", "0x", str(w.message))) for w in caught])
                await conn.rollback()
        return out

    both(scenario, pg_cluster.dsn)


def test_close_without_await_on_async_cursors(pg_cluster) -> None:
    # ``_close()`` is psycopg's non-blocking part of closing, shared by its async cursors;
    # SQLAlchemy's asyncio dialect calls it on them to close without awaiting.
    async def scenario(lib: Any, dsn: str) -> list[Any]:
        out: list[Any] = []
        async with await lib.AsyncConnection.connect(dsn) as conn:
            cur = await conn.execute("SELECT generate_series(1, 3)")
            cur._close()
            out += [cur.closed, cur.rowcount, cur.statusmessage, cur.pgresult is None]
            out.append(await observe(cur.fetchall()))
            out.append(await (await conn.execute("SELECT 1")).fetchone())
        return out

    both(scenario, pg_cluster.conninfo)
