"""balrog-core bridge: per-op cost of green and blocking waits, against the usual way.

Side by side in one run (pinned to CPU 0, then unpinned):

* green, balrog: a no-op op waited from green tasks — ``noop`` finishes during its first
  poll; ``yield`` is pending once and finishes on a tokio thread, so it takes the whole
  path (spawn → tokio → hub queue → eventfd → resume);
* green, usual way: the same no-op run on a tokio thread that takes the GIL and calls
  ``loop.call_soon_threadsafe(fut.set_result, None)`` (as pyo3-async-runtimes does),
  awaited from a greenlet through a SQLAlchemy-style ``greenlet_spawn``/``await_only``;
* blocking, balrog vs a plain Python thread waiting for the same op run on a tokio thread
  (``concurrent.futures.Future`` set from the tokio thread).

Usage: python benches/core_bench.py [--quick]
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import sys

from greenlet import getcurrent, greenlet

import balrog
from balrog import _core

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import bar_chart, median_time, run_pinned_and_unpinned, timed, write_results

# -- the usual way: a SQLAlchemy-style greenlet bridge over asyncio futures -----------------


def await_only(awaitable: object) -> object:
    """From inside a bridged greenlet: hand the awaitable to the driver and wait."""
    return getcurrent().parent.switch(awaitable)


async def greenlet_spawn(fn, *args):  # type: ignore[no-untyped-def]
    child = greenlet(fn)
    pending = child.switch(*args)
    while not child.dead:
        try:
            value = await pending
        except BaseException as exc:
            pending = child.throw(exc)
        else:
            pending = child.switch(value)
    return pending


def usual_noop(loop: asyncio.AbstractEventLoop) -> object:
    future = loop.create_future()
    _core._noop_call(loop.call_soon_threadsafe, future.set_result, None)
    return await_only(future)


# -- workloads ------------------------------------------------------------------------------


def green_balrog(make_op, tasks: int, per_task: int):  # type: ignore[no-untyped-def]
    wait = balrog.wait

    def body() -> None:
        for _ in range(per_task):
            wait(make_op())

    async def main() -> None:
        await asyncio.gather(*(balrog.green(body)() for _ in range(tasks)))

    return lambda: asyncio.run(main())


def green_usual(tasks: int, per_task: int):  # type: ignore[no-untyped-def]
    async def main() -> None:
        loop = asyncio.get_running_loop()

        def body() -> None:
            for _ in range(per_task):
                usual_noop(loop)

        await asyncio.gather(*(greenlet_spawn(body) for _ in range(tasks)))

    return lambda: asyncio.run(main())


def blocking_balrog(make_op, ops: int):  # type: ignore[no-untyped-def]
    def run() -> None:
        for _ in range(ops):
            balrog.wait(make_op())

    return run


def blocking_plain_thread(ops: int):  # type: ignore[no-untyped-def]
    def run() -> None:
        for _ in range(ops):
            future: concurrent.futures.Future[None] = concurrent.futures.Future()
            _core._noop_call(future.set_result, None)
            future.result()

    return run


def measure(quick: bool) -> dict[str, float]:
    rounds = 3 if quick else 7
    ops = 20_000 if quick else 100_000
    results: dict[str, float] = {}
    for tasks in (1, 1000):
        per = ops // tasks
        results[f"green noop x{tasks} balrog"] = median_time(
            timed(green_balrog(_core.noop, tasks, per), ops), rounds
        )
        results[f"green yield x{tasks} balrog"] = median_time(
            timed(green_balrog(_core.yield_now, tasks, per), ops), rounds
        )
        usual_ops = ops // 4  # the usual way is slow: fewer ops keep the run short
        results[f"green x{tasks} usual way"] = median_time(
            timed(green_usual(tasks, usual_ops // tasks), usual_ops), rounds
        )
    results["blocking noop balrog"] = median_time(timed(blocking_balrog(_core.noop, ops), ops), rounds)
    results["blocking yield balrog"] = median_time(timed(blocking_balrog(_core.yield_now, ops), ops), rounds)
    results["blocking plain thread"] = median_time(timed(blocking_plain_thread(ops // 4), ops // 4), rounds)
    return results


def report(all_results: dict[str, dict[str, float]]) -> None:
    for label, r in all_results.items():
        print(f"\n== {label} (µs per op, median) ==")
        for case, value in r.items():
            print(f"  {case:28s} {value:9.2f}")
        print("  ratios (usual way / balrog; >1 means balrog is faster):")
        for tasks in (1, 1000):
            usual = r[f"green x{tasks} usual way"]
            print(
                f"    green x{tasks:<5d} noop {usual / r[f'green noop x{tasks} balrog']:7.1f}×"
                f"   yield {usual / r[f'green yield x{tasks} balrog']:7.1f}×"
            )
        plain = r["blocking plain thread"]
        print(
            f"    blocking      noop {plain / r['blocking noop balrog']:7.1f}×"
            f"   yield {plain / r['blocking yield balrog']:7.1f}×"
        )
        y1000 = r["green yield x1000 balrog"]
        print(
            f"  target: green op at 1,000 tasks ≤ 5 µs and ≤ 1/3 of the usual way: "
            f"yield {y1000:.2f} µs, {y1000 / r['green x1000 usual way']:.2f} of usual"
        )


def main() -> None:
    quick = "--quick" in sys.argv
    if "--child" in sys.argv:
        print(json.dumps(measure(quick)))
        return
    all_results = run_pinned_and_unpinned(__file__, ["--quick"] if quick else [])
    report(all_results)
    write_results("core", all_results)
    chart = bar_chart("core", "balrog-core: µs per op (lower is better)", "µs per op", all_results)
    if chart:
        print(f"\nchart: {chart}")


if __name__ == "__main__":
    main()
