"""Where the pool's maintenance jobs run (connecting, returning, shrinking).

A job submitted from a green task (or from plain code on a thread running an event loop)
runs as a green task on that event loop: no thread is involved in green mode. A job
submitted from other plain code runs on worker threads, started on first need. Timers
follow the same rule (``loop.call_later`` or a scheduler thread). If an event loop goes
away with jobs of ours still pending, they move to the threads, so no connection slot is
lost; periodic jobs are re-armed by the next caller.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import queue
import threading
from collections.abc import Callable
from time import monotonic
from typing import Any

import balrog

logger = logging.getLogger("psycopg.pool")  # psycopg_pool's, so its logging setup applies

Job = Callable[[], None]

__all__ = ["Runner"]

_STOP = object()


def _callers_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop whose green tasks run the caller's jobs: the running loop, for a green
    task and for plain code on the loop's thread alike (an AsyncConnectionPool opened in
    its constructor: psycopg_pool's jobs are tasks of that loop, started once the opener
    yields to it), or None for the worker threads."""
    if balrog.current_green_task() is not None:
        return asyncio.get_running_loop()
    return asyncio._get_running_loop()


class Runner:
    """Runs jobs in the submitter's mode; see the module docstring."""

    def __init__(self, name: str, num_workers: int) -> None:
        self.name = name
        self.num_workers = num_workers
        self._lock = threading.Lock()
        self._stopped = False
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._green_tasks: set[asyncio.Task[Any]] = set()
        # Thread timers: a heap of (due, seq, job) served by one scheduler thread.
        self._timers: list[tuple[float, int, Job]] = []
        self._timer_seq = itertools.count()
        self._timer_cond = threading.Condition(self._lock)
        self._scheduler: threading.Thread | None = None
        # Periodic jobs: name -> (loop the timer lives on, or None for the thread timer).
        self._periodic_homes: dict[str, asyncio.AbstractEventLoop | None] = {}

    # -- submitting ---------------------------------------------------------------------------

    def submit(self, job: Job) -> None:
        """Run ``job`` soon, in the caller's mode."""
        if self._stopped:
            return
        loop = _callers_loop()
        if loop is not None:
            self._start_green(loop, job)
        else:
            self._submit_to_threads(job)

    def schedule(self, delay: float, job: Job) -> None:
        """Run ``job`` in ``delay`` seconds, in the caller's mode."""
        if self._stopped:
            return
        loop = _callers_loop()
        if loop is not None:
            loop.call_later(max(delay, 0.0), self._start_green, loop, job)
            return
        with self._lock:
            heapq.heappush(self._timers, (monotonic() + delay, next(self._timer_seq), job))
            self._ensure_scheduler()
            self._timer_cond.notify()

    def ensure_periodic(self, name: str, interval: float, job: Job) -> None:
        """Keep ``job`` running every ``interval`` seconds; cheap to call often.

        Arms the timer in the caller's mode when it is not armed, or when the event loop it
        was armed on has been closed.
        """
        if self._stopped:
            return
        with self._lock:
            if name in self._periodic_homes:
                home = self._periodic_homes[name]
                if home is None or not home.is_closed():
                    return
            self._periodic_homes[name] = _callers_loop()

        def tick() -> None:
            with self._lock:
                self._periodic_homes.pop(name, None)
            try:
                job()
            finally:
                self.ensure_periodic(name, interval, job)

        self.schedule(interval, tick)

    # -- green jobs ---------------------------------------------------------------------------

    def _start_green(self, loop: asyncio.AbstractEventLoop, job: Job) -> None:
        if self._stopped or loop.is_closed():
            return
        task = loop.create_task(balrog.green(self._run_green)(job))
        self._green_tasks.add(task)
        task.add_done_callback(self._green_tasks.discard)

    def _run_green(self, job: Job) -> None:
        try:
            job()
        except asyncio.CancelledError:
            # The event loop is shutting down under us: finish the job on a thread.
            logger.debug("pool %r: job moved to a thread (event loop closing): %s", self.name, job)
            self._submit_to_threads(job)
            raise
        except Exception as ex:
            logger.warning("pool %r: task %s failed: %s: %s", self.name, job, type(ex).__name__, ex)

    # -- thread jobs --------------------------------------------------------------------------

    def _submit_to_threads(self, job: Job) -> None:
        with self._lock:
            if self._stopped:
                return
            if not self._workers:
                for index in range(self.num_workers):
                    worker = threading.Thread(
                        target=self._work, name=f"{self.name}-worker-{index}", daemon=True
                    )
                    worker.start()
                    self._workers.append(worker)
        self._jobs.put(job)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            try:
                job()
            except Exception as ex:
                logger.warning("pool %r: task %s failed: %s: %s", self.name, job, type(ex).__name__, ex)
            # Not kept while waiting for the next one: a finished job may reference the pool,
            # which must stay collectable.
            del job

    def _ensure_scheduler(self) -> None:
        # called with self._lock held
        if self._scheduler is None:
            self._scheduler = threading.Thread(
                target=self._schedule_loop, name=f"{self.name}-scheduler", daemon=True
            )
            self._scheduler.start()

    def _schedule_loop(self) -> None:
        with self._lock:
            while not self._stopped:
                if not self._timers:
                    self._timer_cond.wait()
                    continue
                due = self._timers[0][0] - monotonic()
                if due > 0:
                    self._timer_cond.wait(due)
                    continue
                _, _, job = heapq.heappop(self._timers)
                self._lock.release()
                try:
                    self._submit_to_threads(job)
                finally:
                    del job
                    self._lock.acquire()

    # -- stopping -----------------------------------------------------------------------------

    def stop(self, timeout: float) -> None:
        """Stop accepting jobs and wait up to ``timeout`` seconds for the ones running, as
        psycopg_pool's close waits for its workers, so that none of them acts or logs after
        the pool is closed. A green caller waits without blocking its event loop."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            workers, self._workers = self._workers, []
            scheduler, self._scheduler = self._scheduler, None
            self._timers.clear()
            self._timer_cond.notify_all()
        for _ in workers:
            self._jobs.put(_STOP)
        if timeout <= 0:  # close(timeout=0), or a finalizer: never wait there
            return
        deadline = monotonic() + timeout
        threads = [*workers, *([scheduler] if scheduler else [])]
        if balrog.current_green_task() is None:
            self._join_threads(threads, deadline, timeout)
            return
        self._wait_green_jobs(deadline, timeout)
        if threads:
            # Jobs submitted from plain code run on the threads even when the pool is
            # closed from a green task: they are joined on a helper thread meanwhile.
            balrog.hide(asyncio.to_thread)(self._join_threads, threads, deadline, timeout)

    def _join_threads(self, threads: list[threading.Thread], deadline: float, timeout: float) -> None:
        for thread in threads:
            thread.join(max(0.0, deadline - monotonic()))
            if thread.is_alive():
                logger.warning("pool %r: couldn't stop thread %s in %s sec", self.name, thread.name, timeout)

    def _wait_green_jobs(self, deadline: float, timeout: float) -> None:
        """Suspend the calling green task until the jobs running on its loop end."""
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        running = [
            task
            for task in self._green_tasks
            if not task.done() and task is not me and task.get_loop() is loop
        ]
        if not running:
            return
        _done, late = balrog.hide(asyncio.wait)(running, timeout=max(0.0, deadline - monotonic()))
        if late:
            logger.warning("pool %r: couldn't stop %d tasks in %s sec", self.name, len(late), timeout)
