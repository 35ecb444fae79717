"""Robustness: resources released by close(), one operation at a time per connection (threads
and green tasks), Ctrl-C / task cancellation mid-query keeping the connection usable."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading

import psycopg
import pytest

import balrog
import balrog.psycopg as bp
from support.net import default_sigint
from support.proc import status_field


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_kb() -> int:
    return status_field("VmRSS")


def _wait_until_running(conninfo: str, pid: int, needle: str) -> None:
    """Poll the server until backend `pid` runs a statement containing `needle`."""
    with psycopg.connect(conninfo, autocommit=True) as watcher:
        while True:
            row = watcher.execute(
                "select state, query from pg_stat_activity where pid = %s", [pid]
            ).fetchone()
            if row is not None and row[0] == "active" and needle in row[1]:
                return
            watcher.execute("select pg_sleep(0.02)")


# -- close() releases the socket and the runtime at once ------------------------------------


@pytest.mark.both_modes
def test_close_releases_fds_without_gc(pg_cluster):
    gc.disable()
    try:
        conn = bp.connect(pg_cluster.conninfo)
        conn.execute("select 1")
        conn.close()
        before = _fds()
        for _ in range(50):
            conn = bp.connect(pg_cluster.conninfo)
            # Reference cycles (info, pgconn shim) keep the object alive: close() must not
            # rely on the object being freed.
            keep = [conn, conn.info]
            conn.execute("select 1")
            conn.close()
            del keep
        assert _fds() == before
    finally:
        gc.enable()


@pytest.mark.both_modes
def test_broken_connection_close_releases_fds(pg_cluster):
    with bp.connect(pg_cluster.conninfo, autocommit=True) as killer:
        conn = bp.connect(pg_cluster.conninfo, autocommit=True)
        conn.execute("select 1")
        conn.close()
        before = _fds()
        for _ in range(10):
            conn = bp.connect(pg_cluster.conninfo, autocommit=True)
            killer.execute("select pg_terminate_backend(%s)", [conn.info.backend_pid])
            with pytest.raises(bp.OperationalError):
                conn.execute("select 1")
            assert conn.broken
            conn.close()
        assert _fds() == before


@pytest.mark.parametrize("green", [False, True], ids=["blocking", "green"])
def test_connect_close_cycles_flat(pg_cluster, green):
    """10,000 connect/execute/close cycles (the balrog-pg issue's figure): file descriptors
    flat, RSS growth bounded, in blocking mode and in green tasks."""

    def cycles(n: int) -> None:
        for _ in range(n):
            conn = bp.connect(pg_cluster.conninfo)
            conn.execute("select 1").fetchone()
            conn.close()

    def run(n: int) -> None:
        if green:
            balrog.run(cycles, n)
        else:
            cycles(n)

    run(300)  # warm up: allocator arenas, the shared runtime, caches
    fds, rss = _fds(), _rss_kb()
    run(10_000)
    assert _fds() <= fds
    # A leak of even 1 KB per connection would show as 10 MB here.
    assert _rss_kb() - rss < 10 * 1024


# -- one operation at a time: Connection.lock ------------------------------------------------


def _steps_table(conninfo: str) -> None:
    with bp.connect(conninfo, autocommit=True) as conn:
        conn.execute("drop table if exists robust_steps")
        conn.execute("create table robust_steps (id serial primary key, who text, step int)")


def test_lock_green_tasks_do_not_interleave(pg_cluster):
    """A green task holding conn.lock across BEGIN/INSERTs/COMMIT keeps another task's
    statements out; the waiting task suspends only itself (a third task runs meanwhile)."""
    _steps_table(pg_cluster.conninfo)
    conn = bp.connect(pg_cluster.conninfo)
    progress: list[str] = []

    def writer(who: str) -> None:
        with conn.lock:
            for step in range(3):
                conn.execute("insert into robust_steps (who, step) values (%s, %s)", [who, step])
                balrog.sleep(0.01)  # hand the loop to the other tasks mid-transaction
            conn.commit()

    def bystander() -> None:
        with bp.connect(pg_cluster.conninfo, autocommit=True) as other:
            for _ in range(5):
                other.execute("select 1")
                progress.append("tick")
                balrog.sleep(0.005)

    async def main() -> None:
        await asyncio.gather(balrog.green(writer)("a"), balrog.green(writer)("b"), balrog.green(bystander)())

    asyncio.run(main())
    rows = conn.execute("select who, step from robust_steps order by id").fetchall()
    conn.close()
    assert rows == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1), ("b", 2)]
    assert progress == ["tick"] * 5


def test_lock_threads_do_not_interleave(pg_cluster):
    _steps_table(pg_cluster.conninfo)
    conn = bp.connect(pg_cluster.conninfo)
    started = threading.Event()

    def writer(who: str) -> None:
        with conn.lock:
            started.set()
            for step in range(3):
                conn.execute("insert into robust_steps (who, step) values (%s, %s)", [who, step])
            conn.commit()

    first = threading.Thread(target=writer, args=("a",))
    first.start()
    started.wait()
    second = threading.Thread(target=writer, args=("b",))
    second.start()
    first.join()
    second.join()
    rows = conn.execute("select who, step from robust_steps order by id").fetchall()
    conn.close()
    assert rows == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1), ("b", 2)]


def test_shared_connection_many_green_tasks(pg_cluster):
    """Twenty green tasks share one connection: each gets the answers to its own queries.
    As with psycopg and threads, a whole transaction block is one task's only while it
    holds ``conn.lock``."""
    conn = bp.connect(pg_cluster.conninfo)

    def worker(n: int) -> list[int]:
        got = []
        for i in range(10):
            got.append(conn.execute("select %s::int", [n * 100 + i]).fetchone()[0])
            with conn.lock, conn.transaction():
                got.append(conn.execute("select %s::int", [-n]).fetchone()[0])
            balrog.sleep(0)
        conn.commit()
        return got

    async def main() -> list[list[int]]:
        return await asyncio.gather(*(balrog.green(worker)(n) for n in range(20)))

    results = asyncio.run(main())
    assert results == [[v for i in range(10) for v in (n * 100 + i, -n)] for n in range(20)]
    assert conn.info.transaction_status == bp.pq.TransactionStatus.IDLE
    conn.close()


def test_lock_waiter_cancelled(pg_cluster):
    """A green task cancelled while waiting for the lock leaves the queue; the lock still
    reaches the next waiter."""
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)
    order: list[str] = []

    def holder() -> None:
        with conn.lock:
            order.append("holder")
            balrog.sleep(0.05)

    def waiter(name: str) -> None:
        with conn.lock:
            order.append(name)
            conn.execute("select 1")

    async def main() -> None:
        first = asyncio.create_task(balrog.green(holder)())
        await asyncio.sleep(0)
        doomed = asyncio.create_task(balrog.green(waiter)("doomed"))
        last = asyncio.create_task(balrog.green(waiter)("last"))
        await asyncio.sleep(0)
        doomed.cancel()
        await first
        await last
        with pytest.raises(asyncio.CancelledError):
            await doomed

    asyncio.run(main())
    assert order == ["holder", "last"]
    assert not conn.lock.locked()
    conn.close()


# -- interrupted queries: cancel on the server, keep the connection --------------------------

_INTERRUPT_SCRIPT = textwrap.dedent(
    """
    import json, sys
    lib, conninfo, autocommit, mode = sys.argv[1:5]
    if lib == "psycopg":
        import psycopg as pg
    else:
        import balrog.psycopg as pg
    import balrog

    def body():
        conn = pg.connect(conninfo, autocommit=autocommit == "1")
        conn.execute("select 1")
        print(conn.info.backend_pid, flush=True)
        out = {}
        try:
            conn.execute("select pg_sleep(60)")
        except BaseException as ex:
            out["exc"] = type(ex).__name__
        out["status"] = conn.info.transaction_status.name
        out["closed"] = conn.closed
        if out["status"] == "INERROR":
            conn.rollback()
        out["after"] = conn.execute("select 42").fetchone()[0]
        conn.close()
        print(json.dumps(out), flush=True)

    if mode == "green":
        try:
            balrog.run(body)
        except KeyboardInterrupt:
            pass
    else:
        body()
    """
)


def _interrupted_run(lib: str, conninfo: str, autocommit: bool, mode: str = "blocking") -> dict:
    proc = subprocess.Popen(
        [sys.executable, "-c", _INTERRUPT_SCRIPT, lib, conninfo, "1" if autocommit else "0", mode],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    try:
        assert proc.stdout is not None
        pid = int(proc.stdout.readline())
        _wait_until_running(conninfo, pid, "pg_sleep(60)")
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("autocommit", [True, False])
def test_ctrl_c_mid_query_keeps_connection(pg_cluster, autocommit):
    expected = _interrupted_run("psycopg", pg_cluster.conninfo, autocommit)
    got = _interrupted_run("balrog", pg_cluster.conninfo, autocommit)
    assert got == expected
    assert got["exc"] == "KeyboardInterrupt"
    assert got["status"] == ("IDLE" if autocommit else "INERROR")


def test_ctrl_c_mid_query_green_mode(pg_cluster):
    """Under balrog.run, SIGINT cancels the main task: the green task gets CancelledError at
    its query, which is cancelled on the server; the connection stays usable."""
    got = _interrupted_run("balrog", pg_cluster.conninfo, False, mode="green")
    assert got == {"exc": "CancelledError", "status": "INERROR", "closed": False, "after": 42}


def _cancel_mid_query(conninfo: str, lib: str) -> tuple[str, str, int]:
    """Cancel an asyncio task while its query runs; return the statuses after."""

    async def main() -> tuple[str, str, int]:
        if lib == "psycopg":
            conn = await psycopg.AsyncConnection.connect(conninfo)

            async def query() -> None:
                await conn.execute("select pg_sleep(60)")

            async def after() -> tuple[str, int]:
                status = conn.info.transaction_status.name
                await conn.rollback()
                cur = await conn.execute("select 7")
                row = await cur.fetchone()
                return status, row[0]

            pid = conn.info.backend_pid
        else:
            conn = await balrog.green(bp.connect)(conninfo)

            def query_sync() -> None:
                conn.execute("select pg_sleep(60)")

            def after_sync() -> tuple[str, int]:
                status = conn.info.transaction_status.name
                conn.rollback()
                return status, conn.execute("select 7").fetchone()[0]

            query = balrog.green(query_sync)
            after = balrog.green(after_sync)
            pid = conn.info.backend_pid
        task = asyncio.create_task(query())
        await asyncio.to_thread(_wait_until_running, conninfo, pid, "pg_sleep(60)")
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            outcome = "CancelledError"
        else:
            outcome = "finished"
        status, value = await after()
        await (conn.close() if lib == "psycopg" else balrog.green(conn.close)())
        return outcome, status, value

    return asyncio.run(main())


def test_green_task_cancelled_mid_query(pg_cluster):
    expected = _cancel_mid_query(pg_cluster.conninfo, "psycopg")
    assert _cancel_mid_query(pg_cluster.conninfo, "balrog") == expected
    assert expected == ("CancelledError", "INERROR", 7)


def test_green_wait_for_timeout_mid_query(pg_cluster):
    """asyncio.wait_for around a green task: the timeout cancels the query on the server."""
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(balrog.green(conn.execute)("select pg_sleep(60)"), 0.3)

    asyncio.run(main())
    assert conn.info.transaction_status == bp.pq.TransactionStatus.IDLE
    assert not conn.closed
    assert conn.execute("select 5").fetchone() == (5,)
    conn.close()


@pytest.mark.both_modes
def test_bridge_wait_timeout_recovers(pg_cluster):
    """A native op abandoned by ``wait(op, timeout=)``: the next use of the connection
    reads the abandoned answers first (after a cancel request from recover)."""
    from balrog._bridge import wait

    conn = bp.connect(pg_cluster.conninfo, autocommit=True)
    with pytest.raises(TimeoutError):
        try:
            wait(conn._native.simple(b"select pg_sleep(60)"), timeout=0.2)
        except TimeoutError:
            conn._recover_after_interrupt()
            raise
    assert conn.info.transaction_status == bp.pq.TransactionStatus.IDLE
    assert conn.execute("select 6").fetchone() == (6,)
    conn.close()
