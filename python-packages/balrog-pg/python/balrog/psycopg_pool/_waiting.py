"""Waiting in the caller's mode: a green task suspends only itself, a thread blocks.

A :class:`Handoff` is one client's place in the queue for a connection. Whoever has a
connection (or an error) for it calls :meth:`Handoff.give` from any thread or green task;
the decision ("accepted" or "too late, the client timed out") is taken under a lock, so a
connection is never lost between a giver and a client that gives up.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Generic, TypeVar

import balrog

T = TypeVar("T")

__all__ = ["Handoff", "wait_future"]


async def _wait_future(future: asyncio.Future[None], timeout: float | None) -> bool:
    try:
        # shield: a timeout must not cancel the future a giver may be about to resolve.
        await asyncio.wait_for(asyncio.shield(future), timeout)
    except TimeoutError:
        return False
    return True


wait_future = balrog.hide(_wait_future)
"""Suspend the current green task until ``future`` is done (True) or ``timeout`` (False)."""


class Handoff(Generic[T]):
    """A one-shot slot a waiting client receives a value or an error through."""

    __slots__ = ("_cond", "_future", "_loop", "_loop_thread", "_outcome")

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        # (value, error) once given; None while the client waits.
        self._outcome: tuple[T | None, BaseException | None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._future: asyncio.Future[None] | None = None
        self._loop_thread = 0
        if balrog.current_green_task() is not None:
            self._loop = asyncio.get_running_loop()
            self._future = self._loop.create_future()
            self._loop_thread = threading.get_ident()

    @property
    def value(self) -> T | None:
        """What was given, if anything (read it after a failed wait to hand it back)."""
        with self._cond:
            return self._outcome[0] if self._outcome else None

    def give(self, value: T | None = None, error: BaseException | None = None) -> bool:
        """Hand ``value`` (or ``error``) to the client; False if it no longer waits."""
        with self._cond:
            if self._outcome is not None:
                return False
            if self._future is not None and not self._wake_green():
                return False  # its event loop is gone: nobody will ever read this
            self._outcome = (value, error)
            self._cond.notify_all()
            return True

    def _wake_green(self) -> bool:
        loop, future = self._loop, self._future
        assert loop is not None and future is not None
        if loop.is_closed():
            return False
        if threading.get_ident() == self._loop_thread:
            if not future.done():
                future.set_result(None)
            return True
        try:
            loop.call_soon_threadsafe(_resolve, future)
        except RuntimeError:  # closed meanwhile
            return False
        return True

    def wait(self, timeout: float | None) -> T:
        """The value given within ``timeout`` seconds; raises the error given, or
        TimeoutError. After a timeout (or an exception in the wait) nothing can be given
        any more."""
        if self._future is not None:
            try:
                wait_future(self._future, timeout)
            finally:
                self._close_waiting()
        else:
            with self._cond:
                self._cond.wait_for(lambda: self._outcome is not None, timeout)
            self._close_waiting()
        with self._cond:
            assert self._outcome is not None
            value, error = self._outcome
        if error is not None:
            raise error
        return value  # type: ignore[return-value]

    def _close_waiting(self) -> None:
        with self._cond:
            if self._outcome is None:
                self._outcome = (None, TimeoutError())


def _resolve(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_result(None)
