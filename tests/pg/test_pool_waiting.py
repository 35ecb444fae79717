"""balrog.psycopg_pool: clients waiting for a connection (the Handoff / Wakeup path) when
they give up — cancelled green tasks, timeouts — or get a broken connection back, with
green tasks and threads mixed. No connection may be lost or handed to a client that left."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import balrog
import balrog.psycopg as bp
from balrog.psycopg_pool import ConnectionPool, PoolTimeout


@pytest.fixture
def pool(pg_cluster: Any) -> Iterator[ConnectionPool[Any]]:
    p: ConnectionPool[Any] = ConnectionPool(pg_cluster.conninfo, min_size=1, open=True)
    p.wait(30)
    yield p
    p.close()


def _until(predicate: Any) -> None:
    """Poll (sleeping in the caller's mode); fail instead of hanging if it never holds."""
    deadline = time.monotonic() + 30
    while not predicate():
        assert time.monotonic() < deadline, "condition never met"
        balrog.sleep(0.005)


def _until_waiting(pool: ConnectionPool[Any], n: int) -> None:
    _until(lambda: pool.get_stats()["requests_waiting"] == n)


def test_cancelled_green_waiter_leaves_the_queue(pool: ConnectionPool[Any]) -> None:
    served: list[str] = []

    def client(tag: str) -> None:
        with pool.connection(timeout=30):
            served.append(tag)

    async def main() -> None:
        held = await balrog.green(pool.getconn)()
        first = asyncio.ensure_future(balrog.green(client)("cancelled"))
        await balrog.green(_until_waiting)(pool, 1)
        second = asyncio.ensure_future(balrog.green(client)("served"))
        await balrog.green(_until_waiting)(pool, 2)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert pool.get_stats()["requests_waiting"] == 1
        await balrog.green(pool.putconn)(held)
        await second

    asyncio.run(main())
    assert served == ["served"]
    stats = pool.get_stats()
    assert stats["requests_errors"] == 1
    assert stats["pool_available"] == 1


def test_waiter_cancelled_after_the_connection_was_given(pool: ConnectionPool[Any]) -> None:
    """The connection is handed over, then the waiter's task is cancelled before it ran:
    the connection must come back to the pool."""

    async def main() -> None:
        held = await balrog.green(pool.getconn)()
        waiter = asyncio.ensure_future(balrog.green(pool.getconn)(timeout=30))
        await balrog.green(_until_waiting)(pool, 1)
        # In one loop step: the cancellation is queued, then putconn (no I/O without a
        # reset function) gives the connection to the still-waiting client and queues its
        # resumption; the cancellation is delivered first.
        waiter.cancel()
        pool.putconn(held)
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await balrog.green(_until)(lambda: pool.get_stats()["pool_available"] == 1)
        again = await balrog.green(pool.getconn)(timeout=5)
        assert again is held
        await balrog.green(pool.putconn)(again)

    asyncio.run(main())


def test_green_timeout_then_the_next_waiter_is_served(pool: ConnectionPool[Any]) -> None:
    outcomes: dict[str, str] = {}

    def client(tag: str, timeout: float) -> None:
        try:
            with pool.connection(timeout=timeout):
                outcomes[tag] = "served"
        except PoolTimeout:
            outcomes[tag] = "timeout"

    async def main() -> None:
        held = await balrog.green(pool.getconn)()
        short = asyncio.ensure_future(balrog.green(client)("short", 0.05))
        await balrog.green(_until_waiting)(pool, 1)
        long = asyncio.ensure_future(balrog.green(client)("long", 30))
        await short  # timed out while the connection is still held
        await balrog.green(pool.putconn)(held)
        await long

    asyncio.run(main())
    assert outcomes == {"short": "timeout", "long": "served"}
    assert pool.get_stats()["requests_errors"] == 1


def test_green_waiter_served_by_a_thread(pool: ConnectionPool[Any]) -> None:
    held = pool.getconn()  # a thread's connection (plain blocking code)
    release = threading.Event()

    def returner() -> None:
        release.wait(30)
        pool.putconn(held)

    thread = threading.Thread(target=returner)
    thread.start()
    try:

        def client() -> int:
            release.set()
            with pool.connection(timeout=30) as conn:
                return int(conn.execute("select 7").fetchone()[0])

        assert balrog.run(client) == 7
    finally:
        release.set()
        thread.join()


def test_thread_waiter_served_by_a_green_task(pool: ConnectionPool[Any]) -> None:
    got: list[Any] = []
    waiting = threading.Event()

    def thread_client() -> None:
        waiting.set()
        with pool.connection(timeout=30) as conn:
            got.append(conn.execute("select 8").fetchone()[0])

    async def main() -> None:
        held = await balrog.green(pool.getconn)()
        thread = threading.Thread(target=thread_client)
        thread.start()
        await balrog.green(_until_waiting)(pool, 1)
        await balrog.green(pool.putconn)(held)
        await asyncio.get_running_loop().run_in_executor(None, thread.join)

    asyncio.run(main())
    assert got == [8]


def test_broken_connection_returned_to_a_waiting_green_task(
    pool: ConnectionPool[Any], pg_cluster: Any
) -> None:
    """The waiter gets a new connection, not the broken one."""
    import psycopg

    async def main() -> None:
        held = await balrog.green(pool.getconn)()
        pid = held.info.backend_pid
        waiter = asyncio.ensure_future(balrog.green(pool.getconn)(timeout=30))
        await balrog.green(_until_waiting)(pool, 1)
        with psycopg.connect(pg_cluster.conninfo, autocommit=True) as admin:
            admin.execute("select pg_terminate_backend(%s)", [pid])

        def break_and_return() -> None:
            with pytest.raises(bp.OperationalError):
                held.execute("select 1")
            pool.putconn(held)

        await balrog.green(break_and_return)()
        fresh = await waiter
        assert fresh is not held and fresh.info.backend_pid != pid

        def use_and_return() -> int:
            value = int(fresh.execute("select 9").fetchone()[0])
            pool.putconn(fresh)
            return value

        assert await balrog.green(use_and_return)() == 9

    asyncio.run(main())
    assert pool.get_stats()["returns_bad"] == 1


def test_many_green_waiters_fifo(pool: ConnectionPool[Any]) -> None:
    order: list[int] = []

    def client(n: int) -> None:
        with pool.connection(timeout=30):
            order.append(n)

    async def main() -> None:
        held = await balrog.green(pool.getconn)()
        tasks = []
        for n in range(20):
            tasks.append(asyncio.ensure_future(balrog.green(client)(n)))
            await balrog.green(_until_waiting)(pool, n + 1)
        await balrog.green(pool.putconn)(held)
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert order == list(range(20))
