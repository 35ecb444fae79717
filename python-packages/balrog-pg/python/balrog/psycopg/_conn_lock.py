"""``Connection.lock``: one operation at a time on a connection, for threads and green tasks.

psycopg serialises the operations of a connection with a ``threading.Lock``, so that the
statements of one (an implicit BEGIN and its query, a transaction block's BEGIN and
SAVEPOINT) never interleave with another's. Green tasks all run on the event loop's thread:
a thread lock would either be shared by all of them or block the loop. Here each waiter
has a ``balrog._wakeup.Wakeup``: a waiting green task suspends only itself and a waiting
thread blocks on a lock of its own; the owner hands the lock to the first waiter
when it lets go (FIFO, no barging).

The lock is reentrant for its owner (the current greenlet, i.e. the thread itself in
blocking code): connection methods that hold it call each other freely.

A block that spans several green tasks (an ``async with acur.copy()`` block: every await in
it runs as a green task of its own) holds the lock for a *holder*: an object set in the
``HOLDER`` context variable of the asyncio task, which its green tasks inherit. The lock
then belongs to whoever runs with that holder (``hold_for_block``), until the block
releases it.
"""

from __future__ import annotations

import threading
from collections import deque
from contextvars import ContextVar
from typing import Any

from greenlet import getcurrent

from balrog._wakeup import Wakeup

__all__ = ["HOLDER", "ConnectionLock"]

# The holder of a lock held across green tasks (see the module doc), or None.
HOLDER: ContextVar[object | None] = ContextVar("balrog_connection_lock_holder", default=None)


def _whoami() -> Any:
    """The caller as an owner: its greenlet when it runs in one of its thread's greenlets
    (a green task, a greenlet of SQLAlchemy's asyncio layer), else its thread.

    A thread's main greenlet stands for the thread itself and is never stored: each thread
    would get one, which the lock then refers to from other threads, and with that pattern
    (greenlet 3.5.6, CPython 3.11) threads hammering a lock under forced switches met freed
    objects at `with lock:` (tests/pg/test_conn_lock.py; the cause is not understood).
    Telling the two apart by the greenlet's parent (main greenlets have none) rather than by
    asking asyncio whether a loop runs here saves two `getpid()` system calls per query on
    a loop thread (CPython 3.11's `_get_running_loop` checks the pid).
    """
    current = getcurrent()
    if current.parent is None:
        return threading.current_thread()
    return current


class _Waiter:
    """A green task or a thread queued for the lock, woken in its own mode."""

    __slots__ = ("granted", "owner", "wakeup")

    def __init__(self, owner: Any) -> None:
        self.owner = owner
        self.granted = False
        self.wakeup = Wakeup()  # made by the waiter itself: it records who waits

    def wait(self) -> None:
        self.wakeup.wait(None)

    def wake(self) -> None:
        if not self.wakeup.set():
            raise RuntimeError("Event loop is closed")


class ConnectionLock:
    """A reentrant lock whose waiters are threads or green tasks (see the module doc).

    The uncontended acquire and release take no mutex: ``_held`` alone says who owns the
    lock, and the waiter queue is touched under ``_mutex`` only. Freeing ``_held`` and
    queueing a waiter can then cross (a release checks the queue, finds it empty, and frees
    the lock just after a waiter, having failed to take it, is queued). Both sides close
    that window the same way, relying on the GIL running their steps in one total order:
    a release frees ``_held`` and then looks at the queue again; a waiter is queued and then
    tries ``_held`` again. Whichever comes second sees the other, so a queued waiter is
    never left waiting on a free lock. Whoever takes ``_held`` while waiters are queued
    hands it to the first of them (FIFO, no barging).
    """

    __slots__ = ("_depth", "_held", "_mutex", "_owner", "_waiters")

    def __init__(self) -> None:
        self._mutex = threading.Lock()  # guards the waiter queue and hand-overs
        # Held for as long as the connection lock is owned or being handed over: taking it
        # without blocking is the uncontended acquire, one atomic step.
        self._held = threading.Lock()
        self._owner: Any = None
        self._depth = 0
        self._waiters: deque[_Waiter] = deque()

    def acquire(self) -> bool:
        me = _whoami()
        if self._owner is me:  # only the owner itself can find itself here
            self._depth += 1
            return True
        if self._held.acquire(False):
            if not self._waiters:
                self._owner = me
                self._depth = 1
                return True
            # Freed by a release that has yet to notice a waiter queued meanwhile.
            return self._wait_for_turn(me, holding=True)
        owner = self._owner
        if owner is not None and owner is HOLDER.get():  # held for this task's block
            self._depth += 1
            return True
        return self._wait_for_turn(me, holding=False)

    __enter__ = acquire

    def hold_for_block(self) -> None:
        """Acquire for a block that lasts beyond this call (a COPY block): owned by the
        ``HOLDER`` of the caller's context if there is one (async blocks), else by the
        caller. Released by one ``release()``."""
        self.acquire()
        holder = HOLDER.get()
        if holder is not None and self._depth == 1:
            self._owner = holder

    def _wait_for_turn(self, me: Any, holding: bool) -> bool:
        """Queue ``me`` and wait to be handed the lock (``holding``: ``_held`` is ours)."""
        with self._mutex:
            if holding or self._held.acquire(False):
                if not self._waiters:
                    self._owner = me
                    self._depth = 1
                    return True
                self._hand_over()  # to the first waiter: it came before us
            waiter = _Waiter(me)
            self._waiters.append(waiter)
            # A release may have freed the lock between our first try and the append,
            # without seeing us queued (see the class doc): try again now that we are.
            if self._held.acquire(False):
                self._hand_over()
            if waiter.granted:  # it was our turn already
                return True
        try:
            waiter.wait()
        except BaseException:
            # Cancelled (or interrupted) while waiting: leave the queue, or, if the lock was
            # handed over meanwhile, pass it on.
            with self._mutex:
                if waiter.granted:
                    self._hand_over()
                else:
                    self._waiters.remove(waiter)
            raise
        return True

    def release(self) -> None:
        owner = self._owner
        if owner is not _whoami() and (owner is None or owner is not HOLDER.get()):
            raise RuntimeError("cannot release a connection lock held by another task")
        depth = self._depth - 1
        self._depth = depth
        if depth:
            return
        if self._waiters:
            with self._mutex:
                self._hand_over()
            return
        # Uncontended (every execute comes here): free the lock without the mutex, then
        # look again for a waiter queued meanwhile (see the class doc). If the lock was
        # taken again already, its new owner hands it over when it lets go.
        self._owner = None
        self._held.release()
        if self._waiters and self._held.acquire(False):
            with self._mutex:
                self._hand_over()

    def _hand_over(self) -> None:
        """Give the lock to the first waiter, or free it (called with ``_mutex`` and
        ``_held`` held)."""
        if self._waiters:
            waiter = self._waiters.popleft()
            self._owner = waiter.owner
            self._depth = 1
            waiter.granted = True
            waiter.wake()
        else:
            self._owner = None
            self._depth = 0
            self._held.release()

    def locked(self) -> bool:
        return self._held.locked()

    def __exit__(self, *exc: object) -> None:
        self.release()
