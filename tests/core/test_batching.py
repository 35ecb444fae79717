"""Green completions are batched: the loop wakes once per batch, not once per op."""

from __future__ import annotations

import asyncio

import pytest

import balrog
from balrog import _bridge, _core


def test_one_loop_wake_up_serves_many_completions(monkeypatch: pytest.MonkeyPatch) -> None:
    wakeups = 0
    original = _bridge._Hub._on_ready

    def counting(self: _bridge._Hub) -> None:
        nonlocal wakeups
        wakeups += 1
        original(self)

    monkeypatch.setattr(_bridge._Hub, "_on_ready", counting)
    tasks, ops_per_task = 1000, 10

    def body() -> None:
        for _ in range(ops_per_task):
            balrog.wait(_core.yield_now())  # finishes on a tokio thread, through the hub

    async def main() -> None:
        await asyncio.gather(*(balrog.green(body)() for _ in range(tasks)))

    asyncio.run(main())
    ops = tasks * ops_per_task
    assert 0 < wakeups < ops / 2, f"{wakeups} wake-ups for {ops} completions"


def test_ops_from_many_tasks_resume_the_right_task() -> None:
    # Keys must route each completion to the task that waits for it.
    def body(n: int) -> list[int]:
        seen = []
        for step in range(5):
            balrog.sleep(0.001 * ((n + step) % 3))
            seen.append(n)
        return seen

    async def main() -> list[list[int]]:
        return await asyncio.gather(*(balrog.green(body)(n) for n in range(300)))

    assert asyncio.run(main()) == [[n] * 5 for n in range(300)]
