"""ConnectionLock on its own (native, crates/balrog-pg/src/conn_lock.rs), under forced
thread switches.

A tiny switch interval makes the GIL change threads between almost every pair of
bytecodes, which puts threads into every window between a release and a waiter queueing
(the lock calls into Python to make a waiter's Wakeup and to wait on it); a waiter
stranded on a free lock would hang the test.
"""

from __future__ import annotations

import gc
import sys
import threading
import weakref
from typing import Any

from balrog.psycopg._conn_lock import HOLDER, ConnectionLock

THREADS = 6
ROUNDS = 3000


def test_threads_hammering_the_lock_never_overlap_or_strand():
    lock = ConnectionLock()
    inside = [0]
    overlaps: list[int] = []
    done = [0]

    def worker() -> None:
        for n in range(ROUNDS):
            with lock:
                inside[0] += 1
                if inside[0] != 1:
                    overlaps.append(inside[0])
                if n % 7 == 0:  # reentrant use by the owner
                    with lock:
                        pass
                inside[0] -= 1
        done[0] += 1

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        # Daemon threads: a thread stranded on the lock fails this test, not the exit of the
        # whole test process.
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)  # a hang guard, not a timing assertion
    finally:
        sys.setswitchinterval(old)
    assert not any(t.is_alive() for t in threads), "a thread was left waiting on the lock"
    assert overlaps == []
    assert done[0] == THREADS
    assert not lock.locked()
    assert not lock._waiters


def test_release_by_a_non_owner_raises():
    lock = ConnectionLock()
    lock.acquire()
    errors: list[BaseException] = []

    def other() -> None:
        try:
            lock.release()
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert len(errors) == 1
    lock.release()
    assert not lock.locked()


def test_waiters_get_the_lock_in_arrival_order():
    lock = ConnectionLock()
    order: list[int] = []
    lock.acquire()
    threads = []
    for i in range(5):
        t = threading.Thread(target=lambda i=i: (lock.acquire(), order.append(i), lock.release()))
        t.start()
        while len(lock._waiters) != i + 1:  # queued in this order before the next starts
            threading.Event().wait(0.001)
        threads.append(t)
    lock.release()
    for t in threads:
        t.join()
    assert order == [0, 1, 2, 3, 4]
    assert not lock.locked()


def test_a_lock_held_for_a_block_is_collected_with_its_holder():
    """A lock held for a block refers to its holder, which may refer back to the lock (an
    async COPY block's holder, a cursor's): the garbage collector must see that cycle (the
    native lock's __traverse__), or neither is ever freed."""

    class Holder:
        lock: Any = None

    def abandon() -> weakref.ref[Holder]:
        holder = Holder()
        holder.lock = ConnectionLock()
        token = HOLDER.set(holder)
        try:
            holder.lock.hold_for_block()
        finally:
            HOLDER.reset(token)
        assert holder.lock.locked()
        return weakref.ref(holder)

    holder_ref = abandon()
    gc.collect()
    assert holder_ref() is None
