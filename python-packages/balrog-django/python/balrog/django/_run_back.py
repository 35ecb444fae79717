"""``async_to_sync`` from green code, and ``sync_to_async`` back into the same green task.

asgiref's ``async_to_sync`` refuses to run on a thread whose event loop is running, and a
green task is exactly that. From a green task the coroutine can simply run on the loop
while only the green task waits (``balrog.hide``). asgiref's rule for the way back is kept:
thread-sensitive ``sync_to_async`` calls made by that coroutine (Django wraps sync
middleware, sync views and the async ORM methods this way) run in the outermost sync
"thread" — here, back in the very green task that is waiting, so they use its database
connection and its green I/O. That is done with asgiref's own hook,
``ThreadSensitiveContext(executor=...)``, and a small executor that the waiting green task
serves.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
from collections import deque
from collections.abc import Callable
from typing import Any

from asgiref.sync import AsyncToSync, ThreadSensitiveContext

import balrog

_MISSING = object()
WorkItem = tuple[concurrent.futures.Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class GreenRunBack(concurrent.futures.Executor):
    """Runs submitted sync callables inside one green task, while that task serves it.

    ``submit`` is called on the loop thread (by asgiref's SyncToAsync); the green task that
    created the executor runs the work between its waits in :meth:`serve`. Work submitted
    when nobody serves (a task that outlived its async_to_sync call) runs as a green task
    of its own.
    """

    def __init__(self) -> None:
        self._queue: deque[WorkItem] = deque()
        self._wakeup: asyncio.Future[None] | None = None
        self._serving = False
        self._wait = balrog.hide(self._next_event)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        item = (future, fn, args, kwargs)
        if not self._serving:
            asyncio.get_running_loop().create_task(balrog.green(_run_item)(item))
            return future
        self._queue.append(item)
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)
        return future

    def serve(self, until: asyncio.Future[Any]) -> None:
        """Run submitted work in the calling green task until ``until`` is done."""
        self._serving = True
        try:
            while True:
                while self._queue:
                    _run_item(self._queue.popleft())
                if until.done():
                    return
                self._wait(until)
        finally:
            self._serving = False

    async def _next_event(self, until: asyncio.Future[Any]) -> None:
        if self._queue or until.done():
            return
        wakeup = self._wakeup = asyncio.get_running_loop().create_future()

        def wake(_: object) -> None:
            if not wakeup.done():
                wakeup.set_result(None)

        until.add_done_callback(wake)
        try:
            await wakeup
        finally:
            until.remove_done_callback(wake)
            self._wakeup = None


def _run_item(item: WorkItem) -> None:
    future, fn, args, kwargs = item
    if not future.set_running_or_notify_cancel():
        return
    try:
        result = fn(*args, **kwargs)
    except asyncio.CancelledError as exc:
        # The serving green task itself was cancelled: report it, and let it unwind.
        future.set_exception(exc)
        raise
    except BaseException as exc:
        future.set_exception(exc)
    else:
        future.set_result(result)


def _copy_changed_vars(source: contextvars.Context) -> None:
    """What asgiref does on return from async_to_sync: context changes flow back."""
    for var, value in source.items():
        if var.get(_MISSING) is not value:
            var.set(value)


def async_to_sync_in_green(
    awaitable: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Run ``awaitable(*args, **kwargs)`` on the loop while the calling green task waits."""
    runback = GreenRunBack()

    async def main() -> Any:
        async with ThreadSensitiveContext(executor=runback):
            return await awaitable(*args, **kwargs)

    context = contextvars.copy_context()
    task = asyncio.get_running_loop().create_task(main(), context=context)
    try:
        runback.serve(task)
    except BaseException:
        # Our green task is being torn down (e.g. cancelled): take the coroutine with it,
        # still serving whatever cleanup it sends back here.
        task.cancel()
        try:
            runback.serve(task)
        except BaseException:
            pass
        raise
    _copy_changed_vars(context)
    return task.result()


_original_call = AsyncToSync.__call__


def _green_aware_call(self: AsyncToSync[Any, Any], *args: Any, **kwargs: Any) -> Any:
    if balrog.current_green_task() is not None:
        return async_to_sync_in_green(self.awaitable, args, kwargs)
    return _original_call(self, *args, **kwargs)


def install_green_async_to_sync() -> None:
    """Let ``async_to_sync`` work from green tasks (unchanged everywhere else); idempotent."""
    AsyncToSync.__call__ = _green_aware_call  # type: ignore[method-assign]
