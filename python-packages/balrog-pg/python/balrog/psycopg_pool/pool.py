"""ConnectionPool: psycopg_pool 3.3's pool, waiting in the caller's mode.

A client that finds no idle connection queues a :class:`~._waiting.Handoff`: a thread
blocks on it, a green task suspends only itself. Connections are made, checked, reset and
closed by maintenance jobs (see ``_runner``): green tasks on the event loop when the
pool is used from green code, worker threads when it is used from threads.
"""

from __future__ import annotations

import logging
import threading
import warnings
import weakref
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from random import random
from time import monotonic
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import balrog
from balrog.psycopg import errors as e
from balrog.psycopg.pq import TransactionStatus

from ._runner import Runner
from ._waiting import Handoff
from .errors import PoolClosed, PoolTimeout, TooManyRequests

__all__ = ["ConnectionPool"]

logger = logging.getLogger("psycopg.pool")  # psycopg_pool's, so its logging setup applies

CT = TypeVar("CT")
ConnectionCB = Callable[[Any], None]
ConnectFailedCB = Callable[["ConnectionPool[Any]"], None]


def _default_connection_class() -> type:
    from balrog.psycopg import Connection

    return Connection


def _jitter(value: float, min_pc: float, max_pc: float) -> float:
    """``value`` changed by a random amount between ``min_pc`` and ``max_pc`` (fractions)."""
    return value * (1.0 + (max_pc - min_pc) * random() + min_pc)


class _Backoff:
    """Exponential backoff between attempts, giving up after ``timeout`` seconds."""

    INITIAL_DELAY = 1.0
    DELAY_JITTER = 0.1
    DELAY_BACKOFF = 2.0

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.delay = 0.0
        self.give_up_at = 0.0

    def update_delay(self, now: float) -> None:
        if self.delay == 0.0:
            self.give_up_at = now + self.timeout
            self.delay = _jitter(self.INITIAL_DELAY, -self.DELAY_JITTER, self.DELAY_JITTER)
        else:
            self.delay *= self.DELAY_BACKOFF
        if self.delay + now > self.give_up_at:
            self.delay = max(0.0, self.give_up_at - now)

    def time_to_give_up(self, now: float) -> bool:
        return self.give_up_at > 0.0 and now >= self.give_up_at


class ConnectionPool(Generic[CT]):
    """A pool of connections (psycopg_pool's API).

    ``min_size`` connections are kept open; up to ``max_size`` are made on demand and
    closed again after ``max_idle`` seconds unused. Connections live ``max_lifetime``
    seconds at most. ``configure(conn)`` runs on new connections, ``check(conn)`` before
    handing one out, ``reset(conn)`` after one is returned.
    """

    _num_pool = 0
    _instances_lock = threading.Lock()

    # Stats keys, as psycopg_pool names them.
    _POOL_MIN = "pool_min"
    _POOL_MAX = "pool_max"
    _POOL_SIZE = "pool_size"
    _POOL_AVAILABLE = "pool_available"
    _REQUESTS_WAITING = "requests_waiting"
    _REQUESTS_NUM = "requests_num"
    _REQUESTS_QUEUED = "requests_queued"
    _REQUESTS_WAIT_MS = "requests_wait_ms"
    _REQUESTS_ERRORS = "requests_errors"
    _USAGE_MS = "usage_ms"
    _RETURNS_BAD = "returns_bad"
    _CONNECTIONS_NUM = "connections_num"
    _CONNECTIONS_MS = "connections_ms"
    _CONNECTIONS_ERRORS = "connections_errors"
    _CONNECTIONS_LOST = "connections_lost"

    def __init__(
        self,
        conninfo: str | Callable[[], str] = "",
        *,
        connection_class: type[CT] | None = None,
        kwargs: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
        min_size: int = 4,
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
        min_size, max_size = self._check_size(min_size, max_size)
        if not name:
            with ConnectionPool._instances_lock:
                ConnectionPool._num_pool += 1
                name = f"pool-{ConnectionPool._num_pool}"
        if num_workers < 1:
            raise ValueError("num_workers must be at least 1")
        self.conninfo = conninfo
        self.kwargs = kwargs
        self.connection_class: type[CT] = connection_class or _default_connection_class()  # type: ignore[assignment]
        self.name = name
        self.close_returns = close_returns
        self.timeout = timeout
        self.max_waiting = max_waiting
        self.max_lifetime = max_lifetime
        self.max_idle = max_idle
        self.reconnect_timeout = reconnect_timeout
        self.num_workers = num_workers
        self._configure = configure
        self._check = check
        self._reset = reset
        self._reconnect_failed = reconnect_failed
        self._min_size = min_size
        self._max_size = max_size

        # Everything below is guarded by _lock, which is never held across I/O or a wait
        # (a green task holding it while suspended would deadlock its event loop's thread).
        self._lock = threading.RLock()
        self._pool: deque[CT] = deque()  # idle connections
        self._waiting: deque[Handoff[CT]] = deque()
        self._nconns = min_size  # connections in the pool, out, or being made
        self._nconns_min = min_size  # fewest idle since the last shrink check
        self._growing = False
        self._full_waiters: list[Handoff[None]] = []  # callers of wait()
        self._stats: Counter[str] = Counter()
        self._drained_at = 0.0
        self._opened = False
        self._closed = True
        self._open_implicit = False
        self._runner = Runner(name, num_workers)

        if open is None:
            open = self._open_implicit = True
        if open:
            self._open()

    def __repr__(self) -> str:
        return f"<{self.__class__.__module__}.{self.__class__.__name__} {self.name!r} at 0x{id(self):x}>"

    # -- properties -----------------------------------------------------------------------

    @property
    def min_size(self) -> int:
        return self._min_size

    @property
    def max_size(self) -> int:
        return self._max_size

    @property
    def closed(self) -> bool:
        """True if the pool is closed (or not open yet)."""
        return self._closed

    # -- opening and closing ----------------------------------------------------------------

    def open(self, wait: bool = False, timeout: float = 30.0) -> None:
        """Start making connections and serving clients (a no-op if open).

        With ``wait``, block until ``min_size`` connections are ready (see :meth:`wait`).
        A closed pool cannot be reopened.
        """
        with self._lock:
            self._open()
        if wait:
            self.wait(timeout=timeout)

    def _open(self) -> None:
        if not self._closed:
            return
        if self._opened:
            raise PoolClosed("pool has already been opened/closed and cannot be reused")
        self._closed = False
        self._opened = True
        for _ in range(self._nconns):
            self._runner.submit(self._add_connection_job())
        self._arm_shrink_timer()

    def wait(self, timeout: float = 30.0) -> None:
        """Wait until ``min_size`` connections are ready; else close the pool and raise
        PoolTimeout."""
        self._check_open_getconn()
        with self._lock:
            if len(self._pool) >= self._min_size:
                return
            ready: Handoff[None] = Handoff()
            self._full_waiters.append(ready)
        logger.info("waiting for pool %r initialization", self.name)
        try:
            ready.wait(timeout)
        except TimeoutError:
            self.close()
            raise PoolTimeout(f"pool initialization incomplete after {timeout} sec") from None
        finally:
            with self._lock, suppress(ValueError):
                self._full_waiters.remove(ready)
        logger.info("pool %r is ready to use", self.name)

    def close(self, timeout: float = 5.0) -> None:
        """Close the pool: waiting and future clients get PoolClosed. Connections in use
        are closed when returned."""
        if self._closed:
            return
        with self._lock:
            self._closed = True
            waiting = list(self._waiting)
            self._waiting.clear()
            full_waiters, self._full_waiters = self._full_waiters, []
            connections = list(self._pool)
            self._pool.clear()
        logger.debug("pool %r closed", self.name)
        try:
            self._runner.stop(timeout)  # may wait for running jobs, and be cancelled there
        finally:
            for conn in connections:
                self._close_connection(conn)
            for handoff in waiting:
                handoff.give(error=PoolClosed(f"the pool {self.name!r} is closed"))
            for ready in full_waiters:
                ready.give(error=PoolClosed(f"the pool {self.name!r} is closed"))

    def __enter__(self) -> Self:
        self._open_implicit = False
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_closed", True):
            return
        with suppress(Exception):
            self._runner.stop(0.0)

    def _check_open_getconn(self) -> None:
        if self._closed:
            if self._opened:
                raise PoolClosed(f"the pool {self.name!r} is already closed")
            raise PoolClosed(f"the pool {self.name!r} is not open yet")
        if self._open_implicit:
            self._open_implicit = False
            warnings.warn(
                f"the default for the {type(self).__name__} 'open' parameter will become 'False' in a"
                f" future release. Please use open={{True|False}} explicitly, or use the pool as context"
                f" manager using: `with {type(self).__name__}(...) as pool: ...`",
                DeprecationWarning,
                stacklevel=3,
            )

    # -- getting and returning connections -----------------------------------------------

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[CT]:
        """A connection for the ``with`` block, returned to the pool at its end.

        The block is the connection's own context (commit on success, rollback on error);
        waits up to ``timeout`` (default: the pool's) and raises PoolTimeout.
        """
        conn = self.getconn(timeout=timeout)
        t0 = monotonic()
        try:
            with conn:  # type: ignore[attr-defined]
                yield conn
        finally:
            self.putconn(conn)
            self._stats[self._USAGE_MS] += int(1000.0 * (monotonic() - t0))

    def getconn(self, timeout: float | None = None) -> CT:
        """A connection from the pool; pair it with :meth:`putconn`."""
        if timeout is None:
            timeout = self.timeout
        deadline = monotonic() + timeout
        logger.info("connection requested from %r", self.name)
        self._stats[self._REQUESTS_NUM] += 1
        self._check_open_getconn()
        self._arm_shrink_timer()
        try:
            return self._getconn_checked(deadline)
        except PoolTimeout:
            raise PoolTimeout(f"couldn't get a connection after {timeout:.2f} sec") from None

    def _getconn_checked(self, deadline: float) -> CT:
        backoff: _Backoff | None = None
        while True:
            conn = self._getconn_unchecked(deadline - monotonic())
            try:
                if self._check:
                    self._check(conn)
            except Exception as ex:
                logger.info("connection failed check: %s", ex)
                self._putconn(conn, from_getconn=True)
            except BaseException:
                self._putconn(conn, from_getconn=True)
                raise
            else:
                logger.info("connection given by %r", self.name)
                return conn
            now = monotonic()
            if backoff is None:
                backoff = _Backoff(deadline - now)
            else:
                backoff.update_delay(now)
            if backoff.time_to_give_up(now):
                raise PoolTimeout()
            balrog.sleep(backoff.delay)

    def _getconn_unchecked(self, timeout: float) -> CT:
        if timeout <= 0.0:
            raise PoolTimeout()
        with self._lock:
            conn = self._take_idle()
            if conn is None:
                handoff: Handoff[CT] = Handoff()
                self._waiting.append(handoff)
                self._stats[self._REQUESTS_QUEUED] += 1
                self._maybe_grow()
        if conn is None:
            t0 = monotonic()
            try:
                conn = handoff.wait(timeout)
            except TimeoutError:
                self._leave_queue(handoff)
                self._stats[self._REQUESTS_ERRORS] += 1
                raise PoolTimeout() from None
            except BaseException:
                self._leave_queue(handoff)
                # Cancelled or interrupted: a connection given meanwhile goes back.
                given = handoff.value
                if given is not None:
                    self._runner.submit(lambda: self._return_connection(given, from_getconn=True))
                self._stats[self._REQUESTS_ERRORS] += 1
                raise
            finally:
                self._stats[self._REQUESTS_WAIT_MS] += int(1000.0 * (monotonic() - t0))
        conn._pool = self  # type: ignore[attr-defined]
        return conn

    def _leave_queue(self, handoff: Handoff[CT]) -> None:
        # A served client was taken off the queue by its giver; one that gave up was not.
        with self._lock, suppress(ValueError):
            self._waiting.remove(handoff)

    def _take_idle(self) -> CT | None:
        # called with self._lock held
        if self._pool:
            conn = self._pool.popleft()
            self._nconns_min = min(self._nconns_min, len(self._pool))
            return conn
        if self.max_waiting and len(self._waiting) >= self.max_waiting:
            self._stats[self._REQUESTS_ERRORS] += 1
            raise TooManyRequests(f"the pool {self.name!r} has already {len(self._waiting)} requests waiting")
        return None

    def _maybe_grow(self) -> None:
        # called with self._lock held
        if self._nconns >= self._max_size or self._growing:
            return
        self._nconns += 1
        logger.info("growing pool %r to %s", self.name, self._nconns)
        self._growing = True
        self._runner.submit(self._add_connection_job(growing=True))

    def putconn(self, conn: CT) -> None:
        """Give back a connection obtained with :meth:`getconn`."""
        pool = getattr(conn, "_pool", None)
        if pool is not self:
            where = f"it comes from pool {pool.name!r}" if pool else "it doesn't come from any pool"
            raise ValueError(f"can't return connection to pool {self.name!r}, {where}: {conn}")
        logger.info("returning connection to %r", self.name)
        if self._closed:
            self._close_connection(conn)
            return
        self._putconn(conn, from_getconn=False)

    def _putconn(self, conn: CT, from_getconn: bool) -> None:
        if self._reset:
            # The reset function may do I/O: off the caller's path, as psycopg_pool does.
            self._runner.submit(lambda: self._return_connection(conn, from_getconn=from_getconn))
        else:
            self._return_connection(conn, from_getconn=from_getconn)

    def _return_connection(self, conn: CT, from_getconn: bool) -> None:
        self._reset_connection(conn)
        if _status(conn) == TransactionStatus.UNKNOWN:
            if from_getconn:
                self._stats[self._CONNECTIONS_LOST] += 1
                logger.info("not serving connection found broken")
            else:
                self._stats[self._RETURNS_BAD] += 1
                logger.warning("discarding closed connection: %s", conn)
            self._close_connection(conn)
            self._runner.submit(self._add_connection_job())
            return
        if conn._created_at <= self._drained_at or conn._expire_at <= monotonic():  # type: ignore[attr-defined]
            logger.info("discarding expired connection")
            self._close_connection(conn)
            self._runner.submit(self._add_connection_job())
            return
        self._add_to_pool(conn)

    def _reset_connection(self, conn: CT) -> None:
        """Bring a returned connection back to IDLE, or close it."""
        status = _status(conn)
        if status == TransactionStatus.UNKNOWN:
            return
        if status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
            logger.warning("rolling back returned connection: %s", conn)
            try:
                conn.rollback()  # type: ignore[attr-defined]
            except Exception as ex:
                logger.warning(
                    "rollback failed: %s: %s. Discarding connection %s", type(ex).__name__, ex, conn
                )
                self._close_connection(conn)
        elif status == TransactionStatus.ACTIVE:
            logger.warning("closing returned connection: %s", conn)
            self._close_connection(conn)
        if self._reset:
            try:
                self._reset(conn)
                if (after := _status(conn)) != TransactionStatus.IDLE:
                    raise e.ProgrammingError(
                        f"connection left in status {TransactionStatus(after).name} by reset function"
                        f" {self._reset}: discarded"
                    )
            except Exception as ex:
                logger.warning("error resetting connection: %s", ex)
                self._close_connection(conn)

    def _add_to_pool(self, conn: CT) -> None:
        """Hand a ready connection to the first waiting client, or make it idle."""
        conn._pool = None  # type: ignore[attr-defined]
        with self._lock:
            if not self._closed:
                while self._waiting:
                    if self._waiting.popleft().give(conn):
                        return
                self._pool.append(conn)
                if len(self._pool) >= self._min_size:
                    for ready in self._full_waiters:
                        ready.give()
                return
        self._close_connection(conn)

    def _close_connection(self, conn: CT) -> None:
        conn._pool = None  # type: ignore[attr-defined]
        try:
            conn.close()  # type: ignore[attr-defined]
        except Exception as ex:
            logger.warning("error closing connection %s: %s", conn, ex)

    # -- making connections ---------------------------------------------------------------

    def _add_connection_job(
        self, backoff: _Backoff | None = None, growing: bool = False
    ) -> Callable[[], None]:
        # The pool is held weakly, as psycopg_pool's maintenance tasks hold theirs: a job
        # that has finished but is not reaped yet (a green task its loop has still to
        # resume) must not keep a dropped pool alive.
        pool_ref = weakref.ref(self)

        def add_connection() -> None:
            pool = pool_ref()
            if pool is not None and not pool._closed:
                pool._add_connection(backoff, growing)

        add_connection.__qualname__ = f"AddConnection({self.name!r})"
        return add_connection

    def _connect(self, timeout: float | None = None) -> CT:
        """A new connection, configured for the pool."""
        self._stats[self._CONNECTIONS_NUM] += 1
        conninfo = self.conninfo() if callable(self.conninfo) else (self.conninfo or "")
        kwargs = dict(self.kwargs() if callable(self.kwargs) else (self.kwargs or {}))
        if timeout:
            kwargs["connect_timeout"] = max(round(timeout), 1)
        t0 = monotonic()
        try:
            conn = self.connection_class.connect(conninfo, **kwargs)  # type: ignore[attr-defined]
        except Exception:
            self._stats[self._CONNECTIONS_ERRORS] += 1
            raise
        self._stats[self._CONNECTIONS_MS] += int(1000.0 * (monotonic() - t0))
        conn._pool = self
        if self._configure:
            self._configure(conn)
            if (status := _status(conn)) != TransactionStatus.IDLE:
                self._close_connection(conn)
                raise e.ProgrammingError(
                    f"connection left in status {TransactionStatus(status).name} by configure function"
                    f" {self._configure}: discarded"
                )
        conn._created_at = now = monotonic()
        conn._expire_at = now + _jitter(self.max_lifetime, -0.05, 0.0)
        return conn  # type: ignore[no-any-return]

    def _add_connection(self, backoff: _Backoff | None, growing: bool) -> None:
        """Connect and add to the pool; on failure retry with backoff, then give up."""
        now = monotonic()
        if backoff is None:
            backoff = _Backoff(self.reconnect_timeout)
        try:
            conn = self._connect()
        except Exception as ex:
            logger.warning("error connecting in %r: %s", self.name, ex)
            if backoff.time_to_give_up(now):
                logger.warning(
                    "reconnection attempt in pool %r failed after %s sec", self.name, self.reconnect_timeout
                )
                with self._lock:
                    self._nconns -= 1
                    if growing:
                        self._growing = False
                self.reconnect_failed()
            else:
                backoff.update_delay(now)
                self._runner.schedule(backoff.delay, self._add_connection_job(backoff, growing))
            return
        logger.info("adding new connection to the pool")
        self._add_to_pool(conn)
        if growing:
            with self._lock:
                if self._nconns < self._min_size or (self._nconns < self._max_size and self._waiting):
                    self._nconns += 1
                    logger.info("growing pool %r to %s", self.name, self._nconns)
                    self._runner.submit(self._add_connection_job(growing=True))
                else:
                    self._growing = False

    def reconnect_failed(self) -> None:
        """Called when reconnecting failed for longer than ``reconnect_timeout``."""
        if self._reconnect_failed:
            self._reconnect_failed(self)

    # -- maintenance ------------------------------------------------------------------------

    def _arm_shrink_timer(self) -> None:
        # The timer lives as long as the scheduler thread: it holds the pool weakly, so that
        # a pool dropped without close() is collected (and __del__ stops the threads).
        shrink = weakref.WeakMethod(self._shrink_pool)

        def shrink_if_alive() -> None:
            method = shrink()
            if method is not None:
                method()

        self._runner.ensure_periodic("shrink", self.max_idle, shrink_if_alive)

    def _shrink_pool(self) -> None:
        """Close one idle connection if some stayed unused for the last ``max_idle`` sec."""
        to_close: CT | None = None
        with self._lock:
            fewest_idle = self._nconns_min
            self._nconns_min = len(self._pool)
            if self._nconns > self._min_size and fewest_idle > 0 and self._pool:
                to_close = self._pool.popleft()
                self._nconns -= 1
                self._nconns_min -= 1
        if to_close is not None:
            logger.info(
                "shrinking pool %r to %s because %s unused connections in the last %s sec",
                self.name,
                self._nconns,
                fewest_idle,
                self.max_idle,
            )
            self._close_connection(to_close)

    def resize(self, min_size: int, max_size: int | None = None) -> None:
        """Change the pool's size limits while it runs."""
        min_size, max_size = self._check_size(min_size, max_size)
        grow = max(0, min_size - self._min_size)
        logger.info("resizing %r to min_size=%s max_size=%s", self.name, min_size, max_size)
        with self._lock:
            self._min_size = min_size
            self._max_size = max_size
            self._nconns += grow
        for _ in range(grow):
            self._runner.submit(self._add_connection_job())

    def check(self) -> None:
        """Test every idle connection; replace those that fail or have expired."""
        with self._lock:
            conns = list(self._pool)
            self._pool.clear()
            self._maybe_grow()
        while conns:
            conn = conns.pop()
            if conn._expire_at <= monotonic():  # type: ignore[attr-defined]
                logger.info("discarding expired connection %s", conn)
                self._close_connection(conn)
                self._runner.submit(self._add_connection_job())
                continue
            try:
                self.check_connection(conn)
            except Exception:
                self._stats[self._CONNECTIONS_LOST] += 1
                logger.warning("discarding broken connection: %s", conn)
                self._close_connection(conn)
                self._runner.submit(self._add_connection_job())
            else:
                self._add_to_pool(conn)

    def drain(self) -> None:
        """Replace every connection: idle ones now, those in use when returned."""
        with self._lock:
            conns = list(self._pool)
            self._pool.clear()
            self._drained_at = monotonic()
        for conn in conns:
            self._close_connection(conn)
            self._runner.submit(self._add_connection_job())

    @staticmethod
    def check_connection(conn: Any) -> None:
        """Raise if ``conn`` does not work (an empty query round trip); usable as ``check``."""
        if conn.autocommit:
            conn.execute("")
            return
        conn.autocommit = True
        try:
            conn.execute("")
        finally:
            with suppress(Exception):
                conn.autocommit = False

    # -- stats ------------------------------------------------------------------------------

    def get_stats(self) -> dict[str, int]:
        """Counters and measures of the pool's use."""
        stats = dict(self._stats)
        stats.update(self._measures())
        return stats

    def pop_stats(self) -> dict[str, int]:
        """Like :meth:`get_stats`, then reset the counters."""
        stats, self._stats = self._stats, Counter()
        result = dict(stats)
        result.update(self._measures())
        return result

    def _measures(self) -> dict[str, int]:
        return {
            self._POOL_MIN: self._min_size,
            self._POOL_MAX: self._max_size,
            self._POOL_SIZE: self._nconns,
            self._POOL_AVAILABLE: len(self._pool),
            self._REQUESTS_WAITING: len(self._waiting),
        }

    @staticmethod
    def _check_size(min_size: int, max_size: int | None) -> tuple[int, int]:
        if max_size is None:
            max_size = min_size
        if min_size < 0:
            raise ValueError("min_size cannot be negative")
        if max_size < min_size:
            raise ValueError("max_size must be greater or equal than min_size")
        if min_size == max_size == 0:
            raise ValueError("if min_size is 0 max_size must be greater than 0")
        return min_size, max_size


def _status(conn: Any) -> int:
    """The transaction status; UNKNOWN for a closed or broken connection."""
    if conn.closed or getattr(conn, "broken", False):
        return TransactionStatus.UNKNOWN
    return int(conn.info.transaction_status)
