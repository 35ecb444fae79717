"""Fan-out inside sync code: spawn / join / gather, and sleep.

In a green task (or async code) a spawned function is another green task on the same loop;
in blocking mode it runs on its own thread, so the same code is concurrent in both modes.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from asyncio import events
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from . import _core
from ._bridge import _await_sync, _drive, current_green_task, wait

R = TypeVar("R")

__all__ = ["ThreadTask", "gather", "join", "sleep", "spawn"]


class ThreadTask(Generic[R]):
    """A function running on its own thread (``spawn`` in blocking mode)."""

    def __init__(self, fn: Callable[..., R], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._result: R | None = None
        self._error: BaseException | None = None
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._main, fn, args, kwargs), daemon=True, name=f"balrog:{fn!r}"
        )
        self._thread.start()

    def _main(self, fn: Callable[..., R], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            self._result = fn(*args, **kwargs)
        except BaseException as exc:
            self._error = exc

    def join(self) -> R:
        while self._thread.is_alive():
            self._thread.join(0.1)  # short slices keep Ctrl-C responsive
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]


Task = asyncio.Task[Any] | ThreadTask[Any]


def spawn(fn: Callable[..., R], *args: Any, **kwargs: Any) -> Task:
    """Start ``fn(*args, **kwargs)`` concurrently; ``join()`` the handle for its result."""
    if current_green_task() is not None or events._get_running_loop() is not None:
        return asyncio.get_running_loop().create_task(_drive(fn, args, kwargs))
    return ThreadTask(fn, args, kwargs)


def join(task: Task) -> Any:
    """Wait for a spawned task and return its result (or raise its exception)."""
    if isinstance(task, ThreadTask):
        return task.join()
    return _await_sync(task)


def gather(*fns: Callable[[], Any]) -> list[Any]:
    """Run zero-argument callables concurrently; results in order, first error raised."""
    tasks = [spawn(fn) for fn in fns]
    return [join(task) for task in tasks]


def sleep(seconds: float) -> None:
    """Sleep on the runtime's timer: suspends only the green task, or blocks the thread."""
    wait(_core.sleep(seconds))
