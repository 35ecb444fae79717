"""Database connections per green task.

Django keeps its ``DatabaseWrapper`` objects in ``connections._connections``, an asgiref
``Local(thread_critical=True)``: per thread in sync code, per contextvars context while a
loop runs. All green tasks share the loop thread, and a green task's context is a *copy* of
its spawner's, so a task spawned from a view would inherit — and share — the view's
connection. :class:`GreenTaskConnections` replaces that storage: inside a green task it
keeps the wrappers of that task alone (a new task starts with none); everywhere else it
delegates to the original Local, so threads, scripts and the test runner see no change.

Wrappers outlive requests the way they outlive requests on a thread: when a request ends,
:func:`release_task_connections` puts its wrappers on a per-thread shelf, and the next green
task that looks up that alias takes one back. The wrapper keeps Django's own per-request
logic (``close_old_connections`` at request start and end, CONN_MAX_AGE,
CONN_HEALTH_CHECKS, ``OPTIONS["pool"]`` checkout on connect and return on close).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import defaultdict
from typing import Any

import balrog

_get_attribute = object.__getattribute__
_set_attribute = object.__setattr__


class _Shelf(threading.local):
    """Idle wrappers of this thread's green tasks, by alias (LIFO keeps connections warm)."""

    def __init__(self) -> None:
        self.idle: defaultdict[str, list[Any]] = defaultdict(list)


class GreenTaskConnections:
    """Stand-in for the Local behind ``django.db.connections`` (see the module docstring)."""

    def __init__(self, fallback: Any) -> None:
        _set_attribute(self, "_fallback", fallback)
        _set_attribute(self, "_by_task", weakref.WeakKeyDictionary())
        _set_attribute(self, "_shelf", _Shelf())

    def _task_storage(self) -> dict[str, Any] | None:
        task = balrog.current_green_task()
        if task is None:
            return None
        by_task: weakref.WeakKeyDictionary[Any, dict[str, Any]] = _get_attribute(self, "_by_task")
        storage = by_task.get(task)
        if storage is None:
            storage = by_task[task] = {}
        return storage

    def __getattr__(self, alias: str) -> Any:
        storage = self._task_storage()
        if storage is None:
            return getattr(_get_attribute(self, "_fallback"), alias)
        try:
            return storage[alias]
        except KeyError:
            pass
        idle = _get_attribute(self, "_shelf").idle.get(alias)
        if not idle:
            raise AttributeError(alias)
        wrapper = storage[alias] = idle.pop()
        return wrapper

    def __setattr__(self, alias: str, wrapper: Any) -> None:
        storage = self._task_storage()
        if storage is None:
            setattr(_get_attribute(self, "_fallback"), alias, wrapper)
        else:
            storage[alias] = wrapper

    def __delattr__(self, alias: str) -> None:
        storage = self._task_storage()
        if storage is None:
            delattr(_get_attribute(self, "_fallback"), alias)
        else:
            try:
                del storage[alias]
            except KeyError:
                raise AttributeError(alias) from None

    def release(self, *, broken: bool) -> None:
        """The current green task is done with its wrappers: shelve them, or close them.

        ``broken`` (the task was cancelled or failed mid-way): a connection may be in the
        middle of a protocol exchange, so it is closed rather than reused.
        """
        task = balrog.current_green_task()
        if task is None:
            return
        storage = _get_attribute(self, "_by_task").pop(task, None)
        if not storage:
            return
        shelf = _get_attribute(self, "_shelf")
        for alias, wrapper in storage.items():
            if broken or wrapper.in_atomic_block or wrapper.needs_rollback:
                _close_quietly(wrapper)
                if wrapper.in_atomic_block:
                    continue  # its atomic state is unusable: let it go
            shelf.idle[alias].append(wrapper)

    def forget_idle(self) -> None:
        """Drop the shelf (after fork: the wrappers' connections belong to the parent)."""
        _get_attribute(self, "_shelf").idle.clear()


def _close_quietly(wrapper: Any) -> None:
    try:
        wrapper.close()
    except Exception:
        wrapper.connection = None


_storage: GreenTaskConnections | None = None


def install_green_connections() -> GreenTaskConnections:
    """Put :class:`GreenTaskConnections` behind ``django.db.connections``; idempotent."""
    global _storage
    from django.db import connections

    current = connections._connections
    if isinstance(current, GreenTaskConnections):
        _storage = current
        return current
    _storage = GreenTaskConnections(current)
    connections._connections = _storage
    return _storage


def release_task_connections(*, broken: bool = False) -> None:
    """End of a green request: hand the task's wrappers back (see GreenTaskConnections)."""
    if _storage is not None:
        _storage.release(broken=broken)


def _after_fork_in_child() -> None:
    if _storage is not None:
        _storage.forget_idle()


os.register_at_fork(after_in_child=_after_fork_in_child)
