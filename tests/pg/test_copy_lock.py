"""A COPY block holds its connection, as psycopg's: another thread, green task or asyncio
task using the connection meanwhile waits for the block to end instead of meeting a
connection in COPY mode. Differential against psycopg for threads and asyncio tasks."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import psycopg
import pytest

import balrog
import balrog.psycopg as bp

ROWS = [(1, "first"), (2, "second")]


def _threads(lib: Any, conninfo: str) -> list[Any]:
    log: list[Any] = []
    with lib.connect(conninfo, autocommit=True) as conn:
        conn.execute("create temporary table copy_lock (id int, data text)")
        entered = threading.Event()

        def other() -> None:
            entered.wait()
            log.append(("other", conn.execute("select count(*) from copy_lock").fetchone()))

        worker = threading.Thread(target=other)
        worker.start()
        with conn.cursor().copy("copy copy_lock from stdin") as copy:
            entered.set()
            for row in ROWS:
                time.sleep(0.05)  # the other thread tries meanwhile
                copy.write_row(row)
                log.append(("wrote", row[0]))
        log.append("exited")
        worker.join()
    return log


def test_threads_wait_for_the_copy_block(pg_cluster) -> None:
    expected = _threads(psycopg, pg_cluster.conninfo)
    assert expected[-1] == ("other", (2,))
    assert _threads(bp, pg_cluster.conninfo) == expected


async def _tasks(lib: Any, conninfo: str) -> list[Any]:
    log: list[Any] = []
    async with await lib.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute("create temporary table copy_lock (id int, data text)")
        entered = asyncio.Event()
        proceed = asyncio.Event()

        async def copy_task() -> None:
            async with conn.cursor().copy("copy copy_lock from stdin") as copy:
                entered.set()
                for row in ROWS:
                    await proceed.wait()
                    await copy.write_row(row)
                    log.append(("wrote", row[0]))
            log.append("exited")

        async def other() -> None:
            cur = await conn.execute("select count(*) from copy_lock")
            log.append(("other", await cur.fetchone()))

        task = asyncio.ensure_future(copy_task())
        await entered.wait()
        others = [asyncio.ensure_future(other()) for _ in range(2)]
        await asyncio.sleep(0.05)
        proceed.set()
        await asyncio.gather(task, *others)
    return log


def test_asyncio_tasks_wait_for_the_copy_block(pg_cluster) -> None:
    expected = asyncio.run(_tasks(psycopg, pg_cluster.conninfo))
    assert expected[-2:] == [("other", (2,))] * 2
    assert asyncio.run(_tasks(bp, pg_cluster.conninfo)) == expected


def test_green_tasks_wait_for_the_copy_block(pg_cluster) -> None:
    # The sync API in green tasks (balrog's own mode): the same order as with threads.
    log: list[Any] = []

    def copier(conn: Any, entered: list[bool]) -> None:
        with conn.cursor().copy("copy copy_lock from stdin") as copy:
            entered.append(True)
            for row in ROWS:
                balrog.sleep(0.05)
                copy.write_row(row)
                log.append(("wrote", row[0]))
        log.append("exited")

    def other(conn: Any, entered: list[bool]) -> None:
        while not entered:
            balrog.sleep(0.005)
        log.append(("other", conn.execute("select count(*) from copy_lock").fetchone()))

    async def main() -> None:
        def connect() -> Any:
            conn = bp.connect(pg_cluster.conninfo, autocommit=True)
            conn.execute("create temporary table copy_lock (id int, data text)")
            return conn

        conn = await balrog.green(connect)()
        entered: list[bool] = []
        await asyncio.gather(balrog.green(copier)(conn, entered), balrog.green(other)(conn, entered))
        await balrog.green(conn.close)()

    asyncio.run(main())
    assert log == [("wrote", 1), ("wrote", 2), "exited", ("other", (2,))]


@pytest.mark.parametrize("failing", ["statement", "block"])
def test_the_lock_is_released_when_the_copy_fails(pg_cluster, failing: str) -> None:
    with bp.connect(pg_cluster.conninfo, autocommit=True) as conn:
        conn.execute("create temporary table copy_lock (id int, data text)")
        with pytest.raises((bp.errors.UndefinedTable, ZeroDivisionError)):
            if failing == "statement":
                conn.cursor().copy("copy no_such_table from stdin")
            else:
                with conn.cursor().copy("copy copy_lock from stdin"):
                    1 / 0  # noqa: B018
        assert not conn.lock.locked()
        # Another thread can use the connection right away.
        result: list[Any] = []
        worker = threading.Thread(target=lambda: result.append(conn.execute("select 1").fetchone()))
        worker.start()
        worker.join(10)
        assert result == [(1,)]
