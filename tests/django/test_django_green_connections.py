"""One set of Django connections per green task; plain threads keep Django's behaviour."""

from __future__ import annotations

import threading

import pytest

import balrog

pytestmark = pytest.mark.usefixtures("django_project")


def _pid_and_wrapper() -> tuple[int, int]:
    from django.db import connection, connections

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), pg_sleep(0.02)")
        pid = cursor.fetchone()[0]
    # Hold the connection across a green suspension, so that the tasks really overlap.
    balrog.sleep(0.02)
    return pid, id(connections["default"])


def _pid_and_wrapper_then_release() -> tuple[int, int]:
    from django.db import connections

    from balrog.django._connections import release_task_connections

    try:
        return _pid_and_wrapper()
    finally:
        connections.close_all()
        release_task_connections()


def test_concurrent_green_tasks_never_share_a_connection():
    def body() -> list[tuple[int, int]]:
        return balrog.gather(*[_pid_and_wrapper_then_release] * 5)

    results = balrog.run(body)
    assert len({pid for pid, _ in results}) == 5
    assert len({wrapper for _, wrapper in results}) == 5


def test_spawned_task_does_not_inherit_the_spawners_connection():
    def body() -> tuple[tuple[int, int], tuple[int, int]]:
        from django.db import connections

        try:
            mine = _pid_and_wrapper()
            (child,) = balrog.gather(_pid_and_wrapper_then_release)
            return mine, child
        finally:
            connections.close_all()

    mine, child = balrog.run(body)
    assert mine[0] != child[0]
    assert mine[1] != child[1]


def test_released_wrappers_are_reused_by_the_next_task():
    first = balrog.run(_pid_and_wrapper_then_release)
    second = balrog.run(_pid_and_wrapper_then_release)
    assert first[1] == second[1]  # same DatabaseWrapper object, taken from the shelf
    assert first[0] != second[0]  # CONN_MAX_AGE=0: a new session per request


def test_threads_keep_their_own_connections():
    from django.db import connections

    results: list[tuple[int, int]] = []

    def in_thread() -> None:
        try:
            results.append(_pid_and_wrapper())
        finally:
            connections.close_all()

    mine = _pid_and_wrapper()
    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert results[0][1] != mine[1]
    assert _pid_and_wrapper() == mine  # the main thread's connection stays open and its own
