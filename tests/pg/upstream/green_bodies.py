"""pytest plugin: run the body of every sync test as a green task (``balrog.run``).

Loaded by ``scripts/psycopg-suite --green`` next to ``balrog_as_psycopg``, so that psycopg's
own sync tests exercise balrog.psycopg's green mode: fixtures (connections included) are
set up outside, in blocking mode, as in the repository's ``both_modes`` tests; the test
function itself runs in a green task on a fresh event loop, where every wait suspends the
task instead of blocking. Coroutine tests (the ``*_async`` files) are left to their own
plugin: they already run on a loop.
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
