"""Eager reads (balrog-core eager.rs): a socket op's first poll reads the answer at once.

When the server answers before the client looks (a shared CPU: the server's wake-up
preempts the client at its `send`; a stream whose rows are already in the socket) the op
finishes without waiting for readiness; when it does not, the op waits as before and the
thread tries again only now and then. Either way the answers, errors and connection states
are exactly those of psycopg, in both modes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import psycopg
import pytest

import balrog.psycopg as bp
from balrog import _pg

pytestmark = pytest.mark.both_modes


def _counted(body: Callable[[], Any]) -> tuple[Any, int, int]:
    """``body()`` and the (tries, hits) of eager reads made meanwhile on this thread."""
    tries, hits = _pg.eager_read_counts()
    result = body()
    tries_after, hits_after = _pg.eager_read_counts()
    return result, tries_after - tries, hits_after - hits


@contextmanager
def _sharing_one_cpu(*backend_pids: int) -> Iterator[None]:
    """This thread and the backends on one CPU (where answers usually come at once)."""
    pids = [0, *backend_pids]  # 0: the calling thread
    before = [os.sched_getaffinity(pid) for pid in pids]
    cpu = min(before[0])
    for pid in pids:
        os.sched_setaffinity(pid, {cpu})
    try:
        yield
    finally:
        for pid, cpus in zip(pids, before, strict=True):
            os.sched_setaffinity(pid, cpus)


def test_a_stream_reads_rows_already_in_the_socket_at_once(pg_cluster, balrog_mode):
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)

    def stream() -> list[int]:
        with conn.cursor() as cur:
            return [row[0] for row in cur.stream("select generate_series(1, 20000)")]

    rows, _tries, hits = _counted(stream)
    assert rows == list(range(1, 20001))
    # The server writes rows far faster than Python takes them: later chunks are waiting.
    assert hits > 0
    conn.close()


def test_an_answer_that_is_not_there_yet_is_waited_for_and_tried_less(pg_cluster, balrog_mode):
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)

    def slow_queries() -> list[int]:
        return [conn.execute("select %s::int from pg_sleep(0.003)", [i]).fetchone()[0] for i in range(24)]

    values, tries, hits = _counted(slow_queries)
    assert values == list(range(24))
    assert hits == 0
    # After a miss only every 8th first poll reads at once: 3 tries in 24 (4 with a try
    # pending from earlier work on this thread).
    assert 1 <= tries <= 4
    conn.close()


def _mixed_session(module: Any, conninfo: str, pin: bool) -> list[Any]:
    """Results, states and errors of a session mixing quick answers of every kind; with
    `pin`, run on one CPU with its backend."""
    seen: list[Any] = []
    with module.connect(conninfo) as conn, _sharing_one_cpu(conn.info.backend_pid) if pin else nullcontext():
        cur = conn.cursor()
        for i in range(40):
            cur.execute("select %s::int, repeat('x', %s)", [i, i * 50])
            seen.append((cur.fetchall(), cur.statusmessage, cur.rowcount))
        cur.execute("create temp table eager_t (id int primary key, v text)")
        cur.executemany("insert into eager_t values (%s, %s)", [(i, str(i)) for i in range(30)])
        seen.append((cur.rowcount, conn.info.transaction_status.name))
        conn.commit()
        for statement in ("select 1/0", "insert into eager_t values (1, 'dup')", "select nope"):
            try:
                cur.execute(statement)
            except module.Error as exc:
                seen.append((type(exc).__name__, exc.sqlstate, conn.info.transaction_status.name))
                conn.rollback()
        cur.execute("select count(*), sum(id) from eager_t")
        seen.append(cur.fetchone())
        cur.execute("select count(*) from generate_series(1, 50000)")
        seen.append(cur.fetchone())
        conn.commit()
        seen.append(conn.info.transaction_status.name)
    return seen


def test_quick_answers_found_at_once_match_psycopg(pg_cluster, balrog_mode):
    expected = _mixed_session(psycopg, pg_cluster.conninfo, pin=True)
    got, tries, _hits = _counted(lambda: _mixed_session(bp, pg_cluster.conninfo, pin=True))
    assert got == expected
    assert tries > 0


def test_answers_found_at_once_on_a_shared_cpu(pg_cluster, balrog_mode):
    conn = bp.connect(pg_cluster.conninfo, autocommit=True)

    def queries() -> list[int]:
        with _sharing_one_cpu(conn.info.backend_pid):
            return [conn.execute("select %s::int", [i]).fetchone()[0] for i in range(300)]

    values, tries, hits = _counted(queries)
    assert values == list(range(300))
    assert tries > 0
    if hits == 0:
        pytest.skip("this kernel never let the server answer before the client looked")
    conn.close()


def test_without_eager_reads_the_answers_are_the_same(pg_cluster, balrog_mode):
    was_on = _pg.set_eager_reads(False)
    try:
        conn = bp.connect(pg_cluster.conninfo, autocommit=True)
        values, tries, _hits = _counted(
            lambda: [conn.execute("select %s::int", [i]).fetchone()[0] for i in range(50)]
        )
        assert values == list(range(50))
        assert tries == 0
        conn.close()
    finally:
        _pg.set_eager_reads(was_on)
