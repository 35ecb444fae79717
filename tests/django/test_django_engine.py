"""The ENGINE: Django's ORM on balrog's driver, in blocking mode and inside a green task."""

from __future__ import annotations

import functools
import sys

import pytest
from conftest import REAL_PSYCOPG

pytestmark = [pytest.mark.both_modes, pytest.mark.usefixtures("django_project", "close_connections")]


@pytest.fixture
def close_connections():
    yield
    from django.db import connections

    connections.close_all()


def _close_after(test):
    """Green tasks close what they opened, as threads must in Django."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        from django.db import connections

        try:
            return test(*args, **kwargs)
        finally:
            connections.close_all()

    return run


@_close_after
def test_backend_is_djangos_postgresql_on_balrog_psycopg(balrog_mode):
    import psycopg
    from django.db import connection, connections

    assert connection.vendor == "postgresql"
    assert type(connections["default"]).__module__ == "balrog.django.db.backends.postgresql.base"
    if not REAL_PSYCOPG:
        assert psycopg.__name__ == "balrog.psycopg"
        assert sys.modules["psycopg"] is sys.modules["balrog.psycopg"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::int + 1", [41])
        assert cursor.fetchone() == (42,)


@_close_after
def test_crud_with_array_field(balrog_mode):
    from testproject.shop.models import Order

    client = f"crud-{balrog_mode}"
    Order.objects.bulk_create([Order(client=client, seq=i, tags=[f"t{i}", "all"]) for i in range(5)])
    assert Order.objects.filter(client=client, tags__contains=["t3"]).get().seq == 3
    assert Order.objects.filter(client=client).update(tags=["x"]) == 5
    assert Order.objects.filter(client=client, tags=["x"]).count() == 5
    assert Order.objects.filter(client=client).delete()[0] == 5


@_close_after
def test_atomic_savepoints_and_rollback(balrog_mode):
    from django.db import IntegrityError, transaction
    from testproject.shop.models import Order

    client = f"atomic-{balrog_mode}"
    with transaction.atomic():
        Order.objects.create(client=client, seq=1)
        with pytest.raises(IntegrityError), transaction.atomic():
            Order.objects.create(client=client, seq=1)
        Order.objects.create(client=client, seq=2)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        Order.objects.create(client=client, seq=3)
        1 / 0  # noqa: B018
    assert sorted(Order.objects.filter(client=client).values_list("seq", flat=True)) == [1, 2]


@_close_after
def test_on_commit_and_select_for_update(balrog_mode):
    from django.db import transaction
    from testproject.shop.models import Event, Order

    name = f"commit-{balrog_mode}"
    Order.objects.create(client=name, seq=0)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(client=name)
        order.tags = ["locked"]
        order.save()
        transaction.on_commit(lambda: Event.objects.create(name=name))
        assert not Event.objects.filter(name=name).exists()
    assert Event.objects.filter(name=name).count() == 1
    assert Order.objects.get(client=name).tags == ["locked"]
