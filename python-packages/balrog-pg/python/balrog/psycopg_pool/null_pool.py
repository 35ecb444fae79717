"""NullConnectionPool: psycopg_pool 3.3's pool that keeps no idle connection.

Every client opens a connection of its own and ``putconn`` closes it, unless another client
is waiting for one: then it is handed over (reset first), as psycopg_pool does. ``max_size``
(0: unlimited) bounds the connections open at once; over it clients queue like in
:class:`~.pool.ConnectionPool` (a thread blocks, a green task suspends only itself).

Unlike psycopg_pool, no lock is held while connecting or closing (a green task holding it
while suspended would stall its event loop's thread). A client therefore first reserves a
place under ``max_size`` ("a slot"), then connects; a slot freed while clients wait (a
failed connection attempt, a connection closed on return, more room after ``resize``) is
handed to the first of them, which then opens its own connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from time import monotonic
from typing import Any, TypeVar

from balrog.psycopg.pq import TransactionStatus

from ._waiting import Handoff
from .errors import PoolTimeout, TooManyRequests
from .pool import ConnectFailedCB, ConnectionCB, ConnectionPool, _status

__all__ = ["NullConnectionPool"]

logger = logging.getLogger("psycopg.pool")  # psycopg_pool's, so its logging setup applies

CT = TypeVar("CT")


class _Slot:
    """Handed to a waiting client instead of a connection: room to open one itself."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<free slot>"


# Typed Any: it travels through the Handoff[CT] queue shared with connections.
_SLOT: Any = _Slot()


def _is_connect_timeout(ex: BaseException) -> bool:
    """True for ``ConnectionTimeout``, balrog's or psycopg's (the pool takes both
    connection classes and must not import psycopg)."""
    return any(cls.__name__ == "ConnectionTimeout" for cls in type(ex).__mro__)


class NullConnectionPool(ConnectionPool[CT]):
    """A pool without idle connections (psycopg_pool's API).

    ``min_size`` must be 0; ``max_size`` (default 0: unlimited) bounds the connections in
    use. ``configure``, ``check``, ``reset``, ``timeout`` and ``max_waiting`` work as in
    :class:`~.pool.ConnectionPool`; ``reset`` only runs on a connection passed on to a
    waiting client, since the others are closed.
    """

    def __init__(
        self,
        conninfo: str | Callable[[], str] = "",
        *,
        connection_class: type[CT] | None = None,
        kwargs: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
        min_size: int = 0,
        max_size: int | None = None,
        open: bool | None = None,
        configure: ConnectionCB | None = None,
        check: ConnectionCB | None = None,
        reset: ConnectionCB | None = None,
        name: str | None = None,
        close_returns: bool = False,
        timeout: float = 30.0,
        max_waiting: int = 0,
        max_lifetime: float = 60 * 60.0,
        max_idle: float = 10 * 60.0,
        reconnect_timeout: float = 5 * 60.0,
        reconnect_failed: ConnectFailedCB | None = None,
        num_workers: int = 3,
    ) -> None:
        # close_returns is accepted for signature compatibility only: a connection closed
        # by its user is gone either way, as in psycopg_pool.
        super().__init__(
            conninfo,
            connection_class=connection_class,
            kwargs=kwargs,
            min_size=min_size,
            max_size=max_size,
            open=open,
            configure=configure,
            check=check,
            reset=reset,
            name=name,
            close_returns=False,
            timeout=timeout,
            max_waiting=max_waiting,
            max_lifetime=max_lifetime,
            max_idle=max_idle,
            reconnect_timeout=reconnect_timeout,
            reconnect_failed=reconnect_failed,
            num_workers=num_workers,
        )

    @staticmethod
    def _check_size(min_size: int, max_size: int | None) -> tuple[int, int]:
        if max_size is None:
            max_size = min_size
        if min_size != 0:
            raise ValueError("null pools must have min_size = 0")
        if max_size < min_size:
            raise ValueError("max_size must be greater or equal than min_size")
        return min_size, max_size

    def wait(self, timeout: float = 30.0) -> None:
        """Open (and close) one connection to check the database can be reached.

        Close the pool and raise PoolTimeout if that did not happen within ``timeout`` sec.
        """
        self._check_open_getconn()
        ready: Handoff[None] = Handoff()
        with self._lock:
            self._full_waiters.append(ready)
            self._nconns += 1  # the test connection's slot, released when it is closed
        logger.info("waiting for pool %r initialization", self.name)
        # A maintenance job, as psycopg_pool: it retries with backoff while the server is down.
        self._runner.submit(self._add_connection_job())
        try:
            ready.wait(timeout)
        except TimeoutError:
            self.close()
            raise PoolTimeout(f"pool initialization incomplete after {timeout} sec") from None
        finally:
            with self._lock, suppress(ValueError):
                self._full_waiters.remove(ready)
        logger.info("pool %r is ready to use", self.name)

    # -- getting connections ----------------------------------------------------------------

    def _getconn_unchecked(self, timeout: float) -> CT:
        if timeout <= 0.0:
            raise PoolTimeout()
        deadline = monotonic() + timeout
        with self._lock:
            handoff = self._reserve_slot_or_queue()
        if handoff is not None:
            given = self._wait_in_queue(handoff, timeout)
            if given is not _SLOT:
                given._pool = self  # type: ignore[attr-defined]
                return given
        return self._connect_in_slot(deadline)

    def _reserve_slot_or_queue(self) -> Handoff[CT] | None:
        """Take a slot (None: connect now) or queue the client; called with the lock held."""
        if self._max_size == 0 or self._nconns < self._max_size:
            self._nconns += 1
            return None
        if self.max_waiting and len(self._waiting) >= self.max_waiting:
            self._stats[self._REQUESTS_ERRORS] += 1
            raise TooManyRequests(f"the pool {self.name!r} has already {len(self._waiting)} requests waiting")
        handoff: Handoff[CT] = Handoff()
        self._waiting.append(handoff)
        self._stats[self._REQUESTS_QUEUED] += 1
        return handoff

    def _wait_in_queue(self, handoff: Handoff[CT], timeout: float) -> CT:
        """A connection passed on by another client, or ``_SLOT``."""
        t0 = monotonic()
        try:
            return handoff.wait(timeout)
        except TimeoutError:
            self._leave_queue(handoff)
            self._stats[self._REQUESTS_ERRORS] += 1
            raise PoolTimeout() from None
        except BaseException:
            self._leave_queue(handoff)
            # Cancelled or interrupted after being served: pass on what we were given.
            given = handoff.value
            if given is _SLOT:
                self._release_slot()
            elif given is not None:
                self._runner.submit(lambda: self._return_connection(given, from_getconn=True))
            self._stats[self._REQUESTS_ERRORS] += 1
            raise
        finally:
            self._stats[self._REQUESTS_WAIT_MS] += int(1000.0 * (monotonic() - t0))

    def _connect_in_slot(self, deadline: float) -> CT:
        """A new connection for the client holding a slot; the slot is freed on failure."""
        try:
            timeout = deadline - monotonic()
            if timeout <= 0.0:  # only after waiting in the queue for the slot
                raise PoolTimeout()
            return self._connect(timeout=timeout)
        except BaseException as ex:
            self._release_slot()
            if _is_connect_timeout(ex):
                raise PoolTimeout(str(ex)) from None
            raise

    # -- returning connections -----------------------------------------------------------

    def putconn(self, conn: CT) -> None:
        """Give back a connection obtained with :meth:`getconn`: closed, unless a client
        waits for it."""
        if getattr(conn, "_pool", None) is self and self._close_unless_awaited(conn):
            return
        super().putconn(conn)

    def _close_unless_awaited(self, conn: CT) -> bool:
        """Close ``conn`` if no client waits (or the pool is closed); True if closed."""
        # Unlocked read: a client that queues after it is served by _release_slot below.
        if self._waiting and not self._closed:
            return False
        logger.info("returning connection to %r", self.name)
        if _status(conn) == TransactionStatus.UNKNOWN:
            self._stats[self._RETURNS_BAD] += 1
        self._close_connection(conn)
        self._release_slot()
        return True

    def _add_to_pool(self, conn: CT) -> None:
        """Pass a ready connection to the first waiting client, else close it."""
        conn._pool = None  # type: ignore[attr-defined]
        with self._lock:
            while self._waiting:
                if self._waiting.popleft().give(conn):
                    self._notify_ready()
                    return
        self._close_connection(conn)
        self._release_slot()
        self._notify_ready()  # after the release: wait() returns with the slot counted free

    def _notify_ready(self) -> None:
        """A connection was made: the database is reachable, wait() callers are done."""
        with self._lock:
            for ready in self._full_waiters:
                ready.give()

    def _release_slot(self) -> None:
        """A connection is gone: its slot goes to the first waiting client, if any."""
        with self._lock:
            while self._waiting:
                if self._waiting.popleft().give(_SLOT):
                    return
            self._nconns -= 1

    # -- maintenance: little to do without idle connections ----------------------------

    def _arm_shrink_timer(self) -> None:
        """Nothing to shrink: no timer."""

    def check(self) -> None:
        """No-op: the pool holds no connection to check."""

    def resize(self, min_size: int, max_size: int | None = None) -> None:
        """Change ``max_size`` while the pool runs (``min_size`` must stay 0)."""
        min_size, max_size = self._check_size(min_size, max_size)
        logger.info("resizing %r to min_size=%s max_size=%s", self.name, min_size, max_size)
        with self._lock:
            self._min_size = min_size
            self._max_size = max_size
            # New room serves clients already waiting (psycopg_pool leaves them waiting
            # for a connection to be returned).
            while self._waiting and (max_size == 0 or self._nconns < max_size):
                if self._waiting.popleft().give(_SLOT):
                    self._nconns += 1
