"""balrog.psycopg_pool.NullConnectionPool: differential against psycopg_pool's
NullConnectionPool (same steps, comparing what is observable), then balrog's own waiting
paths: green tasks and threads mixed, cancellation, slots passed on to waiting clients."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import psycopg_pool
import pytest

import balrog
import balrog.psycopg as bp
from balrog.psycopg_pool import NullConnectionPool

pytestmark = pytest.mark.both_modes

# Stats that do not depend on timing.
COUNTERS = (
    "pool_min",
    "pool_max",
    "pool_size",
    "pool_available",
    "requests_waiting",
    "requests_num",
    "requests_queued",
    "requests_errors",
    "returns_bad",
    "connections_num",
    "connections_errors",
    "connections_lost",
)

Scenario = Callable[[Any, Any], Any]


def pick(stats: dict[str, int], keys: tuple[str, ...] = COUNTERS) -> dict[str, int]:
    return {key: stats.get(key, 0) for key in keys}


def outcome(fn: Callable[[], Any]) -> Any:
    """``fn()``'s result, or its error as (class name, message) to compare across libraries."""
    try:
        return fn()
    except Exception as ex:
        return (type(ex).__name__, str(ex))


def eventually(predicate: Callable[[], bool], limit: float = 30.0) -> None:
    """Poll ``predicate`` (sleeping in the caller's mode); fail instead of hanging."""
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "condition never met"
        balrog.sleep(0.01)


def waiting(pool: Any, n: int) -> None:
    eventually(lambda: pool.get_stats().get("requests_waiting", 0) == n)


def pid(conn: Any) -> int:
    return int(conn.info.backend_pid)


def off_loop(fn: Callable[[], Any]) -> Any:
    """``fn()`` on a plain thread (blocking mode there: psycopg_pool's waits are thread
    waits), waited for in the caller's mode so a green caller does not block its loop."""
    box: dict[str, Any] = {}

    def main() -> None:
        try:
            box["value"] = fn()
        except BaseException as ex:
            box["error"] = ex

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    eventually(lambda: not thread.is_alive(), limit=120)
    if "error" in box:
        raise box["error"]
    return box["value"]


def differential(scenario: Scenario) -> Any:
    """Run ``scenario(pool_class, connection_class)`` with balrog's pool and connections (in
    the test's mode) and with psycopg_pool's and psycopg's; the results must be equal."""
    ours = scenario(NullConnectionPool, bp.Connection)
    theirs = off_loop(lambda: scenario(psycopg_pool.NullConnectionPool, psycopg.Connection))
    assert ours == theirs
    return ours


def terminate(conninfo: str, backend: int) -> None:
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute("select pg_terminate_backend(%s)", [backend])


@pytest.fixture
def conninfo(pg_cluster: Any) -> str:
    return str(pg_cluster.conninfo)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers: connecting times out."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield f"host=127.0.0.1 port={server.getsockname()[1]} sslmode=disable"
    finally:
        server.close()


# -- differential: balrog vs psycopg_pool ---------------------------------------------------


def test_sizes_are_validated() -> None:
    def scenario(cls: Any, conn_class: Any) -> list[Any]:
        results: list[Any] = []
        for min_size, max_size in [(1, None), (2, 4), (0, -1), (-1, None), (0, None), (0, 3)]:
            pool = outcome(
                lambda mn=min_size, mx=max_size: cls(
                    "", connection_class=conn_class, min_size=mn, max_size=mx, open=False
                )
            )
            results.append(pool if isinstance(pool, tuple) else (pool.min_size, pool.max_size))
        pool = cls("", connection_class=conn_class, open=False)
        results.append((pool.min_size, pool.max_size))
        results.append(outcome(lambda: pool.resize(1, 3)))
        pool.resize(0, 5)
        results.append((pool.min_size, pool.max_size, pick(pool.get_stats())))
        return results

    results = differential(scenario)
    assert results[0] == ("ValueError", "null pools must have min_size = 0")
    assert results[4] == (0, 0)  # max_size 0: no limit


def test_every_client_gets_a_new_connection(conninfo: str) -> None:
    def scenario(cls: Any, conn_class: Any) -> Any:
        with cls(conninfo, connection_class=conn_class, open=True) as pool:
            held = [pool.getconn() for _ in range(3)]
            pids = {pid(conn) for conn in held}
            during = pick(pool.get_stats())
            for conn in held:
                pool.putconn(conn)
            closed = [conn.closed for conn in held]
            with pool.connection() as conn:
                inside = (conn._pool is pool, pid(conn) not in pids, conn.execute("select 1").fetchone())
            return (
                len(pids),
                during,
                closed,
                inside,
                conn.closed,
                pick(pool.pop_stats()),
                pick(pool.get_stats()),
            )

    npids, during, closed, inside, last_closed, stats, after = differential(scenario)
    assert npids == 3 and during["pool_size"] == 3 and during["pool_available"] == 0
    assert closed == [True] * 3 and inside == (True, True, (1,)) and last_closed
    assert stats["connections_num"] == 4 and stats["pool_size"] == 0
    assert after["requests_num"] == 0


def test_connection_context_commits_and_rolls_back(conninfo: str) -> None:
    def scenario(cls: Any, conn_class: Any) -> Any:
        with cls(conninfo, connection_class=conn_class, open=True) as pool:
            with pool.connection() as conn:
                conn.execute("create table if not exists t_null_pool (x int)")
                conn.execute("delete from t_null_pool")
                conn.execute("insert into t_null_pool values (1)")
            with pytest.raises(ZeroDivisionError), pool.connection() as conn:
                conn.execute("insert into t_null_pool values (2)")
                raise ZeroDivisionError
            with pool.connection() as conn:
                rows = conn.execute("select x from t_null_pool").fetchall()
                conn.execute("drop table t_null_pool")
            return rows, pick(pool.get_stats())

    rows, _ = differential(scenario)
    assert rows == [(1,)]


def test_timeout_when_max_size_is_reached(conninfo: str) -> None:
    def scenario(cls: Any, conn_class: Any) -> Any:
        with cls(conninfo, connection_class=conn_class, max_size=1, open=True) as pool:
            held = pool.getconn()
            held_pid = pid(held)
            error = outcome(lambda: pool.getconn(timeout=0.2))
            # Not requests_waiting: psycopg_pool leaves a timed-out client in its queue
            # until a connection is returned; balrog removes it at once.
            stats = pick(pool.get_stats(), tuple(k for k in COUNTERS if k != "requests_waiting"))
            pool.putconn(held)
            with pool.connection(timeout=5) as conn:
                fresh = pid(conn) != held_pid
            return error, stats, fresh, pick(pool.get_stats())

    error, stats, fresh, _ = differential(scenario)
    assert error == ("PoolTimeout", "couldn't get a connection after 0.20 sec")
    assert stats["requests_errors"] == 1 and stats["requests_queued"] == 1 and fresh


def test_returned_connection_goes_to_the_waiting_client_after_reset(conninfo: str) -> None:
    def scenario(cls: Any, conn_class: Any) -> Any:
        resets: list[int] = []
        with cls(
            conninfo,
            connection_class=conn_class,
            max_size=1,
            reset=lambda c: resets.append(pid(c)),
            open=True,
        ) as pool:
            held = pool.getconn()
            held_pid = pid(held)

            def client() -> int:
                conn = pool.getconn(timeout=30)
                try:
                    return pid(conn)
                finally:
                    pool.putconn(conn)  # nobody waits: closed, without reset

            task = balrog.spawn(client)
            waiting(pool, 1)
            pool.putconn(held)
            got = balrog.join(task)
            eventually(lambda: held.closed)
            return got == held_pid, resets == [held_pid], pick(pool.get_stats())

    same, reset_once, stats = differential(scenario)
    assert same and reset_once
    assert stats["connections_num"] == 1 and stats["pool_size"] == 0 and stats["requests_queued"] == 1


def test_max_waiting(conninfo: str) -> None:
    def scenario(cls: Any, conn_class: Any) -> Any:
        with cls(
            conninfo, connection_class=conn_class, max_size=1, max_waiting=1, name="mw", open=True
        ) as pool:
            held = pool.getconn()
            task = balrog.spawn(lambda: pool.putconn(pool.getconn(timeout=30)))
            waiting(pool, 1)
            error = outcome(lambda: pool.getconn(timeout=5))
            pool.putconn(held)
            balrog.join(task)
            return error, pick(pool.get_stats())

    error, stats = differential(scenario)
    assert error == ("TooManyRequests", "the pool 'mw' has already 1 requests waiting")
    assert stats["requests_errors"] == 1 and stats["pool_size"] == 0


def test_close(conninfo: str) -> None:
    def scenario(cls: Any, conn_class: Any) -> Any:
        pool = cls(conninfo, connection_class=conn_class, max_size=1, name="cl", open=False)
        not_open = outcome(pool.getconn)
        pool.open()
        held = pool.getconn()
        task = balrog.spawn(lambda: outcome(lambda: pool.getconn(timeout=30)))
        waiting(pool, 1)
        pool.close()
        waiter = balrog.join(task)
        after = outcome(pool.getconn)
        pool.putconn(held)  # returned after close: closed, no error
        reopen = outcome(pool.open)
        return not_open, waiter, after, held.closed, pool.closed, reopen, pick(pool.get_stats())

    not_open, waiter, after, held_closed, closed, reopen, stats = differential(scenario)
    assert not_open == ("PoolClosed", "the pool 'cl' is not open yet")
    assert waiter == ("PoolClosed", "the pool 'cl' is closed")
    assert after == ("PoolClosed", "the pool 'cl' is already closed")
    assert held_closed and closed and stats["pool_size"] == 0
    assert reopen == ("PoolClosed", "pool has already been opened/closed and cannot be reused")


def test_configure_and_check_run_on_every_connection(conninfo: str) -> None:
    def scenario(cls: Any, conn_class: Any) -> Any:
        configured: list[int] = []
        checked: list[int] = []
        resets: list[int] = []

        def configure(conn: Any) -> None:
            conn.autocommit = True
            conn.execute("set application_name = 'null-pool'")
            configured.append(pid(conn))

        with cls(
            conninfo,
            connection_class=conn_class,
            configure=configure,
            check=lambda conn: checked.append(pid(conn)),
            reset=lambda conn: resets.append(pid(conn)),
            open=True,
        ) as pool:
            names = []
            for _ in range(2):
                with pool.connection() as conn:
                    names.append(conn.execute("show application_name").fetchone()[0])
            stats = pick(pool.get_stats())
        return names, len(set(configured)), configured == checked, resets, stats

    names, distinct, checked_same, resets, _ = differential(scenario)
    assert names == ["null-pool"] * 2 and distinct == 2 and checked_same and resets == []


def test_configure_leaving_a_transaction_is_refused(conninfo: str) -> None:
    def scenario(cls: Any, conn_class: Any) -> Any:
        def configure(conn: Any) -> None:
            conn.execute("select 1")  # opens a transaction (autocommit off)

        with cls(conninfo, connection_class=conn_class, configure=configure, open=True) as pool:
            name, message = outcome(lambda: pool.getconn(timeout=5))
            return (
                name,
                "connection left in status INTRANS by configure function" in message,
                pick(pool.get_stats()),
            )

    assert differential(scenario)[:2] == ("ProgrammingError", True)


def test_failing_check_gets_another_connection(conninfo: str) -> None:
    # The connection failing the check is closed (nobody waits for it); the client tries
    # again, after a backoff, with a new one.
    def scenario(cls: Any, conn_class: Any) -> Any:
        calls: list[Any] = []
        pids: list[int] = []

        def check(conn: Any) -> None:
            calls.append(conn)
            pids.append(pid(conn))
            if len(calls) == 1:
                raise RuntimeError("not this one")

        with (
            cls(conninfo, connection_class=conn_class, check=check, open=True) as pool,
            pool.connection(timeout=30) as conn,
        ):
            given = conn is calls[1]
        return len(calls), calls[0].closed, pids[0] != pids[1], given, pick(pool.get_stats())

    ncalls, first_closed, different, given, stats = differential(scenario)
    assert (ncalls, first_closed, different, given) == (2, True, True, True)
    assert stats["connections_num"] == 2 and stats["pool_size"] == 0


def test_broken_connection_returned(conninfo: str) -> None:
    def scenario(cls: Any, conn_class: Any) -> Any:
        with cls(conninfo, connection_class=conn_class, max_size=1, open=True) as pool:
            # Nobody waits: closed.
            conn = pool.getconn()
            terminate(conninfo, pid(conn))
            broken = outcome(lambda: conn.execute("select 1"))
            pool.putconn(conn)
            alone = pick(pool.get_stats())
            # Someone waits: it gets a new connection instead.
            conn = pool.getconn()
            task = balrog.spawn(lambda: pool.getconn(timeout=30))
            waiting(pool, 1)
            terminate(conninfo, pid(conn))
            outcome(lambda: conn.execute("select 1"))
            pool.putconn(conn)
            got = balrog.join(task)
            fresh = (got is not conn, got.execute("select 1").fetchone())
            served = pick(pool.get_stats())
            pool.putconn(got)
            # The error's class varies (AdminShutdown if the server's notice was read).
            return isinstance(broken, tuple), alone, fresh, served, pick(pool.get_stats())

    failed, alone, fresh, served, stats = differential(scenario)
    assert failed and fresh == (True, (1,))
    assert alone["returns_bad"] == 1 and alone["pool_size"] == 0
    assert served["returns_bad"] == 2 and served["pool_size"] == 1 and served["connections_num"] == 3
    assert stats["pool_size"] == 0


def test_expired_connection_is_replaced_for_the_waiting_client(conninfo: str) -> None:
    def scenario(cls: Any, conn_class: Any) -> Any:
        with cls(conninfo, connection_class=conn_class, max_size=1, max_lifetime=0.2, open=True) as pool:
            held = pool.getconn()
            held_pid = pid(held)
            task = balrog.spawn(lambda: pool.getconn(timeout=30))
            waiting(pool, 1)
            balrog.sleep(0.3)
            pool.putconn(held)
            got = balrog.join(task)
            fresh = pid(got) != held_pid
            pool.putconn(got)
            return held.closed, fresh, pick(pool.get_stats())

    closed, fresh, stats = differential(scenario)
    assert closed and fresh and stats["connections_num"] == 2


def test_connection_errors(conninfo: str, silent_server: str) -> None:
    def scenario(cls: Any, conn_class: Any) -> Any:
        with cls("host=127.0.0.1 port=1", connection_class=conn_class, open=True) as refused:
            error = outcome(lambda: refused.getconn(timeout=5))
            refused_stats = pick(refused.get_stats())
        with cls(silent_server, connection_class=conn_class, open=True) as silent:
            timeout = outcome(lambda: silent.getconn(timeout=1))
            silent_stats = pick(silent.get_stats())
        return error[0], refused_stats, timeout, silent_stats

    error, stats, timeout, _ = differential(scenario)
    assert error == "OperationalError"
    assert stats["connections_errors"] == 1 and stats["pool_size"] == 0 and stats["requests_errors"] == 0
    assert timeout == ("PoolTimeout", "couldn't get a connection after 1.00 sec")


def test_wait(conninfo: str) -> None:
    def scenario(cls: Any, conn_class: Any) -> Any:
        pool = cls(conninfo, connection_class=conn_class, open=False)
        try:
            pool.open(wait=True, timeout=30)
            ready = pick(pool.get_stats())
        finally:
            pool.close()
        failing = cls("host=127.0.0.1 port=1", connection_class=conn_class, open=True)
        error = outcome(lambda: failing.wait(timeout=0.5))
        return ready, error, failing.closed

    ready, error, closed = differential(scenario)
    assert ready["connections_num"] == 1 and ready["pool_size"] == 0
    assert error == ("PoolTimeout", "pool initialization incomplete after 0.5 sec") and closed


def test_check_drain_and_implicit_open(conninfo: str) -> None:
    def scenario(cls: Any, conn_class: Any) -> Any:
        pool = cls(conninfo, connection_class=conn_class)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with pool.connection():
                    pass
                pool.check()
                pool.drain()
                with pool.connection():
                    pass
            messages = [str(w.message) for w in caught if w.category is DeprecationWarning]
            return messages, pick(pool.get_stats())
        finally:
            pool.close()

    messages, stats = differential(scenario)
    assert len(messages) == 1 and "NullConnectionPool 'open' parameter will become 'False'" in messages[0]
    assert stats["connections_num"] == 2


# -- balrog's waiting: green tasks and threads ------------------------------------------------


def test_max_size_bounds_the_connections_open(conninfo: str) -> None:
    with NullConnectionPool(conninfo, max_size=2, open=True) as pool:
        lock = threading.Lock()
        busy = [0, 0]  # now, most

        def client(n: int) -> int:
            total = 0
            for _ in range(3):
                with pool.connection(timeout=60) as conn:
                    with lock:
                        busy[0] += 1
                        busy[1] = max(busy)
                    total += conn.execute("select %s::int", [n]).fetchone()[0]
                    balrog.sleep(0.005)  # let the others queue
                    with lock:
                        busy[0] -= 1
                assert pool.get_stats()["pool_size"] <= 2
            return total

        assert balrog.gather(*[lambda n=n: client(n) for n in range(10)]) == [3 * n for n in range(10)]
        assert busy[1] <= 2
        stats = pool.get_stats()
        assert stats["pool_size"] == 0 and stats["requests_num"] == 30


def test_green_waiter_served_by_a_thread(conninfo: str) -> None:
    with NullConnectionPool(conninfo, max_size=1, open=True) as pool:
        held = pool.getconn()
        held_pid = pid(held)  # read now: on a closed connection backend_pid raises
        returned = threading.Event()

        def returner() -> None:
            while pool.get_stats()["requests_waiting"] == 0:
                time.sleep(0.005)
            pool.putconn(held)
            returned.set()

        thread = threading.Thread(target=returner, daemon=True)
        thread.start()

        def client() -> int:
            with pool.connection(timeout=30) as conn:
                return pid(conn)

        got = client() if balrog.mode() == "green" else balrog.run(client)
        thread.join(30)
        assert returned.is_set() and got == held_pid


def test_slot_of_a_failed_connection_goes_to_the_waiting_client(conninfo: str) -> None:
    """Nobody connects under the pool's lock: the second client queues while the first
    connects; when that fails, the second gets its place and connects itself."""
    gate = threading.Event()
    attempts: list[int] = []

    class GatedConnect:
        @classmethod
        def connect(cls, conninfo: str, **kwargs: Any) -> Any:
            attempts.append(len(attempts))
            if len(attempts) == 1:
                eventually(gate.is_set)
                raise bp.OperationalError("first attempt fails")
            return bp.Connection.connect(conninfo, **kwargs)

    with NullConnectionPool(conninfo, connection_class=GatedConnect, max_size=1, open=True) as pool:
        first = balrog.spawn(lambda: outcome(lambda: pool.getconn(timeout=30)))
        eventually(lambda: len(attempts) == 1)
        second = balrog.spawn(lambda: pool.getconn(timeout=30))
        waiting(pool, 1)
        gate.set()
        assert balrog.join(first) == ("OperationalError", "first attempt fails")
        conn = balrog.join(second)
        assert conn.execute("select 1").fetchone() == (1,)
        assert pool.get_stats()["pool_size"] == 1
        pool.putconn(conn)
        assert conn.closed and pool.get_stats()["pool_size"] == 0


def test_resize_serves_waiting_clients(conninfo: str) -> None:
    with NullConnectionPool(conninfo, max_size=1, open=True) as pool:
        held = pool.getconn()
        task = balrog.spawn(lambda: pool.getconn(timeout=30))
        waiting(pool, 1)
        pool.resize(0, 2)
        conn = balrog.join(task)
        assert pid(conn) != pid(held) and pool.get_stats()["pool_size"] == 2
        pool.putconn(conn)
        pool.putconn(held)
        assert pool.get_stats()["pool_size"] == 0
        with pytest.raises(ValueError, match="null pools must have min_size = 0"):
            pool.resize(1, 2)


def in_green(fn: Callable[[], None]) -> None:
    """Run ``fn`` as a green task (it cancels other green tasks)."""
    if balrog.mode() == "green":
        fn()
    else:
        balrog.run(fn)


def test_cancelled_waiter_leaves_the_queue(conninfo: str) -> None:
    def body() -> None:
        with NullConnectionPool(conninfo, max_size=1, open=True) as pool:
            held = pool.getconn()
            task = balrog.spawn(lambda: pool.getconn(timeout=30))
            waiting(pool, 1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                balrog.join(task)
            assert pool.get_stats()["requests_waiting"] == 0
            pool.putconn(held)  # nobody waits any more: closed
            assert held.closed
            stats = pool.get_stats()
            assert stats["pool_size"] == 0 and stats["requests_errors"] == 1

    in_green(body)


def test_waiter_cancelled_after_being_given_a_connection(conninfo: str) -> None:
    def body() -> None:
        with NullConnectionPool(conninfo, max_size=1, open=True) as pool:
            held = pool.getconn()
            task = balrog.spawn(lambda: pool.getconn(timeout=30))
            waiting(pool, 1)
            # In one loop step: the cancellation is queued, then putconn (no I/O without a
            # reset function) hands the connection over; the cancellation arrives first.
            task.cancel()
            pool.putconn(held)
            with pytest.raises(asyncio.CancelledError):
                balrog.join(task)
            eventually(lambda: held.closed)  # passed back, and closed: nobody else waits
            eventually(lambda: pool.get_stats()["pool_size"] == 0)

    in_green(body)


def test_waiter_cancelled_after_being_given_a_slot(conninfo: str) -> None:
    def body() -> None:
        with NullConnectionPool(conninfo, max_size=1, open=True) as pool:
            held = pool.getconn()
            task = balrog.spawn(lambda: pool.getconn(timeout=30))
            waiting(pool, 1)
            task.cancel()
            pool.resize(0, 2)  # the new room goes to the (cancelled) waiter
            with pytest.raises(asyncio.CancelledError):
                balrog.join(task)
            assert pool.get_stats()["pool_size"] == 1  # the slot came back
            pool.putconn(held)
            assert pool.get_stats()["pool_size"] == 0

    in_green(body)
