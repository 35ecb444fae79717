"""A one-shot wake-up for one waiter, in the waiter's mode.

A green task that waits suspends only itself and is switched back to from an event-loop
callback; a thread blocks on a lock of its own. Whoever wakes it may be a thread or a green
task. This is what a queue of waiters (a pool, a lock) needs per waiter, without an asyncio
future, task or ``wait_for`` per wait: one ``call_soon`` to wake a green task, plus one
timer while it waits with a timeout.
"""

from __future__ import annotations

import threading
from asyncio import _get_running_loop

from greenlet import getcurrent

from ._bridge import GreenTask

__all__ = ["Wakeup"]


class Wakeup:
    """Created by the waiter; :meth:`wait` once, :meth:`set` from anywhere."""

    __slots__ = ("_gate", "_is_set", "_task", "_thread")

    def __init__(self) -> None:
        # A green task runs only on a thread whose loop is running; a plain thread is not
        # asked for its greenlet (see balrog-pg's conn_lock.rs).
        current = getcurrent() if _get_running_loop() is not None else None
        self._is_set = False
        if type(current) is GreenTask:
            self._task: GreenTask | None = current
            self._thread = threading.get_ident()
            self._gate: threading.Lock | None = None
        else:
            self._task = None
            self._thread = 0
            self._gate = threading.Lock()
            self._gate.acquire()

    @property
    def is_set(self) -> bool:
        return self._is_set

    def set(self) -> bool:
        """Wake the waiter (now, or at once when it starts waiting).

        False when a green waiter can no longer be woken: its event loop is closed. The
        caller serialises ``set`` calls (only the first one counts).
        """
        if self._is_set:
            return True
        task = self._task
        if task is None:
            self._is_set = True
            self._gate.release()  # type: ignore[union-attr]
            return True
        hub = task.hub
        # Set before the resumption is scheduled: from another thread, the loop may run
        # `_resume` (and the waiter read the flag) before this thread gets the GIL back.
        self._is_set = True
        try:
            if threading.get_ident() == self._thread:
                # Never switch from here: the caller may itself be a green task.
                hub.call_soon(_resume, task, self)
            else:
                hub.call_soon_threadsafe(_resume, task, self)
        except RuntimeError:  # the loop is closed: nobody will run the waiter again
            self._is_set = False
            return False
        return True

    def wait(self, timeout: float | None) -> bool:
        """Wait until :meth:`set` (True) or ``timeout`` seconds (False; None: no limit).

        A green waiter's asyncio task being cancelled raises CancelledError here; a thread
        stays interruptible by Ctrl-C.
        """
        task = self._task
        if task is None:
            gate = self._gate
            assert gate is not None
            if timeout is None:
                return gate.acquire()
            return gate.acquire(timeout=max(timeout, 0.0))
        if getcurrent() is not task:
            raise RuntimeError("a Wakeup is waited for by the green task that created it")
        if self._is_set:
            return True
        timer = None if timeout is None else task.hub.call_later(max(timeout, 0.0), _resume, task, self)
        try:
            task._suspend((None, self))
        finally:
            if timer is not None:
                timer.cancel()
        return self._is_set

    def cancel(self) -> None:
        """The green waiter stopped waiting (its task was cancelled): nothing to undo, a
        later :meth:`set` finds it gone."""


def _resume(task: GreenTask, wakeup: Wakeup) -> None:
    waiting = task.waiting
    if waiting is not None and waiting[1] is wakeup:
        task.switch()
