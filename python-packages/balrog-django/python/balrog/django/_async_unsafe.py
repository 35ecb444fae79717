"""Django's ``@async_unsafe`` check, exact for green tasks.

``django.utils.asyncio.async_unsafe`` raises SynchronousOnlyOperation when
``get_running_loop()`` succeeds in the calling thread. A balrog green task runs on the loop
thread, but its sync calls suspend only the task (they never block the loop), so for it the
check must pass. The decorator's wrapper looks ``get_running_loop`` up in its module's
globals on every call; replacing that one name with a green-aware twin keeps the check
exactly as strict everywhere else: on the bare event loop (an ``async def`` calling the ORM)
SynchronousOnlyOperation is still raised, and DJANGO_ALLOW_ASYNC_UNSAFE keeps its meaning.
"""

from __future__ import annotations

import asyncio

import balrog
import django.utils.asyncio as django_asyncio


def get_running_loop_outside_green_tasks() -> asyncio.AbstractEventLoop:
    """``asyncio.get_running_loop()``, except that inside a green task there is "no loop".

    Used only by Django's ``async_unsafe`` wrapper: in a green task sync database calls are
    the intended usage, so they must look like calls from sync code.
    """
    if balrog.current_green_task() is not None:
        raise RuntimeError("running in a balrog green task: sync calls are safe here")
    return asyncio.get_running_loop()


def install_green_async_unsafe() -> None:
    """Make ``@async_unsafe`` accept green tasks; idempotent."""
    django_asyncio.get_running_loop = get_running_loop_outside_green_tasks  # type: ignore[attr-defined]
