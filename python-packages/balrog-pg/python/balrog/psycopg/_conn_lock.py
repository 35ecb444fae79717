"""``Connection.lock``: one operation at a time on a connection, for threads and green tasks.

The lock itself is native (``balrog._pg.ConnectionLock``, crates/balrog-pg/src/conn_lock.rs,
whose docs say how it works): every execute takes it. This module gives it what it calls
into (greenlet's ``getcurrent``, the ``HOLDER`` context variable, the ``Wakeup`` class) and
exports it.

A block that spans several green tasks (an ``async with acur.copy()`` block: every await in
it runs as a green task of its own) holds the lock for a *holder*: an object set in the
``HOLDER`` context variable of the asyncio task, which its green tasks inherit. The lock
then belongs to whoever runs with that holder (``hold_for_block``), until the block
releases it.
"""

from __future__ import annotations

from contextvars import ContextVar

from greenlet import getcurrent

from balrog._pg import ConnectionLock
from balrog._wakeup import Wakeup

__all__ = ["HOLDER", "ConnectionLock"]

# The holder of a lock held across green tasks (see the module doc), or None.
HOLDER: ContextVar[object | None] = ContextVar("balrog_connection_lock_holder", default=None)

ConnectionLock._configure(getcurrent, HOLDER, Wakeup)
