"""balrog.psycopg_pool.ConnectionPool: behaviour, faults, green waiting; differential
against psycopg_pool with the same connection class."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import psycopg_pool
import pytest

import balrog
from balrog.psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout, TooManyRequests

pytestmark = pytest.mark.both_modes


def balrog_connection_class() -> Any:
    try:
        from balrog.psycopg import Connection
    except ImportError:
        return None
    return Connection


CONNECTION_CLASSES = [pytest.param(psycopg.Connection, id="psycopg")]
if balrog_connection_class() is not None:
    CONNECTION_CLASSES.append(pytest.param(balrog_connection_class(), id="balrog"))


@pytest.fixture(params=CONNECTION_CLASSES)
def conn_class(request: pytest.FixtureRequest, balrog_mode: str) -> Any:
    if balrog_mode == "green" and request.param is psycopg.Connection:
        # psycopg's own I/O would block the event loop: fine for the pool's logic, which
        # is what these runs check (waiting is the pool's, not psycopg's).
        pass
    return request.param


def eventually(predicate: Callable[[], bool], limit: float = 20.0) -> bool:
    """Poll ``predicate`` (sleeping in the caller's mode) until true or ``limit`` passes."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        balrog.sleep(0.02)
    return predicate()


def backend_pid(conn: Any) -> int:
    return int(conn.info.backend_pid)


@pytest.fixture
def make_pool(pg_cluster: Any, conn_class: Any) -> Iterator[Callable[..., ConnectionPool[Any]]]:
    pools: list[ConnectionPool[Any]] = []

    def make(**kwargs: Any) -> ConnectionPool[Any]:
        kwargs.setdefault("conninfo", pg_cluster.conninfo)
        kwargs.setdefault("connection_class", conn_class)
        kwargs.setdefault("open", True)
        pool: ConnectionPool[Any] = ConnectionPool(**kwargs)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


def test_basic_use(make_pool: Callable[..., ConnectionPool[Any]]) -> None:
    pool = make_pool(min_size=2, name="basic")
    pool.wait()
    with pool.connection() as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        assert conn._pool is pool
    stats = pool.get_stats()
    assert stats["pool_min"] == 2 and stats["pool_max"] == 2 and stats["pool_size"] == 2
    assert stats["pool_available"] == 2 and stats["requests_num"] == 1
    assert repr(pool).startswith("<balrog.psycopg_pool.pool.ConnectionPool 'basic' at 0x")


def test_same_stats_as_psycopg_pool(pg_cluster: Any, conn_class: Any) -> None:
    def scenario(cls: Any) -> dict[str, int]:
        with cls(pg_cluster.conninfo, connection_class=conn_class, min_size=2, max_size=2, open=True) as pool:
            pool.wait()
            for _ in range(3):
                with pool.connection() as conn:
                    conn.execute("select 1")
            held = pool.getconn()
            pool.putconn(held)
            stats = pool.pop_stats()
            after = pool.get_stats()
        keys = ("pool_min", "pool_max", "pool_size", "pool_available", "requests_num", "requests_waiting")
        return {k: stats.get(k, 0) for k in keys} | {"after_requests": after.get("requests_num", 0)}

    if conn_class is not psycopg.Connection:
        pytest.skip("psycopg_pool only takes psycopg connections")
    assert scenario(ConnectionPool) == scenario(psycopg_pool.ConnectionPool)


def test_sizes_are_validated() -> None:
    for args, message in [
        ((-1, None), "min_size cannot be negative"),
        ((3, 2), "max_size must be greater or equal than min_size"),
        ((0, 0), "if min_size is 0 max_size must be greater than 0"),
    ]:
        with pytest.raises(ValueError, match=message):
            ConnectionPool("", min_size=args[0], max_size=args[1], open=False)
    with pytest.raises(ValueError, match="num_workers must be at least 1"):
        ConnectionPool("", num_workers=0, open=False)


def test_timeout(make_pool: Callable[..., ConnectionPool[Any]]) -> None:
    pool = make_pool(min_size=1)
    held = pool.getconn()
    with pytest.raises(PoolTimeout, match=r"couldn't get a connection after 0\.20 sec"):
        pool.getconn(timeout=0.2)
    assert pool.get_stats()["requests_errors"] == 1
    pool.putconn(held)
    with pool.connection(timeout=1.0) as conn:
        assert conn is held


def test_waiting_clients_are_served_in_turn(make_pool: Callable[..., ConnectionPool[Any]]) -> None:
    pool = make_pool(min_size=1)
    order: list[str] = []
    first = pool.getconn()

    def waiter(tag: str) -> None:
        with pool.connection(timeout=10) as conn:
            order.append(tag)
            conn.execute("select 1")

    tasks = [balrog.spawn(waiter, "a")]
    assert eventually(lambda: pool.get_stats()["requests_waiting"] == 1)
    tasks.append(balrog.spawn(waiter, "b"))
    assert eventually(lambda: pool.get_stats()["requests_waiting"] == 2)
    pool.putconn(first)
    for task in tasks:
        balrog.join(task)
    assert order == ["a", "b"]


def test_a_waiting_green_task_does_not_block_the_others(
    make_pool: Callable[..., ConnectionPool[Any]],
) -> None:
    # The holder must be able to run (sleep, then return the connection) while the other
    # task waits for it: if waiting blocked the event loop's thread, this would deadlock.
    pool = make_pool(min_size=1)
    conn = pool.getconn()
    got: list[int] = []

    def waiter() -> None:
        with pool.connection(timeout=20) as other:
            got.append(backend_pid(other))

    task = balrog.spawn(waiter)
    assert eventually(lambda: pool.get_stats()["requests_waiting"] == 1)
    balrog.sleep(0.05)
    pid = backend_pid(conn)
    pool.putconn(conn)
    balrog.join(task)
    assert got == [pid]


def test_many_clients_share_a_small_pool(make_pool: Callable[..., ConnectionPool[Any]]) -> None:
    pool = make_pool(min_size=1, max_size=3)
    pids: set[int] = set()

    def client(n: int) -> int:
        total = 0
        for _ in range(5):
            with pool.connection(timeout=30) as conn:
                pids.add(backend_pid(conn))
                total += conn.execute("select %s::int", [n]).fetchone()[0]
        return total

    results = balrog.gather(*[lambda n=n: client(n) for n in range(12)])
    assert results == [5 * n for n in range(12)]
    assert 1 <= len(pids) <= 3
    assert pool.get_stats()["pool_size"] <= 3


def test_max_waiting(make_pool: Callable[..., ConnectionPool[Any]]) -> None:
    pool = make_pool(min_size=1, max_waiting=1)
    held = pool.getconn()
    task = balrog.spawn(lambda: pool.putconn(pool.getconn(timeout=10)))
    assert eventually(lambda: pool.get_stats()["requests_waiting"] == 1)
    with pytest.raises(TooManyRequests, match="has already 1 requests waiting"):
        pool.getconn(timeout=1)
    pool.putconn(held)
    balrog.join(task)


def test_putconn_checks_the_origin(make_pool: Callable[..., ConnectionPool[Any]], pg_cluster: Any) -> None:
    pool = make_pool(min_size=1, name="p1")
    other = make_pool(min_size=1, name="p2")
    conn = other.getconn()
    with pytest.raises(ValueError, match="can't return connection to pool 'p1', it comes from pool 'p2'"):
        pool.putconn(conn)
    other.putconn(conn)
    stranger = psycopg.connect(pg_cluster.conninfo)
    with pytest.raises(ValueError, match="it doesn't come from any pool"):
        pool.putconn(stranger)
    stranger.close()


def test_closed_pool(pg_cluster: Any, conn_class: Any) -> None:
    pool: ConnectionPool[Any] = ConnectionPool(pg_cluster.conninfo, connection_class=conn_class, open=False)
    with pytest.raises(PoolClosed, match="is not open yet"):
        pool.getconn()
    pool.open()
    held = pool.getconn()
    pool.close()
    assert pool.closed
    with pytest.raises(PoolClosed, match="is already closed"):
        pool.getconn()
    pool.putconn(held)  # returned after close: closed, no error
    assert held.closed
    with pytest.raises(PoolClosed, match="cannot be reused"):
        pool.open()


def test_close_fails_waiting_clients(make_pool: Callable[..., ConnectionPool[Any]]) -> None:
    pool = make_pool(min_size=1, name="closing")
    held = pool.getconn()
    errors: list[BaseException] = []

    def waiter() -> None:
        try:
            pool.getconn(timeout=20)
        except PoolClosed as ex:
            errors.append(ex)

    task = balrog.spawn(waiter)
    assert eventually(lambda: pool.get_stats()["requests_waiting"] == 1)
    pool.close()
    balrog.join(task)
    assert [str(x) for x in errors] == ["the pool 'closing' is closed"]
    pool.putconn(held)


def test_implicit_open_warns(pg_cluster: Any, conn_class: Any) -> None:
    pool: ConnectionPool[Any] = ConnectionPool(pg_cluster.conninfo, connection_class=conn_class, min_size=1)
    try:
        with (
            pytest.warns(DeprecationWarning, match="'open' parameter will become 'False'"),
            pool.connection(),
        ):
            pass
    finally:
        pool.close()


def test_transaction_is_rolled_back_on_return(
    make_pool: Callable[..., ConnectionPool[Any]], caplog: pytest.LogCaptureFixture
) -> None:
    pool = make_pool(min_size=1)
    conn = pool.getconn()
    conn.execute("create temp table if not exists t_pool (x int)")
    conn.execute("insert into t_pool values (1)")
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    with caplog.at_level(logging.WARNING, logger="psycopg.pool"):
        pool.putconn(conn)
    assert "rolling back returned connection" in caplog.text
    with pool.connection() as again:
        assert again is conn
        assert again.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_connection_context_commits(make_pool: Callable[..., ConnectionPool[Any]]) -> None:
    pool = make_pool(min_size=1)
    with pool.connection() as conn:
        conn.execute("create temp table t_commit (x int)")
        conn.execute("insert into t_commit values (42)")
    with pool.connection() as conn:
        assert conn.execute("select x from t_commit").fetchall() == [(42,)]
    with pytest.raises(ZeroDivisionError), pool.connection() as conn:
        conn.execute("insert into t_commit values (43)")
        raise ZeroDivisionError
    with pool.connection() as conn:
        assert conn.execute("select x from t_commit").fetchall() == [(42,)]


def test_configure_check_reset(make_pool: Callable[..., ConnectionPool[Any]]) -> None:
    configured: list[int] = []
    resets: list[int] = []

    def configure(conn: Any) -> None:
        conn.autocommit = True
        conn.execute("set application_name = 'pooled'")
        configured.append(backend_pid(conn))

    def reset(conn: Any) -> None:
        conn.execute("reset search_path")
        resets.append(backend_pid(conn))

    pool = make_pool(min_size=2, configure=configure, reset=reset, check=ConnectionPool.check_connection)
    pool.wait()
    assert len(configured) == 2
    with pool.connection() as conn:
        assert conn.execute("show application_name").fetchone() == ("pooled",)
        conn.execute("set search_path = x")
    assert eventually(lambda: len(resets) == 1)


def test_configure_leaving_a_transaction_is_refused(
    make_pool: Callable[..., ConnectionPool[Any]], caplog: pytest.LogCaptureFixture
) -> None:
    def configure(conn: Any) -> None:
        conn.execute("select 1")  # opens a transaction (autocommit off)

    pool = make_pool(min_size=1, configure=configure, reconnect_timeout=0.1)
    with caplog.at_level(logging.WARNING, logger="psycopg.pool"), pytest.raises(PoolTimeout):
        pool.getconn(timeout=0.5)
    assert "connection left in status INTRANS by configure function" in caplog.text


def test_failing_check_retries(pg_cluster: Any, conn_class: Any) -> None:
    # As psycopg_pool: a connection failing the check goes back to the pool (it is only
    # discarded if broken) and the client tries again after a backoff.
    def scenario(pool_class: Any) -> tuple[int, bool]:
        calls: list[int] = []

        def check(conn: Any) -> None:
            calls.append(backend_pid(conn))
            if len(calls) == 1:
                raise RuntimeError("not this one")

        with (
            pool_class(
                pg_cluster.conninfo, connection_class=conn_class, min_size=1, check=check, open=True
            ) as pool,
            pool.connection(timeout=20) as conn,
        ):
            conn.execute("select 1")
        return len(calls), calls[0] == calls[1]

    assert scenario(ConnectionPool) == (2, True)
    if conn_class is psycopg.Connection and balrog.mode() == "blocking":
        assert scenario(psycopg_pool.ConnectionPool) == (2, True)


def test_broken_connections_are_replaced(
    make_pool: Callable[..., ConnectionPool[Any]], pg_cluster: Any
) -> None:
    pool = make_pool(min_size=2, check=ConnectionPool.check_connection)
    pool.wait()
    pids = set()
    conns = [pool.getconn(), pool.getconn()]
    for conn in conns:
        pids.add(backend_pid(conn))
        pool.putconn(conn)
    with psycopg.connect(pg_cluster.conninfo, autocommit=True) as admin:
        for pid in pids:
            admin.execute("select pg_terminate_backend(%s)", [pid])
    # check=check_connection finds them broken on the way out: the client gets a new one
    with pool.connection(timeout=20) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        assert backend_pid(conn) not in pids
    assert pool.get_stats()["connections_lost"] >= 1


def test_pool_check_method(make_pool: Callable[..., ConnectionPool[Any]], pg_cluster: Any) -> None:
    pool = make_pool(min_size=2)
    pool.wait()
    conn = pool.getconn()
    pid = backend_pid(conn)
    pool.putconn(conn)
    with psycopg.connect(pg_cluster.conninfo, autocommit=True) as admin:
        admin.execute("select pg_terminate_backend(%s)", [pid])
    pool.check()
    assert pool.get_stats()["connections_lost"] == 1
    assert eventually(lambda: pool.get_stats()["pool_available"] == 2)


def test_broken_connection_returned_is_discarded(
    make_pool: Callable[..., ConnectionPool[Any]], pg_cluster: Any
) -> None:
    pool = make_pool(min_size=1)
    conn = pool.getconn()
    with psycopg.connect(pg_cluster.conninfo, autocommit=True) as admin:
        admin.execute("select pg_terminate_backend(%s)", [backend_pid(conn)])
    with (
        pytest.raises(psycopg.OperationalError)
        if isinstance(conn, psycopg.Connection)
        else pytest.raises(Exception)
    ):
        conn.execute("select 1")
    pool.putconn(conn)
    assert pool.get_stats()["returns_bad"] == 1
    with pool.connection(timeout=20) as fresh:
        assert fresh is not conn and fresh.execute("select 1").fetchone() == (1,)


def test_server_restart(pg_cluster_private: Any, conn_class: Any) -> None:
    with ConnectionPool(
        pg_cluster_private.conninfo,
        connection_class=conn_class,
        min_size=2,
        check=ConnectionPool.check_connection,
        reconnect_timeout=60,
        open=True,
    ) as pool:
        pool.wait()
        pg_cluster_private.stop("immediate")
        with pytest.raises(PoolTimeout):
            pool.getconn(timeout=0.5)
        pg_cluster_private.start()
        with pool.connection(timeout=60) as conn:
            assert conn.execute("select 1").fetchone() == (1,)


def test_max_lifetime(make_pool: Callable[..., ConnectionPool[Any]]) -> None:
    pool = make_pool(min_size=1, max_lifetime=0.2)
    conn = pool.getconn()
    pid = backend_pid(conn)
    balrog.sleep(0.3)
    pool.putconn(conn)  # expired: closed and replaced
    assert conn.closed
    with pool.connection(timeout=20) as fresh:
        assert backend_pid(fresh) != pid


def test_max_idle_shrinks_to_min_size(make_pool: Callable[..., ConnectionPool[Any]]) -> None:
    pool = make_pool(min_size=1, max_size=3, max_idle=0.2)
    held = [pool.getconn(timeout=20) for _ in range(3)]
    assert pool.get_stats()["pool_size"] == 3
    for conn in held:
        pool.putconn(conn)
    assert eventually(lambda: pool.get_stats()["pool_size"] == 1)


def test_resize(make_pool: Callable[..., ConnectionPool[Any]]) -> None:
    pool = make_pool(min_size=1)
    pool.wait()
    pool.resize(3, 4)
    assert (pool.min_size, pool.max_size) == (3, 4)
    assert eventually(lambda: pool.get_stats()["pool_available"] == 3)
    with pytest.raises(ValueError):
        pool.resize(5, 4)


def test_drain(make_pool: Callable[..., ConnectionPool[Any]]) -> None:
    pool = make_pool(min_size=1)
    conn = pool.getconn()
    pid = backend_pid(conn)
    pool.putconn(conn)
    pool.drain()
    with pool.connection(timeout=20) as fresh:
        assert backend_pid(fresh) != pid


def test_wait_timeout_closes_the_pool(conn_class: Any) -> None:
    pool: ConnectionPool[Any] = ConnectionPool(
        "host=127.0.0.1 port=1 connect_timeout=1",
        connection_class=conn_class,
        min_size=1,
        reconnect_timeout=0.5,
        open=True,
    )
    with pytest.raises(PoolTimeout, match=r"pool initialization incomplete after 0\.5 sec"):
        pool.wait(timeout=0.5)
    assert pool.closed


def test_reconnect_failed_callback(conn_class: Any) -> None:
    failed = threading.Event()
    pool: ConnectionPool[Any] = ConnectionPool(
        "host=127.0.0.1 port=1 connect_timeout=1",
        connection_class=conn_class,
        min_size=1,
        reconnect_timeout=0.2,
        reconnect_failed=lambda p: failed.set(),
        open=True,
    )
    try:
        assert eventually(failed.is_set)
        assert pool.get_stats()["connections_errors"] >= 1
    finally:
        pool.close()


def test_callable_conninfo_and_kwargs(pg_cluster: Any, conn_class: Any) -> None:
    with (
        ConnectionPool(
            lambda: pg_cluster.conninfo,
            kwargs=lambda: {"application_name": "from-callable"},
            connection_class=conn_class,
            min_size=1,
            open=True,
        ) as pool,
        pool.connection() as conn,
    ):
        assert conn.execute("show application_name").fetchone() == ("from-callable",)


def test_close_returns_gives_the_connection_back(make_pool: Callable[..., ConnectionPool[Any]]) -> None:
    # psycopg_pool's close_returns=True: conn.close() returns it (code written for plain
    # connections keeps working); the pool's own close() closes it for real.
    pool = make_pool(min_size=2, close_returns=True)
    pool.wait()
    conn = pool.getconn()
    assert pool.get_stats()["pool_available"] == 1
    conn.close()
    assert not conn.closed
    assert eventually(lambda: pool.get_stats()["pool_available"] == 2)
    with pool.connection() as again:
        assert again.execute("select 1").fetchone() == (1,)
    pool.close()
    assert conn.closed


def test_pool_dropped_without_close_is_collected(pg_cluster: Any, balrog_mode: str) -> None:
    # Nothing of the pool's own machinery (timers, worker threads) keeps it alive: dropped
    # without close(), it is collected and its threads stop, without warnings.
    import gc
    import warnings
    import weakref

    from balrog.psycopg import Connection

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pool: ConnectionPool[Any] | None = ConnectionPool(
            pg_cluster.conninfo, min_size=2, connection_class=Connection, open=False
        )
        assert pool is not None
        pool.open()
        with pool.connection() as conn:
            conn.execute("select 1")
        pool.wait()  # last: the job that made the second connection has just finished
        ref = weakref.ref(pool)
        del pool, conn
        # At once, as psycopg_pool's test_del_no_warning checks: the jobs that filled the
        # pool hold it weakly (in green mode their tasks are reaped only at the loop's next
        # turn, after this).
        gc.collect()
        assert ref() is None
    assert [str(w.message) for w in caught] == []
