"""Django's postgresql OPTIONS through the ENGINE (each on a wrapper of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("django_project")


@pytest.fixture
def wrapper_with() -> Iterator[Any]:
    from django.db import connection, connections

    made = []

    def make(**options: Any) -> Any:
        # A database alias of its own (Django looks wrappers up by alias), same server.
        alias = f"options{len(made)}"
        connections.settings[alias] = {**connection.settings_dict, "OPTIONS": options}
        made.append(alias)
        return connections[alias]

    yield make
    for alias in made:
        connections[alias].close()
        del connections[alias]
        del connections.settings[alias]


def scalar(wrapper: Any, sql: str) -> Any:
    with wrapper.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def test_isolation_level(wrapper_with):
    from django.db.backends.postgresql.psycopg_any import IsolationLevel

    wrapper = wrapper_with(isolation_level=IsolationLevel.SERIALIZABLE)
    wrapper.set_autocommit(False)
    assert scalar(wrapper, "SHOW transaction_isolation") == "serializable"
    wrapper.rollback()


def test_assume_role(wrapper_with):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP ROLE IF EXISTS balrog_shop; CREATE ROLE balrog_shop")
    assert scalar(wrapper_with(assume_role="balrog_shop"), "SELECT current_user") == "balrog_shop"


def test_server_side_binding(wrapper_with):
    wrapper = wrapper_with(server_side_binding=True)
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT %s::int + %s::int", [40, 2])
        assert cursor.fetchone() == (42,)
    assert not type(wrapper.connection.cursor()).__name__.startswith("Client")


def test_libpq_options_pass_through(wrapper_with):
    wrapper = wrapper_with(sslmode="disable", options="-c statement_timeout=1234")
    assert scalar(wrapper, "SHOW statement_timeout") == "1234ms"


def test_pool_option(wrapper_with):
    wrapper = wrapper_with(pool={"min_size": 1, "max_size": 2})
    try:
        assert scalar(wrapper, "SELECT 1") == 1
        assert wrapper.pool is not None
        assert type(wrapper.pool).__module__.startswith(("psycopg_pool", "balrog.psycopg_pool"))
    finally:
        wrapper.close_pool()
