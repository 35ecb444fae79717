"""The workloads of benches/pg_compare.py, one function per (case, driver).

Each workload connects, and returns a ``Work`` (sync) or ``AWork`` (asyncio): ``body`` is
the timed part of a round, ``reset`` runs untimed before each round (e.g. TRUNCATE), and
``close`` releases the connections. Sync workloads take the driver module as an argument,
so the very same code measures psycopg, balrog.psycopg blocking and balrog.psycopg green:
that is the promise of balrog (one sync API, two modes).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import balrog

SELECT1 = "SELECT 1"
PARAMS_PG = "SELECT %s::int, %s::text"  # psycopg / balrog placeholders
PARAMS_NUM = "SELECT $1::int, $2::text"  # asyncpg / psqlpy placeholders
PARAMS = (42, "hello")
FETCH = "SELECT i, t, f, ts, n, b, j FROM pgcmp_rows"
INSERT_PG = "INSERT INTO pgcmp_many (a, b, c) VALUES (%s, %s, %s)"
INSERT_NUM = "INSERT INTO pgcmp_many (a, b, c) VALUES ($1, $2, $3)"
COPY_BINARY = "COPY pgcmp_copy (a, b, c) FROM STDIN (FORMAT BINARY)"
COPY_TEXT = "COPY pgcmp_copy (a, b, c) FROM STDIN"
COPY_COLUMNS = ["a", "b", "c"]
COPY_TYPES = ["int4", "text", "float8"]

TABLES_SQL = """
DROP TABLE IF EXISTS pgcmp_rows, pgcmp_many, pgcmp_copy;
CREATE TABLE pgcmp_rows (
    i int, t text, f float8, ts timestamptz, n numeric(12, 2), b bool, j jsonb
);
INSERT INTO pgcmp_rows
SELECT i, 'row number ' || i, i * 0.5,
       '2024-01-01 00:00:00+00'::timestamptz + i * interval '1 second',
       (i * 1.25)::numeric(12, 2), i % 2 = 0,
       jsonb_build_object('id', i, 'name', 'item ' || i, 'tags', jsonb_build_array('a', 'b'), 'ok', true)
FROM generate_series(1, {rows}) AS i;
CREATE TABLE pgcmp_many (a int, b text, c float8);
CREATE TABLE pgcmp_copy (a int, b text, c float8);
VACUUM ANALYZE pgcmp_rows;
"""


@dataclass(frozen=True)
class Sizes:
    """How much work one round does (the --quick run shrinks these)."""

    queries: int  # sequential queries per round (SELECT 1, two params)
    rows: int  # rows in pgcmp_rows (the fetch case)
    many: int  # executemany rows per round
    copy: int  # COPY rows per round
    tasks: int  # concurrent tasks in the pool case
    per_task: int  # queries per task in the pool case
    pool: int  # pool size
    mem_rows: int  # rows iterated through the server-side cursor
    rounds: int  # timed rounds per case (after one warm-up round)


@dataclass
class Work:
    body: Callable[[], object]
    close: Callable[[], object]
    reset: Callable[[], object] | None = None


@dataclass
class AWork:
    body: Callable[[], Awaitable[object]]
    close: Callable[[], Awaitable[object]]
    reset: Callable[[], Awaitable[object]] | None = None


@dataclass
class Target:
    """Where to connect: a libpq conninfo string and the same as a URI."""

    conninfo: str
    dsn: str
    pg_args: list[str] = field(default_factory=list)  # pgbench's -h/-p/-U/dbname


def batch_rows(n: int) -> list[tuple[int, str, float]]:
    return [(i, f"name {i}", i * 0.5) for i in range(n)]


# -- sync workloads: psycopg, balrog.psycopg (blocking and green) ----------------------------


def _connect(mod: ModuleType, t: Target, autocommit: bool = True) -> Any:
    return mod.connect(t.conninfo, autocommit=autocommit)


def sync_select1(mod: ModuleType, t: Target, s: Sizes) -> Work:
    conn = _connect(mod, t)
    cur = conn.cursor()

    def body() -> None:
        for _ in range(s.queries):
            cur.execute(SELECT1)
            cur.fetchall()

    return Work(body, conn.close)


def sync_params(mod: ModuleType, t: Target, s: Sizes) -> Work:
    conn = _connect(mod, t)
    cur = conn.cursor()

    def body() -> None:
        for _ in range(s.queries):
            cur.execute(PARAMS_PG, PARAMS)
            cur.fetchall()

    return Work(body, conn.close)


def sync_fetch(mod: ModuleType, t: Target, s: Sizes, binary: bool = False) -> Work:
    conn = _connect(mod, t)
    cur = conn.cursor(binary=binary)

    def body() -> None:
        cur.execute(FETCH)
        if len(cur.fetchall()) != s.rows:
            raise AssertionError("wrong row count")

    return Work(body, conn.close)


def sync_fetch_binary(mod: ModuleType, t: Target, s: Sizes) -> Work:
    """The same rows asked for in binary format (``cursor(binary=True)``)."""
    return sync_fetch(mod, t, s, binary=True)


def sync_executemany(mod: ModuleType, t: Target, s: Sizes) -> Work:
    conn = _connect(mod, t)
    cur = conn.cursor()
    rows = batch_rows(s.many)

    def body() -> None:
        # One transaction for every driver: otherwise each row commits on its own.
        with conn.transaction():
            cur.executemany(INSERT_PG, rows)

    return Work(body, conn.close, lambda: cur.execute("TRUNCATE pgcmp_many"))


def sync_copy(mod: ModuleType, t: Target, s: Sizes, binary: bool = True) -> Work:
    conn = _connect(mod, t)
    cur = conn.cursor()
    rows = batch_rows(s.copy)

    def body() -> None:
        with cur.copy(COPY_BINARY if binary else COPY_TEXT) as copy:
            if binary:
                copy.set_types(COPY_TYPES)
            for row in rows:
                copy.write_row(row)

    return Work(body, conn.close, lambda: cur.execute("TRUNCATE pgcmp_copy"))


def sync_copy_text(mod: ModuleType, t: Target, s: Sizes) -> Work:
    return sync_copy(mod, t, s, binary=False)


def _pool_task(pool: Any, s: Sizes) -> None:
    """One client of the pool case: hold a connection for `per_task` queries."""
    with pool.connection() as conn:
        cur = conn.cursor()
        for _ in range(s.per_task):
            cur.execute(SELECT1)
            cur.fetchall()


def threads_pool(pool_mod: ModuleType, t: Target, s: Sizes) -> Work:
    """The pool case with a thread per client slot (psycopg_pool's usual deployment)."""
    pool = pool_mod.ConnectionPool(
        t.conninfo, min_size=s.pool, max_size=s.pool, kwargs={"autocommit": True}, open=True
    )
    pool.wait()
    executor = ThreadPoolExecutor(max_workers=s.pool)

    def body() -> None:
        for future in [executor.submit(_pool_task, pool, s) for _ in range(s.tasks)]:
            future.result()

    def close() -> None:
        executor.shutdown()
        pool.close()

    return Work(body, close)


async def green_pool(t: Target, s: Sizes) -> AWork:
    """The pool case as balrog means it: one green task per client, all on the loop."""
    from balrog import psycopg_pool

    pool: Any = None

    def open_pool() -> None:
        nonlocal pool
        pool = psycopg_pool.ConnectionPool(
            t.conninfo, min_size=s.pool, max_size=s.pool, kwargs={"autocommit": True}, open=True
        )
        pool.wait()

    task = balrog.green(_pool_task)

    async def body() -> None:
        await asyncio.gather(*(task(pool, s) for _ in range(s.tasks)))

    async def close() -> None:
        await balrog.green(pool.close)()

    await balrog.green(open_pool)()
    return AWork(body, close)


# -- psycopg async --------------------------------------------------------------------------


async def _aconnect(t: Target) -> Any:
    import psycopg

    return await psycopg.AsyncConnection.connect(t.conninfo, autocommit=True)


async def pa_select1(t: Target, s: Sizes, query: str = SELECT1, params: Any = None) -> AWork:
    conn = await _aconnect(t)
    cur = conn.cursor()

    async def body() -> None:
        for _ in range(s.queries):
            await cur.execute(query, params)
            await cur.fetchall()

    return AWork(body, conn.close)


async def pa_params(t: Target, s: Sizes) -> AWork:
    return await pa_select1(t, s, PARAMS_PG, PARAMS)


async def pa_fetch(t: Target, s: Sizes) -> AWork:
    conn = await _aconnect(t)
    cur = conn.cursor()

    async def body() -> None:
        await cur.execute(FETCH)
        await cur.fetchall()

    return AWork(body, conn.close)


async def pa_executemany(t: Target, s: Sizes) -> AWork:
    conn = await _aconnect(t)
    cur = conn.cursor()
    rows = batch_rows(s.many)

    async def body() -> None:
        async with conn.transaction():
            await cur.executemany(INSERT_PG, rows)

    return AWork(body, conn.close, lambda: cur.execute("TRUNCATE pgcmp_many"))


async def pa_copy(t: Target, s: Sizes) -> AWork:
    conn = await _aconnect(t)
    cur = conn.cursor()
    rows = batch_rows(s.copy)

    async def body() -> None:
        async with cur.copy(COPY_BINARY) as copy:
            copy.set_types(COPY_TYPES)
            for row in rows:
                await copy.write_row(row)

    return AWork(body, conn.close, lambda: cur.execute("TRUNCATE pgcmp_copy"))


async def pa_pool(t: Target, s: Sizes) -> AWork:
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(
        t.conninfo, min_size=s.pool, max_size=s.pool, kwargs={"autocommit": True}, open=False
    )
    await pool.open(wait=True)

    async def task() -> None:
        async with pool.connection() as conn:
            cur = conn.cursor()
            for _ in range(s.per_task):
                await cur.execute(SELECT1)
                await cur.fetchall()

    async def body() -> None:
        await asyncio.gather(*(task() for _ in range(s.tasks)))

    return AWork(body, pool.close)


# -- asyncpg ----------------------------------------------------------------------------------


async def ap_select1(t: Target, s: Sizes, query: str = SELECT1, params: tuple[Any, ...] = ()) -> AWork:
    import asyncpg

    conn = await asyncpg.connect(t.dsn)

    async def body() -> None:
        for _ in range(s.queries):
            await conn.fetch(query, *params)

    return AWork(body, conn.close)


async def ap_params(t: Target, s: Sizes) -> AWork:
    return await ap_select1(t, s, PARAMS_NUM, PARAMS)


async def ap_fetch(t: Target, s: Sizes, decode_json: bool) -> AWork:
    import asyncpg

    conn = await asyncpg.connect(t.dsn)
    if decode_json:
        # asyncpg returns jsonb as str unless told otherwise; psycopg decodes it.
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")

    async def body() -> None:
        await conn.fetch(FETCH)

    return AWork(body, conn.close)


async def ap_executemany(t: Target, s: Sizes) -> AWork:
    import asyncpg

    conn = await asyncpg.connect(t.dsn)
    rows = batch_rows(s.many)

    async def body() -> None:
        async with conn.transaction():
            await conn.executemany(INSERT_NUM, rows)

    return AWork(body, conn.close, lambda: conn.execute("TRUNCATE pgcmp_many"))


async def ap_copy(t: Target, s: Sizes) -> AWork:
    import asyncpg

    conn = await asyncpg.connect(t.dsn)
    rows = batch_rows(s.copy)

    async def body() -> None:
        await conn.copy_records_to_table("pgcmp_copy", records=rows, columns=COPY_COLUMNS)

    return AWork(body, conn.close, lambda: conn.execute("TRUNCATE pgcmp_copy"))


async def ap_pool(t: Target, s: Sizes) -> AWork:
    import asyncpg

    pool = await asyncpg.create_pool(t.dsn, min_size=s.pool, max_size=s.pool)

    async def task() -> None:
        async with pool.acquire() as conn:
            for _ in range(s.per_task):
                await conn.fetch(SELECT1)

    async def body() -> None:
        await asyncio.gather(*(task() for _ in range(s.tasks)))

    return AWork(body, pool.close)


# -- psqlpy -----------------------------------------------------------------------------------


async def _pq_connect(t: Target) -> Any:
    import psqlpy

    return await psqlpy.connect(dsn=t.dsn)


async def _pq_close(conn: Any) -> None:
    conn.close()


async def pq_select1(t: Target, s: Sizes, query: str = SELECT1, params: list[Any] | None = None) -> AWork:
    conn = await _pq_connect(t)

    async def body() -> None:
        for _ in range(s.queries):
            (await conn.fetch(query, params)).result(as_tuple=True)

    return AWork(body, lambda: _pq_close(conn))


async def pq_params(t: Target, s: Sizes) -> AWork:
    return await pq_select1(t, s, PARAMS_NUM, list(PARAMS))


async def pq_fetch(t: Target, s: Sizes) -> AWork:
    conn = await _pq_connect(t)

    async def body() -> None:
        (await conn.fetch(FETCH)).result(as_tuple=True)

    return AWork(body, lambda: _pq_close(conn))


async def pq_executemany(t: Target, s: Sizes) -> AWork:
    conn = await _pq_connect(t)
    rows = [list(r) for r in batch_rows(s.many)]

    async def body() -> None:
        async with conn.transaction() as tx:
            await tx.execute_many(INSERT_NUM, rows)

    return AWork(body, lambda: _pq_close(conn), lambda: conn.execute("TRUNCATE pgcmp_many"))


async def pq_copy(t: Target, s: Sizes) -> AWork:
    conn = await _pq_connect(t)
    rows = batch_rows(s.copy)

    async def body() -> None:
        await conn.copy_records_to_table("pgcmp_copy", rows, COPY_COLUMNS)

    return AWork(body, lambda: _pq_close(conn), lambda: conn.execute("TRUNCATE pgcmp_copy"))


async def pq_pool(t: Target, s: Sizes) -> AWork:
    import psqlpy

    pool = psqlpy.ConnectionPool(dsn=t.dsn, max_db_pool_size=s.pool)

    async def task() -> None:
        async with pool.acquire() as conn:
            for _ in range(s.per_task):
                (await conn.fetch(SELECT1)).result(as_tuple=True)

    async def body() -> None:
        await asyncio.gather(*(task() for _ in range(s.tasks)))

    return AWork(body, lambda: _pq_close(pool))


# -- pgbench: the floor -----------------------------------------------------------------------

PGBENCH = "/usr/lib/postgresql/15/bin/pgbench"


def pgbench_us(
    t: Target, script: str, mode: str, transactions: int, clients: int = 1, threads: int = 1
) -> float:
    """Run pgbench once; microseconds per transaction from its throughput."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as f:
        f.write(script + "\n")
        f.flush()
        argv = [PGBENCH, "-n", "-f", f.name, "-M", mode, "-c", str(clients), "-j", str(threads)]
        argv += ["-t", str(max(1, transactions // clients)), "-D", "b=hello", *t.pg_args]
        out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if match is None:
        raise RuntimeError(f"unexpected pgbench output: {out[-300:]}")
    return 1e6 / float(match.group(1))


# -- the one event loop of a measurement child -----------------------------------------------

_LOOP: asyncio.AbstractEventLoop | None = None


def run_on_loop(aw: Awaitable[Any]) -> Any:
    """Run `aw` on the child's single event loop.

    One loop for the whole child lets every driver's connections (asyncpg's, the green
    pool's maintenance tasks) stay open across rounds while the drivers take turns.
    """
    global _LOOP
    if _LOOP is None:
        _LOOP = asyncio.new_event_loop()
    return _LOOP.run_until_complete(aw)
