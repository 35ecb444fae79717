"""Waiting in the caller's mode: a green task suspends only itself, a thread blocks.

A :class:`Handoff` is one client's place in the queue for a connection. Whoever has a
connection (or an error) for it calls :meth:`Handoff.give` from any thread or green task;
the decision ("accepted" or "too late, the client timed out") is taken under a lock, so a
connection is never lost between a giver and a client that gives up.

The wake-up itself is a ``balrog._wakeup.Wakeup``: a waiting green task costs one
``call_soon`` to resume (and a timer while it waits), no asyncio future or task.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from balrog._wakeup import Wakeup

T = TypeVar("T")

__all__ = ["Handoff"]


class Handoff(Generic[T]):
    """A one-shot slot a waiting client receives a value or an error through.

    Created by the client that will wait (its mode decides how it waits).
    """

    __slots__ = ("_mutex", "_outcome", "_wakeup")

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        # (value, error) once given; None while the client waits.
        self._outcome: tuple[T | None, BaseException | None] | None = None
        self._wakeup = Wakeup()

    @property
    def value(self) -> T | None:
        """What was given, if anything (read it after a failed wait to hand it back)."""
        with self._mutex:
            return self._outcome[0] if self._outcome else None

    def give(self, value: T | None = None, error: BaseException | None = None) -> bool:
        """Hand ``value`` (or ``error``) to the client; False if it no longer waits."""
        with self._mutex:
            if self._outcome is not None:
                return False
            if not self._wakeup.set():
                return False  # its event loop is gone: nobody will ever read this
            self._outcome = (value, error)
            return True

    def wait(self, timeout: float | None) -> T:
        """The value given within ``timeout`` seconds; raises the error given, or
        TimeoutError. After a timeout (or an exception in the wait) nothing can be given
        any more."""
        try:
            self._wakeup.wait(timeout)
        finally:
            with self._mutex:
                if self._outcome is None:
                    self._outcome = (None, TimeoutError())
                value, error = self._outcome
        if error is not None:
            raise error
        return value  # type: ignore[return-value]
