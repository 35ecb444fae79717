"""balrog.psycopg against psycopg (C), asyncpg and psqlpy, side by side on one local server.

    .venv/bin/python benches/pg_bench.py [--rounds N]

Runs every case pinned (client and server on CPU 0) and unpinned, prints medians and the
ratios to balrog, writes benches/results/pg_bench.{json,png}. pgbench gives the floor.
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _common import bar_chart, median_time, timed, write_results

FETCH_QUERY = (
    "select g, 'row ' || g, g * 1.5::float8, now(), (g * 1.25)::numeric, g % 2 = 0, "
    "jsonb_build_object('k', g) from generate_series(1, {n}) g"
)


def bench_child(dsn: str, rounds: int) -> dict[str, dict[str, float]]:
    import asyncpg
    import psqlpy
    import psycopg

    import balrog
    import balrog.psycopg as bp

    out: dict[str, dict[str, float]] = {}
    n_q, n_rows, n_many = 2000, 100_000, 10_000
    rows = [(i, f"name {i}", i * 0.5) for i in range(n_many)]

    def sync_cases(mod: object, label: str) -> None:
        conn = mod.connect(dsn, autocommit=True)  # type: ignore[attr-defined]
        conn.execute("drop table if exists bench_t; create table bench_t (a int, b text, c float8)")
        res: dict[str, float] = {}

        def select1() -> None:
            for _ in range(n_q):
                conn.execute("select 1").fetchone()

        def params() -> None:
            for i in range(n_q):
                conn.execute("select %s::int, %s::text", (i, "x")).fetchone()

        def fetch() -> None:
            conn.execute(FETCH_QUERY.format(n=n_rows)).fetchall()

        def many() -> None:
            conn.cursor().executemany("insert into bench_t values (%s, %s, %s)", rows)

        def copy() -> None:
            # Binary COPY with set_types: the target is psycopg's binary COPY.
            with conn.cursor().copy("copy bench_t from stdin (format binary)") as cp:
                cp.set_types(["int4", "text", "float8"])
                for r in rows:
                    cp.write_row(r)

        def copy_text() -> None:
            with conn.cursor().copy("copy bench_t from stdin") as cp:
                for r in rows:
                    cp.write_row(r)

        res["select1 (us/q)"] = median_time(timed(select1, n_q), rounds)
        res["2 params (us/q)"] = median_time(timed(params, n_q), rounds)
        res["fetch 100k (us/row)"] = median_time(timed(fetch, n_rows), max(3, rounds // 2))
        res["executemany 10k (us/row)"] = median_time(timed(many, n_many), max(3, rounds // 2))
        res["copy 10k (us/row)"] = median_time(timed(copy, n_many), max(3, rounds // 2))
        res["copy text 10k (us/row)"] = median_time(timed(copy_text, n_many), max(3, rounds // 2))
        conn.execute("drop table bench_t")
        conn.close()
        out[label] = res

    sync_cases(psycopg, "psycopg")
    sync_cases(bp, "balrog")

    async def asyncpg_cases() -> dict[str, float]:
        conn = await asyncpg.connect(dsn.replace("postgresql://", "postgres://"))
        await conn.execute("drop table if exists bench_t; create table bench_t (a int, b text, c float8)")
        # The fetch target compares with JSON decoded: a json.loads codec on jsonb.
        decoding = await asyncpg.connect(dsn.replace("postgresql://", "postgres://"))
        await decoding.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
        res: dict[str, float] = {}

        async def measure(coro_fn: object, ops: int, r: int) -> float:
            times = []
            for _ in range(r + 1):
                t = time.perf_counter()
                await coro_fn()  # type: ignore[operator]
                times.append((time.perf_counter() - t) / ops * 1e6)
            times.pop(0)
            return sorted(times)[len(times) // 2]

        async def select1() -> None:
            for _ in range(n_q):
                await conn.fetchrow("select 1")

        async def params() -> None:
            for i in range(n_q):
                await conn.fetchrow("select $1::int, $2::text", i, "x")

        async def fetch_str() -> None:
            await conn.fetch(FETCH_QUERY.format(n=n_rows))

        async def fetch() -> None:
            await decoding.fetch(FETCH_QUERY.format(n=n_rows))

        async def many() -> None:
            await conn.executemany("insert into bench_t values ($1, $2, $3)", rows)

        async def copy() -> None:
            await conn.copy_records_to_table("bench_t", records=rows)

        res["select1 (us/q)"] = await measure(select1, n_q, rounds)
        res["2 params (us/q)"] = await measure(params, n_q, rounds)
        res["fetch 100k (us/row)"] = await measure(fetch, n_rows, max(3, rounds // 2))
        res["fetch 100k jsonb str (us/row)"] = await measure(fetch_str, n_rows, max(3, rounds // 2))
        res["executemany 10k (us/row)"] = await measure(many, n_many, max(3, rounds // 2))
        res["copy 10k (us/row)"] = await measure(copy, n_many, max(3, rounds // 2))
        await conn.execute("drop table bench_t")
        await conn.close()
        await decoding.close()
        return res

    out["asyncpg"] = asyncio.run(asyncpg_cases())

    async def psqlpy_cases() -> dict[str, float]:
        pool = psqlpy.ConnectionPool(dsn=dsn, max_db_pool_size=2)
        conn = await pool.connection()
        res: dict[str, float] = {}
        for key, q, args, ops in (
            ("select1 (us/q)", "select 1", None, n_q),
            ("2 params (us/q)", "select $1::int, $2::text", [1, "x"], n_q),
        ):
            times = []
            for _ in range(rounds + 1):
                t = time.perf_counter()
                for _ in range(ops):
                    await conn.fetch(q, args) if args else await conn.fetch(q)
                times.append((time.perf_counter() - t) / ops * 1e6)
            times.pop(0)
            res[key] = sorted(times)[len(times) // 2]
        times = []
        for _ in range(max(3, rounds // 2)):
            t = time.perf_counter()
            (await conn.fetch(FETCH_QUERY.format(n=n_rows))).result()
            times.append((time.perf_counter() - t) / n_rows * 1e6)
        res["fetch 100k (us/row)"] = sorted(times)[len(times) // 2]
        pool.close()
        return res

    try:
        out["psqlpy"] = asyncio.run(psqlpy_cases())
    except Exception as ex:
        print(f"psqlpy skipped: {ex}", file=sys.stderr)

    # 100 green tasks x 50 queries through a pool of 10 (balrog) vs asyncpg's pool + gather.
    try:
        from balrog.psycopg_pool import ConnectionPool

        pool = ConnectionPool(dsn, min_size=10, max_size=10, kwargs={"autocommit": True})
        pool.wait()

        def task() -> None:
            with pool.connection() as conn:
                for _ in range(50):
                    conn.execute("select 1").fetchone()

        async def fan_out() -> None:
            await asyncio.gather(*(balrog.green(task)() for _ in range(100)))

        def green_round() -> float:
            t = time.perf_counter()
            asyncio.run(fan_out())
            return (time.perf_counter() - t) / 5000 * 1e6

        out["balrog"]["pool 100x50 (us/q)"] = median_time(green_round, max(3, rounds // 2))
        pool.close()
    except Exception as ex:
        print(f"balrog pool case skipped: {ex}", file=sys.stderr)

    async def asyncpg_pool() -> float:
        pool = await asyncpg.create_pool(dsn, min_size=10, max_size=10)

        async def task() -> None:
            async with pool.acquire() as conn:
                for _ in range(50):
                    await conn.fetchrow("select 1")

        times = []
        for _ in range(max(3, rounds // 2) + 1):
            t = time.perf_counter()
            await asyncio.gather(*(task() for _ in range(100)))
            times.append((time.perf_counter() - t) / 5000 * 1e6)
        await pool.close()
        times.pop(0)
        return sorted(times)[len(times) // 2]

    out["asyncpg"]["pool 100x50 (us/q)"] = asyncio.run(asyncpg_pool())

    # psycopg_pool with 10 threads, each running tasks that hold a connection.
    try:
        from concurrent.futures import ThreadPoolExecutor

        import psycopg_pool

        ppool = psycopg_pool.ConnectionPool(dsn, min_size=10, max_size=10, kwargs={"autocommit": True})
        ppool.wait()

        def ptask() -> None:
            with ppool.connection() as conn:
                for _ in range(50):
                    conn.execute("select 1").fetchone()

        def thread_round() -> float:
            t = time.perf_counter()
            with ThreadPoolExecutor(10) as ex:
                list(ex.map(lambda _: ptask(), range(100)))
            return (time.perf_counter() - t) / 5000 * 1e6

        out["psycopg"]["pool 100x50 (us/q)"] = median_time(thread_round, max(3, rounds // 2))
        ppool.close()
    except Exception as ex:
        print(f"psycopg pool case skipped: {ex}", file=sys.stderr)
    return out


# Issue 3's speed targets: (case, peer, minimum ratio peer time / balrog time).
TARGETS = (
    ("select1 (us/q)", "psycopg", 1.0),
    ("select1 (us/q)", "pgbench", 1 / 1.3),
    ("2 params (us/q)", "psycopg", 1.0),
    ("2 params (us/q)", "pgbench", 1 / 1.3),
    ("fetch 100k (us/row)", "psycopg", 2.0),
    ("fetch 100k (us/row)", "asyncpg", 1.5),
    ("executemany 10k (us/row)", "asyncpg", 1.0),
    ("copy 10k (us/row)", "psycopg", 1.0),
    ("pool 100x50 (us/q)", "asyncpg", 1.3),
    ("pool 100x50 (us/q)", "psycopg", 1.3),
)


def print_targets(by_lib: dict[str, dict[str, float]]) -> None:
    print("targets (ratio = peer / balrog):")
    for case, peer, need in TARGETS:
        mine = by_lib["balrog"].get(case)
        # pgbench measured SELECT 1 only: its floor serves both sequential cases.
        theirs = by_lib.get(peer, {}).get("select1 (us/q)" if peer == "pgbench" else case)
        if not mine or not theirs:
            continue
        ratio = theirs / mine
        verdict = "met   " if ratio >= need else "missed"
        print(f"  [{verdict}] {case:26} vs {peer:8} ratio {ratio:5.2f} (need >= {need:.2f})")


def pgbench_floor(cluster: object) -> float | None:
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    if not binaries:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write("select 1;\n")
    try:
        out = subprocess.run(
            [binaries[-1], "-n", "-M", "extended", "-c", "1", "-t", "20000", "-f", f.name,
             "-h", cluster.host, "-p", str(cluster.port), "-U", cluster.user, cluster.dbname],  # type: ignore[attr-defined]
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        os.unlink(f.name)
    for line in out.stdout.splitlines():
        if line.startswith("latency average"):
            return float(line.split("=")[1].split()[0]) * 1000
    return None


def set_server_affinity(cluster: object, cpus: str) -> None:
    pid_file = Path(cluster.data_dir) / "postmaster.pid"  # type: ignore[attr-defined]
    pid = pid_file.read_text().split()[0]
    subprocess.run(["taskset", "-a", "-p", "-c", cpus, pid], check=True, capture_output=True)


def main() -> None:
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 5
    if "--child" in sys.argv:
        dsn = sys.argv[sys.argv.index("--child") + 1]
        print(json.dumps(bench_child(dsn, rounds)))
        return
    from support.pg import start_cluster

    cluster = start_cluster()
    results: dict[str, dict[str, dict[str, float]]] = {}
    try:
        ncpu = os.cpu_count() or 2
        for label, prefix, cpus in (
            ("pinned", ["taskset", "-c", "0"], "0"),
            ("unpinned", [], f"0-{ncpu - 1}"),
        ):
            set_server_affinity(cluster, cpus)
            floor = pgbench_floor(cluster) if label == "pinned" else None
            proc = subprocess.run(
                [*prefix, sys.executable, __file__, "--child", cluster.dsn, "--rounds", str(rounds)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            if proc.stderr.strip():
                print(proc.stderr.strip()[-2000:], file=sys.stderr)
            results[label] = json.loads(proc.stdout.strip().splitlines()[-1])
            if floor is not None:
                results[label]["pgbench"] = {"select1 (us/q)": floor}
    finally:
        cluster.destroy()
    for label, by_lib in results.items():
        print(f"\n== {label} (median µs; ratio = peer / balrog, >1 means balrog is faster)")
        cases = list(by_lib["balrog"].keys())
        libs = [lib for lib in ("balrog", "psycopg", "asyncpg", "psqlpy", "pgbench") if lib in by_lib]
        print(f"{'case':28}" + "".join(f"{lib:>18}" for lib in libs))
        for case in cases:
            mine = by_lib["balrog"].get(case)
            cells = []
            for lib in libs:
                v = by_lib[lib].get(case)
                if v is None:
                    cells.append(f"{'-':>18}")
                elif lib == "balrog" or not mine:
                    cells.append(f"{v:>18.2f}")
                else:
                    cells.append(f"{v:>9.2f} ({v / mine:4.2f}x)")
            print(f"{case:28}" + "".join(cells))
        print_targets(by_lib)
    write_results("pg_bench", results)
    series = {
        f"{lib} {label}": vals
        for label, by_lib in results.items()
        for lib, vals in by_lib.items()
        if lib != "pgbench"
    }
    cases = list(results["pinned"]["balrog"].keys())
    bar_chart(
        "pg_bench",
        "balrog.psycopg vs peers (µs, lower is better)",
        "µs",
        {k: {c: v.get(c, 0.0) or 1e-3 for c in cases} for k, v in series.items()},
    )


if __name__ == "__main__":
    main()
