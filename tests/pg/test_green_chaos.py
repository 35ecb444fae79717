"""Backends killed at random while many green tasks query through a pool.

Green queries are driven by the event loop, which reads and writes their sockets itself
(balrog-core drive.rs, balrog-pg direct_io.rs). Under that load a server-side kill lands at
every point of an exchange — while a query is being written, between the reads of a long
answer, between queries. Each query must either return its own answer whole or raise
OperationalError; nothing may hang; the pool must replace what was lost and serve after.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time

import psycopg
import pytest

import balrog
import balrog.psycopg as bp
from balrog.psycopg_pool import ConnectionPool

TASKS = 40
QUERIES = 50


def _killer(conninfo: str, stop: threading.Event, killed: list[int]) -> None:
    rng = random.Random(7)
    with psycopg.connect(conninfo, autocommit=True) as admin:
        while not stop.is_set():
            pids = [
                row[0]
                for row in admin.execute(
                    "select pid from pg_stat_activity where application_name = 'balrog-chaos'"
                )
            ]
            if pids:
                pid = rng.choice(pids)
                admin.execute("select pg_terminate_backend(%s)", [pid])
                killed.append(pid)
            time.sleep(rng.uniform(0.002, 0.02))


@pytest.mark.timeout(300)
def test_backends_killed_under_green_load(pg_cluster) -> None:
    pool = ConnectionPool(
        pg_cluster.conninfo,
        min_size=4,
        max_size=4,
        kwargs={"autocommit": True, "application_name": "balrog-chaos"},
        open=True,
    )
    stop = threading.Event()
    killed: list[int] = []

    def client(n: int) -> tuple[int, int]:
        answered = failed = 0
        for i in range(QUERIES):
            tag = n * 1000 + i
            size = (n * 31 + i * 17) % 5 * 50_000  # up to 200 KB: an answer takes many reads
            try:
                with pool.connection() as conn:
                    row = conn.execute("select %s::int, repeat('y', %s)", [tag, size]).fetchone()
            except bp.OperationalError:
                failed += 1
                continue
            assert row == (tag, "y" * size)
            answered += 1
        return answered, failed

    async def main() -> list[tuple[int, int]]:
        return await asyncio.gather(*(balrog.green(client)(n) for n in range(TASKS)))

    def run() -> list[tuple[int, int]]:
        pool.wait()
        killer = threading.Thread(target=_killer, args=(pg_cluster.conninfo, stop, killed))
        killer.start()
        try:
            return asyncio.run(main())
        finally:
            stop.set()
            killer.join()

    try:
        outcomes = run()
        answered = sum(a for a, _ in outcomes)
        failed = sum(f for _, f in outcomes)
        assert answered + failed == TASKS * QUERIES
        assert killed and failed > 0 and answered > 0, (len(killed), answered, failed)
        # The last kills may have hit idle connections (a pool without `check` hands them
        # out as they are, as psycopg_pool's): look at them, as an application would.
        pool.check()
        with pool.connection(timeout=20) as conn:
            assert conn.execute("select 42").fetchone() == (42,)

        def green_query() -> tuple[int, ...]:
            with pool.connection(timeout=20) as conn:
                return conn.execute("select 1").fetchone()

        assert balrog.run(green_query) == (1,)
    finally:
        pool.close()
