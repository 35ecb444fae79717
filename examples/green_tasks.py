"""10,000 green tasks on one thread: plain sync functions, no async/await, all waiting at once.

Each task runs ordinary sync code that sleeps on tokio's timer a few times (as a view would
wait on its database or an HTTP call). Run as green tasks, they all wait concurrently on
one OS thread; the same function called from a plain thread simply blocks.
"""

from __future__ import annotations

import asyncio
import threading
import time

import balrog

TASKS = 10_000
WAITS_PER_TASK = 10
WAIT_SECONDS = 0.05


def handle_request(number: int) -> int:
    """An ordinary sync function: no async, no await."""
    for _ in range(WAITS_PER_TASK):
        balrog.sleep(WAIT_SECONDS)  # stands for a database query or an HTTP call
    return threading.get_ident()


async def serve_all() -> list[int]:
    return await asyncio.gather(*(balrog.green(handle_request)(n) for n in range(TASKS)))


def main() -> None:
    print(
        f"balrog demo: {TASKS:,} sync functions, each waiting {WAITS_PER_TASK} × {WAIT_SECONDS * 1000:.0f} ms"
    )
    start = time.perf_counter()
    handle_request(0)
    one = time.perf_counter() - start
    print(f"  one call in plain blocking mode:          {one:6.2f} s  (mode: {balrog.mode()})")

    start = time.perf_counter()
    threads = asyncio.run(serve_all())
    elapsed = time.perf_counter() - start
    waits = TASKS * WAITS_PER_TASK
    print(f"  {TASKS:,} calls as green tasks, concurrently: {elapsed:6.2f} s")
    print(f"  OS threads that ran them:                 {len(set(threads))}")
    print(f"  waits served:                             {waits:,} ({waits / elapsed:,.0f} per second)")
    print(f"  serial time it would have taken:          {one * TASKS / 3600:6.1f} h")


if __name__ == "__main__":
    main()
