"""balrog._wakeup.Wakeup: one waiter's one-shot wake-up, in the waiter's mode (a green task
suspends only itself, a thread blocks), set from a green task, a callback or a thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

import balrog
from balrog._wakeup import Wakeup


def test_thread_waiter_set_from_another_thread() -> None:
    wakeup = Wakeup()
    setter = threading.Timer(0.05, wakeup.set)
    setter.start()
    assert wakeup.wait(10) is True
    assert wakeup.is_set
    setter.join()


def test_thread_waiter_times_out() -> None:
    wakeup = Wakeup()
    assert wakeup.wait(0.05) is False
    assert not wakeup.is_set
    assert wakeup.set() is True  # late: harmless
    assert wakeup.wait(0) is True


def test_set_before_wait_returns_at_once() -> None:
    def body() -> bool:
        wakeup = Wakeup()
        wakeup.set()
        return wakeup.wait(None)

    assert body() is True
    assert balrog.run(body) is True


def test_green_waiter_set_by_another_green_task() -> None:
    order: list[str] = []

    def waiter(wakeup_box: list[Wakeup]) -> bool:
        wakeup_box.append(Wakeup())
        order.append("waiting")
        woken = wakeup_box[0].wait(10)
        order.append("woken")
        return woken

    def setter(wakeup_box: list[Wakeup]) -> None:
        while not wakeup_box:
            balrog.sleep(0.01)
        order.append("set")
        assert wakeup_box[0].set() is True
        order.append("setter goes on")  # set() never switches away from the caller

    async def main() -> list[object]:
        box: list[Wakeup] = []
        return await asyncio.gather(balrog.green(waiter)(box), balrog.green(setter)(box))

    assert asyncio.run(main()) == [True, None]
    assert order == ["waiting", "set", "setter goes on", "woken"]


def test_green_waiter_set_from_a_thread() -> None:
    def body() -> bool:
        wakeup = Wakeup()
        setter = threading.Timer(0.05, wakeup.set)
        setter.start()
        try:
            return wakeup.wait(10)
        finally:
            setter.join()

    assert balrog.run(body) is True


def test_green_waiter_times_out_and_other_tasks_run() -> None:
    ticks: list[int] = []

    def waiter() -> bool:
        return Wakeup().wait(0.1)

    def ticker() -> None:
        for i in range(3):
            ticks.append(i)
            balrog.sleep(0.01)

    async def main() -> list[object]:
        return await asyncio.gather(balrog.green(waiter)(), balrog.green(ticker)())

    assert asyncio.run(main()) == [False, None]
    assert ticks == [0, 1, 2]


async def _cancelled_green_waiter() -> Wakeup:
    """A Wakeup whose green waiter's task was cancelled while it waited."""
    boxes: list[Wakeup] = []

    def waiter() -> None:
        boxes.append(Wakeup())
        boxes[0].wait(None)

    task = asyncio.ensure_future(balrog.green(waiter)())
    while not boxes:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return boxes[0]


def test_green_waiter_cancelled() -> None:
    async def main() -> None:
        wakeup = await _cancelled_green_waiter()
        # A set() after the waiter left finds nobody: it must not resume a dead wait.
        assert wakeup.set() is True
        await asyncio.sleep(0.01)

    asyncio.run(main())


def test_set_after_the_loop_closed_reports_false() -> None:
    wakeup = asyncio.run(_cancelled_green_waiter())
    assert wakeup.set() is False


def test_wait_from_another_greenlet_is_refused() -> None:
    boxes: list[Wakeup] = []

    def creator() -> None:
        boxes.append(Wakeup())

    def other() -> None:
        with pytest.raises(RuntimeError, match="created it"):
            boxes[0].wait(0)

    async def main() -> None:
        await balrog.green(creator)()
        await balrog.green(other)()

    asyncio.run(main())
