"""Green mode under load: 500 concurrent clients, a pool of at most 20 connections."""

from __future__ import annotations

import time

import pytest
from conftest import REAL_PSYCOPG
from http_load import fire_sync

POOL_MAX = 20
# On the real psycopg (development only) there is no usable pool under green tasks and each
# request holds its own connection while the loop is blocked: stay under max_connections.
CLIENTS = 200 if REAL_PSYCOPG else 500


def backends(dbname: str) -> list[tuple[int, str]]:
    """(pid, state) of the client backends on ``dbname`` other than this process's own."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
            [dbname],
        )
        return cursor.fetchall()


@pytest.mark.slow
def test_500_concurrent_clients_on_a_pool_of_20(serve, django_project):
    from testproject.shop.models import Order

    server = serve(pool_max=POOL_MAX)
    targets = [f"/load/?client=load-{i}&seq={i}" for i in range(CLIENTS)]
    replies = fire_sync(server.host, server.port, targets, CLIENTS)

    errors = [r for r in replies if isinstance(r, BaseException) or r.status != 200]
    assert not errors, (errors[:3], server.output()[-3000:])
    bodies = [r.json() for r in replies]
    # Every view ran as a green task, all on the one event-loop thread.
    assert {b["mode"] for b in bodies} == {"green"}
    assert len({b["thread"] for b in bodies}) == 1
    # Every row written exactly once (the unique constraint would refuse a second write).
    rows = Order.objects.filter(client__startswith="load-")
    assert rows.count() == CLIENTS
    assert sorted(rows.values_list("seq", flat=True)) == list(range(CLIENTS))
    assert sorted(b["order"] for b in bodies) == sorted(rows.values_list("pk", flat=True))
    if not REAL_PSYCOPG:
        # Never more than the pool's connections in use, none left in a transaction.
        assert len({b["backend_pid"] for b in bodies}) <= POOL_MAX
        during = backends(django_project)
        assert len(during) <= POOL_MAX
        assert all(state == "idle" for _, state in during), during
    server.stop()
    # The server process is gone; its sessions end as PostgreSQL sees the sockets close.
    deadline = time.monotonic() + 60
    while (left := backends(django_project)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == []
