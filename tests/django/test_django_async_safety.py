"""Django's async-safety checks with green tasks: exact, and never switched off globally."""

from __future__ import annotations

import asyncio
import contextvars
import os

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.exceptions import SynchronousOnlyOperation

import balrog

pytestmark = pytest.mark.usefixtures("django_project")

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")


def _count_and_close() -> int:
    from django.db import connections
    from testproject.shop.models import Order

    try:
        return Order.objects.count()
    finally:
        connections.close_all()


def _backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_unsafe_switch_is_not_used():
    assert "DJANGO_ALLOW_ASYNC_UNSAFE" not in os.environ


def test_orm_on_the_bare_loop_raises():
    from testproject.shop.models import Order

    async def main() -> None:
        with pytest.raises(SynchronousOnlyOperation):
            Order.objects.count()

    asyncio.run(main())


def test_orm_inside_a_green_task_is_allowed():
    assert isinstance(balrog.run(_count_and_close), int)


def test_orm_in_a_green_task_started_from_async_code():
    async def main() -> int:
        return await balrog.green(_count_and_close)()

    assert isinstance(asyncio.run(main()), int)


def test_async_to_sync_from_green_code_and_back():
    """async_to_sync works in a green task; thread-sensitive sync_to_async inside the
    coroutine comes back to the same green task, on the same DB connection."""

    def body() -> None:
        from django.db import connections

        task = balrog.current_green_task()
        pid = _backend_pid()

        async def coroutine() -> tuple[object, int, str]:
            assert balrog.mode() == "async"

            def back_in_green() -> tuple[object, int, str]:
                return balrog.current_green_task(), _backend_pid(), balrog.mode()

            result = await sync_to_async(back_in_green)()
            marker.set("set in coroutine")
            return result

        try:
            assert async_to_sync(coroutine)() == (task, pid, "green")
            # Context changes flow back, as asgiref does for threads.
            assert marker.get() == "set in coroutine"
        finally:
            connections.close_all()

    balrog.run(body)


def test_async_orm_through_async_to_sync_in_green():
    from testproject.shop.models import Order

    def body() -> int:
        from django.db import connections

        async def count() -> int:
            return await Order.objects.acount()

        try:
            return async_to_sync(count)()
        finally:
            connections.close_all()

    assert balrog.run(body) == _count_and_close()


def test_errors_cross_async_to_sync():
    async def failing() -> None:
        raise KeyError("from the coroutine")

    def body() -> None:
        with pytest.raises(KeyError, match="from the coroutine"):
            async_to_sync(failing)()

    balrog.run(body)


def test_async_to_sync_outside_green_tasks_is_unchanged():
    async def value() -> int:
        return 7

    assert async_to_sync(value)() == 7

    async def main() -> None:
        with pytest.raises(RuntimeError, match="same thread as an async event loop"):
            async_to_sync(value)()

    asyncio.run(main())
