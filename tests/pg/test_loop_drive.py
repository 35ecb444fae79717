"""Green mode drives a connection's ops on the event loop thread while they only wait for
the socket (balrog-core drive.rs / watch.rs): the edge cases of that path and of its
hand-off to a thread (lock contention), with the connection usable afterwards."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

import balrog
import balrog._bridge as bridge
import balrog.psycopg as bp
from balrog import _pg

_SocketWatch = balrog._core.SocketWatch


@pytest.fixture(autouse=True)
def readiness_path_only() -> Iterator[None]:
    """Every op here waits for its socket's readiness: an op whose first poll read its answer
    at once (eager reads, tested in test_eager_read.py) would never arm its socket."""
    was_on = _pg.set_eager_reads(False)
    yield
    _pg.set_eager_reads(was_on)


class _CountingWatch:
    """The loop's SocketWatch, counting arms made through it (with their interest) and
    ready sockets. Ops arm their sockets natively once the bridge knows the watch's file
    descriptor; the `interests` fixture keeps that from happening."""

    def __init__(self, counts: dict[str, int], interests: list[int], count_arms: bool = True) -> None:
        self._watch = _SocketWatch()
        self._counts = counts
        self._interests = interests
        self._count_arms = count_arms

    def fileno(self) -> int:
        return self._watch.fileno()  # type: ignore[no-any-return]

    def arm(self, fd: int, interest: int, key: int) -> None:
        if self._count_arms:
            self._counts["arms"] += 1
        self._interests.append(interest)
        self._watch.arm(fd, interest, key)

    def ready(self) -> list[int]:
        keys: list[int] = self._watch.ready()
        self._counts["steps"] += len(keys)
        return keys


class _CountingWaits(dict):  # type: ignore[type-arg]
    """A hub's `socket_waits`: every entry stored is one socket wait (armed by the op or
    by the bridge)."""

    def __init__(self, counts: dict[str, int]) -> None:
        super().__init__()
        self._counts = counts

    def __setitem__(self, key: object, value: object) -> None:
        self._counts["arms"] += 1
        super().__setitem__(key, value)


@pytest.fixture
def interests(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The interest of every socket arm of loop-driven ops (1 read, 2 write, 3 both).

    The bridge arms every socket itself here (as for wheels whose ops cannot): the hub
    never learns its watch's file descriptor."""
    armed: list[int] = []
    counts = {"arms": 0, "steps": 0}
    monkeypatch.setattr(bridge._core, "SocketWatch", lambda: _CountingWatch(counts, armed))
    first_arm = bridge._Hub._first_arm

    def first_arm_unshared(hub: bridge._Hub, fd: int, interest: int, key: int) -> None:
        first_arm(hub, fd, interest, key)
        hub.epfd = -1

    monkeypatch.setattr(bridge._Hub, "_first_arm", first_arm_unshared)
    return armed


@pytest.fixture
def driven(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts the socket waits of loop-driven ops ("arms": an op's first wait, or a
    further one after a partial read or write) and the drive steps."""
    counts = {"arms": 0, "steps": 0}
    monkeypatch.setattr(bridge._core, "SocketWatch", lambda: _CountingWatch(counts, [], count_arms=False))
    hub_init = bridge._Hub.__init__

    def init_counting(hub: bridge._Hub, loop: asyncio.AbstractEventLoop) -> None:
        hub_init(hub, loop)
        hub.socket_waits = _CountingWaits(counts)

    monkeypatch.setattr(bridge._Hub, "__init__", init_counting)
    return counts


def test_green_query_is_loop_driven(pg_cluster, driven):
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)

    def body() -> list[int]:
        return [conn.execute("select %s::int", [i]).fetchone()[0] for i in range(20)]

    assert balrog.run(body) == list(range(20))
    assert driven["arms"] >= 20
    # Nothing was left armed or waiting.
    conn.close()


def test_await_native_op_is_loop_driven(pg_cluster, driven):
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)

    async def main() -> int:
        results = await conn._native.simple(b"select 41 + 1")
        return int(results[0].get_value(0, 0))

    assert asyncio.run(main()) == 42
    assert driven["arms"] >= 1
    conn.close()


def test_many_green_tasks_share_one_connection(pg_cluster, driven):
    """Lock contention: the ops waiting for the connection move to a thread (hand-off)
    while the holder is loop-driven; every task gets its own answers."""
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)
    native = conn._native

    def worker(n: int) -> list[int]:
        got = []
        for i in range(15):
            # The native op directly: no Python-level connection lock, so the ops really
            # contend for the connection's async mutex.
            results = bridge.wait(native.simple(f"select {n * 1000 + i}".encode()))
            got.append(int(results[0].get_value(0, 0)))
        return got

    async def main() -> list[list[int]]:
        return await asyncio.gather(*(balrog.green(worker)(n) for n in range(30)))

    results = asyncio.run(main())
    assert results == [[n * 1000 + i for i in range(15)] for n in range(30)]
    assert driven["arms"] > 0
    assert conn.execute("select 1").fetchone() == (1,)
    conn.close()


def test_cancelled_while_waiting_for_read(pg_cluster, driven):
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)

    async def main() -> None:
        task = asyncio.ensure_future(balrog.green(conn.execute)("select pg_sleep(60)"))
        while driven["arms"] == 0:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Used again from the same loop right away: recovered as after any interruption.
        value = await balrog.green(lambda: conn.execute("select 3").fetchone()[0])()
        assert value == 3

    asyncio.run(main())
    assert conn.info.transaction_status == bp.pq.TransactionStatus.IDLE
    conn.close()


def test_bridge_timeout_while_waiting_for_read(pg_cluster, driven):
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)

    def body() -> None:
        with pytest.raises(TimeoutError):
            try:
                bridge.wait(conn._native.simple(b"select pg_sleep(60)"), timeout=0.2)
            except TimeoutError:
                conn._recover_after_interrupt()
                raise
        assert conn.execute("select 4").fetchone() == (4,)

    balrog.run(body)
    assert driven["arms"] >= 2
    conn.close()


def _big_writes(pg_cluster) -> None:
    """Several MB written by one op: the socket buffer fills, the op waits until writable."""
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)
    conn.execute("drop table if exists loop_drive_big")
    conn.execute("create temp table loop_drive_big (id int, payload text)")
    payload = "x" * 2000

    def body() -> tuple[int, int, int]:
        with conn.cursor() as cur:
            with cur.copy("copy loop_drive_big from stdin") as copy:
                for i in range(4000):  # ~8 MB
                    copy.write_row((i, payload))
            copied = conn.execute("select count(*) from loop_drive_big").fetchone()[0]
            cur.executemany(
                "insert into loop_drive_big values (%s, %s)",
                [(i, payload * 5) for i in range(600)],  # ~6 MB of parameters
            )
            many = conn.execute("select count(*) from loop_drive_big").fetchone()[0]
            # ~24 MB in one write: more than the socket buffers hold on both sides (4 + 6 MB at
            # most by Linux defaults), so the op waits for writability even when the server
            # keeps up (a loaded machine made the smaller batches fit once).
            with conn.pipeline():
                curs = [conn.execute("select %s::text", [payload * 200]) for _ in range(60)]
            echoed = sum(len(c.fetchone()[0]) for c in curs)
        return copied, many, echoed

    copied, many, echoed = balrog.run(body)
    assert (copied, many, echoed) == (4000, 4600, 60 * 400000)
    conn.close()


def test_big_copy_and_batches_hit_write_would_block(pg_cluster, interests):
    _big_writes(pg_cluster)
    assert any(interest in (2, 3) for interest in interests), interests


def test_big_writes_with_sockets_armed_by_the_ops(pg_cluster, driven):
    """The same, with the ops re-arming their sockets (for writing too) in `_drive`."""
    _big_writes(pg_cluster)
    assert driven["arms"] > 0


def test_notifies_timeout_in_green_mode(pg_cluster):
    """wait_notifies has a timer: it runs on a thread, never waits on the socket alone."""
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)
    conn.execute("listen loop_drive_channel")

    def body() -> list[str]:
        got = [n.payload for n in conn.notifies(timeout=0.2)]
        with bp.connect(pg_cluster.conninfo, autocommit=True) as other:
            other.execute("notify loop_drive_channel, 'hello'")
        got += [n.payload for n in conn.notifies(timeout=2, stop_after=1)]
        return got

    assert balrog.run(body) == ["hello"]
    assert conn.execute("select 1").fetchone() == (1,)
    conn.close()


def test_backend_terminated_while_loop_driven(pg_cluster, driven):
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)
    pid = conn.info.backend_pid

    def kill_later() -> None:
        with bp.connect(pg_cluster.conninfo, autocommit=True) as killer:
            while driven["arms"] == 0:
                killer.execute("select pg_sleep(0.02)")
            killer.execute("select pg_sleep(0.1)")
            killer.execute("select pg_terminate_backend(%s)", [pid])

    killer = threading.Thread(target=kill_later)
    killer.start()
    try:

        def body() -> None:
            with pytest.raises(bp.OperationalError):
                conn.execute("select pg_sleep(30)")

        balrog.run(body)
    finally:
        killer.join()
    assert conn.broken and conn.closed
    conn.close()


def test_connection_used_from_a_thread_and_green_tasks(pg_cluster, driven):
    """A plain thread (blocking mode, it holds the runtime while it waits) and green tasks
    use one connection at the same time: the green ops hand off or wait on the loop."""
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)
    stop = threading.Event()
    errors: list[BaseException] = []

    def thread_user() -> None:
        try:
            i = 0
            while not stop.is_set():
                assert conn.execute("select %s::int", [i]).fetchone() == (i,)
                i += 1
        except BaseException as exc:  # reported below
            errors.append(exc)

    def green_user(n: int) -> int:
        return sum(conn.execute("select %s::int", [n]).fetchone()[0] for _ in range(30))

    async def main() -> list[int]:
        return await asyncio.gather(*(balrog.green(green_user)(n) for n in range(5)))

    worker = threading.Thread(target=thread_user)
    worker.start()
    try:
        assert asyncio.run(main()) == [30 * n for n in range(5)]
    finally:
        stop.set()
        worker.join()
    assert errors == []
    assert driven["arms"] > 0
    conn.close()


def test_cancel_from_another_green_task(pg_cluster, driven):
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)

    def sleeper() -> str:
        try:
            conn.execute("select pg_sleep(30)")
        except bp.errors.QueryCanceled:
            return "canceled"
        return "finished"

    def canceller() -> None:
        while driven["arms"] == 0:
            balrog.sleep(0.01)
        balrog.sleep(0.1)
        conn.cancel()

    async def main() -> list[str | None]:
        return await asyncio.gather(balrog.green(sleeper)(), balrog.green(canceller)())

    assert asyncio.run(main()) == ["canceled", None]
    assert conn.execute("select 1").fetchone() == (1,)
    conn.close()


def test_stream_is_loop_driven(pg_cluster, driven):
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)

    def body() -> int:
        with conn.cursor() as cur:
            return sum(row[0] for row in cur.stream("select generate_series(1, 20000)"))

    assert balrog.run(body) == sum(range(1, 20001))
    assert driven["arms"] > 0
    conn.close()


@pytest.mark.parametrize("over", ["tcp", "unix"])
def test_big_results_read_by_the_loop_then_by_a_thread(pg_cluster, driven, over):
    """Green ops read their socket themselves (tokio's readiness is stale meanwhile); the
    same connection then waits in blocking mode, whose reads go through tokio again. Big
    answers take many reads in both modes; each answer must arrive whole and in order."""
    conninfo = pg_cluster.conninfo
    if over == "unix":
        conninfo += f" host={pg_cluster.socket_dir}"
    conn = bp.connect(conninfo, autocommit=True)
    sizes = [1, 3_000_000, 17, 700_000, 5_000_000, 0, 64_000]

    def query(size: int, tag: int) -> tuple[int, str]:
        row = conn.execute("select %s::int, repeat('x', %s)", [tag, size]).fetchone()
        assert row is not None
        return row[0], row[1]

    for round_ in range(3):
        for i, size in enumerate(sizes):
            tag = round_ * 100 + i
            green = balrog.run(query, size, tag)
            blocking = query(size + 1, tag)
            assert green == (tag, "x" * size)
            assert blocking == (tag, "x" * (size + 1))
    # Several drive steps per big answer: most reads happened on the loop.
    assert driven["steps"] > 3 * len(sizes)
    conn.close()
