"""pytest plugin: run the body of every sync test as a green task (``balrog.run``).

Loaded by ``scripts/psycopg-suite --green`` and ``scripts/requests-suite --green`` (as
``-p support.green_bodies``), so that psycopg's and requests' own sync tests exercise
balrog's green mode: fixtures (connections, servers) are set up outside, in blocking mode,
as in the repository's ``both_modes`` tests; the test function itself runs in a green task
on a fresh event loop, where every wait suspends the task instead of blocking. Coroutine
tests (psycopg's ``*_async`` files) are left to their own plugin: they already run on a
loop.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    func = pyfuncitem.obj
    if inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func):
        return None
    import balrog

    argnames = pyfuncitem._fixtureinfo.argnames
    kwargs: dict[str, Any] = {name: pyfuncitem.funcargs[name] for name in argnames}

    def body() -> None:
        if balrog.mode() != "green":
            raise AssertionError("the test body did not run as a green task")
        func(**kwargs)

    balrog.run(body)
    return True
