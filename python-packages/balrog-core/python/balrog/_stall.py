"""A watchdog that names what blocks an event loop running green tasks.

Green tasks share their loop's thread, so a task that blocks the thread stops all of them.
Most such blocks end (a CPU-heavy view, ``time.sleep``); one never does: a green task
waiting on a ``threading`` lock that another green task on the same thread holds across an
I/O call (SQLAlchemy guards its first connect that way, see docs/pg.md). Then the server
hangs without a word. This watchdog turns that silence into a log record, with the stack
the loop's thread is blocked in.

Every loop that gets a hub is watched: a daemon thread posts a no-op callback to it
(``call_soon_threadsafe``) and, when it has not run ``BALROG_STALL_WARNING`` seconds later
(default 10; 0 turns the watchdog off), logs a warning on the ``balrog`` logger; another
when the loop turns again. A running but idle loop runs the callback at once, so only a
blocked thread is reported. Cost: one callback per loop per second.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
import traceback
import weakref

logger = logging.getLogger("balrog")

_ENV = "BALROG_STALL_WARNING"
_DEFAULT_SECONDS = 10.0


def threshold() -> float:
    """Seconds a loop may stay blocked before the warning; 0 or less: no watchdog."""
    raw = os.environ.get(_ENV, "").strip()
    if not raw:
        return _DEFAULT_SECONDS
    try:
        return float(raw)
    except ValueError:
        return _DEFAULT_SECONDS


class _Watched:
    """One loop's heartbeat. Holds no reference to the loop (that would keep it alive)."""

    __slots__ = ("posted_at", "thread_id", "warned")

    def __init__(self, thread_id: int) -> None:
        self.thread_id = thread_id
        self.posted_at: float | None = None  # a beat is in the loop's queue since then
        self.warned = False

    def beat(self) -> None:
        posted_at = self.posted_at
        self.posted_at = None
        if self.warned and posted_at is not None:
            self.warned = False
            logger.warning(
                "balrog: the event loop on thread %#x turned again after %.1f s",
                self.thread_id,
                time.monotonic() - posted_at,
            )


_watched: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watched] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_thread: threading.Thread | None = None


def watch(loop: asyncio.AbstractEventLoop) -> None:
    """Watch ``loop`` (called on its thread, when its hub is made)."""
    global _thread
    limit = threshold()
    if limit <= 0:
        return
    with _lock:
        _watched[loop] = _Watched(threading.get_ident())
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, args=(limit,), name="balrog-stall-watch", daemon=True)
            _thread.start()


def _run(limit: float) -> None:
    global _thread
    period = min(1.0, limit / 4)
    while True:
        time.sleep(period)
        with _lock:
            loops = list(_watched.items())
            if not loops:
                _thread = None  # the next watch() starts another
                return
        for loop, watched in loops:
            _check(loop, watched, limit)
        del loops


def _check(loop: asyncio.AbstractEventLoop, watched: _Watched, limit: float) -> None:
    if loop.is_closed() or not loop.is_running():
        watched.posted_at = None  # a stopped loop is not a blocked one
        return
    now = time.monotonic()
    if watched.posted_at is None:
        watched.posted_at = now
        try:
            loop.call_soon_threadsafe(watched.beat)
        except RuntimeError:  # closed meanwhile
            watched.posted_at = None
        return
    if watched.warned or now - watched.posted_at < limit:
        return
    watched.warned = True
    frame = sys._current_frames().get(watched.thread_id)
    stack = "".join(traceback.format_stack(frame)) if frame is not None else "(thread gone)\n"
    logger.warning(
        "balrog: the event loop on thread %#x has not turned for %.1f s: every green task on it "
        "is stopped. Its thread is blocked here (a green task waiting on a threading lock that "
        "another green task holds never wakes up; %s=0 turns this check off):\n%s",
        watched.thread_id,
        now - watched.posted_at,
        _ENV,
        stack.rstrip(),
    )


def _forget_after_fork() -> None:
    global _thread, _lock
    _watched.clear()
    _thread = None  # the parent's thread does not exist here
    _lock = threading.Lock()  # it may have been held by that thread at the fork


os.register_at_fork(after_in_child=_forget_after_fork)
