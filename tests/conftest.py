"""Fixtures and markers shared by the tests of every balrog package.

* ``pg_cluster`` — a real PostgreSQL (session-wide), or BALROG_TEST_DSN's server.
* ``pg_cluster_private`` — a cluster of the test's own, for tests that stop or kill it.
* ``@pytest.mark.both_modes`` — the test runs twice: blocking, and inside a green task
  (``balrog.run``). Fixtures are set up outside, in blocking mode.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from support.pg import PgCluster, cluster_from_env, start_cluster

MODES = ("blocking", "green")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_modes: run the test in blocking mode and as a green task")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("both_modes") is not None:
        metafunc.fixturenames.append("balrog_mode")
        metafunc.parametrize("balrog_mode", MODES)


@pytest.fixture
def balrog_mode(request: pytest.FixtureRequest) -> str:
    """ "blocking" or "green" for tests marked both_modes; "blocking" otherwise."""
    return getattr(request, "param", "blocking")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    callspec = getattr(pyfuncitem, "callspec", None)
    if callspec is None or callspec.params.get("balrog_mode") != "green":
        return None
    import balrog

    func = pyfuncitem.obj
    argnames = pyfuncitem._fixtureinfo.argnames
    kwargs: dict[str, Any] = {name: pyfuncitem.funcargs[name] for name in argnames}

    def body() -> None:
        assert balrog.mode() == "green"
        func(**kwargs)

    balrog.run(body)
    return True


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    cluster = cluster_from_env() or start_cluster()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def pg_cluster_private() -> Iterator[PgCluster]:
    if os.environ.get("BALROG_TEST_DSN"):
        pytest.skip("needs a cluster of its own (BALROG_TEST_DSN points at a shared server)")
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.destroy()
