"""Green tasks: scale on one thread, exceptions, contextvars, cancellation, nesting."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import traceback

import pytest

import balrog
from balrog import _core

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


def test_ten_thousand_green_tasks_with_100_timer_ops_each_on_one_thread():
    threads: set[int] = set()
    completed: list[int] = []

    def worker(n: int) -> int:
        for _ in range(100):
            balrog.sleep(0)
        threads.add(threading.get_ident())
        completed.append(n)
        return n

    async def main() -> list[int]:
        threads.add(threading.get_ident())
        return await asyncio.gather(*(balrog.green(worker)(n) for n in range(10_000)))

    results = asyncio.run(main())
    assert results == list(range(10_000))
    assert len(completed) == 10_000
    assert len(threads) == 1, "every green task ran on the event loop's thread"


def test_green_tasks_really_interleave():
    # Two tasks that each wait for the other prove they are suspended, not run in turn.
    events: list[str] = []

    def task(name: str, delay: float) -> None:
        events.append(f"{name} start")
        balrog.sleep(delay)
        events.append(f"{name} end")

    async def main() -> None:
        await asyncio.gather(balrog.green(task)("a", 0.2), balrog.green(task)("b", 0.05))

    asyncio.run(main())
    assert events == ["a start", "b start", "b end", "a end"]


def test_exception_and_traceback_pass_through_unchanged():
    class Boom(Exception):
        pass

    raised: list[BaseException] = []

    def failing_view() -> None:
        balrog.sleep(0)
        error = Boom("kitchen unavailable")
        raised.append(error)
        raise error

    async def main() -> None:
        await balrog.green(failing_view)()

    with pytest.raises(Boom) as info:
        asyncio.run(main())
    assert info.value is raised[0]
    frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "failing_view" in frames


def test_contextvars_are_copied_from_the_spawner_and_isolated():
    seen: dict[str, str] = {}

    def handler(name: str) -> None:
        seen[f"{name} before"] = request_id.get()
        request_id.set(name)
        balrog.sleep(0.01)
        seen[f"{name} after"] = request_id.get()

    async def main() -> None:
        request_id.set("outer")
        await asyncio.gather(balrog.green(handler)("a"), balrog.green(handler)("b"))
        seen["outer after"] = request_id.get()

    asyncio.run(main())
    assert seen == {
        "a before": "outer",
        "b before": "outer",
        "a after": "a",
        "b after": "b",
        "outer after": "outer",
    }


def test_cancelling_the_asyncio_task_raises_inside_the_green_task_at_its_wait():
    log: list[str] = []

    def slow() -> None:
        try:
            balrog.sleep(30)
        except asyncio.CancelledError:
            log.append("cancelled at wait")
            raise
        log.append("not reached")

    async def main() -> None:
        task = asyncio.ensure_future(balrog.green(slow)())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()

    asyncio.run(main())
    assert log == ["cancelled at wait"]


def test_green_task_may_handle_cancellation_and_keep_working():
    def stubborn() -> str:
        try:
            balrog.sleep(30)
        except asyncio.CancelledError:
            balrog.sleep(0.01)  # cleanup I/O after cancellation still works
            return "cleaned up"
        return "not reached"

    async def main() -> str:
        task = asyncio.ensure_future(balrog.green(stubborn)())
        await asyncio.sleep(0.05)
        task.cancel()
        return await task

    assert asyncio.run(main()) == "cleaned up"


def test_nesting_spawn_gather_run_and_hide_inside_green_tasks():
    def leaf(n: int) -> int:
        balrog.sleep(0.001)
        assert balrog.mode() == "green"
        return n * n

    def middle(n: int) -> list[int]:
        # a green task fanning out to more green tasks
        return balrog.gather(*(lambda k=k: leaf(k) for k in range(n)))

    def top() -> tuple[list[list[int]], int, str]:
        handles = [balrog.spawn(middle, n) for n in (2, 3)]
        nested = [balrog.join(h) for h in handles]
        direct = balrog.run(leaf, 7)  # run() inside a green task just calls the function
        slept = balrog.hide(asyncio.sleep)(0.001, result="asyncio ok")
        return nested, direct, slept

    nested, direct, slept = balrog.run(top)
    assert nested == [[0, 1], [0, 1, 4]]
    assert direct == 49
    assert slept == "asyncio ok"


def test_mode_reports_where_code_runs():
    assert balrog.mode() == "blocking"
    assert balrog.run(balrog.mode) == "green"

    async def main() -> str:
        return balrog.mode()

    assert asyncio.run(main()) == "async"


def test_await_op_from_asyncio_code():
    async def main() -> None:
        assert await _core.sleep(0.001) is None
        assert await _core.noop() is None

    asyncio.run(main())


def test_panic_in_native_op_is_a_python_exception_in_every_mode():
    # pyo3's PanicException (a BaseException; each extension module has its own class).
    async def main() -> None:
        await _core._panicking_op()

    for attempt in (
        lambda: balrog.wait(_core._panicking_op()),
        lambda: balrog.run(lambda: balrog.wait(_core._panicking_op())),
        lambda: asyncio.run(main()),
    ):
        with pytest.raises(BaseException, match="deliberate panic") as info:
            attempt()
        assert type(info.value).__name__ == "PanicException"


def test_spawn_join_in_blocking_mode_uses_threads():
    idents: set[int] = set()

    def work(n: int) -> int:
        idents.add(threading.get_ident())
        balrog.sleep(0.01)
        return n + 1

    handles = [balrog.spawn(work, n) for n in range(4)]
    assert [balrog.join(h) for h in handles] == [1, 2, 3, 4]
    assert threading.get_ident() not in idents


def test_green_call_runs_a_function_as_a_green_task():
    def work(a: int, *, b: int) -> tuple[str, int]:
        balrog.sleep(0.01)
        return balrog.mode(), a + b

    def fails() -> None:
        balrog.sleep(0)
        raise KeyError("inside")

    async def main() -> list[object]:
        out: list[object] = [await balrog.green_call(work, 1, b=2)]
        with pytest.raises(KeyError, match="inside"):
            await balrog.green_call(fails)
        # Cancelling the awaiting task reaches the green task at its wait.
        task = asyncio.ensure_future(balrog.green_call(balrog.sleep, 30))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        out.append(task.cancelled())
        return out

    assert asyncio.run(main()) == [("green", 3), True]


def test_a_green_result_is_released_when_the_caller_drops_it():
    # Nothing of the bridge (the future the loop resumes the task with) keeps the result
    # alive: an object whose finalizer matters (an open server cursor that warns, a file)
    # goes as soon as the caller lets it go, within the same task step.
    import weakref

    class Result:
        pass

    def produce(suspend: bool) -> Result:
        if suspend:
            balrog.sleep(0.001)
        return Result()

    async def main() -> list[bool]:
        out = []
        for suspend in (False, True):
            obj = await balrog.green_call(produce, suspend)
            ref = weakref.ref(obj)
            del obj
            out.append(ref() is None)
        return out

    assert asyncio.run(main()) == [True, True]


def test_event_loops_do_not_leak_their_hubs():
    # Each loop balrog runs green tasks on gets a hub (an eventfd, and an epoll instance
    # once a socket is armed). A hub refers to its loop, so a weak-keyed registry alone kept
    # every loop and its descriptors for ever; closed loops' hubs are dropped now.
    import gc
    import os

    def descriptors() -> int:
        return len(os.listdir("/proc/self/fd"))

    def body() -> None:
        balrog.sleep(0)

    balrog.run(body)
    gc.collect()
    before = descriptors()
    for _ in range(30):
        balrog.run(body)
        asyncio.run(balrog.green(body)())
    gc.collect()
    assert descriptors() - before < 10


# -- ops that finish inline: the loop still turns -------------------------------------------
#
# A socket op may find its answer at once and finish without suspending (the native side
# reads right after writing when that pays); _core.noop() always finishes that way. A task
# looping over such ops must still let the loop and the other tasks run now and then.


def test_a_green_task_finishing_ops_inline_still_lets_the_loop_turn():
    turns = 0
    done = False

    def busy() -> int:
        for _ in range(10_000):
            balrog.wait(_core.noop())
        return 10_000

    async def ticker() -> None:
        nonlocal turns
        while not done:
            turns += 1
            await asyncio.sleep(0)

    async def main() -> tuple[int, int]:
        nonlocal done
        ticking = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        start = turns
        ops = await balrog.green(busy)()
        done = True
        await ticking
        return turns - start, ops

    turned, ops = asyncio.run(main())
    assert ops == 10_000
    # 128 inline ops at most between two turns of the loop (tokio's budget too).
    assert turned >= 10_000 // 128


def test_awaiting_ops_that_finish_inline_still_lets_the_loop_turn():
    turns = 0
    done = False

    async def busy() -> None:
        for _ in range(10_000):
            await _core.noop()

    async def ticker() -> None:
        nonlocal turns
        while not done:
            turns += 1
            await asyncio.sleep(0)

    async def main() -> int:
        nonlocal done
        ticking = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        start = turns
        await busy()
        done = True
        await ticking
        return turns - start

    assert asyncio.run(main()) >= 10_000 // 128


def test_cancelling_a_task_that_finishes_ops_inline_raises_at_a_wait_before_an_op_starts():
    started = 0

    def busy() -> None:
        nonlocal started
        while True:
            started += 1
            balrog.wait(_core.noop())

    async def main() -> None:
        task = asyncio.ensure_future(balrog.green(busy)())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    # It was suspended only to let the loop turn, and the cancellation came then: at the
    # 129th op of a streak, before that op started (so `started` counts it, none ran).
    assert started % 128 == 1
