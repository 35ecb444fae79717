"""balrog.psycopg against psycopg (C), psycopg async, asyncpg and psqlpy; pgbench as the floor.

One run starts a throwaway PostgreSQL 15 (or uses BALROG_TEST_DSN), then runs the
measurement child twice: pinned (client and server on CPU 0, `taskset -c 0`) and
unpinned. Inside a child the drivers of a case take turns round by round, so a burst of
noise from other work on the machine hits all of them rather than one; each timed round
follows an untimed one of the same driver, so no driver is timed in the conditions its
predecessor left (see `run_case`). Each case prints
medians and ratios (peer time / balrog time; > 1 = balrog faster) and the targets of the
balrog-pg issue as met/missed. Results: benches/results/pg.json and pg.png.

Usage: python benches/pg_compare.py [--quick] [--rounds N] [--cases select1,fetch,...]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

import pg_compare_cases as wl  # noqa: E402 - after the path set-up
from pg_compare_report import CASES, chart, report  # noqa: E402

QUICK = wl.Sizes(
    queries=300,
    rows=10_000,
    many=1_000,
    copy=1_000,
    tasks=20,
    per_task=10,
    pool=10,
    mem_rows=100_000,
    rounds=1,
)
FULL = wl.Sizes(
    queries=3_000,
    rows=100_000,
    many=10_000,
    copy=10_000,
    tasks=100,
    per_task=50,
    pool=10,
    mem_rows=1_000_000,
    rounds=5,
)
RESULTS = HERE / "results"


# -- one driver in one case ---------------------------------------------------------------------


@dataclass
class Runner:
    """A connected driver: `round()` runs one timed round and returns µs per op."""

    name: str
    round: Callable[[], float]
    close: Callable[[], object]


def _timed(body: Callable[[], object], ops: int, reset: Callable[[], object] | None) -> float:
    if reset is not None:
        reset()
    start = time.perf_counter()
    body()
    return (time.perf_counter() - start) / ops * 1e6


def sync_runner(name: str, make: Callable[[], wl.Work], ops: int) -> Runner:
    work = make()
    return Runner(name, lambda: _timed(work.body, ops, work.reset), work.close)


def green_runner(name: str, make: Callable[[], wl.Work], ops: int) -> Runner:
    """The same sync workload, every call made inside a green task on the event loop."""
    import balrog

    def in_green(fn: Callable[[], object]) -> Callable[[], object]:
        return lambda: wl.run_on_loop(balrog.green(fn)())

    work: wl.Work = wl.run_on_loop(balrog.green(make)())
    reset = in_green(work.reset) if work.reset is not None else None
    return Runner(name, lambda: _timed(in_green(work.body), ops, reset), in_green(work.close))


def async_runner(name: str, make: Callable[[], Any], ops: int) -> Runner:
    work: wl.AWork = wl.run_on_loop(make())
    reset = work.reset

    def round_() -> float:
        return _timed(lambda: wl.run_on_loop(work.body()), ops, reset and (lambda: wl.run_on_loop(reset())))

    return Runner(name, round_, lambda: wl.run_on_loop(work.close()))


def floor_runner(name: str, measure: Callable[[], float]) -> Runner:
    return Runner(name, measure, lambda: None)


# -- the cases ------------------------------------------------------------------------------------

Factory = Callable[[], Runner]


def _sync(
    name: str, fn: Callable[..., wl.Work], mod: Any, t: wl.Target, s: wl.Sizes, ops: int
) -> tuple[str, Factory]:
    return name, lambda: sync_runner(name, lambda: fn(mod, t, s), ops)


def _green(
    name: str, fn: Callable[..., wl.Work], mod: Any, t: wl.Target, s: wl.Sizes, ops: int
) -> tuple[str, Factory]:
    return name, lambda: green_runner(name, lambda: fn(mod, t, s), ops)


def _sync_pair(
    fn: Callable[..., wl.Work], t: wl.Target, s: wl.Sizes, ops: int, suffix: str = ""
) -> list[tuple[str, Factory]]:
    """psycopg, balrog blocking and balrog green running the same sync workload."""
    import psycopg

    import balrog.psycopg as bpsycopg

    return [
        _sync(f"psycopg{suffix}", fn, psycopg, t, s, ops),
        _sync(f"balrog blocking{suffix}", fn, bpsycopg, t, s, ops),
        _green(f"balrog green{suffix}", fn, bpsycopg, t, s, ops),
    ]


def _async(
    name: str, fn: Callable[..., Any], t: wl.Target, s: wl.Sizes, ops: int, *a: Any
) -> tuple[str, Factory]:
    return name, lambda: async_runner(name, lambda: fn(t, s, *a), ops)


def _pgbench(
    name: str, t: wl.Target, script: str, mode: str, n: int, per: int = 1, clients: int = 1
) -> tuple[str, Factory]:
    threads = min(clients, len(os.sched_getaffinity(0)))
    return name, lambda: floor_runner(name, lambda: wl.pgbench_us(t, script, mode, n, clients, threads) / per)


def case_factories(key: str, t: wl.Target, s: wl.Sizes) -> list[tuple[str, Factory]]:
    """(name, factory) per driver of one case; a factory connects and returns a Runner."""
    q, pgb = s.queries, s.queries * 5  # pgbench is cheap: more transactions, steadier
    if key == "select1":
        return [
            _pgbench("pgbench -M extended", t, "SELECT 1;", "extended", pgb),
            _pgbench("pgbench -M simple", t, "SELECT 1;", "simple", pgb),
            _pgbench("pgbench -M prepared", t, "SELECT 1;", "prepared", pgb),
            *_sync_pair(wl.sync_select1, t, s, q)[:1],
            _async("psycopg async", wl.pa_select1, t, s, q),
            _async("asyncpg", wl.ap_select1, t, s, q),
            _async("psqlpy", wl.pq_select1, t, s, q),
            *_sync_pair(wl.sync_select1, t, s, q)[1:],
        ]
    if key == "params":
        # Extended mode sends :a and :b as parameters; simple mode pastes them into the
        # text, so there the string has to be a literal.
        script = "\\set a 42\nSELECT :a::int, :b::text;"
        literal = "\\set a 42\nSELECT :a::int, 'hello'::text;"
        return [
            _pgbench("pgbench -M extended", t, script, "extended", pgb),
            _pgbench("pgbench -M simple", t, literal, "simple", pgb),
            _pgbench("pgbench -M prepared", t, script, "prepared", pgb),
            *_sync_pair(wl.sync_params, t, s, q)[:1],
            _async("psycopg async", wl.pa_params, t, s, q),
            _async("asyncpg", wl.ap_params, t, s, q),
            _async("psqlpy", wl.pq_params, t, s, q),
            *_sync_pair(wl.sync_params, t, s, q)[1:],
        ]
    if key == "fetch":
        return [
            _pgbench("pgbench (server + libpq)", t, wl.FETCH + ";", "extended", 3, s.rows),
            *_sync_pair(wl.sync_fetch, t, s, s.rows)[:1],
            _async("psycopg async", wl.pa_fetch, t, s, s.rows),
            _async("asyncpg (jsonb→dict)", wl.ap_fetch, t, s, s.rows, True),
            _async("asyncpg (jsonb str)", wl.ap_fetch, t, s, s.rows, False),
            _async("psqlpy", wl.pq_fetch, t, s, s.rows),
            *_sync_pair(wl.sync_fetch, t, s, s.rows)[1:],
            # Binary results, for information: psycopg's and balrog's binary loaders.
            *_sync_pair(wl.sync_fetch_binary, t, s, s.rows, " (binary)")[:2],
        ]
    if key == "executemany":
        return [
            *_sync_pair(wl.sync_executemany, t, s, s.many)[:1],
            _async("psycopg async", wl.pa_executemany, t, s, s.many),
            _async("asyncpg", wl.ap_executemany, t, s, s.many),
            _async("psqlpy", wl.pq_executemany, t, s, s.many),
            *_sync_pair(wl.sync_executemany, t, s, s.many)[1:],
        ]
    if key == "copy":
        return [
            *_sync_pair(wl.sync_copy, t, s, s.copy, " (binary)")[:1],
            _async("psycopg async (binary)", wl.pa_copy, t, s, s.copy),
            _async("asyncpg", wl.ap_copy, t, s, s.copy),
            _async("psqlpy", wl.pq_copy, t, s, s.copy),
            *_sync_pair(wl.sync_copy, t, s, s.copy, " (binary)")[1:],
            *_sync_pair(wl.sync_copy_text, t, s, s.copy, " (text)")[1:2],
        ]
    if key == "pool":
        return _pool_factories(t, s)
    raise ValueError(key)


def _pool_factories(t: wl.Target, s: wl.Sizes) -> list[tuple[str, Factory]]:
    import psycopg_pool

    from balrog import psycopg_pool as bpool

    ops = s.tasks * s.per_task
    return [
        _pgbench(f"pgbench -M extended -c{s.pool}", t, "SELECT 1;", "extended", ops * 4, clients=s.pool),
        _sync(f"psycopg_pool, {s.pool} threads", wl.threads_pool, psycopg_pool, t, s, ops),
        _async("psycopg AsyncConnectionPool, gather", wl.pa_pool, t, s, ops),
        _async("asyncpg pool, gather", wl.ap_pool, t, s, ops),
        _async("psqlpy pool, gather", wl.pq_pool, t, s, ops),
        _sync(f"balrog pool, {s.pool} threads", wl.threads_pool, bpool, t, s, ops),
        _async("balrog pool, green tasks", wl.green_pool, t, s, ops),
    ]


# -- running a case: drivers take turns, errors are results -------------------------------------


class Timeout(Exception):
    pass


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Turn a hang into an error (blocking waits wake for signals every 100 ms)."""

    def fire(signum: int, frame: FrameType | None) -> None:
        raise Timeout(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return text[:160]


def run_case(key: str, t: wl.Target, s: wl.Sizes, limit: int) -> dict[str, Any]:
    runners: dict[str, Runner] = {}
    out: dict[str, Any] = {}
    for name, factory in case_factories(key, t, s):
        runner = None
        try:
            with deadline(limit):
                runner = factory()
                runner.round()  # warm-up: caches, prepared statements, pool filled
            runners[name], out[name] = runner, {"rounds": []}
        except Exception as exc:
            out[name] = {"error": _error(exc)}
            print(f"  {key}/{name}: {out[name]['error']}", file=sys.stderr)
            if runner is not None:
                _close(runner)
    for r in range(s.rounds):
        names = list(runners)
        # Rotate the order so no driver always runs right after the same neighbour.
        for name in names[r % len(names) :] + names[: r % len(names)] if names else []:
            try:
                with deadline(limit):
                    # An untimed round of the same driver first: what a wake-up costs
                    # depends on the machine's recent history (the hypervisor adapts its
                    # halt polling to the last wake-up pattern), so a driver timed right
                    # after another inherited that one's conditions. Unpinned, psycopg
                    # timed after pgbench took 16 µs a SELECT 1, after its own round 86.
                    runners[name].round()
                    out[name]["rounds"].append(runners[name].round())
            except Exception as exc:
                out[name] = {"error": _error(exc)}
                _close(runners.pop(name))
    for runner in runners.values():
        _close(runner)
    for entry in out.values():
        if "rounds" in entry:
            entry["median"] = statistics.median(entry["rounds"])
    return out


def _close(runner: Runner) -> None:
    try:
        with deadline(30):
            runner.close()
    except Exception as exc:
        print(f"  (closing {runner.name}: {_error(exc)})", file=sys.stderr)


def run_memory(t: wl.Target, s: wl.Sizes, limit: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for impl in ("psycopg", "balrog-blocking", "balrog-green"):
        argv = [sys.executable, str(HERE / "pg_compare_memory.py"), impl, t.conninfo, str(s.mem_rows)]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=limit)
            if done.returncode:
                raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed")
            out[impl.replace("-", " ")] = {
                **json.loads(done.stdout.strip().splitlines()[-1]),
                "rows": s.mem_rows,
            }
        except Exception as exc:
            out[impl.replace("-", " ")] = {"error": _error(exc)}
    return out


def child(args: argparse.Namespace) -> None:
    s = wl.Sizes(**json.loads(args.sizes))
    t = wl.Target(**json.loads(args.target))
    limit = 60 if args.quick else 300
    results: dict[str, Any] = {}
    for key in args.cases.split(","):
        print(f"[{args.label}] {key} ...", file=sys.stderr, flush=True)
        results[key] = run_memory(t, s, limit * 2) if key == "memory" else run_case(key, t, s, limit)
    print(json.dumps(results))


# -- the parent: server, tables, pinning, both children, report ----------------------------------


def _server_pids(cluster: Any) -> list[int]:
    """The postmaster and its children (backends started later inherit its affinity)."""
    with open(os.path.join(cluster.data_dir, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    pids = [postmaster]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == postmaster:
                        pids.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return pids


def pin_server(cluster: Any, cpus: set[int]) -> str:
    if cluster is None:
        return "server: external (BALROG_TEST_DSN), not pinned"
    for pid in _server_pids(cluster):
        try:
            os.sched_setaffinity(pid, cpus)
        except OSError:
            pass  # a child that exited meanwhile
    return f"server on CPUs {sorted(cpus)}"


def make_target(cluster: Any) -> wl.Target:
    pg_args = ["-h", cluster.host, "-p", str(cluster.port), "-U", cluster.user, cluster.dbname]
    return wl.Target(conninfo=cluster.conninfo, dsn=cluster.dsn, pg_args=pg_args)


def create_tables(t: wl.Target, rows: int) -> None:
    import psycopg

    with psycopg.connect(t.conninfo, autocommit=True) as conn:
        # One statement per execute: VACUUM refuses to run in a multi-statement string.
        for statement in wl.TABLES_SQL.format(rows=rows).split(";"):
            if statement.strip():
                conn.execute(statement.encode())


def run_child(
    label: str, pinned: bool, t: wl.Target, s: wl.Sizes, args: argparse.Namespace
) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--child", "--label", label, "--cases", args.cases]
    argv += ["--sizes", json.dumps(asdict(s)), "--target", json.dumps(asdict(t))]
    argv += ["--quick"] if args.quick else []
    prefix = ["taskset", "-c", "0"] if pinned else []
    done = subprocess.run(
        [*prefix, *argv], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    if done.returncode:
        return {"_meta": {"note": f"child failed with exit code {done.returncode}"}}
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _elf_section_names(path: Path) -> set[str]:
    """Section names of an ELF64 little-endian shared object (enough to spot DWARF)."""
    data = path.read_bytes()
    shoff = int.from_bytes(data[0x28:0x30], "little")
    shentsize, shnum, shstrndx = (int.from_bytes(data[o : o + 2], "little") for o in (0x3A, 0x3C, 0x3E))

    def header(i: int) -> tuple[int, int, int]:
        base = shoff + i * shentsize
        name = int.from_bytes(data[base : base + 4], "little")
        return (
            name,
            int.from_bytes(data[base + 0x18 : base + 0x20], "little"),
            int.from_bytes(data[base + 0x20 : base + 0x28], "little"),
        )

    _, str_off, str_size = header(shstrndx)
    table = data[str_off : str_off + str_size]
    return {table[n : table.index(b"\0", n)].decode() for n, _, _ in map(header, range(shnum))}


def _balrog_build() -> str:
    """Which _pg extension is measured: a debug build is 10-30× slower, so say so loudly."""
    try:
        from balrog import _pg
    except ImportError as exc:
        return f"balrog._pg not importable: {exc}"
    so = Path(_pg.__file__ or "")
    # The release profile has debug = false: a .debug_info section means a debug build.
    kind = "DEBUG build" if ".debug_info" in _elf_section_names(so) else "release build"
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(so.stat().st_mtime))
    return f"{kind}: {so} ({so.stat().st_size // 2**20} MB, built {stamp})"


def parent(args: argparse.Namespace) -> None:
    from support.pg import cluster_from_env, start_cluster

    s = QUICK if args.quick else FULL
    if args.rounds:
        s = wl.Sizes(**{**asdict(s), "rounds": args.rounds})
    external = cluster_from_env()
    cluster = external or start_cluster()
    runs: dict[str, Any] = {}
    try:
        t = make_target(cluster)
        create_tables(t, s.rows)
        all_cpus = set(range(os.cpu_count() or 1))
        for label, pinned in (("pinned", True), ("unpinned", False)):
            note = pin_server(None if external else cluster, {0} if pinned else all_cpus)
            client = "client taskset -c 0" if pinned else "client unpinned"
            runs[label] = run_child(label, pinned, t, s, args)
            runs[label].setdefault("_meta", {})["note"] = f"{client}; {note}"
    finally:
        if external is None:
            cluster.destroy()
    meta = {"sizes": asdict(s), "balrog_pg": _balrog_build(), "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(f"\nbalrog-pg benchmark: {meta['balrog_pg']}; sizes {meta['sizes']}\n")
    for label, results in runs.items():
        print("\n".join(report(label, results)), end="\n\n")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pg.json").write_text(json.dumps({"meta": meta, **runs}, indent=2, sort_keys=True) + "\n")
    png = chart(RESULTS / "pg.png", {k: v for k, v in runs.items() if any(c.key in v for c in CASES)})
    print(f"results: {RESULTS / 'pg.json'}; chart: {png}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small counts, one round: a smoke run")
    ap.add_argument("--rounds", type=int, default=0, help="timed rounds per case (default 5, quick 1)")
    ap.add_argument("--cases", default="select1,params,fetch,executemany,copy,pool,memory")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--label", default="", help=argparse.SUPPRESS)
    ap.add_argument("--sizes", default="", help=argparse.SUPPRESS)
    ap.add_argument("--target", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    child(args) if args.child else parent(args)


if __name__ == "__main__":
    main()
