"""The blocking/green bridge, Python side.

A *green task* is a greenlet running a sync function on behalf of an asyncio task. When
the function reaches a balrog I/O call, :func:`wait` starts the native op and switches to
the event loop's greenlet; the loop keeps serving everything else. When the op finishes
on a tokio thread, its key lands in the loop's hub (one eventfd wake-up per batch of
completions), and the hub's reader callback switches straight back into the green task —
no asyncio future, no task step per op.

An op that runs on a connection's own runtime and waits only for its socket is not handed
to a thread at all: its socket is armed in the loop's ``SocketWatch`` and the loop polls the
op on readiness (``Op._drive``, see :meth:`_Hub._on_sockets`). No thread hop per query.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import itertools
import os
import threading
import weakref
from asyncio import events
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal, ParamSpec, Protocol, TypeVar

from greenlet import getcurrent, greenlet

from . import _core, _stall

P = ParamSpec("P")
R = TypeVar("R")

__all__ = [
    "GreenTask",
    "WrongModeError",
    "allow_blocking",
    "await_op",
    "green",
    "green_call",
    "hide",
    "mode",
    "run",
    "wait",
]


class NativeOp(Protocol):
    """What every balrog wheel's native op offers (``balrog._core.Op`` and its twins)."""

    def wait(self, timeout: float | None = None) -> Any: ...
    def _start(self, hub: int, key: int, epfd: int = -1) -> int:
        """Start for a green/asyncio waiter: 0 pending, 1 finished inline, 2 pending and
        first of a new batch (call ``type(op)._flush()`` soon); ops of wheels built since
        the loop driver also 3/4/5: waiting for socket ``op._fd`` to be readable/writable/
        either, call ``op._drive()`` then (only when this module sets ``_LOOP_DRIVE``).
        With ``epfd`` (the loop's ``SocketWatch``) such an op arms its socket there itself,
        and ``_drive`` re-arms it; wheels built before that take only two arguments."""
        ...

    @staticmethod
    def _flush() -> None: ...
    def _result(self) -> Any: ...
    def cancel(self) -> None: ...


class WrongModeError(RuntimeError):
    """A blocking balrog call was made on a thread whose asyncio loop is running.

    Blocking there would stall every task on the loop. The fix is to run the sync code as a
    green task (``await balrog.green(func)(...)``), or to ``await`` the native operation.
    """


_WRONG_MODE_MESSAGE = (
    "balrog: a blocking I/O call was made on a thread whose asyncio event loop is running, "
    "outside a green task; it would stall every other task on this loop. Run the sync code "
    "as a green task instead: `await balrog.green(func)(*args)` (Django: serve with "
    "balrog.django.asgi), or use `await` from async code. To block the loop anyway, wrap "
    "the call in `with balrog.allow_blocking():` or set BALROG_ALLOW_BLOCKING=1."
)

_ALLOW_BLOCKING_ENV = os.environ.get("BALROG_ALLOW_BLOCKING", "") not in ("", "0")
_thread_state = threading.local()


class allow_blocking:
    """Context manager: let blocking balrog calls run on a thread with a running loop."""

    def __enter__(self) -> None:
        _thread_state.allow = getattr(_thread_state, "allow", 0) + 1

    def __exit__(self, *exc: object) -> None:
        _thread_state.allow -= 1


def _blocking_allowed() -> bool:
    return _ALLOW_BLOCKING_ENV or getattr(_thread_state, "allow", 0) > 0


_START_DONE = 1
_START_NEEDS_FLUSH = 2
# 3, 4, 5 = 2 + interest bits: wait until op._fd is readable (1), writable (2), or either.
_START_WAIT_SOCKET = 2

# Read by the native ops (once per process): this bridge understands the codes above.
# BALROG_LOOP_DRIVE=0 keeps every op on the hub path (for comparisons and diagnosis).
_LOOP_DRIVE = os.environ.get("BALROG_LOOP_DRIVE", "1") != "0"

# Readiness passes per SocketWatch callback (see _Hub._on_sockets).
_DRIVE_PASSES = 4

# Ops a loop may finish inline in a row before the next one first lets the loop turn. A
# socket op often finds its answer at once (the native side reads right after writing when
# that pays), and then nothing suspends: without this budget a green task looping over
# queries would keep the loop, and every other task, waiting until it ends. tokio gives a
# task the same budget of 128 before it must yield.
_INLINE_BUDGET = 128


class _Hub:
    """One per event loop: the native completion queue and who waits for which key."""

    __slots__ = (
        "__weakref__",
        "add_reader",
        "address",
        "arm_socket",
        "call_later",
        "call_soon",
        "call_soon_threadsafe",
        "epfd",
        "inline",
        "keys",
        "native",
        "socket_waits",
        "waiters",
        "watch",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.native = _core.Hub()
        self.address: int = self.native.address
        self.waiters: dict[int, Callable[[], object]] = {}
        self.keys = itertools.count(1)
        # Ops finished inline in a row, since the last one that suspended (_INLINE_BUDGET).
        self.inline = 0
        self.call_soon = loop.call_soon
        self.call_soon_threadsafe = loop.call_soon_threadsafe
        self.call_later = loop.call_later
        self.add_reader = loop.add_reader
        # Loop-driven ops by key: (op, its socket, who waits). Their sockets are armed in
        # `watch`, created on first use; `arm_socket(fd, interest, key)` is its bound `arm`.
        # Once `epfd` (the watch's fd) is known, ops arm their sockets themselves (socket
        # recorded as -1): see `_start_op`.
        # Only the op holding a connection's session is ever pending on its socket (an op
        # waiting for the connection's lock moves to a thread instead), so a socket is never
        # armed for two ops at once. A finished op's waiter is switched to directly; one
        # that moves to a thread gets a `waiters` entry, and its key comes out of the hub.
        self.socket_waits: dict[int, tuple[NativeOp, int, _SocketWaiter]] = {}
        self.watch: Any = None
        self.epfd = -1
        self.arm_socket: Callable[[int, int, int], None] = self._first_arm
        loop.add_reader(self.native.fileno(), self._on_ready)

    def schedule_flush(self, op: NativeOp) -> None:
        """Start this batch of ops once the tasks that are running now have suspended."""
        self.call_soon(type(op)._flush)

    def _on_ready(self) -> None:
        pop = self.waiters.pop
        for key in self.native.drain():
            resume = pop(key, None)
            if resume is not None:
                resume()

    def forget(self, key: int) -> None:
        """Stop waiting for ``key`` (the op is being cancelled): no resume will come."""
        self.waiters.pop(key, None)
        self.socket_waits.pop(key, None)

    def _first_arm(self, fd: int, interest: int, key: int) -> None:
        watch = self.watch = _core.SocketWatch()
        self.add_reader(watch.fileno(), self._on_sockets)
        self.arm_socket = watch.arm
        watch.arm(fd, interest, key)
        self.epfd = watch.fileno()

    def wait_socket(self, op: NativeOp, key: int, code: int, armed: bool, waiter: _SocketWaiter) -> None:
        """Drive ``op`` on this loop: arm its socket unless it did (``armed``, see
        :func:`_start_op`); ``waiter.switch()`` when it is done."""
        if armed:
            self.socket_waits[key] = (op, -1, waiter)
            return
        fd: int = op._fd  # type: ignore[attr-defined]
        try:
            self.arm_socket(fd, code - _START_WAIT_SOCKET, key)
        except BaseException:
            op.cancel()
            raise
        self.socket_waits[key] = (op, fd, waiter)

    def _on_sockets(self) -> None:
        """Poll every op whose socket became ready, all in this one loop callback.

        A finished op's green task is switched to right here and runs until its next wait:
        no asyncio handle, future or dict of waiters per op.
        """
        ready = self.watch.ready
        keys = ready()
        for _ in range(_DRIVE_PASSES):
            if not keys:
                return
            self._drive_ready(keys)
            # The tasks just resumed sent their next queries; answers that arrived
            # meanwhile are served now rather than after a full asyncio loop turn
            # (selector, handles). Bounded, so other callbacks still get their turn.
            keys = ready()
        if keys:
            self._drive_ready(keys)

    def _drive_ready(self, keys: list[int]) -> None:
        """Poll the ops of ``keys`` once each: resume, re-arm, or hand over to a thread."""
        waits = self.socket_waits
        pop = waits.pop
        for key in keys:
            entry = pop(key, None)
            if entry is None:
                continue  # cancelled meanwhile (a stale one-shot event)
            op, fd, waiter = entry
            try:
                code = op._drive()  # type: ignore[attr-defined]
                if code > _START_WAIT_SOCKET:
                    if fd >= 0:  # else the op re-armed its socket itself
                        self.arm_socket(fd, code - _START_WAIT_SOCKET, key)
                    waits[key] = entry
                    continue
            except BaseException as exc:  # a bug, not an I/O error (those are the op's result)
                _drive_failed(waiter, key, exc)
                continue
            if code == _START_DONE:
                waiter.switch()
            else:
                # It continues on a thread; its key comes out of the hub.
                self.waiters[key] = waiter.switch
                if code == _START_NEEDS_FLUSH:
                    self.schedule_flush(op)


# A hub holds its loop's bound methods, so a loop in here never dies by itself (weak keys
# do not help when the value refers to the key): hubs of closed loops are dropped when a new
# hub is made and when `run()` ends, which releases their eventfd and epoll descriptors.
_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Hub] = weakref.WeakKeyDictionary()


def _hub_for(loop: asyncio.AbstractEventLoop) -> _Hub:
    hub = _hubs.get(loop)
    if hub is None:
        _forget_closed_loops()
        hub = _hubs[loop] = _Hub(loop)
        _stall.watch(loop)
    return hub


def _forget_closed_loops() -> None:
    for loop in [loop for loop in list(_hubs) if loop.is_closed()]:
        _hubs.pop(loop, None)


class _SocketWaiter(Protocol):
    """Who waits for a loop-driven op: a :class:`GreenTask`, or :class:`_FutureWaiter`."""

    def switch(self) -> Any: ...
    def throw(self, exc: BaseException) -> Any: ...


class _FutureWaiter:
    """An asyncio awaiter of a loop-driven op (:func:`await_op`)."""

    __slots__ = ("future",)

    def __init__(self, future: asyncio.Future[None]) -> None:
        self.future = future

    def switch(self) -> None:
        if not self.future.done():
            self.future.set_result(None)

    def throw(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(exc)


def _drive_failed(waiter: _SocketWaiter, key: int, exc: BaseException) -> None:
    """Driving a loop-driven op raised: raise it at its waiter's wait."""
    if type(waiter) is GreenTask:
        waiting = waiter.waiting
        if waiting is None or waiting[0] != key:
            return
    waiter.throw(exc)


def _forget_hubs_after_fork() -> None:
    _hubs.clear()


os.register_at_fork(after_in_child=_forget_hubs_after_fork)


class GreenTask(greenlet):  # type: ignore[misc]
    """A sync function running as a greenlet on behalf of an asyncio task."""

    # No __slots__ (they would save ~1k instructions per wait): CPython clears slots before
    # greenlet's dealloc kills an unfinished greenlet, so the kill would run `_main`'s
    # cleanup on a half-cleared object; a __dict__ is cleared by greenlet itself, after.

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        hub: _Hub,
        done: asyncio.Future[Any],
    ) -> None:
        super().__init__(self._main, getcurrent())
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.hub = hub
        self.done = done
        # What the task is suspended on: (hub key or None, object with .cancel()).
        self.waiting: tuple[int | None, Any] | None = None

    def _main(self) -> None:
        try:
            # The result stays here, not in the future: the loop's handle that resumes the
            # awaiting task holds that future until the task's step ends, and with it the
            # result (an object whose finalizer should run once the caller drops it).
            self.result = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:
            if not self.done.done():
                self.done.set_exception(exc)
        else:
            if not self.done.done():
                self.done.set_result(None)
        finally:
            del self.fn, self.args, self.kwargs

    def _suspend(self, waiting: tuple[int | None, Any]) -> None:
        self.waiting = waiting
        try:
            self.parent.switch()
        finally:
            self.waiting = None

    def _deliver_cancel(self) -> None:
        """The awaiting asyncio task was cancelled: raise CancelledError at the current wait."""
        waiting = self.waiting
        if waiting is not None:
            key, target = waiting
            if key is not None:
                self.hub.forget(key)
            target.cancel()
        self.throw(asyncio.CancelledError())


async def _drive(fn: Callable[..., R], args: tuple[Any, ...], kwargs: dict[str, Any]) -> R:
    loop = events.get_running_loop()
    task = GreenTask(fn, args, kwargs, _hub_for(loop), loop.create_future())
    task.gr_context = contextvars.copy_context()
    task.switch()
    while True:
        done = task.done
        try:
            await done
            result: R = task.result
            del task.result
            return result
        except asyncio.CancelledError:
            if task.dead or not done.cancelled():
                raise
            # Our asyncio task was cancelled while the green task waits: hand the
            # cancellation to the green task at its current wait, then keep waiting for it.
            task.done = loop.create_future()
            task._deliver_cancel()


def _start_op(op: NativeOp, hub: _Hub, key: int) -> tuple[int, bool]:
    """``op._start`` for ``hub``; also says whether a socket-waiting op armed its socket
    in the hub's watch itself (then the bridge neither reads ``op._fd`` nor arms it)."""
    epfd = hub.epfd
    if epfd < 0:
        return op._start(hub.address, key), False
    try:
        return op._start(hub.address, key, epfd), True
    except TypeError:
        # A wheel built before `_start` took the watch (argument parsing fails before the
        # op does anything): the bridge arms its socket.
        return op._start(hub.address, key), False


def wait(op: NativeOp, timeout: float | None = None) -> Any:
    """Wait for a native op in the caller's mode and return its result.

    With ``timeout`` (seconds) the wait raises the built-in ``TimeoutError`` when it
    passes, and the op is cancelled.
    """
    current = getcurrent()
    if type(current) is GreenTask:
        hub = current.hub
        if hub.inline >= _INLINE_BUDGET:
            _let_loop_turn(current)
        key = next(hub.keys)
        # _start_op, inlined: with the loop's watch known, the op arms its own socket.
        epfd = hub.epfd
        armed = epfd >= 0
        if armed:
            try:
                started = op._start(hub.address, key, epfd)
            except TypeError:  # a wheel built before `_start` took the watch
                started = op._start(hub.address, key)
                armed = False
        else:
            started = op._start(hub.address, key)
        if started == _START_DONE:
            hub.inline += 1
            return op._result()  # finished inline: no suspension needed
        hub.inline = 0
        driven = started > _START_WAIT_SOCKET
        if driven:
            # Hub.wait_socket, inlined.
            if armed:
                hub.socket_waits[key] = (op, -1, current)
            else:
                fd: int = op._fd  # type: ignore[attr-defined]
                try:
                    hub.arm_socket(fd, started - _START_WAIT_SOCKET, key)
                except BaseException:
                    op.cancel()
                    raise
                hub.socket_waits[key] = (op, fd, current)
        else:
            if started == _START_NEEDS_FLUSH:
                hub.schedule_flush(op)
            hub.waiters[key] = current.switch
        timer = None if timeout is None else hub.call_later(timeout, _expire, current, key)
        # GreenTask._suspend, inlined: this is the hottest path of green mode.
        current.waiting = (key, op)
        try:
            current.parent.switch()
        finally:
            current.waiting = None
            if timer is not None:
                timer.cancel()
            if driven and hub.socket_waits.pop(key, None) is not None:
                # Left without the op finishing (e.g. GreenletExit): stop driving it.
                op.cancel()
        return op._result()
    if events._get_running_loop() is not None and not _blocking_allowed():
        raise WrongModeError(_WRONG_MODE_MESSAGE)
    return op.wait() if timeout is None else op.wait(timeout)


def _let_loop_turn(task: GreenTask) -> None:
    """Suspend ``task`` for one turn of its loop (its inline budget is spent).

    Done before the task's next op starts, so a cancellation delivered meanwhile finds
    no half-done work: the op never starts.
    """
    task.hub.inline = 0
    task._suspend((None, task.hub.call_soon(task.switch)))


def _expire(task: GreenTask, key: int) -> None:
    """A green wait's timeout passed: cancel the op and raise TimeoutError at the wait."""
    waiting = task.waiting
    if waiting is None or waiting[0] != key:
        return  # resumed meanwhile
    task.hub.forget(key)
    waiting[1].cancel()
    task.throw(TimeoutError("the balrog operation timed out"))


async def await_op(op: NativeOp) -> Any:
    """``await op`` from asyncio code (what ``Op.__await__`` delegates to)."""
    loop = events.get_running_loop()
    hub = _hub_for(loop)
    future = loop.create_future()
    if hub.inline >= _INLINE_BUDGET:
        hub.inline = 0
        await asyncio.sleep(0)  # let the loop turn (see _INLINE_BUDGET)
    key = next(hub.keys)
    started, armed = _start_op(op, hub, key)
    if started == _START_DONE:
        hub.inline += 1
        return op._result()
    hub.inline = 0
    waiter = _FutureWaiter(future)
    if started > _START_WAIT_SOCKET:
        hub.wait_socket(op, key, started, armed, waiter)
    else:
        if started == _START_NEEDS_FLUSH:
            hub.schedule_flush(op)
        hub.waiters[key] = waiter.switch
    try:
        await future
    except BaseException:
        hub.forget(key)
        op.cancel()
        raise
    return op._result()


def _await_sync(awaitable: Awaitable[R]) -> R:
    current = getcurrent()
    if type(current) is GreenTask:
        future = asyncio.ensure_future(awaitable)
        if not future.done():

            def resume(done: asyncio.Future[Any]) -> None:
                waiting = current.waiting
                if waiting is not None and waiting[1] is done:
                    current.switch()

            future.add_done_callback(resume)
            current._suspend((None, future))
        return future.result()
    if events._get_running_loop() is not None:
        raise WrongModeError(_WRONG_MODE_MESSAGE)

    async def finish() -> R:
        return await awaitable

    return asyncio.run(finish())


def hide(async_fn: Callable[P, Awaitable[R]]) -> Callable[P, R]:
    """Make an asyncio coroutine function callable sync-style.

    In a green task the call suspends only that task while the coroutine runs on the loop;
    in plain sync code it runs the coroutine on a private event loop.
    """

    @functools.wraps(async_fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        return _await_sync(async_fn(*args, **kwargs))

    return call


async def green_call(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """``await green_call(fn, *args)``: ``fn(*args)`` run as a green task, as
    ``green(fn)(*args)`` without making a wrapper per call (what async facades over sync
    balrog code call for every method)."""
    return await _drive(fn, args, kwargs)


def green(fn: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Turn a sync function into a coroutine function that runs it as a green task."""

    @functools.wraps(fn)
    async def run_green(*args: P.args, **kwargs: P.kwargs) -> R:
        return await _drive(fn, args, kwargs)

    return run_green


def run(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a sync function with green I/O from plain sync code (a fresh event loop).

    Inside a green task it simply calls ``fn``.
    """
    if type(getcurrent()) is GreenTask:
        return fn(*args, **kwargs)
    if events._get_running_loop() is not None:
        raise WrongModeError(
            "balrog.run() was called on a thread whose event loop is running; "
            "use `await balrog.green(fn)(*args)` there"
        )
    try:
        return asyncio.run(_drive(fn, args, kwargs))
    finally:
        _forget_closed_loops()  # this run's loop: its hub's descriptors go now


def mode() -> Literal["green", "blocking", "async"]:
    """Where the caller runs: in a green task, plain blocking code, or on a running loop."""
    if type(getcurrent()) is GreenTask:
        return "green"
    if events._get_running_loop() is not None:
        return "async"
    return "blocking"


def current_green_task() -> GreenTask | None:
    """The green task the caller runs in, if any."""
    current = getcurrent()
    return current if type(current) is GreenTask else None
